/**
 * exit() stops the kernel side at once (codegen/program.ts): the probes the
 * kernel fires test a flag exit() raises, so nothing runs between exit() and
 * user space reading its record. Ground truth: the -c child makes 200,000
 * getppid calls on one thread (serialised on its CPU); without the flag a
 * probe that exits on its first firing counted thousands of them.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

const CALLS = 200_000;

kernelTest('exit(): a probe that exits on its first firing of a busy tracepoint counts exactly one firing; END still runs', async () => {
  const bin = buildFixture('uprobe_target');
  const prog = 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @n = count(); exit(); } ' +
    'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @m = count(); } END { @e = 7; }';
  const r = await runTsbpf(['-c', bin, '-e', prog], { input: `getppid ${CALLS}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@n: 1$/m, r.stdout);
  // the other probe on the same event ran at most on that same first call (whichever program the kernel ran first)
  const m = /^@m: (\d+)$/m.exec(r.stdout);
  assert.ok(!m || Number(m[1]) <= 1, r.stdout);
  assert.match(r.stdout, /^@e: 7$/m, r.stdout);
});

kernelTest('exit(): clear() before exit() in a 1 ms interval leaves the map cleared (the interval does not fire again)', async () => {
  const r = await runTsbpf(['-e', 'i:ms:1 { @runs = count(); @ts += 10; clear(@ts); exit(); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@runs: 1$/m, r.stdout);
  assert.doesNotMatch(r.stdout, /@ts/, r.stdout);
});

kernelTest('BEGIN runs before the probes attach: none of them sees the maps before BEGIN wrote them', async () => {
  // BEGIN's own BPF_PROG_TEST_RUN is a bpf(2) call by tsbpf: a probe attached before it (tsbpf did that
  // until now) fired there with @start still 0. The child's getppid calls show the probes were live.
  const bin = buildFixture('uprobe_target');
  const prog = 'BEGIN { @start = 5; } tracepoint:syscalls:sys_enter_bpf /comm == "tsbpf"/ { @self[@start] = count(); } ' +
    'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @child[@start] = count(); }';
  const r = await runTsbpf(['-c', bin, '-e', prog], { input: 'getppid 3\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@child\[5\]: 3$/m, r.stdout);
  assert.doesNotMatch(r.stdout, /^@(self|child)\[0\]/m, r.stdout);
});
