/**
 * Tools receive named values (issue 11 item 5): a ToolEvent's records reach
 * its handler as { pid, comm, ... }, exactly once per record the program
 * sent, and never reach the default output.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { FixtureProcess } from './lang-helpers';
import { intOf, runToolProgram, strOf, toolEvent } from '../../src/tools/common/script';

kernelTest('named tool events: 12 getppid calls arrive as 12 { pid, tid, comm, n } records', async () => {
  const t = new FixtureProcess(buildFixture('uprobe_target'));
  const GETPPID = toolEvent('getppid', { pid: ['%d', 'pid'], tid: ['%d', 'tid'], comm: ['%s', 'comm'], n: ['%d', '@n'] });
  const seen: { pid: bigint; tid: bigint; comm: string; n: bigint }[] = [];
  let out = '';
  try {
    const code = await runToolProgram({
      name: 'named-events-test',
      program: `tracepoint:syscalls:sys_enter_getppid /pid == ${t.pid}/ { @n++; ${GETPPID.send()} }`,
      on: [
        GETPPID.handle((e, rt) => {
          seen.push({ pid: intOf(e.pid), tid: intOf(e.tid), comm: strOf(e.comm), n: intOf(e.n) });
          if (seen.length === 12) rt.stop();
        }),
      ],
      onStart: () => void t.do('getppid 12'),
      report: () => {},
      write: (s) => (out += s),
      runOptions: { handleSignals: false },
    });
    assert.equal(code, 0);
  } finally {
    await t.end();
  }
  assert.equal(seen.length, 12);
  assert.ok(seen.every((e) => e.pid === BigInt(t.pid) && e.tid === BigInt(t.pid) && e.comm === 'uprobe_target'));
  assert.deepEqual(seen.map((e) => e.n), Array.from({ length: 12 }, (_, i) => BigInt(i + 1)));
  assert.equal(out, '', 'named events are not printed');
});
