/** Flag handling every tool shares: bad input is one sentence, --ebpf prints the program. */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { compileTool } from '../../src/tools/common/script';
import { runToolToEnd } from './tools-harness';

/** A PID no process has (pid_max is at most 2^22). */
const DEAD = '4194305';

kernelTest('tplist with no argument lists every tracepoint', async () => {
  const r = await runToolToEnd('tplist', []);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.ok(lines.includes('sched:sched_switch') && lines.includes('syscalls:sys_enter_openat') && lines.length > 500, r.stdout.slice(0, 500));
});

kernelTest('gethostlatency -l with a missing file or a file that is not ELF: one sentence, exit 1', async () => {
  for (const [lib, why] of [['/nonexistent/tsbpf.so', /cannot open: ENOENT/], ['/etc/passwd', /not an ELF file/]] as const) {
    const r = await runToolToEnd('gethostlatency', ['-l', lib]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, why);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /internal error/);
  }
});

kernelTest('-p or -t naming no process is refused in one sentence by every tool that has it', async () => {
  const uses: Array<[string, string[]]> = [
    ['opensnoop', ['-p', DEAD]], ['opensnoop', ['-t', DEAD]], ['offcputime', ['-p', DEAD]], ['runqlat', ['-p', DEAD]],
    ['syscount', ['-p', DEAD]], ['profile', ['-p', DEAD]], ['funccount', ['-p', DEAD, 't:syscalls:sys_enter_getppid']],
    ['stackcount', ['-p', DEAD, 't:syscalls:sys_enter_getppid']], ['trace', ['-p', DEAD, 't:syscalls:sys_enter_getppid']],
    ['argdist', ['-p', DEAD, '-C', 't:syscalls:sys_enter_getppid()']], ['gethostlatency', ['-p', DEAD]],
  ];
  for (const [tool, args] of uses) {
    const r = await runToolToEnd(tool, args);
    assert.equal(r.code, 1, `${tool} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, new RegExp(`^tsbpf: -[pt]: no process with PID ${DEAD}\\n$`), `${tool}: ${r.stderr}`);
  }
});

kernelTest('--ebpf prints the program each tool would run (tsbpf language), and it compiles', async () => {
  const uses: Array<[string, string[]]> = [
    ['bitesize', []], ['biolatency', ['-D']], ['execsnoop', ['-x']], ['opensnoop', ['-x']], ['runqlat', []],
    ['offcputime', []], ['profile', []], ['syscount', ['-L']], ['tcplife', []], ['vfsstat', ['--syscalls']],
    ['funccount', ['t:syscalls:sys_enter_getppid']], ['stackcount', ['t:syscalls:sys_enter_getppid']],
    ['trace', ['t:syscalls:sys_enter_getppid']], ['argdist', ['-C', 't:syscalls:sys_enter_getppid()']], ['gethostlatency', []],
  ];
  for (const [tool, args] of uses) {
    const r = await runToolToEnd(tool, ['--ebpf', ...args]);
    assert.equal(r.code, 0, `${tool}: ${r.stderr}`);
    assert.match(r.stdout, /^(config|[a-z]+:)/, `${tool}: ${r.stdout}`);
    assert.doesNotThrow(() => compileTool(tool, r.stdout), `${tool}:\n${r.stdout}`);
  }
});
