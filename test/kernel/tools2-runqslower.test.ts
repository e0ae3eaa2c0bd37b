import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { parseHistRows, runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload } from './tools-workload';

kernelTest('runqslower -p 0: every wake-up of a process sleeping 1 ms 60 times is a row, at least every wait libbpf-tools runqlat counts', async () => {
  const w = startWorkload('sleep', 60);
  const ours = startTool('runqslower', ['-P', '-p', String(w.pid), '0']);
  // libbpf-tools runqslower refuses a 0 threshold (and at 1 us two measurements could split a row), but its runqlat
  // counts exactly these waits: every enqueue of the process's threads up to their next switch-in.
  const twin = twinPath('runqlat') ? startTwin('runqlat', ['-p', String(w.pid)]) : undefined;
  try {
    await ours.waitFor('Tracing run queue latency higher than 0 us\nTIME     COMM             TID           LAT(us) PREV COMM        PREV TID\n');
    if (twin) await twin.waitFor('Tracing run queue latency');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(2).filter(Boolean);
    // Usually one row per wake-up (stdin, then each sleep) plus preemptions; but a thread woken before it got off the
    // CPU never waits in a queue, so on a loaded machine there can be fewer: the exact count is libbpf-tools'.
    assert.ok(rows.length >= 1, r.stdout);
    for (const l of rows) assert.match(l, new RegExp(`^\\d\\d:\\d\\d:\\d\\d tools_workload +${w.pid} +\\d+ \\S.{15} \\d+ *$`));
    if (twin) {
      const t = await twin.stop();
      // libbpf-tools reads task->__state, we the tracepoint's prev_state, which also calls a thread preempted on its way
      // to sleep runnable (it is still queued): we see every wait it sees, and on a loaded machine a few more.
      const theirs = [...parseHistRows(t.stdout).values()].reduce((a, b) => a + b, 0);
      assert.ok(rows.length >= theirs && theirs >= 1, `ours:\n${r.stdout}\nlibbpf-tools runqlat:\n${t.stdout}`);
    }
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('runqslower: the default 10 ms threshold sees none of a light sleeper; -p with -t is one sentence', async () => {
  const w = startWorkload('sleep', 20);
  const ours = startTool('runqslower', ['-t', String(w.pid)]);
  try {
    await ours.waitFor('Tracing run queue latency higher than 10000 us\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    // A row would mean a 10 ms wait for a CPU: possible on a loaded machine, so only its shape is checked.
    for (const l of r.stdout.split('\n').slice(2).filter(Boolean)) assert.ok(Number(l.trim().split(/\s+/)[3]) > 10000, l);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
  const bad = await runToolToEnd('runqslower', ['-p', '1', '-t', '1']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'tsbpf: -p and -t are mutually exclusive\n');
});
