/** Flag handling every tool shares: bad input is one sentence, --ebpf prints the program. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { compileTool } from '../../src/tools/common/script';
import { run, runToolToEnd, sleep, startTool } from './tools-harness';

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

/** The cgroup v2 mount point, if any (the hybrid layout mounts it at /sys/fs/cgroup/unified). */
function cgroup2Root(): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep > 0 && f[sep + 1] === 'cgroup2') return f[4];
  }
  return undefined;
}

kernelTest('execsnoop -c CGROUP and syscount --cgroup: only the processes in that cgroup v2 directory', async (t) => {
  const root = cgroup2Root();
  if (!root) {
    t.skip('no cgroup v2 hierarchy mounted');
    return;
  }
  const dir = path.join(root, `tsbpf-test-${process.pid}`);
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    t.skip(`cannot create a cgroup under ${root}: ${(e as Error).message}`);
    return;
  }
  const tag = `tsbpf-cg-${process.pid}`;
  // the shell moves itself into the cgroup, then waits for a line before exec'ing its two commands
  const sh = spawn('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs; read x; /bin/true ${tag} in; /bin/true ${tag} in`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise((res) => sh.on('exit', res));
  const ours = startTool('execsnoop', ['-c', dir]);
  const counts = startTool('syscount', ['--cgroup', dir, '--syscall', 'execve']);
  try {
    await ours.waitFor('ARGS\n');
    await counts.waitFor('Ctrl+C to quit.\n');
    await sleep(200);
    const outside = await run('/bin/true', [tag, 'out']);
    assert.equal(outside.code, 0);
    sh.stdin.end('go\n');
    await exited;
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.includes(tag));
    assert.equal(lines.length, 2, r.stdout);
    assert.ok(lines.every((l) => l.endsWith(` /bin/true ${tag} in `)), r.stdout);
    const c = await counts.stop();
    assert.match(c.stdout, /^execve +2$/m, c.stdout);
  } finally {
    sh.kill('SIGKILL');
    ours.child.kill('SIGKILL');
    counts.child.kill('SIGKILL');
    await exited.catch(() => undefined);
    // empty now (the shell exited): rmdir removes the cgroup
    for (let i = 0; i < 20; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch {
        await sleep(50);
      }
    }
  }
});
