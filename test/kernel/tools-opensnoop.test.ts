import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run, sleep, startTool, startTwin, twinPath } from './tools-harness';
import { startWorkload } from './tools-workload';

const PATH = '/nonexistent/tsbpf-tools-workload';

kernelTest('opensnoop -p -x: exactly 23 failed opens of the fixture path, same lines as libbpf-tools opensnoop', async () => {
  const w = startWorkload('enoent', 23);
  const ours = startTool('opensnoop', ['-p', String(w.pid), '-x']);
  const twin = twinPath('opensnoop') ? startTwin('opensnoop', ['-p', String(w.pid), '-x']) : undefined;
  try {
    await ours.waitFor('PID    COMM              FD ERR PATH\n');
    if (twin) await twin.waitFor('PID');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.endsWith(PATH));
    assert.equal(lines.length, 23, r.stdout);
    const expected = `${String(w.pid).padEnd(6)} ${'tools_workload'.padEnd(16)}  -1   2 ${PATH}`;
    for (const l of lines) assert.equal(l, expected);
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(t.stdout.split('\n').filter((l) => l.endsWith(PATH)), lines);
    }
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('opensnoop -T -U -e -n: columns and filtering by name', async () => {
  const w = startWorkload('enoent', 3);
  const ours = startTool('opensnoop', ['-T', '-U', '-e', '-n', 'tools_work']);
  try {
    await ours.waitFor('TIME     UID     PID    COMM              FD ERR FLAGS    PATH\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    const lines = r.stdout.split('\n').filter((l) => l.endsWith(PATH));
    assert.equal(lines.length, 3, r.stdout);
    for (const l of lines) assert.match(l, new RegExp(`^\\d\\d:\\d\\d:\\d\\d 0 {7}${w.pid} +tools_workload +-1 +2 00000000 ${PATH}$`));
    assert.ok(r.stdout.split('\n').slice(1).every((l) => l === '' || l.includes('tools_work')), r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('opensnoop: a path in a page the process never touched is shown (read at exit, once the kernel faulted it in)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-cold-'));
  const file = path.join(dir, 'paths');
  const n = 8;
  const cold = `/nonexistent/tsbpf-cold-${process.pid}`;
  // the path, NUL-terminated, at the start of each page: each open reads a page first touched by the kernel
  const buf = Buffer.alloc(4096 * n);
  for (let i = 0; i < n; i++) buf.write(`${cold}\0`, i * 4096, 'latin1');
  fs.writeFileSync(file, buf);
  const w = startWorkload('coldpath', n, [file]);
  const ours = startTool('opensnoop', ['-p', String(w.pid)]);
  try {
    await ours.waitFor('PATH\n');
    await sleep(200);
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.includes(' -1   2 '));
    assert.equal(lines.length, n, r.stdout);
    for (const l of lines) assert.ok(l.endsWith(` -1   2 ${cold}`), l);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('opensnoop -f O_WRONLY -f O_RDWR: opens for writing or for reading and writing, not read-only ones (bcc: any of the flags)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-flags-'));
  const tag = path.join(dir, 'f');
  fs.writeFileSync(tag, '');
  const ours = startTool('opensnoop', ['-f', 'O_WRONLY', '-f', 'O_RDWR', '-e', '-n', 'python3']);
  try {
    await ours.waitFor('PATH\n');
    await sleep(200);
    const py = `import os\nfor f in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND, os.O_RDONLY):\n    os.close(os.open(${JSON.stringify(tag)}, f))\n`;
    assert.equal((await run('python3', ['-c', py])).code, 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const flags = r.stdout.split('\n').filter((l) => l.endsWith(` ${tag}`)).map((l) => / (\d{8}) \//.exec(l)?.[1]);
    // O_WRONLY, O_RDWR, O_WRONLY|O_APPEND (Python adds O_CLOEXEC, 02000000)
    assert.deepEqual(flags, ['02000001', '02000002', '02002001'], r.stdout);
  } finally {
    ours.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('opensnoop -F -b 64: a relative path is shown under the working directory of the process', async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fullpath-')));
  const ours = startTool('opensnoop', ['-F', '-b', '64', '-x', '-n', 'python3']);
  try {
    await ours.waitFor('PATH\n');
    await sleep(200);
    const py = `import os\nos.chdir(${JSON.stringify(dir)})\nfor i in range(3):\n    try:\n        open("tsbpf-no-such-file")\n    except OSError:\n        pass\nimport time\ntime.sleep(0.5)\n`;
    assert.equal((await run('python3', ['-c', py])).code, 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.includes('tsbpf-no-such-file'));
    assert.equal(lines.length, 3, r.stdout);
    for (const l of lines) assert.ok(l.endsWith(` ${dir}/tsbpf-no-such-file`), l);
  } finally {
    ours.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('opensnoop --exec: the command\'s own opens only, exactly, its words as given; the tool ends with it', async () => {
  const tag = `/nonexistent-tsbpf-exec-${process.pid}`;
  // the command's argument has a space and a quote: it reaches the command as one word
  const odd = `${tag} it's`;
  const script = `i=0; while [ $i -lt 9 ]; do true < "$1" 2>/dev/null; i=$((i+1)); done; (true < "$1-child" 2>/dev/null)`;
  // an opener outside the command runs all along
  const noise = run('/bin/sh', ['-c', `i=0; while [ $i -lt 200 ]; do true < ${tag}-out 2>/dev/null; i=$((i+1)); done`]);
  const ours = startTool('opensnoop', ['-x', '--exec', '/bin/sh', '-c', script, 'sh', odd]);
  const r = await ours.done(60000);
  await noise;
  assert.equal(r.code, 0, r.stderr);
  const mine = r.stdout.split('\n').filter((l) => l.includes(tag));
  assert.equal(mine.length, 9, r.stdout);
  const pids = new Set(mine.map((l) => l.split(/\s+/)[0]));
  assert.equal(pids.size, 1, r.stdout);
  // bcc traces the command's process, not its children; the path arrives whole
  assert.ok(mine.every((l) => / sh +-1 +2 /.test(l) && l.endsWith(odd)), r.stdout);
  const none = await startTool('opensnoop', ['--exec']).done();
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'tsbpf: --exec needs a command\n');
  const both = await startTool('opensnoop', ['-p', '1', '--exec', 'true']).done();
  assert.equal(both.stderr, 'tsbpf: can only use -p/-t or --exec\n');
});
