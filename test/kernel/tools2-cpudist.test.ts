import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { parseHistRows, runToolToEnd, sections, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload } from './tools-workload';

const total = (rows: Map<string, number>) => [...rows.values()].reduce((a, b) => a + b, 0);

for (const mode of ['on', 'off'] as const) {
  kernelTest(`cpudist${mode === 'off' ? ' -O' : ''} -p: a process sleeping 1 ms 60 times has its ${mode}-CPU slices counted${mode === 'off' ? ', as many as libbpf-tools cpudist counts' : ''}`, async () => {
    const w = startWorkload('sleep', 60);
    const flags = [...(mode === 'off' ? ['-O'] : []), '-p', String(w.pid)];
    const ours = startTool('cpudist', [...flags, '-e']);
    // Debian's libbpf-tools cpudist -p prints an empty on-CPU histogram on this kernel: compare the off-CPU mode only.
    const twin = mode === 'off' && twinPath('cpudist') ? startTwin('cpudist', flags) : undefined;
    try {
      await ours.waitFor(`Tracing ${mode}-CPU time... Hit Ctrl-C to end.\n`);
      if (twin) await twin.waitFor('Hit Ctrl-C');
      await sleep(200);
      assert.equal(await w.go(), 0);
      await sleep(200);
      const r = await ours.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ {5}usecs {15}: count {5}distribution$/m);
      const n = total(parseHistRows(r.stdout));
      // Usually one slice per sleep (on-CPU: plus the last, to exit), and more with preemptions; but a sleep whose timer
      // fires before the thread is off the CPU is no slice, so a loaded machine can show fewer: the twin has the exact count.
      assert.ok(n >= 1, `count ${n}:\n${r.stdout}`);
      const ext = /\navg = (\d+) usecs, total: (\d+) usecs, count: (\d+)\n/.exec(r.stdout);
      assert.ok(ext, r.stdout);
      assert.equal(Number(ext[3]), n);
      assert.equal(Number(ext[1]), Math.floor(Number(ext[2]) / n));
      if (twin) {
        const t = await twin.stop();
        assert.equal(total(parseHistRows(t.stdout)), n, `ours:\n${r.stdout}\nlibbpf-tools:\n${t.stdout}`);
      }
    } finally {
      w.child.kill('SIGKILL');
      ours.child.kill('SIGKILL');
      twin?.child.kill('SIGKILL');
    }
  });
}

kernelTest('cpudist -P -p -m: one "pid = PID COMM" section for the traced process, in milliseconds', async () => {
  const w = startWorkload('sleep', 20);
  const ours = startTool('cpudist', ['-O', '-P', '-m', '-p', String(w.pid)]);
  try {
    await ours.waitFor('Hit Ctrl-C to end.\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    // The process is gone when the report prints, so bcc's section is the bare pid.
    const secs = sections(r.stdout, /^pid = (\S+)$/);
    assert.deepEqual([...secs.keys()], [String(w.pid)], r.stdout);
    assert.match(r.stdout, /^ {5}msecs {15}: count/m);
    assert.ok(total(parseHistRows(secs.get(String(w.pid)) as string)) >= 1, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('cpudist: -P with -L is one sentence; --ebpf prints the program', async () => {
  const r = await runToolToEnd('cpudist', ['-P', '-L']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'tsbpf: -P and -L are mutually exclusive\n');
  const e = await runToolToEnd('cpudist', ['--ebpf', '-O']);
  assert.match(e.stdout, /^tracepoint:sched:sched_switch\n/);
});
