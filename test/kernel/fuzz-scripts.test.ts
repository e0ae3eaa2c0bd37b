// Parser/compiler fuzzing over mutated real scripts (bpftrace's own tools in
// /usr/sbin/*.bt, and one-liners): every mutant either compiles or fails with
// an explained error (one sentence with its source position), never a stack
// trace, an internal error or a case over 5 s; a sample of the mutants that
// compile is loaded through the kernel verifier, and a rejection must point at
// a source line. Seeded; TSBPF_FUZZ_LONG=1 runs 10x more.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { kernelTest } from '../helpers/kernel';
import { describeFailures, FUZZ_LONG, FUZZ_SEED, judge, Rng, type FuzzFailure } from '../helpers/fuzz';
import { compile } from '../../src/lang/compile';
import { isExplained } from '../../src/errors';
import { CompileError } from '../../src/lang/diagnostics';
import { ScriptRuntime } from '../../src/runtime/run';
import type { ScriptArtifact } from '../../src/lang/artifact';

const CASES = FUZZ_LONG ? 30_000 : 3_000;
const LOADS = FUZZ_LONG ? 3_000 : 150;

const ONE_LINERS = [
  'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args.filename)); }',
  'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }',
  'tracepoint:syscalls:sys_exit_read /args.ret/ { @bytes = hist(args.ret); }',
  'profile:hz:99 /pid/ { @[ustack] = count(); }',
  'interval:s:1 { print(@x); clear(@x); } tracepoint:sched:sched_switch { @x[args.prev_comm] = sum(1); }',
  'BEGIN { $x = 1; if ($x > 0) { printf("pos %d\\n", $x); } else { printf("neg\\n"); } exit(); }',
  'BEGIN { @s = stats(5); @a = avg(3); @l = lhist(7, 0, 10, 1); unroll(3) { @c = count(); } exit(); }',
  'tracepoint:sched:sched_process_exec { printf("%-16s %6d %s\\n", comm, pid, str(args.filename)); }',
  'BEGIN { printf("%s %d %x\\n", strftime("%H:%M", nsecs), (int8)300, 0xff << 2); exit(); }',
  'tracepoint:syscalls:sys_enter_write /comm == "bash" && args.count > 10/ { @w[tid] = args.count; } END { clear(@w); }',
  'BEGIN { @m[1, "a"] = 2; for ($kv : @m) { printf("%d\\n", $kv.1); } delete(@m[1, "a"]); exit(); }',
  'uprobe:/bin/bash:readline { @start[tid] = nsecs; } uretprobe:/bin/bash:readline /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }',
  'kprobe:vfs_read { @[kstack(3)] = count(); } kretprobe:vfs_read { @r = lhist(retval, 0, 100, 10); }',
  'BEGIN { if (strcontains("abc", "b") && strncmp("ab", "ac", 1) == 0) { printf("%s\\n", substr("hello", 1, 3)); } exit(); }',
];

const SNIPPETS = ['(', ')', '{', '}', ';', '"', '$1', '@x', '@', '0x', '99999999999999999999', '-', '/', 'return;', 'if (', 'else',
  ',', 'str(', 'printf("%d", ', 'comm', 'pid', '#', '\\', ':', '*', 'uprobe:', 'kprobe:', 'BEGIN', 'END', '\n', '//', '/*', '*/',
  '[', ']', '.', '->', '++', '--', '!', '~', '?', '=', '==', '$', 'args.', 'retval', 'nsecs', 'count()', 'hist(', '%s', '"%s"',
  'unroll(2)', 'while (1)', 'for (', '(uint8)', 'sizeof(', 'offsetof(', 'struct x', 'macro', 'let', 'ustack', 'kstack', '0', '-1'];

function corpus(): string[] {
  let tools: string[] = [];
  try {
    tools = fs.readdirSync('/usr/sbin').filter((f) => f.endsWith('.bt')).sort().map((f) => fs.readFileSync(`/usr/sbin/${f}`, 'latin1'));
  } catch {
    // bpftrace's tools absent: the one-liners alone
  }
  return [...ONE_LINERS, ...tools];
}

function mutate(src: string, rng: Rng): string {
  let s = src;
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const at = rng.int(s.length + 1);
    const len = 1 + rng.int(20);
    switch (rng.int(5)) {
      case 0: s = s.slice(0, at) + s.slice(at + len); break; // delete
      case 1: s = s.slice(0, at) + rng.pick(SNIPPETS) + s.slice(at); break; // insert a token
      case 2: s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at); break; // duplicate
      case 3: s = s.replace(/\d+/g, (d) => (rng.int(6) === 0 ? rng.pick(['0', '-1', '4294967296', '99999999999999999999', '65536', '1e3']) : d)); break;
      case 4: { const b = rng.int(s.length + 1); s = s.slice(0, Math.min(at, b)) + s.slice(Math.max(at, b)) + s.slice(Math.min(at, b), Math.max(at, b)); break; } // move
    }
  }
  return s;
}

kernelTest(`${CASES} mutated scripts compile or fail with an explained error; ${LOADS} of them through the verifier, rejections with a source line`, async () => {
  const base = corpus();
  const rng = new Rng(FUZZ_SEED);
  const failures: FuzzFailure[] = [];
  const compiled: ScriptArtifact[] = [];
  const sink = () => undefined;
  for (let i = 0; i < CASES; i++) {
    const text = mutate(base[i % base.length], rng);
    judge(`case ${i} (seed ${FUZZ_SEED}): ${JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}...` : text)}`, () => {
      const a = compile({ name: 'fuzz.bt', text }, { debugOut: sink });
      if (compiled.length < LOADS && a.programs.length > 0 && !a.unsafe) compiled.push(a);
    }, failures);
  }
  for (const [i, a] of compiled.entries()) {
    // the verifier sees every program; nothing is attached
    const input = `load ${i}: ${JSON.stringify(a.source.text.slice(0, 300))}`;
    try {
      await new ScriptRuntime(a, { verify: true, message: sink, write: sink, handleSignals: false }).run();
    } catch (e) {
      if (e instanceof CompileError && e.diagnostics[0].span === null) failures.push({ input, what: `error without a source line: ${e.message}` });
      else if (!isExplained(e)) failures.push({ input, what: `${(e as Error).name}: ${(e as Error).message}` });
    }
  }
  assert.ok(compiled.length >= Math.min(LOADS, 50), `only ${compiled.length} mutants compiled: the load check proves little`);
  assert.equal(failures.length, 0, describeFailures(failures, CASES));
});
