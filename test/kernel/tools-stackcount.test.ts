import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';
import { kernelTest } from '../helpers/kernel';
import { sleep, startTool } from './tools-harness';

kernelTest('stackcount -U -P -f on a uprobe: 6 calls of work() from main, one folded line with count 6', async () => {
  const bin = buildFixture('tools_usdt');
  const target = spawn(bin, ['6', '3000'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const ours = startTool('stackcount', ['-U', '-P', '-f', '-p', String(target.pid), `p:${bin}:work`]);
  try {
    await sleep(1500);
    assert.equal(ours.child.exitCode, null, ours.stderr());
    target.stdin?.end('go\n');
    await sleep(500);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0], /^tools_usdt;(.*;)?main;work 6$/);
  } finally {
    target.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});
