import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';
import { kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { parseHistRows, runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';

const total = (rows: Map<string, number>) => [...rows.values()].reduce((a, b) => a + b, 0);

kernelTest('funclatency -p -F -u: each of 9 calls of the fixture\'s work() is timed once, as libbpf-tools funclatency counts', async () => {
  const bin = buildFixture('tools_usdt');
  const child = spawn(bin, ['9'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const pid = child.pid as number;
  const ours = startTool('funclatency', ['-p', String(pid), '-F', '-u', `${bin}:wor*`]);
  const twin = twinPath('funclatency') ? startTwin('funclatency', ['-u', '-p', String(pid), ':work']) : undefined;
  try {
    await ours.waitFor(`Tracing 1 functions for "${bin}:wor*"... Hit Ctrl-C to end.\n`);
    if (twin) await twin.waitFor('Hit Ctrl-C');
    await sleep(200);
    const done = new Promise((res) => child.on('exit', res));
    child.stdin?.end('go\n');
    await done;
    await sleep(200);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`\nFunction = work [${pid}]\n     usecs               : count     distribution\n`), r.stdout);
    assert.equal(total(parseHistRows(r.stdout)), 9, r.stdout);
    const avg = /\navg = (\d+) usecs, total: (\d+) usecs, count: 9\n/.exec(r.stdout);
    assert.ok(avg, r.stdout);
    if (twin) {
      const t = await twin.stop();
      assert.equal(total(parseHistRows(t.stdout)), 9, t.stdout);
    }
  } finally {
    child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
  }
});

kernelTest('funclatency: libc aliases are timed once; kernel functions without kprobes, no match and -l 2 are one sentence each', async () => {
  const e = await runToolToEnd('funclatency', ['--ebpf', 'c:*printf']);
  assert.equal(e.code, 0, e.stderr);
  const entries = e.stdout.split('\n').filter((l) => l.startsWith('uprobe:'));
  assert.ok(entries.length > 3, e.stdout);
  assert.ok(!(entries.some((l) => l.endsWith(':fprintf')) && entries.some((l) => l.endsWith(':_IO_fprintf'))), e.stdout);
  const none = await runToolToEnd('funclatency', ['c:no_such_function_xyz']);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'tsbpf: 0 functions matched by "c:no_such_function_xyz". Exiting.\n');
  const lvl = await runToolToEnd('funclatency', ['-l', '2', 'c:malloc']);
  assert.equal(lvl.code, 1);
  assert.match(lvl.stderr, /^tsbpf: -l LEVEL above 1/);
  if (!hasFeature('kprobes')) {
    const k = await runToolToEnd('funclatency', ['vfs_read']);
    assert.equal(k.code, 1);
    assert.match(k.stderr, /needs kprobes/);
    assert.equal(k.stderr.trim().split('\n').length, 1, k.stderr);
  }
});
