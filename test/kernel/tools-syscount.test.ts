import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload } from './tools-workload';

function rowsOf(out: string): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const line of out.split('\n')) {
    const r = /^(\S+)\s+(\d+)(?:\s+([\d.]+))?$/.exec(line);
    if (r) m.set(r[1], [Number(r[2]), ...(r[3] ? [Number(r[3])] : [])]);
  }
  return m;
}

kernelTest('syscount -p: a process doing exactly 77 getppid() is counted 77 times, as libbpf-tools syscount counts it', async () => {
  const w = startWorkload('getppid', 77);
  const ours = startTool('syscount', ['-p', String(w.pid)]);
  const twin = twinPath('syscount') ? startTwin('syscount', ['-p', String(w.pid)]) : undefined;
  try {
    await ours.waitFor('Tracing syscalls, printing top 10... Ctrl+C to quit.\n');
    if (twin) await twin.waitFor('Tracing syscalls');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[\d\d:\d\d:\d\d\]\nSYSCALL {19}COUNT\n/m);
    const rows = rowsOf(r.stdout);
    assert.deepEqual(rows.get('getppid'), [77], r.stdout);
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(rowsOf(t.stdout).get('getppid'), [77], t.stdout);
    }
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('syscount -e ENOENT -L: exactly 41 failed opens, with a latency column', async () => {
  const w = startWorkload('enoent', 41);
  const ours = startTool('syscount', ['-p', String(w.pid), '-e', 'ENOENT', '-L']);
  try {
    await ours.waitFor('Ctrl+C to quit.\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SYSCALL {19}COUNT {8}TIME \(us\)$/m);
    const rows = rowsOf(r.stdout);
    assert.equal(rows.size, 1, r.stdout);
    const [name, v] = [...rows.entries()][0];
    assert.ok(name === 'openat' || name === 'open', r.stdout);
    assert.equal(v[0], 41);
    assert.ok(v[1] > 0, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('syscount -P -p: one row for the process with its comm and count', async () => {
  const w = startWorkload('getppid', 30);
  const ours = startTool('syscount', ['-P', '-p', String(w.pid)]);
  try {
    await ours.waitFor('Ctrl+C to quit.\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.match(r.stdout, /^PID {4}COMM {15}COUNT$/m);
    const line = r.stdout.split('\n').find((l) => l.startsWith(String(w.pid)));
    assert.ok(line, r.stdout);
    const f = (line as string).trim().split(/\s+/);
    assert.equal(f[1], 'tools_workload');
    // 30 getppid + exit_group (which never returns) + the read that waited for us.
    assert.ok(Number(f[2]) >= 30, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('syscount: bad flags exit non-zero with one sentence', async () => {
  const r = await runToolToEnd('syscount', ['-e', 'EBOGUS']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown errno 'EBOGUS'/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

kernelTest('syscount -c PPID --syscall getppid, and -t TID: only that syscall of the children of this process, only that thread', async () => {
  const w = startWorkload('getppid', 41);
  const ours = startTool('syscount', ['-c', String(process.pid), '--syscall', 'getppid']);
  const byTid = startTool('syscount', ['-t', String(w.pid)]);
  try {
    await ours.waitFor('Ctrl+C to quit.\n');
    await byTid.waitFor('Ctrl+C to quit.\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = rowsOf(r.stdout);
    assert.deepEqual([...rows.keys()].filter((k) => k !== 'SYSCALL'), ['getppid'], r.stdout);
    assert.deepEqual(rows.get('getppid'), [41], r.stdout);
    const t = await byTid.stop();
    assert.deepEqual(rowsOf(t.stdout).get('getppid'), [41], t.stdout);
    const bad = await runToolToEnd('syscount', ['--syscall', 'no_such_call']);
    assert.equal(bad.stderr, "tsbpf: --syscall: unknown syscall 'no_such_call' (syscount -l lists them)\n");
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    byTid.child.kill('SIGKILL');
  }
});

kernelTest('syscount -L: a syscall that entered before tracing started is not counted (the fixture\'s read of "go")', async () => {
  const w = startWorkload('getppid', 19);
  const ours = startTool('syscount', ['-L', '-p', String(w.pid)]);
  try {
    await ours.waitFor('Ctrl+C to quit.\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = rowsOf(r.stdout);
    assert.equal(rows.get('getppid')?.[0], 19, r.stdout);
    // the read() it sat in while tracing started has no entry time: no row, no made-up latency
    assert.equal(rows.get('read'), undefined, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});
