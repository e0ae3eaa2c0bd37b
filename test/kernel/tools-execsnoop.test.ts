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

kernelTest('execsnoop -x: PIDs exec\'ing three times through a PATH search, 8 at once, give one line per attempt with its own result and arguments, as libbpf-tools execsnoop', async () => {
  const tag = `tsbpf-path-${process.pid}`;
  const ours = startTool('execsnoop', ['-x']);
  const twin = twinPath('execsnoop') ? startTwin('execsnoop', ['-x']) : undefined;
  try {
    await ours.waitFor('PCOMM            PID    PPID   RET ARGS\n');
    if (twin) await twin.waitFor('PCOMM');
    await sleep(200);
    // each env searches PATH for `true`: two directories without it, then /usr/bin
    const path = 'PATH=/nonexistent/tsbpf-a:/nonexistent/tsbpf-b:/usr/bin';
    const script = Array.from({ length: 8 }, (_, i) => `/usr/bin/env ${path} true ${tag}-${i} "x y" & `).join('') + 'wait';
    const sh = await run('/bin/sh', ['-c', script]);
    assert.equal(sh.code, 0);
    await sleep(300);
    const out = await ours.stop();
    assert.equal(out.code, 0, out.stderr);
    assert.ok(!out.stdout.includes('\x1f'), 'no separator bytes in the output');
    const ppid = String(sh.pid).padEnd(6);
    for (let i = 0; i < 8; i++) {
      const mine = out.stdout.split('\n').filter((l) => l.includes(`${tag}-${i} `) && !l.startsWith('sh '));
      const pid = (/^\S+ +(\d+) /.exec(mine[0] ?? '') ?? [])[1] ?? '?';
      const p = pid.padEnd(6);
      assert.deepEqual(mine, [
        `env              ${p} ${ppid}   0 /usr/bin/env ${path} true ${tag}-${i} x y `,
        `env              ${p} ${ppid}  -2 /nonexistent/tsbpf-a/true ${tag}-${i} x y `,
        `env              ${p} ${ppid}  -2 /nonexistent/tsbpf-b/true ${tag}-${i} x y `,
        `true             ${p} ${ppid}   0 /usr/bin/true ${tag}-${i} x y `,
      ], out.stdout);
    }
    if (twin) {
      const t = await twin.stop();
      const ofTag = (text: string) => text.split('\n').filter((l) => l.includes(tag) && !l.startsWith('sh ')).sort();
      assert.deepEqual(ofTag(t.stdout), ofTag(out.stdout));
    }
  } finally {
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('execsnoop --max-args: 30 arguments (one 120 bytes long) are shown up to the limit, then "...", for successful and failed execs', async () => {
  const tag = `tsbpf-many-${process.pid}`;
  const long = 'L'.repeat(120);
  const args = [tag, long, ...Array.from({ length: 28 }, (_, i) => `a${i + 1}`)];
  const ours = startTool('execsnoop', ['-x', '--max-args', '25', '-l', tag]);
  try {
    await ours.waitFor('RET ARGS\n');
    await sleep(200);
    assert.equal((await run('/bin/true', args)).code, 0);
    await run('/bin/sh', ['-c', `exec /nonexistent/tsbpf-many ${args.join(' ')}`]).catch(() => undefined);
    const plain = await run('/bin/true', [tag, 'b1', 'b2']);
    assert.equal(plain.code, 0);
    await sleep(300);
    const out = await ours.stop();
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.split('\n').slice(1).filter(Boolean);
    const shown = args.slice(0, 24).join(' ');
    assert.equal(lines.length, 4, out.stdout);
    assert.ok(lines[0].endsWith(`   0 /bin/true ${shown} ... `), lines[0]);
    // an argument of a successful exec is shown up to 127 bytes (ARGSIZE)
    assert.ok(lines[1].endsWith(`   0 /bin/sh -c ${`exec /nonexistent/tsbpf-many ${args.join(' ')}`.slice(0, 127)} `), lines[1]);
    // a failed exec's arguments are read at entry (63 bytes each): the long one is cut there
    assert.ok(lines[2].endsWith(`  -2 /nonexistent/tsbpf-many ${shown.replace(long, long.slice(0, 63))} ... `), lines[2]);
    assert.ok(lines[3].endsWith(`   0 /bin/true ${tag} b1 b2 `), lines[3]);
  } finally {
    ours.child.kill('SIGKILL');
  }
});
