/**
 * The tools3b tools that need kprobes (filetop, fileslower, ext4slower, ext4dist; drsnoop -v needs kallsyms' data
 * symbols): they skip on kernels without them; the VM lane (TSBPF_EXPECT_FEATURES=kprobes) runs them. xfsslower and
 * xfsdist: the VM lane's kernel has XFS as a module it does not load, so their programs are only verified (where the
 * kernel's BTF has XFS, as this host's does).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { featureTest, kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { kernelSymbols } from '../../src/ebpf/symbolize';
import { parseHistRows, run, runToolToEnd, sections, sleep, startTool } from './tools-harness';
import { drsnoopMemcgCase, fileslowerCase, filetopCase, startWorkload3b } from './tools3b-helpers';

const kprobes = () => hasFeature('kprobes');
const root = path.join(__dirname, '..', '..', '..');

featureTest('filetop -C -p (kprobes on vfs_read/vfs_write): 7 preads and 5 pwrites of 4 KiB are one row 7 5 28 20 R; -d and --read-only filter', 'kprobes', kprobes, () => filetopCase([]));

featureTest('fileslower -a -p (kprobes on vfs_read/vfs_write): 4 one-byte FIFO reads are 4 R rows; FIFOs need -a', 'kprobes', kprobes, () => fileslowerCase([]));

/** 0xEF53: ext4's superblock magic, as statfs reports it. */
const onExt4 = () => fs.statfsSync(os.tmpdir()).type === 0xef53;

featureTest('ext4slower 0 -p / -j, ext4dist -p: open, 2 pwrites, fsync, 3 preads of 4 KiB on ext4 are those 7 rows in order, and histograms of 3 reads, 2 writes, 1 open, 1 fsync', 'kprobes', kprobes, async (t) => {
  if (!onExt4()) {
    t.skip(`${os.tmpdir()} is not ext4`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-ext4-'));
  const w = startWorkload3b('fileio', '3', '2', path.join(dir, 'tsbpf-ext4-data'));
  const slower = startTool('ext4slower', ['-p', String(w.pid), '0']);
  const csv = startTool('ext4slower', ['-j', '-p', String(w.pid), '0']);
  const dist = startTool('ext4dist', ['-p', String(w.pid)]);
  try {
    const header = 'TIME     COMM           PID    T BYTES   OFF_KB   LAT(ms) FILENAME\n';
    await slower.waitFor(`Tracing ext4 operations\n${header}`, 60000);
    await csv.waitFor('ENDTIME_us,TASK,PID,TYPE,BYTES,OFFSET_b,LATENCY_us,FILE\n', 60000);
    await dist.waitFor('Tracing ext4 operation latency... Hit Ctrl-C to end.\n', 60000);
    await sleep(300);
    await w.go();
    await sleep(300);
    const r = await slower.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l.endsWith(' tsbpf-ext4-data'));
    const expect: [string, number, number][] = [['O', 0, 0], ['W', 4096, 0], ['W', 4096, 4], ['S', 0, 0], ['R', 4096, 0], ['R', 4096, 4], ['R', 4096, 0]];
    assert.equal(rows.length, expect.length, r.stdout);
    rows.forEach((l, i) => {
      const [type, bytes, offKb] = expect[i];
      assert.match(l, new RegExp(`^\\d\\d:\\d\\d:\\d\\d tools3b_worklo ${String(w.pid).padEnd(6)} ${type} ${String(bytes).padEnd(7)} ${String(offKb).padEnd(8)} +\\d+\\.\\d\\d tsbpf-ext4-data$`));
    });
    const c = (await csv.stop()).stdout.split('\n').filter((l) => l.endsWith(',tsbpf-ext4-data'));
    assert.deepEqual(c.map((l) => l.split(',').slice(1, 6)), expect.map(([type, bytes, offKb]) => ['tools3b_workloa', String(w.pid), type, String(bytes), String(offKb * 1024)]));
    const d = await dist.stop();
    assert.equal(d.code, 0, d.stderr);
    const ops = sections(d.stdout, /^operation = (\w+)$/);
    assert.deepEqual([...ops.keys()], ['read', 'write', 'open', 'fsync'], d.stdout);
    const total = (op: string) => [...parseHistRows(ops.get(op) ?? '').values()].reduce((a, b) => a + b, 0);
    assert.deepEqual(['read', 'write', 'open', 'fsync'].map(total), [3, 2, 1, 1], d.stdout);
    assert.match(d.stdout, /\n {5}usecs {15}: count {5}distribution\n/);
    assert.equal(await w.finish(), 0);
  } finally {
    w.child.kill('SIGKILL');
    for (const x of [slower, csv, dist]) x.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const dataSymbols = () => {
  try {
    return kernelSymbols().address('vm_zone_stat') !== undefined;
  } catch {
    return false;
  }
};

featureTest('drsnoop -v --memcg: the reclaims of dd through a 16 MiB cgroup, with the free memory at their start (vm_zone_stat via kallsyms)', 'kprobes', () => kprobes() && dataSymbols(), (t) => drsnoopMemcgCase(t, true));

/** Whether this kernel's BTF describes the function (XFS built in, or its module loaded). */
function inBtf(fn: string): boolean {
  try {
    return fs.readFileSync('/sys/kernel/btf/vmlinux').includes(Buffer.from(`\0${fn}\0`));
  } catch {
    return false;
  }
}

kernelTest('ext4slower/ext4dist/xfsslower/xfsdist: their kprobe programs pass the kernel verifier (for each flag set; where kprobes attach, ext4\'s run above instead)', async (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fsv-')), 'p.bt');
  try {
    for (const fsname of ['ext4', 'xfs']) {
      if (!inBtf(`${fsname}_file_read_iter`)) {
        t.diagnostic(`${fsname}: not in this kernel's BTF`);
        continue;
      }
      // (each run costs two tsbpf starts: seconds apiece under the VM lane's emulation)
      if (fsname === 'ext4' && kprobes() && onExt4()) continue;
      for (const [tool, flags] of [[`${fsname}slower`, []], [`${fsname}slower`, ['-j', '-p', '1', '0']], [`${fsname}dist`, []], [`${fsname}dist`, ['-m', '-p', '1']]] as const) {
        const e = await runToolToEnd(tool, ['--ebpf', ...flags]);
        assert.equal(e.code, 0, e.stderr);
        fs.writeFileSync(file, e.stdout);
        const r = await run(path.join(root, 'bin', 'tsbpf'), ['--verify', file]);
        assert.equal(r.code, 0, `${tool} ${flags.join(' ')}: ${r.stderr}${r.stdout}`);
        assert.match(r.stdout + r.stderr, new RegExp(`^${tool.endsWith('slower') ? 8 : 5} programs passed the kernel verifier\\n$`));
      }
    }
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

kernelTest('ext4slower/ext4dist/xfsslower/xfsdist without kprobes: one sentence', async (t) => {
  if (kprobes()) {
    t.skip('this kernel has kprobes');
    return;
  }
  for (const tool of ['ext4slower', 'ext4dist', 'xfsslower', 'xfsdist']) {
    const r = await runToolToEnd(tool, []);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^tsbpf: ${tool} needs kprobes on (ext4|xfs)_file_read_iter and the other (ext4|XFS) file operations, but kprobes are not available: [^\\n]+\\n$`));
  }
});

// bcc's smoke-test argument list (tests/python/test_tools_smoke.py) for these kprobe tools (xfs*: commented out in
// bcc's list too, the build bots lacking XFS): run_with_duration ones exit 0 by themselves, run_with_int ones on SIGINT.
featureTest('bcc smoke list, kprobe tools: filetop 1 1, ext4dist 1 1; fileslower, ext4slower until SIGINT', 'kprobes', kprobes, async () => {
  for (const args of [['filetop', '1', '1'], ['ext4dist', '1', '1']]) {
    const r = await runToolToEnd(args[0], args.slice(1), 180000);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  for (const tool of ['fileslower', 'ext4slower']) {
    const r = startTool(tool, []);
    try {
      await r.waitFor(/\n/, 120000);
      await sleep(300);
      r.child.kill('SIGINT');
      const x = await r.done(180000);
      assert.equal(x.code, 0, `${tool}: ${x.stderr}`);
    } finally {
      r.child.kill('SIGKILL');
    }
  }
});
