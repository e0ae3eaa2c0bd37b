import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { sleep, startTool, startTwin, twinPath } from './tools-harness';
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
