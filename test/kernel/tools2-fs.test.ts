import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { commOf, kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

const MISSING = '/nonexistent/tsbpf-tools2-workload';
const rowsOf = (out: string) => out.split('\n').slice(1).filter((l) => l.trim() !== '');

kernelTest('statsnoop -p -s: 4 rounds of stat(), statfs(), fstatat() on a missing path are 12 ENOENT rows', async () => {
  const w = startWorkload2('stat', 4);
  const ours = startTool('statsnoop', ['-p', String(w.pid), '-s']);
  const failed = startTool('statsnoop', ['-x', '-t', '-p', String(w.pid)]);
  // (Debian's libbpf-tools statsnoop 0.26 prints no rows at all on this kernel, so there is no twin to compare with.)
  try {
    await ours.waitFor('PID     COMM               FD ERR SYSCALL      PATH\n');
    await failed.waitFor('TIME(s)       PID     COMM               FD ERR PATH\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    // glibc's stat() is the newfstatat syscall.
    const one = (call: string) => `${String(w.pid).padEnd(7)} ${'tools2_workload'.padEnd(16)}   -1   2 ${call.padEnd(12)} ${MISSING}`;
    assert.deepEqual(rowsOf(r.stdout), Array(4).fill([one('newfstatat'), one('statfs'), one('newfstatat')]).flat(), r.stdout);
    const x = rowsOf((await failed.stop()).stdout);
    assert.equal(x.length, 12);
    for (const l of x) assert.match(l, new RegExp(`^\\d+\\.\\d{9} +${w.pid} +tools2_workload +-1 +2 ${MISSING}$`));
  } finally {
    w.child.kill('SIGKILL');
    for (const t of [ours, failed]) t.child.kill('SIGKILL');
  }
});

kernelTest('syncsnoop: 3 rounds of sync(), fsync(), fdatasync() by the fixture are 9 rows in order', async () => {
  const w = startWorkload2('sync', 3);
  const ours = startTool('syncsnoop', []);
  try {
    await ours.waitFor('TIME(s)            COMM             CALL            \n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const mine = rowsOf(r.stdout).filter((l) => l.includes(' tools2_workload '));
    assert.deepEqual(mine.map((l) => l.trim().split(/\s+/).slice(1)), Array(3).fill([['tools2_workload', 'sync'], ['tools2_workload', 'fsync'], ['tools2_workload', 'fdatasync']]).flat(), r.stdout);
    for (const l of mine) assert.match(l, /^\d+\.\d{9} +tools2_workload  [a-z]+ +$/);
    // TIME(s) is seconds of the monotonic clock, increasing.
    const ts = mine.map((l) => Number(l.split(' ')[0]));
    assert.deepEqual([...ts].sort((a, b) => a - b), ts);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('mountsnoop -P: a private remount, then 2 tmpfs mounts and umounts in the fixture\'s own mount namespace, decoded; libbpf-tools mountsnoop agrees', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-mnt-'));
  const w = startWorkload2('mount', 2, dir);
  const ours = startTool('mountsnoop', ['-P']);
  const twin = twinPath('mountsnoop') ? startTwin('mountsnoop', []) : undefined;
  try {
    await ours.waitFor('COMM             PID     TID     PCOMM            PPID    MNT_NS      CALL\n');
    if (twin) await twin.waitFor('CALL');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const mine = rowsOf(r.stdout).filter((l) => l.startsWith('tools2_workload '));
    // First the fixture makes its namespace's mounts private (a NULL type reads as ""), then 2 rounds.
    const round = [`mount("tsbpf-tools2", "${dir}", "tmpfs", MS_NOSUID, "size=64k") = 0`, `umount("${dir}", 0x0) = 0`];
    const calls = ['mount("none", "/", "", MS_REC|MS_PRIVATE, "") = 0', ...round, ...round];
    assert.equal(mine.length, 5, r.stdout);
    const hostNs = fs.readlinkSync('/proc/self/ns/mnt').replace(/\D/g, '');
    const ns = mine[0].trim().split(/\s+/)[5];
    assert.notEqual(ns, hostNs);
    mine.forEach((l, i) => assert.equal(l, `${'tools2_workload'.padEnd(16)} ${String(w.pid).padEnd(7)} ${String(w.pid).padEnd(7)} ${commOf(process.pid).padEnd(16)} ${String(process.pid).padEnd(7)} ${ns.padEnd(11)} ${calls[i]}`));
    if (twin) {
      const t = await twin.stop();
      const cols = (l: string) => [l.slice(0, 16).trim(), ...l.slice(17).trim().split(/\s+/).slice(0, 3)];
      const theirs = rowsOf(t.stdout).filter((l) => l.startsWith('tools2_workload '));
      assert.deepEqual(theirs.map(cols), mine.map((l) => { const f = l.trim().split(/\s+/); return [f[0], f[1], f[2], f[5]]; }), t.stdout);
      // libbpf-tools names flag bits its own way (MS_REC is its MS_VERBOSE, joined by " | "): compare the rest.
      const call = (l: string) => l.replace(/^.*? (u?mount\()/, '$1').replace(/, (MS_[A-Z_ |]+), "/, ', FLAGS, "');
      assert.deepEqual(theirs.map(call), mine.map(call), t.stdout);
    }
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('statsnoop/syncsnoop/mountsnoop --ebpf print programs', async () => {
  for (const [t, re] of [['statsnoop', /^tracepoint:syscalls:sys_enter_/], ['syncsnoop', /tracepoint:syscalls:sys_enter_fsync\n/], ['mountsnoop', /^tracepoint:syscalls:sys_enter_mount\n/]] as const) {
    const r = await runToolToEnd(t, ['--ebpf']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, re);
  }
});
