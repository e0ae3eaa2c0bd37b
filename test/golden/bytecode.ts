/**
 * Bytecode golden dump: recompiles every program in a corpus recorded by
 * ./capture.ts and prints each artifact (programs as disassembly and hex, maps,
 * events, layouts, warnings, or the compile error) in a stable order, so two
 * dumps taken before and after a compiler change can be compared with diff.
 *
 *   node dist/test/golden/bytecode.js test/golden/corpus.jsonl > /tmp/before.txt
 *
 * Compilation reads the running kernel (BTF, tracepoint formats), so compare
 * dumps taken on the same machine.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { compile } from '../../src/lang/compile';
import { encode } from '../../src/ebpf/asm/insn';
import { disassemble } from '../../src/ebpf/asm';
import type { CapturedCompile } from './capture';
import { COMPILER_ENV } from './capture';

export function loadCorpus(file: string): CapturedCompile[] {
  const seen = new Map<string, CapturedCompile>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as CapturedCompile;
    seen.set(keyOf(c), c);
  }
  return [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
}

function keyOf(c: CapturedCompile): string {
  return JSON.stringify([c.text, c.name, c.opts, c.env]);
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
}

/** The dump of one compilation: everything the runtime receives, or the error. */
export function dumpOne(c: CapturedCompile): string {
  const saved: Record<string, string | undefined> = {};
  for (const k of COMPILER_ENV) {
    saved[k] = process.env[k];
    if (c.env[k] === undefined) delete process.env[k];
    else process.env[k] = c.env[k];
  }
  const out: string[] = [];
  try {
    // A recorded -p PID names a process long gone (or reused by another): pid 1 always exists.
    const opts = c.opts.pid === undefined ? c.opts : { ...c.opts, pid: 1 };
    const a = compile({ name: c.name, text: c.text }, opts);
    for (const p of a.programs) {
      const { insns, sourceMap, ...rest } = p;
      out.push(`program ${json(rest)}`);
      out.push(...disassemble(insns, {}).filter((l) => l));
      out.push(`hex ${encode(insns).toString('hex')}`);
      out.push(`lines ${sourceMap.map((s) => (s ? `${s.line}:${s.col}` : '-')).join(' ')}`);
    }
    out.push(`maps ${json(a.maps)}`);
    out.push(`events ${json(a.events)}`);
    out.push(`userMaps ${json(a.userMaps)}`);
    out.push(`ring ${a.eventRing} loss ${a.lossCounter} probes ${json(a.probeNames)} config ${json(a.config)} unsafe ${a.unsafe}`);
    for (const w of a.warnings) out.push(`warning ${w.trimEnd()}`);
  } catch (e) {
    out.push(`error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  } finally {
    for (const k of COMPILER_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  return out.join('\n');
}

if (require.main === module) {
  const file = process.argv[2] ?? `${__dirname}/../../../test/golden/corpus.jsonl`;
  const corpus = loadCorpus(file);
  for (const c of corpus) {
    const id = createHash('sha256').update(keyOf(c)).digest('hex').slice(0, 12);
    process.stdout.write(`=== ${id} ${json({ name: c.name, opts: c.opts, env: c.env })}\n${c.text.trimEnd()}\n--- \n${dumpOne(c)}\n\n`);
  }
  process.stderr.write(`${corpus.length} programs\n`);
}
