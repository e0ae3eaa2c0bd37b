/**
 * The part-2 tools built on kprobes (vfscount, filelife). They skip on kernels without kprobes; the VM lane
 * (TSBPF_EXPECT_FEATURES=kprobes) runs them on a kernel that has them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { featureTest, kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { tpExists } from '../../src/tools/common/tp';
import { run, runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

const kprobes = () => hasFeature('kprobes');

featureTest('vfscount: 3000 one-byte reads and writes by dd are counted under vfs_read and vfs_write', 'kprobes', kprobes, async () => {
  const ours = startTool('vfscount', []);
  try {
    await ours.waitFor('Tracing... Ctrl-C to end.\n', 60000);
    await sleep(200);
    assert.equal((await run('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=3000'])).code, 0);
    // Detaching some 80 kprobes takes a while under the VM lane's emulation: wait for it.
    ours.child.kill('SIGINT');
    const r = await ours.done(180000);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`\n${'ADDR'.padEnd(16)} ${'FUNC'.padEnd(26)}    COUNT\n`), r.stdout);
    const count = (f: string) => Number(new RegExp(`^[0-9a-f]+ +${f} +(\\d+)$`, 'm').exec(r.stdout)?.[1] ?? 0);
    assert.ok(count('vfs_read') >= 3000 && count('vfs_write') >= 3000, r.stdout);
  } finally {
    ours.child.kill('SIGKILL');
  }
});

featureTest('filelife -p: 5 files the fixture creates and deletes 200 ms later are 5 rows with their names and ages', 'kprobes', kprobes, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-filelife-'));
  const w = startWorkload2('life', 5, dir);
  const ours = startTool('filelife', ['-p', String(w.pid)]);
  try {
    await ours.waitFor('TIME     PID     COMM             AGE(s)  FILE\n', 60000);
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(500);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((f) => [f[1], f[2], f[4]]), [0, 1, 2, 3, 4].map((i) => [String(w.pid), 'tools2_workload', `tsbpf-life-${i}`]), r.stdout);
    // Created, then 200 ms of sleep before the first unlink.
    for (const f of rows) assert.ok(Number(f[3]) >= 0.19, r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('capable: its kprobe program (the VM lane attaches it) passes the kernel verifier here too', async () => {
  const { capable, capableProgram } = await import('../../src/tools/capable.js');
  const { toolOptions } = await import('../../src/tools/common/define.js');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-capable-')), 'capable.bt');
  try {
    for (const flags of [[], ['-K', '-U', '-x'], ['-v', '-p', '1']]) {
      fs.writeFileSync(file, capableProgram({ ...toolOptions(capable, flags), via: 'kprobe' }));
      const r = await run(path.join(__dirname, '..', '..', '..', 'bin', 'tsbpf'), ['--verify', file]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout + r.stderr, /^1 program passed the kernel verifier\n$/);
    }
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

kernelTest('vfscount/filelife: without kprobes one sentence; --ebpf prints the programs', async (t) => {
  const e = await runToolToEnd('filelife', ['--ebpf', '-p', '42']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^kprobe:vfs_create \/pid == 42\/\n/);
  assert.match((await runToolToEnd('vfscount', ['--ebpf'])).stdout, /^kprobe:vfs_\*\n/);
  if (kprobes()) {
    t.skip('this kernel has kprobes');
    return;
  }
  for (const tool of ['vfscount', 'filelife']) {
    const r = await runToolToEnd(tool, []);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^tsbpf: ${tool} needs kprobes, but kprobes are not available: [^\\n]+\\n$`));
  }
});

kernelTest('capable -p -x: a fixture lowering its nice value 7 times is 7 CAP_SYS_NICE checks (kprobe on cap_capable, else the tracepoint)', async (t) => {
  if (!kprobes() && !tpExists('capability', 'cap_capable')) {
    t.skip('neither kprobes nor the capability:cap_capable tracepoint');
    return;
  }
  const w = startWorkload2('nice', 7);
  const ours = startTool('capable', ['-x', '-p', String(w.pid)]);
  try {
    await ours.waitFor('TIME      UID    PID    TID    COMM             CAP  NAME                 AUDIT  INSETID\n', 60000);
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const nice = r.stdout.split('\n').filter((l) => / 23 +CAP_SYS_NICE /.test(l));
    assert.equal(nice.length, 7, r.stdout);
    // The kprobe knows the check is audited and not for set-id; the tracepoint does not say.
    const audit = kprobes() ? '1 {6}0' : 'N/A {4}N/A';
    for (const l of nice) assert.match(l, new RegExp(`^\\d\\d:\\d\\d:\\d\\d  0 +${w.pid} +${w.pid} +tools2_workload  23   CAP_SYS_NICE {9}${audit}$`));
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

/** funclatency's smoke target: __kmalloc_noprof since Linux 6.10, __kmalloc before. */
const kmalloc = (): string => {
  try {
    return /^__kmalloc_noprof\b/m.test(fs.readFileSync('/sys/kernel/tracing/available_filter_functions', 'utf8')) ? '__kmalloc_noprof' : '__kmalloc';
  } catch {
    return '__kmalloc';
  }
};

// bcc's smoke-test argument list (tests/python/test_tools_smoke.py) for the kprobe tools: run until SIGINT, exit 0.
featureTest('bcc smoke list, kprobe tools: capable, filelife, vfscount, funclatency KMALLOC -i 1', 'kprobes', () => hasFeature('kprobes'), async () => {
  for (const args of [['capable'], ['filelife'], ['vfscount'], ['funclatency', kmalloc(), '-i', '1']]) {
    const r = startTool(args[0], args.slice(1));
    try {
      await r.waitFor(/\n/, 120000);
      await sleep(300);
      r.child.kill('SIGINT');
      const x = await r.done(180000);
      assert.equal(x.code, 0, `${args.join(' ')}: ${x.stderr}`);
    } finally {
      r.child.kill('SIGKILL');
    }
  }
});
