import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';
import { kernelTest } from '../helpers/kernel';
import { parseHistRows, runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload } from './tools-workload';

kernelTest('argdist -C on a USDT argument and -H on a uprobe $retval count the fixture exactly', async () => {
  const bin = buildFixture('tools_usdt');
  const target = spawn(bin, ['5'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise((res) => target.on('exit', res));
  const ours = startTool('argdist', ['-p', String(target.pid), '-i', '30', '-C', 'u::firstProbe():int:arg1', '-H', `r:${bin}:work():int:$retval`]);
  try {
    await sleep(1500);
    assert.equal(ours.child.exitCode, null, ours.stderr());
    target.stdin?.end('go\n');
    await exited;
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    // bcc prints histogram specifiers first, then counts.
    assert.match(r.stdout, /^\[\d\d:\d\d:\d\d\]\nr:\S+:work\(\):int:\$retval\n/);
    assert.match(r.stdout, /\nu::firstProbe\(\):int:arg1\n\tCOUNT {6}EVENT\n/);
    for (let i = 1; i <= 5; i++) assert.match(r.stdout, new RegExp(`\\n\\t1 {10}arg1 = ${i}\\n`));
    const hist = r.stdout.slice(r.stdout.indexOf(`r:${bin}:work`));
    assert.ok(hist.includes(`\n     ${"$retval".padEnd(19)} : count     distribution\n`), hist);
    const rows = parseHistRows(hist);
    assert.equal(rows.get('2 -> 3'), 1);
    assert.equal(rows.get('4 -> 7'), 2);
    assert.equal(rows.get('8 -> 15'), 2);
  } finally {
    target.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('argdist: bad specifiers are one sentence', async () => {
  const r = await runToolToEnd('argdist', ['-C', 'p:c:malloc(size_t size):size_t:$retval']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "tsbpf: $retval, $latency and $entry() are only available in return probes (r:...), not in 'p:c:malloc(size_t size):size_t:$retval'\n");
  const r2 = await runToolToEnd('argdist', []);
  assert.equal(r2.stderr, 'tsbpf: at least one -H or -C specifier is required (see argdist -h)\n');
});

kernelTest('argdist bcc syntax: -t TID, $PID and $COMM keys, STRCMP in the filter, -d ends it', async () => {
  const w = startWorkload('enoent', 23);
  const spec = 't:syscalls:sys_enter_openat():u32,char*:$PID,$COMM:STRCMP("/nonexistent/tsbpf-tools-workload",args->filename)';
  const ours = startTool('argdist', ['-t', String(w.pid), '-i', '30', '-d', '3', '-C', spec]);
  try {
    await sleep(1500);
    assert.equal(ours.child.exitCode, null, ours.stderr());
    assert.equal(await w.go(), 0);
    const r = await ours.done(10000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\n\\t23 {9}\\$PID = ${w.pid}, \\$COMM = tools_workload\\n`), r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('argdist: an expression that does not compile is the user\'s, said so', async () => {
  const r = await runToolToEnd('argdist', ['-C', 't:syscalls:sys_enter_getppid():int:args->nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tsbpf: argdist: the probe specification does not compile: .*nope/);
});
