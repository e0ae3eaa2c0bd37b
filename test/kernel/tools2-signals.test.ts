import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

const SIGURG = 23;
const NO_SUCH_PID = 0x3fffffff;

/** A row's fields after the time column, split on blanks (comm has none here). */
const fields = (l: string) => l.trim().split(/\s+/).slice(1);

kernelTest('killsnoop -p: exactly 7 kill(self, SIGURG) returning 0 and one ESRCH kill, as libbpf-tools killsnoop sees them', async () => {
  const w = startWorkload2('kill', 7);
  const ours = startTool('killsnoop', ['-p', String(w.pid)]);
  const twin = twinPath('killsnoop') ? startTwin('killsnoop', ['-p', String(w.pid)]) : undefined;
  try {
    await ours.waitFor(/^TIME {6}PID +COMM {13}SIG  TPID +RESULT\n/);
    if (twin) await twin.waitFor('RESULT');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(1).filter(Boolean);
    const want = [...Array(7).fill([String(w.pid), 'tools2_workload', String(SIGURG), String(w.pid), '0']),
      [String(w.pid), 'tools2_workload', String(SIGURG), String(NO_SUCH_PID), '-3']];
    assert.deepEqual(rows.map(fields), want, r.stdout);
    for (const l of rows) assert.match(l, /^\d\d:\d\d:\d\d  \d+ +tools2_workload  23   \d+ +-?\d$/);
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(t.stdout.split('\n').slice(1).filter(Boolean).map(fields), want, t.stdout);
    }
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('killsnoop -x -T and -s: only the failed kill to the missing pid; -s 9 sees none of the workload', async () => {
  const w = startWorkload2('kill', 5);
  const failed = startTool('killsnoop', ['-x', '-p', String(w.pid)]);
  const target = startTool('killsnoop', ['-T', String(NO_SUCH_PID), '-p', String(w.pid)]);
  const sig9 = startTool('killsnoop', ['-s', 'KILL,9', '-p', String(w.pid)]);
  try {
    for (const t of [failed, target, sig9]) await t.waitFor('RESULT\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const want = [[String(w.pid), 'tools2_workload', String(SIGURG), String(NO_SUCH_PID), '-3']];
    for (const t of [failed, target]) {
      const r = await t.stop();
      assert.deepEqual(r.stdout.split('\n').slice(1).filter(Boolean).map(fields), want, r.stdout);
    }
    const r9 = await sig9.stop();
    assert.equal(r9.stdout.split('\n').slice(1).filter(Boolean).length, 0, r9.stdout);
  } finally {
    w.child.kill('SIGKILL');
    for (const t of [failed, target, sig9]) t.child.kill('SIGKILL');
  }
});

kernelTest('killsnoop --ebpf prints its program; a bad signal is one sentence', async () => {
  const e = await runToolToEnd('killsnoop', ['--ebpf', '-T', '42']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:syscalls:sys_enter_kill \/args->pid == 42\/\n/);
  const bad = await runToolToEnd('killsnoop', ['-s', 'NOPE']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /unknown signal 'NOPE'/);
});

kernelTest('sigsnoop -p: the 7 SIGURG the workload generates for itself and its exit SIGCHLD, same rows as libbpf-tools sigsnoop; -k -n adds the ESRCH kill', async () => {
  const w = startWorkload2('kill', 7);
  const gen = startTool('sigsnoop', ['-p', String(w.pid)]);
  const kills = startTool('sigsnoop', ['-k', '-n', '-p', String(w.pid)]);
  const twin = twinPath('sigsnoop') ? startTwin('sigsnoop', ['-p', String(w.pid)]) : undefined;
  try {
    for (const t of [gen, kills]) await t.waitFor('TIME     PID     COMM             SIG       TPID    RESULT\n');
    if (twin) await twin.waitFor('RESULT');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await gen.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(1).filter(Boolean);
    // Its exit generates SIGCHLD for its parent, this test process.
    const want = [...Array(7).fill([String(w.pid), 'tools2_workload', String(SIGURG), String(w.pid), '0']), [String(w.pid), 'tools2_workload', '17', String(process.pid), '0']];
    assert.deepEqual(rows.map(fields), want, r.stdout);
    for (const l of rows) assert.match(l, /^\d\d:\d\d:\d\d \d+ +tools2_workload +(23|17) {8}\d+ +0 {5}$/);
    const k = await kills.stop();
    assert.deepEqual(k.stdout.split('\n').slice(1).filter(Boolean).map(fields),
      [...Array(7).fill([String(w.pid), 'tools2_workload', 'SIGURG', String(w.pid), '0']), [String(w.pid), 'tools2_workload', 'SIGURG', String(NO_SUCH_PID), '-3']], k.stdout);
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(t.stdout.split('\n').slice(1).filter(Boolean).map(fields), want, t.stdout);
    }
  } finally {
    w.child.kill('SIGKILL');
    for (const t of [gen, kills]) t.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});
