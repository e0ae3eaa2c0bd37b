/**
 * tcpretrans and tcpdrop against the kernel's own counts: the fixture, in a network namespace of its own, sends over
 * loopback TCP to a socket whose socket filter drops about half of what arrives, and reports the namespace's
 * TcpRetransSegs delta and the receiving socket's drop count (SO_MEMINFO).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { rowsAfter, startWorkload3c } from './tools3c-workload';

const BYTES = 100_000;

kernelTest(`tcpretrans, tcpretrans -c, tcpdrop --pid-netns: ${BYTES} bytes over a lossy loopback in a netns of our own; rows = TcpRetransSegs delta (see below), SOCKET_FILTER drops = the socket's drop count`, async () => {
  const w = startWorkload3c('lossy', BYTES, { netns: true });
  const [, cport, sport] = (await w.ready()).split(' ');
  assert.match(`${cport} ${sport}`, /^\d+ \d+$/);
  const retrans = startTool('tcpretrans', ['-s', '-4']);
  const count = startTool('tcpretrans', ['-c']);
  const drop = startTool('tcpdrop', ['--pid-netns', String(w.pid)]);
  try {
    const rheader = 'TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE        SEQ       \n';
    await retrans.waitFor(rheader);
    await count.waitFor('Tracing retransmits ... Hit Ctrl-C to end\n');
    await drop.waitFor('REASON (CODE)\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    const m = /retranssegs (\d+) drops (\d+)/.exec(w.out());
    assert.ok(m, w.out());
    const [segs, drops] = [Number(m[1]), Number(m[2])];
    // about half of the segments are dropped: there are some of both
    assert.ok(segs > 0 && drops > 0, w.out());
    await sleep(300);

    const r = await retrans.stop();
    assert.equal(r.code, 0, r.stderr);
    const flow = [`127.0.0.1:${cport}`, 'R>', `127.0.0.1:${sport}`];
    const mine = rowsAfter(r.stdout, rheader).filter((x) => x[3] === flow[0] && x[5] === flow[2]);
    // The kernel's counter and the tracepoint agree in most runs; in about one run of eight the counter is one higher
    // and neither tracepoint:tcp:tcp_retransmit_skb nor rawtracepoint:tcp_retransmit_skb fired for it (measured with
    // both attached, every segment of pcount 1, err 0): a retransmission path outside __tcp_retransmit_skb's tracepoint.
    assert.ok(mine.length <= segs && segs - mine.length <= 1, `${segs} retransmitted segments counted by the kernel, ${mine.length} rows:\n${r.stdout}`);
    for (const x of mine) {
      assert.deepEqual([x[2], x[4], x[6]], ['4', 'R>', 'ESTABLISHED'], x.join(' '));
      assert.match(x[7], /^\d+$/);
    }
    const c = await count.stop();
    assert.equal(c.code, 0, c.stderr);
    const crow = rowsAfter(c.stdout, 'RETRANSMITS\n').find((x) => x[0] === `[127.0.0.1]#${cport}` && x[2] === `[127.0.0.1]#${sport}`);
    // -c counts in the kernel what the rows show one by one
    assert.deepEqual(crow, [`[127.0.0.1]#${cport}`, '<->', `[127.0.0.1]#${sport}`, String(mine.length)], c.stdout);

    const d = await drop.stop();
    assert.equal(d.code, 0, d.stderr);
    const blocks = d.stdout.split('\n\n').map((b) => b.replace(/^TIME .*\n/, '')).filter((b) => b.trim() !== '');
    const filtered = blocks.filter((b) => / SOCKET_FILTER \(\d+\)\n/.test(b));
    assert.equal(filtered.length, drops, d.stdout);
    for (const b of filtered) {
      const [head, ...stack] = b.split('\n').filter((l) => l !== '');
      assert.match(head, new RegExp(`^\\d\\d:\\d\\d:\\d\\d \\d+ +4 +127\\.0\\.0\\.1:${cport} +> 127\\.0\\.0\\.1:${sport} +ESTABLISHED \\([A-Z|]*ACK[A-Z|]*\\) +SOCKET_FILTER \\(\\d+\\)$`), b);
      // the kernel stack that dropped it, innermost first: TCP's receive path
      assert.ok(stack.length > 2 && stack.every((l) => /^\t\S+\+0x[0-9a-f]+$/.test(l)), b);
      assert.ok(stack.some((l) => l.startsWith('\ttcp_v4_rcv+')), b);
    }
  } finally {
    w.child.kill('SIGKILL');
    for (const t of [retrans, count, drop]) t.child.kill('SIGKILL');
  }
});

kernelTest('tcpretrans and tcpdrop: --ebpf programs; -4 with -6 is one sentence', async () => {
  const e = await runToolToEnd('tcpretrans', ['--ebpf', '-c']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:tcp:tcp_retransmit_skb\n/);
  assert.match(e.stdout, /= count\(\);/);
  const d = await runToolToEnd('tcpdrop', ['--ebpf', '--netns-id', '4026531840']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^tracepoint:skb:kfree_skb \/args->reason > \d+\/\n/);
  assert.match(d.stdout, /ns\.inum == 4026531840/);
  for (const tool of ['tcpretrans', 'tcpdrop']) {
    const x = await runToolToEnd(tool, ['-4', '-6']);
    assert.equal(x.code, 1);
    assert.equal(x.stderr, 'tsbpf: -4 and -6 are mutually exclusive\n');
  }
});
