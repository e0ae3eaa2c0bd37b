import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload } from './tools-workload';

/** tools_usdt waiting on stdin; go() lets it fire tools:firstProbe(i, "item-i") n times. */
function startUsdt(n: number) {
  const child = spawn(buildFixture('tools_usdt'), [String(n)], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { pid: child.pid as number, child, go: () => (child.stdin?.end('go\n'), exited) };
}

kernelTest("trace -p PID 'u::firstProbe \"%d - %s\", arg1, arg2' prints one line per firing with both USDT arguments", async () => {
  const w = startUsdt(7);
  const ours = startTool('trace', ['-p', String(w.pid), 'u::firstProbe "%d - %s", arg1, arg2']);
  try {
    await ours.waitFor('PID     TID     COMM            FUNC             -\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').slice(1).filter(Boolean);
    assert.deepEqual(lines, [1, 2, 3, 4, 5, 6, 7].map((i) =>
      `${String(w.pid).padEnd(7)} ${String(w.pid).padEnd(7)} ${'tools_usdt'.padEnd(15)} ${'firstProbe'.padEnd(16)} ${i} - item-${i}`));
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('trace: predicate, uprobe on the fixture function with retval, -M stops after N events', async () => {
  const w = startUsdt(6);
  const bin = buildFixture('tools_usdt');
  const ours = startTool('trace', ['-M', '2', '-p', String(w.pid), `u:${bin}:firstProbe (arg1 > 3) "i=%d", arg1`, `r:${bin}:work "ret=%d", retval`]);
  try {
    await ours.waitFor('FUNC');
    await sleep(200);
    await w.go();
    const r = await ours.done(10000);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.slice(32).trim());
    assert.deepEqual(lines, ['work             ret=2', 'work             ret=4']);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('trace: bad specs are one sentence', async () => {
  const r = await runToolToEnd('trace', ['x:foo:bar']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "tsbpf: unknown probe type 'x' in 'x:foo:bar' (use p, r, t or u)\n");
  const r2 = await runToolToEnd('trace', ['t:syscalls:sys_enter_openat "%s %d", args->filename']);
  assert.match(r2.stderr, /has 2 conversions but 1 arguments/);
});

kernelTest("trace bcc syntax: ':c:open' (empty type), STRCMP in a predicate, -C and -t columns, -f message filter", async () => {
  const w = startWorkload('enoent', 7);
  const path = '/nonexistent/tsbpf-tools-workload';
  const ours = startTool('trace', ['-p', String(w.pid), '-C', '-t', '-f', 'tsbpf-tools',
    ':c:open "%s", arg1',
    `t:syscalls:sys_enter_openat (STRCMP("${path}", args->filename)) "at %s", args->filename`,
    't:syscalls:sys_enter_openat (STRCMP("/no/such/path", args->filename)) "never %s", args->filename']);
  try {
    await ours.waitFor('TIME     CPU PID     TID     COMM            FUNC             -\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').slice(1).filter(Boolean);
    const row = (func: string, msg: string) => new RegExp(`^\\d+\\.\\d{6} \\d +${w.pid} +${w.pid} +tools_workload +${func} +${msg}$`);
    assert.equal(lines.filter((l) => row('open', path).test(l)).length, 7, r.stdout);
    assert.equal(lines.filter((l) => row('sys_enter_openat', `at ${path}`).test(l)).length, 7, r.stdout);
    assert.equal(lines.length, 14, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest("trace 'r:tools_workload:...': a library name that is an executable on PATH (bcc's find_exe), -A counts lines", async () => {
  const bin = buildFixture('tools_workload', ['-pthread']);
  const oldPath = process.env.PATH;
  process.env.PATH = `${require('node:path').dirname(bin)}:${oldPath ?? ''}`;
  const w = startWorkload('spin', 30);
  let ours;
  try {
    ours = startTool('trace', ['-p', String(w.pid), '-A', '-M', '1', 'p:tools_workload:tools_spin_here "spin %d", arg1']);
  } finally {
    process.env.PATH = oldPath;
  }
  try {
    await ours.waitFor('FUNC');
    await sleep(200);
    assert.equal(await w.go(), 0);
    const r = await ours.done(10000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\n${w.pid} +${w.pid} +tools_workload +tools_spin_here +spin 30\\n-->COUNT 1\\n\\n$`), r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});
