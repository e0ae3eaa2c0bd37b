import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { memoryCgroup } from './tools3b-helpers';
import { startWorkload2 } from './tools2-workload';

kernelTest('oomkill: a fixture touching 256 MiB in a 32 MiB memory cgroup triggers the OOM killer, which kills it: one line naming it twice', async (t) => {
  const cg = memoryCgroup(32 << 20, 'oomkill');
  if (!cg) {
    t.skip('no writable memory cgroup here');
    return;
  }
  const w = startWorkload2('hog', 256);
  const ours = startTool('oomkill', []);
  try {
    cg.add(w.pid);
    await ours.waitFor('Tracing OOM kills... Ctrl-C to stop.\n');
    await sleep(200);
    const code = await w.go();
    assert.equal(code, null, 'the OOM killer ends it with SIGKILL');
    assert.equal(w.child.signalCode, 'SIGKILL');
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.includes(`OOM kill of PID ${w.pid} `));
    assert.equal(lines.length, 1, r.stdout);
    // The victim's total_vm covers at least the 32 MiB it had touched (8192 pages).
    const m = new RegExp(`^\\d\\d:\\d\\d:\\d\\d Triggered by PID ${w.pid} \\("tools2_workload"\\), OOM kill of PID ${w.pid} \\("(tools2_workload|)"\\), (\\d+) pages, loadavg: [\\d.]+ [\\d.]+ [\\d.]+ \\d+/\\d+ \\d+$`).exec(lines[0]);
    assert.ok(m, r.stdout);
    if (m[1]) assert.ok(Number(m[2]) >= 8192, lines[0]);
    assert.match(r.stdout, new RegExp(`${lines[0].replace(/[()[\]\\.*+?^$|]/g, '\\$&')}\\n  (Stack trace:\\n(    \\S.*\\n)+|Failed to capture stack trace\\n)`));
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    await sleep(100);
    cg.remove();
  }
});

kernelTest('oomkill --ebpf prints its program', async () => {
  const e = await runToolToEnd('oomkill', ['--ebpf']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:oom:mark_victim\n/);
});
