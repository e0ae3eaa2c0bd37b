/**
 * The kprobe-based paths (vfsstat, funccount on kernel functions, the
 * vfsreadlat example). They skip on kernels without kprobes; the VM lane
 * (TSBPF_EXPECT_FEATURES=kprobes) runs them on a kernel that has them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { featureTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { spawn } from 'node:child_process';
import { run, sleep, smokeWithDuration, smokeWithInt, startTool, track } from './tools-harness';

const kprobes = () => hasFeature('kprobes');

/** 3000 one-byte reads and writes: dd with bs=1. */
function ddSmall() {
  return run('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=3000']);
}

featureTest('vfsstat: 3000 one-byte reads and writes by dd show in READ/s and WRITE/s', 'kprobes', kprobes, async () => {
  const ours = startTool('vfsstat', ['1', '2']);
  try {
    await ours.waitFor('TIME         READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s\n');
    assert.equal((await ddSmall()).code, 0);
    const r = await ours.done(10000);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d: /.test(l)).map((l) => l.trim().split(/\s+/).slice(1).map(Number));
    assert.equal(rows.length, 2, r.stdout);
    assert.ok(rows[0][0] + rows[1][0] >= 3000 && rows[0][1] + rows[1][1] >= 3000, r.stdout);
  } finally {
    ours.child.kill('SIGKILL');
  }
});

featureTest('funccount on a kernel function counts at least the vfs_read calls dd made', 'kprobes', kprobes, async () => {
  const ours = startTool('funccount', ['-d', '3', 'vfs_read']);
  try {
    await ours.waitFor('Hit Ctrl-C to end.\n');
    await sleep(200);
    assert.equal((await ddSmall()).code, 0);
    const r = await ours.done(10000);
    const m = /\nvfs_read +(\d+)\n/.exec(r.stdout);
    assert.ok(m && Number(m[1]) >= 3000, r.stdout);
  } finally {
    ours.child.kill('SIGKILL');
  }
});

featureTest('examples/vfsreadlat: a latency histogram of vfs_read with at least the reads dd made', 'kprobes', kprobes, async () => {
  const ex = path.join(__dirname, '..', '..', 'examples', 'vfsreadlat.js');
  // Start the workload once the example says it is tracing (it prints that after attaching).
  const p = track(spawn(process.execPath, [ex, '2', '1'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await p.waitFor('Tracing... Hit Ctrl-C to end.\n');
  await ddSmall();
  const r = await p.done(20000);
  assert.equal(r.code, 0, r.stderr);
  let total = 0;
  for (const m of r.stdout.matchAll(/^[[(][^|]*?[\])]\s+(\d+) \|/gm)) total += Number(m[1]);
  assert.ok(total >= 3000, r.stdout);
});

/** bcc's kmalloc function of this kernel (renamed __kmalloc_noprof in 6.10). */
function kmalloc(): string {
  const syms = fs.readFileSync('/proc/kallsyms', 'utf8');
  return / __kmalloc_noprof$/m.test(syms) ? '__kmalloc_noprof' : '__kmalloc';
}

featureTest("bcc smoke test (kprobes): argdist -v -C 'p::do_sys_open()' -n 1 -i 1, funccount/stackcount KMALLOC -i 1, trace do_sys_open, vfsstat 1 1", 'kprobes', () => hasFeature('kprobes'), async () => {
  // argdist -v prints the program it runs on stdout: only the exit status and stderr are checked
  await smokeWithDuration('argdist', ['-v', '-C', 'p::do_sys_open()', '-n', '1', '-i', '1']);
  await smokeWithInt('funccount', [kmalloc(), '-i', '1']);
  await smokeWithInt('stackcount', [kmalloc(), '-i', '1']);
  await smokeWithInt('trace', ['do_sys_open']);
  await smokeWithDuration('vfsstat', ['1', '1']);
}, { timeout: 180000 });
