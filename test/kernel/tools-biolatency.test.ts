import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { parseHistRows, run, sections, sleep, startTool } from './tools-harness';

function total(rows: Map<string, number>): number {
  let s = 0;
  for (const v of rows.values()) s += v;
  return s;
}

/** The whole disk holding `dir` (e.g. vda for /dev/vda1), from /sys. */
function diskOf(dir: string): string | undefined {
  const st = fs.statSync(dir);
  const major = Math.floor(st.dev / 256);
  const minor = st.dev % 256;
  try {
    const real = fs.realpathSync(`/sys/dev/block/${major}:${minor}`);
    return fs.existsSync(path.join(real, 'partition')) ? path.basename(path.dirname(real)) : path.basename(real);
  } catch {
    return undefined;
  }
}

kernelTest('biolatency -D -F: 50 direct sync writes show up on their disk as at least 50 Sync-Write completions', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-biolat-'));
  const disk = diskOf(dir);
  if (!disk) {
    fs.rmSync(dir, { recursive: true, force: true });
    t.skip('temporary directory is not on a block device');
    return;
  }
  const ours = startTool('biolatency', ['-D', '-F', '-d', disk]);
  try {
    await ours.waitFor('Tracing block device I/O... Hit Ctrl-C to end.\n');
    await sleep(200);
    const dd = await run('dd', ['if=/dev/zero', `of=${path.join(dir, 'f')}`, 'bs=64k', 'count=50', 'oflag=direct,dsync']);
    assert.equal(dd.code, 0, dd.stderr);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const secs = sections(r.stdout, /^disk = (\S+)\tflags = (?:.*)$/);
    assert.deepEqual([...secs.keys()].filter((k) => k !== disk), [], r.stdout);
    let writes = 0;
    for (const line of r.stdout.split('\n\n')) {
      if (line.includes(`disk = ${disk}\tflags = `) && /flags = (\S+-)?Write\n/.test(line)) writes += total(parseHistRows(line));
    }
    assert.ok(writes >= 50, r.stdout);
    assert.match(r.stdout, /^ {5}usecs {15}: count {4}distribution$/m);
  } finally {
    ours.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('biolatency -F: a cache flush is a PreFlush-Flush, not a Sync-Write (10 fsyncs: at least 10 flushes)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-biolat-'));
  const disk = diskOf(dir);
  const wc = disk ? fs.readFileSync(`/sys/block/${disk}/queue/write_cache`, 'utf8').trim() : '';
  if (!disk || wc !== 'write back') {
    fs.rmSync(dir, { recursive: true, force: true });
    t.skip('the temporary directory is not on a disk with a write-back cache (no flushes)');
    return;
  }
  const ours = startTool('biolatency', ['-F', '-d', disk]);
  try {
    await ours.waitFor('Hit Ctrl-C to end.\n');
    await sleep(200);
    for (let i = 0; i < 10; i++) {
      const dd = await run('dd', ['if=/dev/zero', `of=${path.join(dir, 'f')}`, 'bs=4k', 'count=1', 'conv=fsync']);
      assert.equal(dd.code, 0, dd.stderr);
    }
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const flushes = r.stdout.split('\n\n').filter((b) => b.includes('flags = PreFlush-Flush\n')).map((b) => total(parseHistRows(b)));
    assert.equal(flushes.length, 1, r.stdout);
    assert.ok(flushes[0] >= 10, r.stdout);
  } finally {
    ours.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('biolatency -m 1 2: two millisecond reports then exit; unknown disk is one sentence', async () => {
  const r = await startTool('biolatency', ['-m', '-T', '1', '2']).done(15000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/^\d\d:\d\d:\d\d\s*$/gm) ?? []).length, 2, r.stdout);
  const bad = await startTool('biolatency', ['-d', 'nosuchdisk0']).done();
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^tsbpf: invalid disk name: nosuchdisk0/);
});
