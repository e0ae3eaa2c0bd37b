/**
 * watchpoint:ADDR:LEN:MODE: a hardware breakpoint on a global of a fixture,
 * traced with -p. The fixture prints the global's address, waits until the
 * probe is attached, stores to it N times and reads it M times; a w
 * watchpoint counts exactly N, an rw one N + M.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { featureTest, kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { runTsbpf } from '../helpers/tsbpf';
import { hasFeature } from '../../src/sys/features';
import { ElfFile } from '../../src/ebpf/elf';

// not position-independent: the global's address is known before the program runs (for -c)
const fixture = (): string => buildFixture('watched', ['-no-pie']);

async function startFixture(writes: number, reads: number): Promise<{ child: ChildProcessByStdio<Writable, Readable, null>; address: string }> {
  const child = spawn(fixture(), [String(writes), String(reads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('latin1');
  while (!/\n/.test(out)) {
    const [d] = (await once(child.stdout, 'data')) as [string];
    out += d;
  }
  return { child, address: out.trim() };
}

async function countAccesses(mode: string, writes: number, reads: number): Promise<string> {
  const { child, address } = await startFixture(writes, reads);
  const exited = once(child, 'exit');
  const pid = child.pid as number;
  // the fixture's exit ends the trace; its accesses are all counted by then
  const script = `watchpoint:${address}:8:${mode} { @[probe, pid == ${pid}] = count(); }
    tracepoint:syscalls:sys_enter_exit_group /pid == ${pid}/ { exit(); }`;
  const r = await runTsbpf(['-p', String(pid), '-e', script], { onText: { text: 'Attached', fn: () => child.stdin.end('go\n') } });
  await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Attached 2 probes/);
  return r.stdout;
}

featureTest('watchpoint w: counts exactly the stores the fixture makes to the watched global', 'hardware_breakpoints', () => hasFeature('hardware_breakpoints'), async () => {
  const out = await countAccesses('w', 7, 5);
  assert.match(out, /^@\[watchpoint:0x[0-9a-f]+:8:w, true\]: 7$/m, out);
  assert.doesNotMatch(out, /, false\]/, 'no other process hit the watchpoint');
});

featureTest('watchpoint rw: counts the stores and the loads', 'hardware_breakpoints', () => hasFeature('hardware_breakpoints'), async () => {
  const out = await countAccesses('rw', 3, 4);
  assert.match(out, /^@\[watchpoint:0x[0-9a-f]+:8:rw, true\]: 7$/m, out);
});

featureTest('watchpoint with -c: the command starts stopped, is watched from its first instruction, its exit ends the trace', 'hardware_breakpoints', () => hasFeature('hardware_breakpoints'), async () => {
  const bin = fixture();
  const sym = ElfFile.open(bin).symbol('watched_value');
  assert.ok(sym, 'watched_value in the fixture');
  const address = `0x${sym.value.toString(16)}`;
  const r = await runTsbpf(['-c', `${bin} 9 2 now`, '-e', `watchpoint:${address}:8:w { @[probe] = count(); }`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${address}$`, 'm'), 'the fixture printed the address it was built with');
  assert.match(r.stdout, new RegExp(`^@\\[watchpoint:${address}:8:w\\]: 9$`, 'm'), r.stdout);
});

kernelTest('watchpoint errors are one sentence: no -p, bad length, misaligned, read-only on x86-64', async () => {
  const cases: [string[], RegExp][] = [
    [['-e', 'watchpoint:0x1000:8:w { }'], /watchpoint needs -p PID or -c CMD/],
    [['-c', 'true | cat', '-e', 'watchpoint:0x1000:8:w { }'], /needs a plain command \(words without shell syntax\)/],
    [['-p', String(process.pid), '-e', 'watchpoint:0x1000:3:w { }'], /the length must be 1, 2, 4 or 8 bytes, got '3'/],
    [['-p', String(process.pid), '-e', 'watchpoint:0x1001:8:w { }'], /address 0x1001 is not aligned to its length 8/],
    [['-p', String(process.pid), '-e', 'watchpoint:0x1000:8:r { }'], /x86-64 cannot watch reads alone: use rw/],
    [['-p', String(process.pid), '-e', 'watchpoint:0x1000:8:wx { }'], /x \(execute\) cannot be combined/],
    [['-p', String(process.pid), '-e', 'watchpoint:0x1000:8:w { print(arg0); }'], /arg0 is not available in watchpoint probes/],
  ];
  for (const [args, re] of cases) {
    const r = await runTsbpf(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  }
});
