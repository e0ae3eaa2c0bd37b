/**
 * Issue 12 item 6: deep programs never overflow the compiler's stack. Chains
 * (`1 + 1 + ...`, `a && b && ...`) compile at any length; nesting compiles
 * to MAX_NESTING levels even when the caller already used much of the stack,
 * and past it is refused with one sentence at the line and column where it
 * went too deep.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { MAX_NESTING } from '../../src/lang/parser';
import { unitTarget } from '../helpers/target';

const build = (text: string) => compile({ name: 'deep.bt', text }, { target: unitTarget() });

function refused(text: string): CompileError {
  try {
    build(text);
  } catch (e) {
    assert.ok(e instanceof CompileError, `not a CompileError: ${String(e)}`);
    return e;
  }
  assert.fail('compiled');
}

/** Runs `f` with `frames` frames already on the stack (a caller deep in its own work). */
function deepCall<T>(frames: number, f: () => T): T {
  return frames === 0 ? f() : deepCall(frames - 1, f);
}

test('chains of any length compile: 20,000 terms of + and *, 2,000 of && and ||', () => {
  const terms = (n: number, sep: string) => Array(n).fill('$a').join(sep);
  const a = build(`BEGIN { $a = 1; @x = ${Array(20000).fill('1').join(' + ')}; @y = ${terms(20000, ' * ')}; }`);
  assert.equal(a.programs.length, 1);
  build(`BEGIN { $a = 1; if (${terms(2000, ' && ')}) { @x = 1; } if (${terms(2000, ' || ')}) { @y = 1; } }`);
  // a chain so long its jumps outgrow BPF's 16-bit offsets: one sentence, not an assembler error
  assert.match(refused(`BEGIN { $a = 1; if (${terms(20000, ' && ')}) { @x = 1; } }`).diagnostics[0].message, /too large/);
});

test('nesting just under the limit compiles, also from a deep caller', () => {
  const n = MAX_NESTING - 10;
  const programs = [
    `BEGIN { @x = ${'('.repeat(n)}1${')'.repeat(n)}; }`,
    `BEGIN { ${'{'.repeat(n)} @x = 1; ${'}'.repeat(n)} }`,
    `BEGIN { $a = 1; ${'if ($a) { '.repeat(n)} @x = 1; ${'}'.repeat(n)} }`,
    `BEGIN { $a = 1; ${'if ($a) { @y = 1; } else '.repeat(n)} { @x = 1; } }`,
    `BEGIN { $a = 1; @x = ${'~'.repeat(n)}$a; @y = ${'!'.repeat(n)}$a; @z = ${'(uint8)'.repeat(n)}$a; }`,
    `BEGIN { $i = 0; ${'while ($i < 1) { '.repeat(n)} $i++; ${'}'.repeat(n)} }`,
  ];
  for (const p of programs) deepCall(3000, () => build(p));
});

test('nesting past the limit: one sentence at the line and column of the level too many', () => {
  for (const [text, ch, line] of [
    [`BEGIN { @x = ${'('.repeat(20000)}1${')'.repeat(20000)}; }`, '(', 1],
    [`BEGIN {\n${'{'.repeat(20000)} @x = 1; ${'}'.repeat(20000)} }`, '{', 2],
    [`BEGIN {\n@x = ${'~'.repeat(20000)}1; }`, '~', 2],
  ] as const) {
    const e = refused(text);
    assert.equal(e.diagnostics.length, 1);
    const d = e.diagnostics[0];
    assert.match(d.message, new RegExp(`^the program nests more than ${MAX_NESTING} levels deep here`));
    assert.equal(d.span?.line, line);
    // the column of the level too many: about MAX_NESTING characters in, on the construct itself
    const col = d.span?.col ?? 0;
    assert.ok(col > MAX_NESTING - 10 && col < MAX_NESTING + 20, `column ${col}`);
    assert.equal(text.split('\n')[line - 1][col - 1], ch);
  }
  // 20,000 of each construct: refused, never a stack overflow
  for (const text of [
    `BEGIN { $a = 1; ${'if ($a) { '.repeat(20000)} @x = 1; ${'}'.repeat(20000)} }`,
    `BEGIN { $a = 1; ${'if ($a) { @y = 1; } else '.repeat(20000)} { @x = 1; } }`,
    `BEGIN { @x = ${'(uint8)'.repeat(20000)}1; }`,
    `BEGIN { $a = 1; @x = ${'$a ? 1 : '.repeat(20000)}2; }`,
    `BEGIN { @x = ${'strlen('.repeat(20000)}"a"${')'.repeat(20000)}; }`,
    `BEGIN { @x = curtask${'->parent'.repeat(20000)}->pid; }`,
  ]) {
    assert.match(refused(text).diagnostics[0].message, /nests more than/);
  }
});
