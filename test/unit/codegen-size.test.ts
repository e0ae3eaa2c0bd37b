/**
 * Codegen regression guard (issue 17): the number of BPF instructions tsbpf
 * generates for each program of the benchmark's per-event section
 * (bench/programs.ts), compiled for the recorded unit-test kernel. A count may
 * only go down; a change that makes one go up must say why in its commit and
 * raise the number here. Lower it when the code generator improves (the
 * failure message says so), so the next regression is caught from there.
 *
 * These are instruction slots as generated (a 64-bit immediate load is two),
 * before the kernel's verifier and its rewrites; the bench reports the
 * kernel's xlated counts and JIT sizes beside bpftrace's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PER_EVENT_PROGRAMS } from '../../bench/programs';
import { compile } from '../../src/lang/compile';
import { unitTarget } from '../helpers/target';

/** Instruction slots of all the program's probes, per benchmark case. */
const PINNED: Record<string, number> = {
  'empty probe': 2,
  '@ = count()': 12,
  '@[pid] = count()': 36,
  '@[comm] = hist(arg)': 70,
  '@[comm, pid] = sum(arg)': 44,
  'printf pid, comm': 36,
  '@[str(filename)] = count()': 48, // 48: str() keeps 64 characters and its NUL (F60), 65 bytes to zero
  'filter /pid == X/ count()': 16,
  'filter /comm == "loadgen"/ @[comm] = count()': 61,
  '@start[tid] = nsecs; delete (enter + exit)': 39,
  '@ = hist(nsecs - @start[tid]) (enter + exit)': 107,
  'printf("%s", str(filename))': 42, // 42: a 65-byte str() (F60)
  '@[kstack] = count()': 40,
};

for (const p of PER_EVENT_PROGRAMS) {
  test(`codegen size: ${p.name} stays at or below its pinned instruction count`, () => {
    const art = compile({ name: 'bench.bt', text: p.script.replace('PID', '4242') }, { target: unitTarget() });
    const insns = art.programs.reduce((a, prog) => a + prog.insns.length, 0);
    const pinned = PINNED[p.name];
    assert.ok(pinned !== undefined, `no pinned count for '${p.name}' (it generates ${insns} instructions): add it to PINNED`);
    assert.ok(insns <= pinned, `'${p.name}' now generates ${insns} instructions, more than the pinned ${pinned}: ` +
      'shrink the generated code, or raise the pin with the reason in the commit');
    assert.ok(insns === pinned, `'${p.name}' now generates ${insns} instructions, fewer than the pinned ${pinned}: lower the pin to ${insns}`);
  });
}
