import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload } from './tools-workload';

kernelTest('llcstat: without a CPU PMU one sentence and exit 1; with one, the spinning fixture has a row and the totals add up', async () => {
  if (!hasFeature('hardware_events')) {
    const r = await runToolToEnd('llcstat', ['1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'tsbpf: hardware perf events are not available: there is no CPU PMU (common in virtual machines)\n');
    return;
  }
  const w = startWorkload('spin', 500);
  const ours = startTool('llcstat', ['-c', '10', '2']);
  try {
    await ours.waitFor('Running for 2 seconds or hit Ctrl-C to end.\n');
    await sleep(100);
    assert.equal(await w.go(), 0);
    const r = await ours.done(15000);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /^\d+ +\S/.test(l)).map((l) => l.trim().split(/\s+/));
    assert.ok(rows.some((f) => f[0] === String(w.pid) && f[1] === 'tools_workload'), r.stdout);
    const ref = rows.reduce((a, f) => a + Number(f[3]), 0);
    const miss = rows.reduce((a, f) => a + Number(f[4]), 0);
    assert.match(r.stdout, new RegExp(`\\nTotal References: ${ref} Total Misses: ${miss} Hit Rate: \\d+\\.\\d\\d%\\n$`));
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('llcstat --ebpf prints its program', async () => {
  const e = await runToolToEnd('llcstat', ['--ebpf', '-c', '50', '-t']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^hardware:cache-references:50\n\{\n {2}@llc_ref\[pid, tid, cpu, comm\] = sum\(50\);/);
});
