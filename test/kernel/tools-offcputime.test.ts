import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload } from './tools-workload';

kernelTest('offcputime -U -f -p: a process sleeping 1 ms 50 times is off CPU at least 50000 us, all under its own pid', async () => {
  const w = startWorkload('sleep', 50);
  const ours = startTool('offcputime', ['-U', '-f', '-p', String(w.pid)]);
  try {
    await sleep(1500);
    assert.equal(ours.child.exitCode, null, ours.stderr());
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    let total = 0;
    for (const l of r.stdout.split('\n').filter(Boolean)) {
      const m = /^tools_workload(;.*)? (\d+)$/.exec(l);
      assert.ok(m, l);
      total += Number(m[2]);
    }
    assert.ok(total >= 50000 && total < 5_000_000, `${total}\n${r.stdout}`);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('offcputime: kernel stacks in the default layout (needs kstack in tracepoint programs)', async () => {
  const w = startWorkload('sleep', 20);
  const ours = startTool('offcputime', ['-p', String(w.pid)]);
  try {
    await sleep(1500);
    assert.equal(ours.child.exitCode, null, ours.stderr());
    await w.go();
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\n {4}schedule\\n(?: {4}.*\\n)* {4}- {16}tools_workload \\(${w.pid}\\)\\n {8}\\d+\\n`));
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('offcputime: -p with -u is refused', async () => {
  const r = await runToolToEnd('offcputime', ['-p', '1', '-u']);
  assert.equal(r.stderr, 'tsbpf: -p, -u and -k are mutually exclusive\n');
});

kernelTest('offcputime -p: threads created after tracing started are counted (4 threads sleeping 1 ms 20 times: at least 80000 us off CPU)', async () => {
  const w = startWorkload('threads', 4);
  const ours = startTool('offcputime', ['-f', '-p', String(w.pid)]);
  try {
    await sleep(1500);
    assert.equal(ours.child.exitCode, null, ours.stderr());
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    let total = 0;
    for (const l of r.stdout.split('\n').filter(Boolean)) {
      const m = /^tools_workload(;.*)? (\d+)$/.exec(l);
      assert.ok(m, l);
      total += Number(m[2]);
    }
    // the threads alone sleep 4 x 20 x 1 ms; the main thread waits for them on top of that
    assert.ok(total >= 80000 && total < 5_000_000, `${total}\n${r.stdout}`);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});
