/**
 * No import cycles anywhere in src/ (issue 11): every module can be read, and
 * tested, after the modules it imports. Type-only imports are left out (they
 * vanish from the JavaScript); `export ... from` counts as an import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.join(__dirname, '..', '..', '..', 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative modules a file imports at run time. */
export function runtimeImports(text: string): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*'(\.[^']+)'/gms;
  for (const m of text.matchAll(re)) {
    if (m[2]) continue; // import type / export type
    const names = /^\{([^}]*)\}$/s.exec(m[3].trim());
    // `import { type A, type B }` is elided too
    if (names && names[1].split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '))) continue;
    out.push(m[4]);
  }
  for (const m of text.matchAll(/^\s*import\s+'(\.[^']+)'/gm)) out.push(m[1]);
  return out;
}

function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c)) return c;
  return undefined;
}

/** Strongly connected components with more than one module (or a module importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

test('runtimeImports skips type-only imports and keeps re-exports', () => {
  assert.deepEqual(runtimeImports(`import type { A } from './a';\nimport { type B, type C } from './b';\nimport { D, type E } from './d';\nexport { F } from './f';\nexport type { G } from './g';\nimport './side';\n`), ['./d', './f', './side']);
});

test('the cycle finder reports a two-module cycle and a self-import, and nothing in a tree', () => {
  const g = new Map([['a', ['b']], ['b', ['a', 'c']], ['c', []], ['d', ['d']], ['e', ['c']]]);
  assert.deepEqual(cycles(g), [['a', 'b'], ['d']]);
});

test('no import cycles in src/', () => {
  const graph = new Map<string, string[]>();
  for (const f of sources(SRC)) {
    const deps: string[] = [];
    for (const spec of runtimeImports(fs.readFileSync(f, 'utf8'))) {
      const r = resolve(f, spec);
      if (r) deps.push(r);
    }
    graph.set(f, deps);
  }
  assert.ok(graph.size > 100, `read ${graph.size} modules`);
  const found = cycles(graph).map((c) => c.map((f) => path.relative(SRC, f)).join(' ⇄ '));
  assert.deepEqual(found, [], `import cycles:\n${found.join('\n')}`);
});
