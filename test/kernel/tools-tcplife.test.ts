import assert from 'node:assert/strict';
import * as net from 'node:net';
import { kernelTest } from '../helpers/kernel';
import { sleep, startTool, startTwin, twinPath } from './tools-harness';

/** One loopback session: the client sends `up` bytes, the server answers `down` bytes, both close. Resolves with the client's local port and the server port. */
async function session(up: number, down: number): Promise<{ clientPort: number; serverPort: number }> {
  const server = net.createServer((c) => {
    let got = 0;
    c.on('data', (d) => {
      got += d.length;
      if (got >= up) c.end(Buffer.alloc(down, 1));
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const serverPort = (server.address() as net.AddressInfo).port;
  const client = net.connect(serverPort, '127.0.0.1');
  await new Promise<void>((res) => client.on('connect', res));
  const clientPort = client.localPort as number;
  let rx = 0;
  client.on('data', (d) => (rx += d.length));
  client.write(Buffer.alloc(up, 2));
  await new Promise<void>((res) => client.on('end', res));
  assert.equal(rx, down);
  client.end();
  await new Promise<void>((res) => client.on('close', () => res()));
  await new Promise<void>((res) => server.close(() => res()));
  await sleep(50);
  return { clientPort, serverPort };
}

const SIZES: Array<[number, number]> = [[10240, 2048], [51200, 4096], [102400, 1024]];

function linesFor(out: string, clientPort: number, serverPort: number): string[][] {
  return out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 9 && ((f[3] === String(clientPort) && f[5] === String(serverPort)) || (f[3] === String(serverPort) && f[5] === String(clientPort))));
}

async function traceSessions(args: string[]) {
  const ours = startTool('tcplife', args);
  const twin = twinPath('tcplife') ? startTwin('tcplife', args) : undefined;
  await ours.waitFor('PID     COMM             LADDR           LPORT RADDR           RPORT TX_KB  RX_KB  MS\n');
  if (twin) await twin.waitFor('PID');
  await sleep(200);
  const ports = [];
  for (const [up, down] of SIZES) ports.push(await session(up, down));
  await sleep(300);
  const r = await ours.stop();
  const t = twin ? await twin.stop() : undefined;
  return { r, t, ports };
}

kernelTest('tcplife: three loopback sessions show both ends, with this process, its ports and addresses, as libbpf-tools tcplife', async () => {
  const { r, t, ports } = await traceSessions(['-p', String(process.pid)]);
  assert.equal(r.code, 0, r.stderr);
  for (const { clientPort, serverPort } of ports) {
    const ls = linesFor(r.stdout, clientPort, serverPort);
    assert.equal(ls.length, 2, r.stdout);
    for (const f of ls) {
      assert.equal(f[0], String(process.pid));
      assert.equal(f[2], '127.0.0.1');
      assert.equal(f[4], '127.0.0.1');
      assert.ok(Number(f[8]) >= 0);
    }
    if (t) {
      const tl = linesFor(t.stdout, clientPort, serverPort);
      assert.deepEqual(tl.map((f) => f.slice(0, 6)).sort(), ls.map((f) => f.slice(0, 6)).sort(), t.stdout);
    }
  }
});

kernelTest('tcplife: TX_KB and RX_KB are the bytes each end sent and received (needs struct tcp_sock reads in the compiler)', async () => {
  const { r, ports } = await traceSessions(['-p', String(process.pid)]);
  assert.equal(r.code, 0, r.stderr);
  ports.forEach(({ clientPort, serverPort }, i) => {
    const [up, down] = SIZES[i];
    const client = linesFor(r.stdout, clientPort, serverPort).find((f) => f[3] === String(clientPort));
    assert.ok(client, r.stdout);
    assert.equal(client[6], (up / 1024).toFixed(2), r.stdout);
    assert.equal(client[7], (down / 1024).toFixed(2), r.stdout);
  });
});
