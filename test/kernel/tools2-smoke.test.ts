/**
 * bcc's smoke-test argument lists (tests/python/test_tools_smoke.py) for the part-2 tools: "run_with_duration"
 * ones must exit 0 by themselves, "run_with_int" ones must run until SIGINT and then exit 0. The kprobe tools' list is in
 * tools2-kprobes.test.ts (the VM lane runs that file); capable is in both (here through the capability:cap_capable
 * tracepoint where the kernel has it, 6.14+).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { tpExists } from '../../src/tools/common/tp';
import { runToolToEnd, sleep, startTool } from './tools-harness';

const withDuration: string[][] = [['cpudist', '1', '1'], ['hardirqs', '1', '1'], ['memleak', '1', '1'], ['softirqs', '1', '1'], ['wakeuptime', '1']];
// capable needs kprobes or the capability:cap_capable tracepoint (Linux 6.14+).
const capable = hasFeature('kprobes') || tpExists('capability', 'cap_capable') ? [['capable']] : [];
const withInt: string[][] = [['biosnoop'], ...capable, ['killsnoop'], ['mountsnoop'], ['oomkill'], ['shmsnoop'], ['solisten'], ['statsnoop'], ['syncsnoop'], ['tcpaccept'], ['tcpconnect']];

kernelTest(`bcc smoke list, run_with_duration: ${withDuration.map((a) => a.join(' ')).join('; ')}`, async () => {
  for (const [tool, ...args] of withDuration) {
    const r = await runToolToEnd(tool, args, 30000);
    assert.equal(r.code, 0, `${tool} ${args.join(' ')}: ${r.stderr}`);
  }
});

kernelTest(`bcc smoke list, run_with_int: ${withInt.map((a) => a.join(' ')).join('; ')}`, async () => {
  const running = withInt.map(([tool, ...args]) => ({ tool, r: startTool(tool, args) }));
  try {
    // Each has printed its header (so it is attached) and is still running, then stops on SIGINT with status 0.
    for (const { tool, r } of running) {
      await r.waitFor(/\n/, 30000);
      assert.equal(r.child.exitCode, null, tool);
    }
    await sleep(300);
    for (const { tool, r } of running) {
      const x = await r.stop();
      assert.equal(x.code, 0, `${tool}: ${x.stderr}`);
    }
  } finally {
    for (const { r } of running) r.child.kill('SIGKILL');
  }
});
