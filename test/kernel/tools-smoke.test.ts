/**
 * bcc's smoke test (tests/python/test_tools_smoke.py) for our 16 tools, adapted to this kernel: a tool
 * with a duration exits 0 on its own; one without runs until SIGINT and then exits 0 (bcc waits 5 s
 * before the SIGINT, we wait 2 s); nothing may go to stderr but the "Attached"-style notes we print.
 * The kprobe-based invocations are in tools-kprobes.test.ts (the VM lane runs them).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { smokeWithDuration as withDuration, smokeWithInt as withInt } from './tools-harness';

kernelTest('bcc smoke test: biolatency 1 1, offcputime 1, profile 1, runqlat 1 1, vfsstat --syscalls 1 1, tplist -p PID', async () => {
  await withDuration('biolatency', ['1', '1']);
  await withDuration('offcputime', ['1']);
  await withDuration('profile', ['1']);
  await withDuration('runqlat', ['1', '1']);
  // vfsstat's VFS functions need kprobes: the syscall approximation here, the real thing below
  await withDuration('vfsstat', ['--syscalls', '1', '1']);
  await withDuration('tplist', ['-p', String(process.pid)]);
}, { timeout: 120000 });

kernelTest('bcc smoke test: bitesize, execsnoop, gethostlatency, opensnoop, syscount -i 1, tcplife run until SIGINT', async () => {
  for (const [tool, args] of [['bitesize', []], ['execsnoop', []], ['gethostlatency', []], ['opensnoop', []], ['syscount', ['-i', '1']], ['tcplife', []]] as const) {
    await withInt(tool, [...args]);
  }
}, { timeout: 120000 });
