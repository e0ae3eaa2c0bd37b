/**
 * The running kernel as a target, and recordings of it: a compile against a
 * recording gives the artifact a compile against the kernel gives, and
 * compile-time feature answers do not depend on privileges.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { compile } from '../../src/lang/compile';
import { KernelTarget, runningKernel } from '../../src/target/kernel';
import { RecordedTarget, RecordingTarget } from '../../src/target/recorded';

const SCRIPTS = [
  'tracepoint:syscalls:sys_enter_openat { @[comm, str(args.filename)] = count(); }',
  'tracepoint:syscalls:sys_enter_* { @[probe] = count(); }',
  'tracepoint:sched:sched_switch { @[curtask->pid, args.next_pid] = count(); }',
  'BEGIN { printf("%d\\n", offsetof(struct task_struct, pid)); exit(); }',
  'kprobe:vfs_re* { @c[probe] = count(); } kretprobe:vfs_read { @h = hist(retval); }',
  'fentry:vfs_read { @[args.count] = count(); }',
];

kernelTest('a compile against a recording of the kernel gives the same artifact as against the kernel', () => {
  for (const text of SCRIPTS) {
    const direct = compile({ name: 't', text }, { target: new KernelTarget() });
    const recording = new RecordingTarget(new KernelTarget());
    const viaRecorder = compile({ name: 't', text }, { target: recording });
    const replayed = compile({ name: 't', text }, { target: new RecordedTarget(JSON.parse(JSON.stringify(recording.recording()))) });
    assert.deepEqual(viaRecorder, direct, text);
    assert.deepEqual(replayed, direct, text);
  }
});

kernelTest('compile-time feature answers come from BTF: nobody gets what root gets, without loading a program', () => {
  const names = ['bpf_cookie', 'ringbuf'];
  const asRoot = names.map((n) => runningKernel().feature(n));
  assert.deepEqual(asRoot, [{ state: 'yes' }, { state: 'yes' }]); // 6.x kernels have both
  const script = `const { KernelTarget } = require(${JSON.stringify(path.join(__dirname, '../../src/target/kernel.js'))});
    const t = new KernelTarget(); process.stdout.write(JSON.stringify(${JSON.stringify(names)}.map((n) => t.feature(n))));`;
  const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), asRoot);
});
