/**
 * The programs of the per-event section (bench/main.ts section 2), in one
 * place: the bench runs them under every tracer, and
 * test/unit/codegen-size.test.ts pins the instruction count tsbpf generates
 * for each (issue 17), so a codegen change that makes one bigger is seen.
 */
export interface PerEventProgram {
  /** The case name in the tables. */
  name: string;
  /** The syscall bench/loadgen makes. */
  syscall: 'umask' | 'chdir';
  /** The script; PID stands for the load generator's pid. */
  script: string;
}

export const PER_EVENT_PROGRAMS: readonly PerEventProgram[] = [
  { name: 'empty probe', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask { }' },
  { name: '@ = count()', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask { @ = count(); }' },
  { name: '@[pid] = count()', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask { @[pid] = count(); }' },
  { name: '@[comm] = hist(arg)', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask { @[comm] = hist(args->mask); }' },
  { name: '@[comm, pid] = sum(arg)', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask { @[comm, pid] = sum(args->mask); }' },
  { name: 'printf pid, comm', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask { printf("%d %s\\n", pid, comm); }' },
  { name: '@[str(filename)] = count()', syscall: 'chdir', script: 'tracepoint:syscalls:sys_enter_chdir { @[str(args->filename)] = count(); }' },
  { name: 'filter /pid == X/ count()', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask /pid == PID/ { @ = count(); }' },
  // What real scripts do (issue 17): a comm filter, latency pairs, a string in printf, stacks as keys.
  { name: 'filter /comm == "loadgen"/ @[comm] = count()', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask /comm == "loadgen"/ { @[comm] = count(); }' },
  {
    name: '@start[tid] = nsecs; delete (enter + exit)', syscall: 'umask',
    script: 'tracepoint:syscalls:sys_enter_umask { @start[tid] = nsecs; } tracepoint:syscalls:sys_exit_umask { delete(@start[tid]); }',
  },
  {
    name: '@ = hist(nsecs - @start[tid]) (enter + exit)', syscall: 'umask',
    script: 'tracepoint:syscalls:sys_enter_umask { @start[tid] = nsecs; } ' +
      'tracepoint:syscalls:sys_exit_umask /@start[tid]/ { @ = hist(nsecs - @start[tid]); delete(@start[tid]); }',
  },
  { name: 'printf("%s", str(filename))', syscall: 'chdir', script: 'tracepoint:syscalls:sys_enter_chdir { printf("%s\\n", str(args->filename)); }' },
  { name: '@[kstack] = count()', syscall: 'umask', script: 'tracepoint:syscalls:sys_enter_umask { @[kstack] = count(); }' },
];
