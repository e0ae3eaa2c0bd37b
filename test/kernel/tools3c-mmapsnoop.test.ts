import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { rowsAfter, startWorkload3c } from './tools3c-workload';

const N = 5;

kernelTest(`mmapsnoop -p: ${N} anonymous mappings of 1..${N} pages and one page of the fixture's own file, in order, with their flags`, async () => {
  const w = startWorkload3c('mmap', N);
  const header = 'PID    COMM           PROT MAP   OFFS(KB) SIZE(KB) FILE\n';
  const ours = startTool('mmapsnoop', ['-p', String(w.pid)]);
  const timed = startTool('mmapsnoop', ['-T', '-p', String(w.pid)]);
  try {
    await ours.waitFor(header);
    await timed.waitFor(`TIME     ${header}`);
    await sleep(200);
    assert.equal(await w.go(), 0);
    const maps = w.out().trim().split('\n').map((l) => Number(l.split(' ')[1]));
    assert.equal(maps.length, N + 1);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const p = String(w.pid);
    // Before 'go' the fixture was already running (the loader's mappings came earlier, before the tool attached).
    const rows = rowsAfter(r.stdout, header);
    const expected = [
      ...maps.slice(0, N).map((len) => [p, 'tools3c_worklo', 'RW-', '-P-A', '0', String(len / 1024)]),
      [p, 'tools3c_worklo', 'R--', '-P--', '0', String(maps[N] / 1024), 'tools3c_workload'],
    ];
    assert.deepEqual(rows.slice(-(N + 1)), expected, r.stdout);
    assert.equal(rows.length, N + 1, r.stdout);
    const t = await timed.stop();
    const trows = rowsAfter(t.stdout, header);
    assert.deepEqual(trows.map((x) => x.slice(1)), expected, t.stdout);
    for (const x of trows) assert.match(x[0], /^\d\d:\d\d:\d\d$/);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    timed.child.kill('SIGKILL');
  }
});

kernelTest('mmapsnoop --ebpf prints its program', async () => {
  const e = await runToolToEnd('mmapsnoop', ['--ebpf', '-p', '7']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:raw_syscalls:sys_enter \/args->id == 9 && pid == 7\/\n/);
});
