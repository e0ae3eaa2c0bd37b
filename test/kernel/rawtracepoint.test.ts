/**
 * Raw tracepoints typed from kernel BTF (issue 20, P rows): `args` from the
 * btf_trace_EVENT typedef with the names of the event class's __bpf_trace_
 * function, -lv listing them, wildcards over the real tracepoints (not the
 * syscalls category), one sentence for an unknown one; __NR_ constants.
 * Ground truth: the fixture makes exactly the getppid calls it is told to.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

kernelTest('rawtracepoint: -lv lists each raw tracepoint\'s arguments with their BTF types and names', async () => {
  const r = await runTsbpf(['-lv', 'rawtracepoint:sched_switch']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^rawtracepoint:sched_switch\n(    .*\n)*    struct task_struct \* prev\n    struct task_struct \* next\n/m, r.stdout);
  const l = await runTsbpf(['-l']);
  assert.ok(l.stdout.split('\n').includes('rawtracepoint:sched_switch'), 'plain -l lists raw tracepoints, as bpftrace does');
  assert.ok(!l.stdout.split('\n').includes('rawtracepoint:sys_enter_getppid'), 'syscall tracepoints are not raw tracepoints');
});

kernelTest('rawtracepoint: args.NAME and argN read the arguments; counts exact for the workload', async () => {
  const bin = buildFixture('uprobe_target');
  const r = await runTsbpf(['-c', bin, '-e',
    'rawtracepoint:sys_enter /pid == cpid && args.id == __NR_getppid/ { @args = count(); } rawtracepoint:sys_enter /pid == cpid && arg1 == __NR_getppid/ { @argn = count(); }'],
  { input: 'getppid 25\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@args: 25$/m, r.stdout);
  assert.match(r.stdout, /^@argn: 25$/m, r.stdout);
});

kernelTest('rawtracepoint: wildcards match real tracepoints only; an unknown one is one sentence', async () => {
  const w = await runTsbpf(['-e', 'rawtracepoint:sys_e* { exit(); }', '--dry-run']);
  assert.equal(w.code, 0, w.stderr);
  const mod = await runTsbpf(['-e', 'rawtracepoint:vmlinu*:sys_exit { exit(); }', '--dry-run']);
  assert.equal(mod.code, 0, mod.stderr); // MODULE may be a wildcard: vmlinux matches
  const noMod = await runTsbpf(['-e', 'rawtracepoint:tsbpf_nomod:sys_exit { exit(); }']);
  assert.equal(noMod.code, 1);
  assert.match(noMod.stderr, /No matches for rawtracepoint tsbpf_nomod:.*no module 'tsbpf_nomod'/);
  const bad = await runTsbpf(['-e', 'rawtracepoint:tsbpf_nonsense { exit(); }']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Probe has no valid attach points\. \(no raw tracepoint matches 'tsbpf_nonsense'\)/);
  assert.doesNotMatch(bad.stderr, /ENOENT|\n\s+at /);
});
