import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep } from './tools-harness';

const HOGS = 3;

/** The histogram rows of each "cpu = N" section: CPU -> length -> samples. */
function perCpu(out: string): Map<number, Map<number, number>> {
  const m = new Map<number, Map<number, number>>();
  let cur: Map<number, number> | undefined;
  for (const l of out.split('\n')) {
    const c = /^cpu = (\d+)$/.exec(l);
    if (c) m.set(Number(c[1]), (cur = new Map()));
    const r = /^ {8}(\d+) +: (\d+) +\|/.exec(l);
    if (r && cur) cur.set(Number(r[1]), Number(r[2]));
  }
  return m;
}

kernelTest(`runqlen -C: ${HOGS} CPU hogs pinned to CPU 0 (one CFS queue, ours): CPU 0 is sampled with at least ${HOGS - 1} waiting`, async () => {
  // Each hog, when sampled running, has the other two queued beside it in its group's CFS queue on CPU 0.
  const hogs = Array.from({ length: HOGS }, () => spawn('taskset', ['-c', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  try {
    await sleep(300);
    const r = await runToolToEnd('runqlen', ['-C', '1', '1'], 30000);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('Sampling run queue length... Hit Ctrl-C to end.\n'), r.stdout);
    const cpus = perCpu(r.stdout);
    const cpu0 = cpus.get(0);
    assert.ok(cpu0, r.stdout);
    assert.ok([...cpu0].some(([len, n]) => len >= HOGS - 1 && n > 0), r.stdout);
    const o = await runToolToEnd('runqlen', ['-O', '-C', '1', '1'], 30000);
    assert.equal(o.code, 0, o.stderr);
    const occ = /\nrunqocc, CPU 0 +([\d.]+)%\n/.exec(o.stdout);
    assert.ok(occ && Number(occ[1]) > 0, o.stdout);
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
});

kernelTest('runqlen --ebpf: profile:hz:99 and the current task\'s CFS queue; -T -O prints the time and one occupancy line', async () => {
  const e = await runToolToEnd('runqlen', ['--ebpf']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^profile:hz:99\n\{\n {2}\$len = curtask->se\.cfs_rq->nr_(queued|running);\n/);
  const t = await runToolToEnd('runqlen', ['-T', '-O', '1', '1'], 30000);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /\n\n\d\d:\d\d:\d\d\nrunqocc: \d+\.\d\d%\n$/);
});
