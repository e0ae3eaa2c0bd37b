/**
 * bcc's smoke-test arguments (tests/python/test_tools_smoke.py) for the tools3c tools: "run_with_duration" ones must
 * exit 0 by themselves, "run_with_int" ones must run until SIGINT and then exit 0. Nothing on stderr but, for the
 * system-wide scheduler probes on a busy machine, the count of runs the kernel skipped (another BPF program was running).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';

const withDuration: string[][] = [['offwaketime', '1'], ['runqlen', '1', '1'], ['tcptop', '1', '1']];
const withInt: string[][] = [['bashreadline'], ['bindsnoop'], ['tcpretrans'], ['tcpdrop'], ['mmapsnoop']];
const quietStderr = /^(Lost \d+ probe runs?: the kernel skipped them while another BPF program ran on the same CPU\n)?$/;

kernelTest(`bcc smoke list, run_with_duration: ${withDuration.map((a) => a.join(' ')).join('; ')}`, async () => {
  for (const [tool, ...args] of withDuration) {
    const r = await runToolToEnd(tool, args, 60000);
    assert.equal(r.code, 0, `${tool} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, quietStderr, `${tool} ${args.join(' ')}`);
  }
}, { timeout: 120_000 });

kernelTest(`bcc smoke list, run_with_int: ${withInt.map((a) => a.join(' ')).join('; ')}`, async () => {
  const running = withInt.map(([tool, ...args]) => ({ tool, r: startTool(tool, args) }));
  try {
    // Each has printed its header (so it is attached) and is still running, then stops on SIGINT with status 0.
    for (const { tool, r } of running) {
      await r.waitFor(/\n/, 30000);
      assert.equal(r.child.exitCode, null, tool);
    }
    await sleep(2000);
    for (const { tool, r } of running) {
      assert.equal(r.child.exitCode, null, `${tool} ended early: ${r.stderr()}`);
      const x = await r.stop();
      assert.equal(x.code, 0, `${tool}: ${x.stderr}`);
      assert.match(x.stderr, quietStderr, tool);
    }
  } finally {
    for (const { r } of running) r.child.kill('SIGKILL');
  }
}, { timeout: 120_000 });
