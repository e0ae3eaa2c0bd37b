import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool, startTwin, twinPath, type Running } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

const N = 5;
const rowsOf = (out: string) => out.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));

kernelTest(`tcpconnect, tcpaccept, tcpstates: ${N} loopback connections to the fixture's port, the two ends' ports agree, tcpstates as libbpf-tools'`, async () => {
  const w = startWorkload2('tcp', N);
  const port = Number(await w.ready());
  assert.ok(port > 0);
  const started: Running[] = [];
  const start = (name: string, args: string[]) => {
    const r = startTool(name, args);
    started.push(r);
    return r;
  };
  const conn = start('tcpconnect', ['-L', '-U', '-P', String(port)]);
  const count = start('tcpconnect', ['-c', '-P', String(port)]);
  const acc = start('tcpaccept', ['-P', String(port)]);
  const client = start('tcpstates', ['-D', String(port)]);
  const server = start('tcpstates', ['-4', '-L', String(port)]);
  const twin = twinPath('tcpstates') ? startTwin('tcpstates', ['-D', String(port)]) : undefined;
  try {
    await conn.waitFor('UID   PID     COMM         IP SADDR            LPORT  DADDR            DPORT \n');
    await count.waitFor('Tracing connect ... Hit Ctrl-C to end\n');
    await acc.waitFor('PID     COMM         IP RADDR            RPORT LADDR            LPORT\n');
    for (const t of [client, server]) await t.waitFor('SKADDR           C-PID C-COMM     LADDR           LPORT RADDR           RPORT OLDSTATE    -> NEWSTATE    MS\n');
    if (twin) await twin.waitFor('NEWSTATE');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(400);

    const c = await conn.stop();
    assert.equal(c.code, 0, c.stderr);
    const crows = rowsOf(c.stdout);
    assert.equal(crows.length, N, c.stdout);
    for (const r of crows) assert.deepEqual([r[0], r[1], r[2], r[3], r[4], r[6], r[7]], ['0', String(w.pid), 'tools2_workl', '4', '127.0.0.1', '127.0.0.1', String(port)], c.stdout);
    const clientPorts = crows.map((r) => r[5]);
    assert.equal(new Set(clientPorts).size, N);

    const k = await count.stop();
    assert.ok(k.stdout.endsWith(`\n${'LADDR'.padEnd(25)} ${'RADDR'.padEnd(25)} ${'RPORT'.padEnd(20)} CONNECTS  \n${'127.0.0.1'.padEnd(25)} ${'127.0.0.1'.padEnd(25)} ${String(port).padEnd(20)} ${String(N).padEnd(10)}\n`), k.stdout);

    const a = await acc.stop();
    const arows = rowsOf(a.stdout);
    assert.deepEqual(arows, clientPorts.map((p) => [String(w.pid), 'tools2_workl', '4', '127.0.0.1', p, '127.0.0.1', String(port)]), a.stdout);

    // Each client socket: connect, handshake, active close, the peer's FIN.
    const cs = rowsOf((await client.stop()).stdout);
    // (The kernel reuses freed socks, so connections are told apart by order: the workload makes them one by one.)
    const seq = ['CLOSE>SYN_SENT', 'SYN_SENT>ESTABLISHED', 'ESTABLISHED>FIN_WAIT1', 'FIN_WAIT1>FIN_WAIT2', 'FIN_WAIT2>CLOSE'];
    assert.deepEqual(cs.map((r) => `${r[7]}>${r[9]}`), Array(N).fill(seq).flat(), cs.join('\n'));
    for (let i = 0; i < N; i++) {
      const conn5 = cs.slice(i * 5, i * 5 + 5);
      assert.deepEqual(conn5.map((r) => [r[0], r[4], r[6]]), conn5.map((_, j) => [conn5[0][0], j === 0 ? '0' : clientPorts[i], String(port)]), cs.join('\n'));
    }
    // The server side: the listener closes once; each accepted socket ends after a passive close.
    const ss = rowsOf((await server.stop()).stdout);
    assert.equal(ss.filter((r) => r[7] === 'LISTEN' && r[9] === 'CLOSE').length, 1, ss.join('\n'));
    assert.equal(ss.filter((r) => r[7] === 'LAST_ACK' && r[9] === 'CLOSE').length, N, ss.join('\n'));
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(rowsOf(t.stdout).map((r) => r.slice(0, 10)), cs.map((r) => r.slice(0, 10)), t.stdout);
    }
  } finally {
    w.child.kill('SIGKILL');
    for (const t of started) t.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('tcpconnect/tcpaccept/tcpstates: --ebpf programs and one-sentence flag errors', async () => {
  const e = await runToolToEnd('tcpaccept', ['--ebpf', '-6']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:syscalls:sys_exit_accept/);
  assert.match(e.stdout, /\$fam == 10\)/);
  const p = await runToolToEnd('tcpconnect', ['-P', 'http']);
  assert.equal(p.code, 1);
  assert.match(p.stderr, /^tsbpf: -P: 'http' is not a port number \(0-65535\)\n$/);
  const x = await runToolToEnd('tcpstates', ['-4', '-6']);
  assert.equal(x.code, 1);
  assert.match(x.stderr, /mutually exclusive/);
});

kernelTest('solisten -p --show-netns: 3 IPv4 listens with backlogs 10-12 and one IPv6 on ::1, with the ports the fixture got', async () => {
  const w = startWorkload2('listen', 3);
  const ours = startTool('solisten', ['--show-netns', '-p', String(w.pid)]);
  try {
    await ours.waitFor('PID     COMM         NETNS        PROTO  BACKLOG  PORT  ADDR                                   \n');
    await sleep(200);
    const out: string[] = [];
    w.child.stdout?.on('data', (d: Buffer | string) => out.push(String(d)));
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const ports = out.join('').trim().split('\n');
    assert.equal(ports.length, 4);
    const { readlinkSync } = await import('node:fs');
    const netns = readlinkSync(`/proc/self/ns/net`).replace(/\D/g, '');
    assert.deepEqual(rowsOf(r.stdout), [
      ...[0, 1, 2].map((i) => [String(w.pid), 'tools2_workl', netns, 'TCPv4', String(10 + i), ports[i], '127.0.0.1']),
      [String(w.pid), 'tools2_workl', netns, 'TCPv6', '99', ports[3], '::1'],
    ], r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});
