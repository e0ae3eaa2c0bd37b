/** bcc's smoke-test arguments (tests/python/test_tools_smoke.py) for the tools3b tools that run here: biotop 1 1, drsnoop. */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';

kernelTest('bcc smoke list: biotop 1 1 ends by itself; drsnoop runs until SIGINT, then exits 0', async () => {
  const b = await runToolToEnd('biotop', ['1', '1'], 60000);
  assert.equal(b.code, 0, b.stderr);
  const d = startTool('drsnoop', []);
  try {
    await d.waitFor(/\n/, 60000);
    await sleep(300);
    assert.equal(d.child.exitCode, null);
    const x = await d.stop();
    assert.equal(x.code, 0, x.stderr);
  } finally {
    d.child.kill('SIGKILL');
  }
});
