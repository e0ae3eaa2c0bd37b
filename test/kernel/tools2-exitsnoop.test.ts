import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

/**
 * PCOMM PID PPID TID and the exit text (AGE dropped), for rows whose PPID is `ppid`, in the order
 * of the exit text: the children exit at once, and on two CPUs their events may arrive in any order.
 */
function children(out: string, ppid: number, skip = 0): string[][] {
  return out.split('\n').slice(1).map((l) => l.trim().split(/\s+/).slice(skip)).filter((f) => f[2] === String(ppid))
    .map((f) => [...f.slice(0, 4), f.slice(5).join(' ')]).sort((a, b) => (a[4] < b[4] ? -1 : a[4] > b[4] ? 1 : 0));
}

kernelTest('exitsnoop: 4 children exiting with codes 0-3 and one killed by SIGTERM, as libbpf-tools exitsnoop sees them; -x drops exit(0); -p the process itself', async () => {
  const w = startWorkload2('exit', 4);
  const all = startTool('exitsnoop', []);
  const failed = startTool('exitsnoop', ['-x', '-t']);
  const self = startTool('exitsnoop', ['-p', String(w.pid), '--label=']);
  const twin = twinPath('exitsnoop') ? startTwin('exitsnoop', []) : undefined;
  try {
    await all.waitFor('PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE \n');
    await failed.waitFor(/^TIME-\S+ +PCOMM/);
    await self.waitFor('LABEL PCOMM');
    if (twin) await twin.waitFor('EXIT_CODE');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await all.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = children(r.stdout, w.pid);
    const codes = ['0', 'code 1', 'code 2', 'code 3', 'signal 15 (TERM)'];
    assert.deepEqual(rows.map((f) => f[4]), codes, r.stdout);
    for (const f of rows) {
      assert.equal(f[0], 'tools2_workload');
      assert.equal(f[1], f[3]);
    }
    const x = await failed.stop();
    assert.deepEqual(children(x.stdout, w.pid, 1), rows.slice(1), x.stdout);
    assert.match(x.stdout.split('\n')[1], /^\d\d:\d\d:\d\d\.\d{3} /);
    const s = await self.stop();
    assert.deepEqual(s.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/)).map((f) => [f[0], f[1], f[2], f[3], f[6]]),
      [['exit', 'tools2_workload', String(w.pid), String(process.pid), '0']], s.stdout);
    if (twin) {
      const t = await twin.stop();
      // libbpf-tools names the signal with strsignal(): compare up to its number.
      const trim = (xs: string[][]) => xs.map((f) => [...f.slice(0, 4), f[4].replace(/ \(.*\)$/, '')]);
      assert.deepEqual(trim(children(t.stdout, w.pid)), trim(rows), t.stdout);
    }
  } finally {
    w.child.kill('SIGKILL');
    for (const t of [all, failed, self]) t.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('exitsnoop --ebpf prints its program (main threads only unless --per-thread)', async () => {
  const e = await runToolToEnd('exitsnoop', ['--ebpf', '-x']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:sched:sched_process_exit \/tid == pid && curtask->exit_code != 0\/\n/);
  const t = await runToolToEnd('exitsnoop', ['--ebpf', '--per-thread']);
  assert.match(t.stdout, /^tracepoint:sched:sched_process_exit\n/);
});
