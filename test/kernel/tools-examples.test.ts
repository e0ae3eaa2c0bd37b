import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFixture } from '../helpers/fixtures';
import { kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { run, sleep } from './tools-harness';

const ex = (name: string) => path.join(__dirname, '..', '..', 'examples', `${name}.js`);

kernelTest('examples/vfsreadlat: without kprobes it exits 1 with the missing-feature sentence', async (t) => {
  if (hasFeature('kprobes')) {
    t.skip('this kernel has kprobes');
    return;
  }
  const r = await run(process.execPath, [ex('vfsreadlat'), '1', '1']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'vfsreadlat: kprobes are not available: this kernel is built without CONFIG_KPROBES (no kprobe PMU and no kprobe_events)\n');
});

kernelTest('examples/urandomread: says random:urandom_read is gone on kernels after 5.18', async (t) => {
  if (fs.existsSync('/sys/kernel/tracing/events/random/urandom_read')) {
    t.skip('this kernel still has random:urandom_read');
    return;
  }
  const r = await run(process.execPath, [ex('urandomread')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^urandomread: tracepoint random:urandom_read does not exist on this kernel \(it was removed in Linux 5\.18/);
});

kernelTest('examples/disksnoop: 20 direct 64 KiB writes appear as W lines of 65536 bytes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-disksnoop-'));
  const child = spawn(process.execPath, [ex('disksnoop'), '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', res));
  try {
    while (!out.includes('LAT(ms)\n')) {
      if (child.exitCode !== null) assert.fail(`disksnoop exited early (${child.exitCode})`);
      await sleep(20);
    }
    await sleep(300);
    const dd = await run('dd', ['if=/dev/zero', `of=${path.join(dir, 'f')}`, 'bs=64k', 'count=20', 'oflag=direct']);
    assert.equal(dd.code, 0);
    assert.equal(await exited, 0);
    // Every line is well formed. The filesystem may split a 64 KiB write into two
    // requests when the file's blocks are not contiguous (other tests allocate and
    // free space at the same time), and disksnoop sees all of the machine's I/O:
    // so the ground truth is the bytes written, in W requests no larger than dd's.
    const lines = out.split('\n').slice(1).filter(Boolean);
    const bad = lines.filter((l) => !/^\d+\.\d{9} +[RW] +\d+ +\d+\.\d\d$/.test(l));
    assert.deepEqual(bad, [], `malformed lines; stderr: ${err}`);
    const w = lines.map((l) => l.split(/ +/)).filter((f) => f[1] === 'W' && Number(f[2]) > 0 && Number(f[2]) <= 65536);
    const bytes = w.reduce((n, f) => n + Number(f[2]), 0);
    assert.ok(bytes >= 20 * 65536, `W requests of at most 64 KiB carried ${bytes} bytes, dd wrote ${20 * 65536}; stderr: ${err}\n${out}`);
    assert.ok(w.filter((f) => f[2] === '65536').length >= 10, `fewer than half of dd's writes were single 64 KiB requests\n${out}`);
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('examples/usdt: TIME(s) COMM PID VALUE, one line per firing of tools:firstProbe with its first argument', async () => {
  const bin = buildFixture('tools_usdt');
  const target = spawn(bin, ['4'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const child = spawn(process.execPath, [ex('usdt'), bin, 'tools:firstProbe', String(target.pid), '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((res) => child.on('exit', res));
  try {
    while (!out.includes('VALUE\n')) {
      if (child.exitCode !== null) assert.fail(`usdt example exited early (${child.exitCode})`);
      await sleep(20);
    }
    await sleep(300);
    target.stdin?.end('go\n');
    assert.equal(await exited, 0);
    const lines = out.split('\n').slice(1).filter(Boolean);
    assert.deepEqual(lines.map((l) => l.split(/\s+/).slice(1)), [1, 2, 3, 4].map((i) => ['tools_usdt', String(target.pid), String(i)]));
  } finally {
    target.kill('SIGKILL');
    child.kill('SIGKILL');
  }
});
