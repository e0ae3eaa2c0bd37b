import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { rowsAfter, startWorkload3c } from './tools3c-workload';

const BYTES = 3 * 1024 * 1024;
const HEADER = 'PID     COMM         LADDR                 RADDR                  RX_KB  TX_KB\n';

kernelTest(`tcptop -C: a loopback transfer of exactly ${BYTES} bytes from a process to its child: TX_KB and RX_KB ${BYTES / 1024} on the two ends`, async () => {
  const w = startWorkload3c('xfer', BYTES);
  const m = /^pids (\d+) (\d+) ports (\d+) (\d+)$/.exec(await w.ready());
  assert.ok(m, w.out());
  const [, sender, receiver, sport, rport] = m;
  // one report, at Ctrl-C: the whole transfer in one interval
  const all = startTool('tcptop', ['-C', '99']);
  const one = startTool('tcptop', ['-C', '-S', '-p', sender, '99']);
  try {
    for (const t of [all, one]) await t.waitFor('Tracing... Output every 99 secs. Hit Ctrl-C to end\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const a = await all.stop();
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /\n\d\d:\d\d:\d\d loadavg: [\d.]+ [\d.]+ [\d.]+ \d+\/\d+ \d+\n\n/);
    const rows = rowsAfter(a.stdout, HEADER);
    const kb = String(BYTES / 1024);
    // (both ends moved the same bytes, so their order in the busiest-first table is either)
    const ours = rows.filter((r) => r[0] === sender || r[0] === receiver).sort();
    assert.deepEqual(ours, [
      [sender, 'tools3c_work', `127.0.0.1:${sport}`, `127.0.0.1:${rport}`, '0', kb],
      [receiver, 'tools3c_work', `127.0.0.1:${rport}`, `127.0.0.1:${sport}`, kb, '0'],
    ].sort(), a.stdout);
    const o = await one.stop();
    assert.equal(o.code, 0, o.stderr);
    assert.doesNotMatch(o.stdout, /loadavg/);
    assert.deepEqual(rowsAfter(o.stdout, HEADER), [[sender, 'tools3c_work', `127.0.0.1:${sport}`, `127.0.0.1:${rport}`, '0', kb]], o.stdout);
  } finally {
    w.child.kill('SIGKILL');
    all.child.kill('SIGKILL');
    one.child.kill('SIGKILL');
  }
});

kernelTest('tcptop 1 2 ends by itself after two reports; --ebpf prints its program; -4 -6 is one sentence', async () => {
  const r = await runToolToEnd('tcptop', ['-C', '1', '2'], 30000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.match(/ loadavg: /g)?.length, 2, r.stdout);
  const e = await runToolToEnd('tcptop', ['--ebpf', '-6']);
  assert.match(e.stdout, /^tracepoint:sock:sock_send_length \/args->protocol == 6 && args->ret > 0 && args->family == 10\/\n/);
  const x = await runToolToEnd('tcptop', ['-4', '-6']);
  assert.equal(x.stderr, 'tsbpf: -4 and -6 are mutually exclusive\n');
});
