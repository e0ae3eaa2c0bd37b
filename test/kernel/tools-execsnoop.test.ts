import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { run, sleep, startTool, startTwin, twinPath } from './tools-harness';

kernelTest('execsnoop: a shell that execs 5 known commands appears 5 times with its arguments, as in libbpf-tools execsnoop', async () => {
  const tag = `tsbpf-exec-${process.pid}`;
  const script = [1, 2, 3, 4, 5].map((i) => `/bin/true ${tag} ${i} "a b"`).join('; ');
  const ours = startTool('execsnoop', ['-x']);
  const twin = twinPath('execsnoop') ? startTwin('execsnoop', ['-x']) : undefined;
  try {
    await ours.waitFor('PCOMM            PID    PPID   RET ARGS\n');
    if (twin) await twin.waitFor('PCOMM');
    await sleep(200);
    const sh = await run('/bin/sh', ['-c', script]);
    assert.equal(sh.code, 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.includes(tag) && l.startsWith('true '));
    assert.equal(lines.length, 5, r.stdout);
    lines.forEach((l, i) => {
      const m = /^true {13}(\d+) +(\d+) +0 \/bin\/true (\S+) (\d) a b $/.exec(l);
      assert.ok(m, l);
      assert.equal(m[2], String(sh.pid));
      assert.equal(m[3], tag);
      assert.equal(m[4], String(i + 1));
    });
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(t.stdout.split('\n').filter((l) => l.includes(tag) && l.startsWith('true ')), lines);
    }
  } finally {
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('execsnoop -x -q: a failed exec is shown with its errno and quoted arguments', async () => {
  const ours = startTool('execsnoop', ['-x', '-q', '-n', 'sh']);
  try {
    await ours.waitFor('RET ARGS\n');
    await sleep(200);
    await run('/bin/sh', ['-c', '/nonexistent/tsbpf-noexec one two; exit 0']);
    await sleep(300);
    const r = await ours.stop();
    const line = r.stdout.split('\n').find((l) => l.includes('"/nonexistent/tsbpf-noexec" "one"'));
    assert.ok(line, r.stdout);
    assert.match(line as string, / -2 "\/nonexistent\/tsbpf-noexec" "one" "two" $/);
  } finally {
    ours.child.kill('SIGKILL');
  }
});
