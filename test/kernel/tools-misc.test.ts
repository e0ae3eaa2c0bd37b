import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { run, runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload } from './tools-workload';
import { buildFixture } from '../helpers/fixtures';

kernelTest('gethostlatency: three getent lookups of localhost, with the PIDs that made them, as libbpf-tools sees them', async () => {
  const ours = startTool('gethostlatency', []);
  const twin = twinPath('gethostlatency') ? startTwin('gethostlatency', []) : undefined;
  try {
    await ours.waitFor('TIME     PID     COMM             LATms      HOST\n');
    if (twin) await twin.waitFor('HOST');
    await sleep(200);
    const pids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const g = await run('getent', ['ahosts', 'localhost']);
      pids.push(g.pid);
    }
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const mine = (out: string) => out.split('\n').filter((l) => pids.some((p) => l.split(/\s+/)[1] === String(p)));
    const lines = mine(r.stdout);
    assert.equal(lines.length, 3, r.stdout);
    lines.forEach((l, i) => assert.match(l, new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${pids[i]} +getent +\\d+\\.\\d{3} +localhost$`)));
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(mine(t.stdout).map((l) => l.split(/\s+/)[1]), lines.map((l) => l.split(/\s+/)[1]));
    }
  } finally {
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest("funccount -p: a process doing exactly 64 getppid() hits tracepoint syscalls:sys_enter_getppid 64 times", async () => {
  const w = startWorkload('getppid', 64);
  const ours = startTool('funccount', ['-p', String(w.pid), 't:syscalls:sys_enter_getpp*']);
  try {
    await ours.waitFor('Tracing 1 functions for "t:syscalls:sys_enter_getpp*"... Hit Ctrl-C to end.\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.endsWith(`\n\n${'FUNC'.padEnd(36)} ${'COUNT'.padStart(8)}\n${'syscalls:sys_enter_getppid'.padEnd(36)} ${'64'.padStart(8)}\nDetaching...\n`), r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('funccount: uprobe pattern on the fixture counts each call of work() exactly', async () => {
  const bin = buildFixture('tools_usdt');
  const { spawn } = await import('node:child_process');
  const child = spawn(bin, ['9'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const ours = startTool('funccount', ['-p', String(child.pid), `p:${bin}:wor*`]);
  try {
    await ours.waitFor('Hit Ctrl-C to end.\n');
    await sleep(200);
    const done = new Promise((res) => child.on('exit', res));
    child.stdin?.end('go\n');
    await done;
    await sleep(200);
    const r = await ours.stop();
    assert.ok(r.stdout.endsWith(`\n${'work'.padEnd(36)} ${'9'.padStart(8)}\nDetaching...\n`), r.stdout);
  } finally {
    child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('kprobe-only tools name the missing feature in one sentence and exit non-zero', async (t) => {
  if (hasFeature('kprobes')) {
    t.skip('this kernel has kprobes');
    return;
  }
  const v = await runToolToEnd('vfsstat', []);
  assert.equal(v.code, 1);
  assert.match(v.stderr, /^tsbpf: vfsstat needs kprobes .* kprobes are not available: this kernel is built without CONFIG_KPROBES .*\n$/);
  assert.equal(v.stderr.split('\n').length, 2);
  const f = await runToolToEnd('funccount', ['vfs_*']);
  assert.equal(f.code, 1);
  assert.match(f.stderr, /^tsbpf: counting kernel functions \('vfs_\*'\) needs kprobes/);
  const tr = await runToolToEnd('trace', ['p::do_sys_open']);
  assert.equal(tr.code, 1);
  assert.match(tr.stderr, /CONFIG_KPROBES/);
});

kernelTest('vfsstat --syscalls: 1-second rows, and a process doing 200 failed opens shows up in OPEN/s', async () => {
  const w = startWorkload('enoent', 200);
  const ours = startTool('vfsstat', ['--syscalls', '1', '2']);
  try {
    await ours.waitFor('TIME         READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s\n');
    assert.match(ours.stdout(), /^# \(syscall approximation\)/);
    await w.go();
    const r = await ours.done(10000);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d: /.test(l));
    assert.equal(rows.length, 2, r.stdout);
    const opens = rows.map((l) => Number(l.trim().split(/\s+/)[4]));
    assert.ok(opens[0] + opens[1] >= 200, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('tplist: tracepoint fields as the format file declares them, USDT probes of the fixture', async () => {
  const r = await runToolToEnd('tplist', ['-v', 'sched:sched_switch']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^sched:sched_switch\n {4}char prev_comm\[16\];\n {4}pid_t prev_pid;\n/);
  const u = await runToolToEnd('tplist', ['-l', buildFixture('tools_usdt'), '-v']);
  assert.match(u.stdout, /tools_usdt tools:firstProbe\n {2}1 location found\n {2}2 arguments found\n/);
});

kernelTest('funccount c:*malloc: malloc and __libc_malloc (one address) are probed once: 40 calls count 40', async () => {
  const w = startWorkload('malloc', 40);
  const ours = startTool('funccount', ['-p', String(w.pid), 'c:*malloc']);
  try {
    await ours.waitFor('Hit Ctrl-C to end.\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = new Map(r.stdout.split('\n').map((l) => /^(\S+) +(\d+)$/.exec(l)).filter((m) => m !== null).map((m) => [m[1], Number(m[2])]));
    const names = ['malloc', '__libc_malloc'].filter((n) => rows.has(n));
    assert.equal(names.length, 1, r.stdout);
    assert.equal(rows.get(names[0]), 40, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});
