import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

/** Per-vector totals over all CPUs from /proc/softirqs (the kernel's own count of softirqs run), lower-cased names. */
function procSoftirqs(): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of fs.readFileSync('/proc/softirqs', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 2) continue;
    m.set(f[0].replace(/:$/, '').toLowerCase(), f.slice(1).reduce((a, b) => a + Number(b), 0));
  }
  return m;
}

kernelTest('softirqs -C: each vector\'s count lies between the kernel\'s own /proc/softirqs counts inside and around the tracing window', async () => {
  const outerBefore = procSoftirqs();
  const ours = startTool('softirqs', ['-C']);
  const w = startWorkload2('tcp', 20);
  try {
    await ours.waitFor('Tracing soft irq events... Hit Ctrl-C to end.\n');
    await w.ready();
    const innerBefore = procSoftirqs();
    // Loopback connections raise NET_RX softirqs; timers and RCU tick anyway.
    assert.equal(await w.go(), 0);
    await sleep(200);
    const innerAfter = procSoftirqs();
    const r = await ours.stop();
    const outerAfter = procSoftirqs();
    assert.equal(r.code, 0, r.stderr);
    const rows = new Map(r.stdout.split('\n').filter((l) => /^[a-z_]+ +\d+$/.test(l)).map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));
    assert.ok(rows.size > 0, r.stdout);
    for (const [vec, before] of outerBefore) {
      const got = rows.get(vec) ?? 0;
      const inner = (innerAfter.get(vec) ?? 0) - (innerBefore.get(vec) ?? 0);
      const outer = (outerAfter.get(vec) ?? 0) - before;
      assert.ok(inner <= got && got <= outer, `${vec}: ${inner} <= ${got} <= ${outer}\n${r.stdout}`);
    }
    assert.ok((rows.get('net_rx') ?? 0) > 0, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('softirqs -d -c 0: histograms per vector for CPU 0; -C with -d is one sentence', async () => {
  const r = await runToolToEnd('softirqs', ['-d', '-N', '-c', '0', '1', '1'], 15000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nsoftirq = [a-z_]+\n {5}nsecs {15}: count {5}distribution\n/);
  const bad = await runToolToEnd('softirqs', ['-C', '-d']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "tsbpf: The --events option can't be used with time-based options\n");
});
