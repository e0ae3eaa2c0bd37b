/**
 * funcslower on user functions (uprobes, so it runs here): the fixture's tools3_slow(ms) sleeps ms milliseconds,
 * so with a 10 ms threshold every one of its calls is a row, with its argument and return value. The kernel-function
 * test is in tools3-kprobes.test.ts (the VM lane).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload3a } from './tools3-a-workload';

const HEADER = 'Tracing function calls slower than 10 ms... Ctrl+C to quit.\n';

kernelTest('funcslower -m 10 -a 1 -p: 8 calls of tools3_slow (10 or 20 ms each) are 8 rows with their argument and return value', async () => {
  const bin = buildFixture('tools3_a_workload');
  const w = startWorkload3a('slow', 8);
  const ours = startTool('funcslower', ['-m', '10', '-a', '1', '-p', String(w.pid), `${bin}:tools3_slow`, `${bin}:tools3_fast`]);
  try {
    assert.equal(await w.ready(), 'ready');
    await ours.waitFor(`${HEADER}COMM           PID    LAT(ms)             RVAL FUNC ARGS\n`, 60000);
    await sleep(200);
    await w.work();
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(/\s+/));
    const slow = rows.filter((f) => f[4] === `${bin}:tools3_slow`);
    assert.deepEqual(slow.map((f) => [f[0], f[1], f[3], f[5]]), Array.from({ length: 8 }, (_, i) => (i % 2 ? ['tools3_a_workl', String(w.pid), '14', '0x14'] : ['tools3_a_workl', String(w.pid), 'a', '0xa'])), r.stdout);
    // every row shown, of either function, took at least the threshold (a fast call shows only if it was held up that long)
    for (const f of rows) assert.ok(Number(f[2]) >= 10, r.stdout);
    for (const [i, f] of slow.entries()) assert.ok(Number(f[2]) >= (i % 2 ? 20 : 10), r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('funcslower -U -u 5000 -t: each call row is followed by its user stack (tools3_slow, then main)', async () => {
  const bin = buildFixture('tools3_a_workload');
  const w = startWorkload3a('slow', 2);
  const ours = startTool('funcslower', ['-t', '-U', '-u', '5000', '-p', String(w.pid), `${bin}:tools3_slow`]);
  try {
    assert.equal(await w.ready(), 'ready');
    await ours.waitFor('TIME       COMM           PID    LAT(us)             RVAL FUNC\n', 60000);
    await sleep(200);
    await w.work();
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').slice(2).filter(Boolean);
    const rows = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\d+\.\d{6} +tools3_a_workl /.test(l));
    assert.equal(rows.length, 2, r.stdout);
    assert.match(rows[0][0], /^0\.000000 /);
    for (const [, i] of rows) assert.deepEqual([lines[i + 1], lines[i + 2]], ['    tools3_slow', '    main'], r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('funcslower -f -U: each slow call is one folded line, comm;...;main;tools3_slow 1', async () => {
  const bin = buildFixture('tools3_a_workload');
  // -f prints no header: the fixture calls tools3_slow(10) until killed, and the lines come once it is attached
  const w = startWorkload3a('slowloop', 10);
  const ours = startTool('funcslower', ['-f', '-U', '-m', '5', '-p', String(w.pid), `${bin}:tools3_slow`]);
  try {
    assert.equal(await w.ready(), 'ready');
    void w.go();
    await ours.waitFor(/(?:.*\n){3}/, 120000);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.ok(lines.length >= 3, r.stdout);
    // comm;outermost user frames (libc's start, symbolized or not);main;tools3_slow 1
    for (const l of lines) assert.match(l, /^tools3_a_worklo;(?:[^;]+;)*main;tools3_slow 1$/, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('funcslower: bad input is one sentence; --ebpf prints the program', async () => {
  for (const [args, re] of [
    [[], /^tsbpf: funcslower needs at least one function to trace/],
    [['-m', 'x', 'c:open'], /^tsbpf: -m expects a number, got 'x'\n$/],
    [['-a', '7', 'c:open'], /^tsbpf: -a: at most 6 arguments can be printed, got 7\n$/],
    [['c:'], /^tsbpf: 'c:' is not LIBRARY:FUNCTION/],
  ] as const) {
    const r = await runToolToEnd('funcslower', [...args]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  const e = await runToolToEnd('funcslower', ['--ebpf', '-u', '7', 'vfs_read']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^kprobe:vfs_read\n\{\n  @fs_start\[tid, 0\] = nsecs;\n\}\n\nkretprobe:vfs_read \/@fs_start\[tid, 0\] != 0\/\n[^]*\$dur >= 7000\)/);
});
