import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { rowsAfter, startWorkload3c } from './tools3c-workload';

const N = 4;

kernelTest(`bindsnoop -E -p: ${N} TCP binds on 127.0.0.1:0, a UDP one, a TCP one on [::1], a failing one: the ports the kernel chose, the options set`, async () => {
  const w = startWorkload3c('bind', N);
  const ours = startTool('bindsnoop', ['-E', '-U', '-p', String(w.pid)]);
  const wide = startTool('bindsnoop', ['-w', '-p', String(w.pid)]);
  const count = startTool('bindsnoop', ['--count', '-p', String(w.pid)]);
  try {
    const header = '   UID  RC      PID COMM         PROT ADDR            PORT   OPTS IF\n';
    await ours.waitFor(header);
    await wide.waitFor('       PID COMM         PROT ADDR                                    PORT   OPTS IF\n');
    await count.waitFor('Tracing binds ... Hit Ctrl-C to end\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    const ports = w.out().trim().split('\n');
    assert.equal(ports.length, N + 2);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const p = String(w.pid);
    const expected = [
      ...Array.from({ length: N }, (_, i) => ['0', '0', p, 'tools3c_workl', 'TCP', '127.0.0.1', ports[i], i % 2 === 0 ? '...R.' : '.....', '0']),
      ['0', '0', p, 'tools3c_workl', 'UDP', '127.0.0.1', ports[N], '.....', '0'],
      ['0', '0', p, 'tools3c_workl', 'TCP', '::1', ports[N + 1], '....r', '0'],
      // EADDRINUSE: the socket as it was, unbound
      ['0', '-98', p, 'tools3c_workl', 'TCP', '0.0.0.0', '0', '.....', '0'],
    ].map((row) => row.map((c) => (c === 'tools3c_workl' ? 'tools3c_work' : c)));
    assert.deepEqual(rowsAfter(r.stdout, header), expected, r.stdout);
    // Without -E the failed bind is not shown; -w widens the columns, same values.
    const wr = await wide.stop();
    assert.deepEqual(rowsAfter(wr.stdout, 'OPTS IF\n'), expected.slice(0, -1).map((row) => row.slice(2)), wr.stdout);
    const c = await count.stop();
    const crows = rowsAfter(c.stdout, 'BINDS     \n');
    assert.deepEqual(crows.sort(), ports.map((port, i) => [i === N + 1 ? '::1' : '127.0.0.1', port, '1']).sort(), c.stdout);
  } finally {
    w.child.kill('SIGKILL');
    for (const t of [ours, wide, count]) t.child.kill('SIGKILL');
  }
});

kernelTest('bindsnoop --ebpf prints its program; -P with a bad port is one sentence', async () => {
  const e = await runToolToEnd('bindsnoop', ['--ebpf', '-P', '80,81']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:raw_syscalls:sys_enter \/args->id == 49\/\n/);
  assert.match(e.stdout, /\(\$port == 80 \|\| \$port == 81\)/);
  const bad = await runToolToEnd('bindsnoop', ['-P', 'x']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "tsbpf: -P: 'x' is not a port number (0-65535)\n");
});
