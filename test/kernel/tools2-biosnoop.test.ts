import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

const N = 6;

/** The whole disk holding `dir` and the partition's first sector on it (0 for a whole-disk file system). */
function diskOf(dir: string): { disk: string; start: number } | undefined {
  const st = fs.statSync(dir);
  try {
    const real = fs.realpathSync(`/sys/dev/block/${Math.floor(st.dev / 256)}:${st.dev % 256}`);
    if (!fs.existsSync(path.join(real, 'partition'))) return { disk: path.basename(real), start: 0 };
    return { disk: path.basename(path.dirname(real)), start: Number(fs.readFileSync(path.join(real, 'start'), 'utf8')) };
  } catch {
    return undefined;
  }
}

/** The file's first physical 512-byte sector from filefrag, when e2fsprogs' filefrag is installed and the file is one extent. */
function firstSector(file: string): number | undefined {
  try {
    const out = execFileSync('filefrag', ['-b512', '-v', file], { encoding: 'utf8' });
    const m = /^\s*0:\s+0\.\.\s*\d+:\s+(\d+)\.\./m.exec(out);
    return m && /1 extent found/.test(out) ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

kernelTest(`biosnoop -d -P: ${N} O_DIRECT 4 KiB overwrites by the fixture are ${N} sequential W rows at the file's own sectors`, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-biosnoop-'));
  const where = diskOf(dir);
  if (!where) {
    fs.rmSync(dir, { recursive: true, force: true });
    t.skip('temporary directory is not on a block device');
    return;
  }
  const file = path.join(dir, 'f');
  const w = startWorkload2('write', N, file);
  let ours: ReturnType<typeof startTool> | undefined;
  try {
    assert.equal(await w.ready(), 'ready');
    ours = startTool('biosnoop', ['-d', where.disk, '-P']);
    await ours.waitFor('TIME(s)     COMM           PID     DISK      T SECTOR     BYTES  P LAT(ms)\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[2] === String(w.pid));
    assert.equal(rows.length, N, r.stdout);
    const first = Number(rows[0][5]);
    const fromFilefrag = firstSector(file);
    if (fromFilefrag !== undefined) assert.equal(first, fromFilefrag + where.start);
    rows.forEach((f, i) => {
      assert.deepEqual(f.slice(1, 8), ['tools2_workloa', String(w.pid), where.disk, 'W', String(first + 8 * i), '4096', i === 0 ? f[7] : 'S'], r.stdout);
      assert.match(f[0], /^\d+\.\d{6}$/);
      assert.match(f[8], /^\d+\.\d\d$/);
    });
  } finally {
    w.child.kill('SIGKILL');
    ours?.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('biosnoop --ebpf -Q prints its program; an unknown disk is one sentence', async () => {
  const e = await runToolToEnd('biosnoop', ['--ebpf', '-Q']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /tracepoint:block:block_rq_complete/);
  const bad = await runToolToEnd('biosnoop', ['-d', 'nosuchdisk']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^tsbpf: invalid disk name: nosuchdisk/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});
