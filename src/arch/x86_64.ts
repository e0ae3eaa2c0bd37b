/**
 * x86-64: everything the compiler and the runtime need to know about the
 * architecture, in one place, so a second architecture is one more module of
 * this shape (./arm64.ts; see ./index.ts).
 *
 * - `struct pt_regs` (arch/x86/include/asm/ptrace.h): the context of kprobes,
 *   uprobes and perf events. Checked against the running kernel's BTF by
 *   test/kernel/abi.test.ts.
 * - the integer argument registers and the return register of the C ABI;
 * - the syscall table. The kernel exposes no name → number mapping at run
 *   time on x86-64 (the format files do not carry `__syscall_nr` values, and
 *   since 6.9 `sys_call_table` is gone from kallsyms). The x86-64 syscall ABI is
 *   frozen — numbers are only ever appended — so an embedded table is exact for
 *   every kernel up to the one it was written for (6.18, checked by tracing each
 *   `sys_enter_*` tracepoint's `__syscall_nr`); numbers appended later are read
 *   from the UAPI header when it is installed (src/target/). Names are the
 *   tracepoint names, which follow the kernel's entry points: `newstat` is
 *   `__NR_stat`, `sendfile64` is `__NR_sendfile`, `umount` is `__NR_umount2`, ...
 *
 * Pure data (one type-only import), so every layer may use it.
 */
import type { Arch } from './arch';

/** Byte offsets of the registers in `struct pt_regs`, by bpftrace's reg() names. */
const PT_REGS: Readonly<Record<string, number>> = {
  r15: 0, r14: 8, r13: 16, r12: 24, bp: 32, bx: 40, r11: 48, r10: 56, r9: 64, r8: 72, ax: 80, cx: 88, dx: 96,
  si: 104, di: 112, orig_ax: 120, ip: 128, cs: 136, flags: 144, sp: 152, ss: 160,
};

// x86-64, by number ('-' marks numbers without a tracepoint).
const SYSCALLS_BY_NUMBER = (
  'read write open close newstat newfstat newlstat poll lseek mmap mprotect munmap brk rt_sigaction ' +
  'rt_sigprocmask rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield ' +
  'mremap msync mincore madvise shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer ' +
  'getpid sendfile64 socket connect accept sendto recvfrom sendmsg recvmsg shutdown bind listen ' +
  'getsockname getpeername socketpair setsockopt getsockopt clone fork vfork execve exit wait4 kill ' +
  'newuname semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl flock fsync fdatasync truncate ' +
  'ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink symlink readlink chmod ' +
  'fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo times ptrace getuid syslog ' +
  'getgid setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid getgroups ' +
  'setgroups setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset ' +
  'rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod uselib ' +
  'personality ustat statfs fstatfs sysfs getpriority setpriority sched_setparam sched_getparam ' +
  'sched_setscheduler sched_getscheduler sched_get_priority_max sched_get_priority_min ' +
  'sched_rr_get_interval mlock munlock mlockall munlockall vhangup modify_ldt pivot_root _sysctl prctl ' +
  'arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount swapon swapoff reboot ' +
  'sethostname setdomainname iopl ioperm create_module init_module delete_module get_kernel_syms ' +
  'query_module quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead ' +
  'setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr ' +
  'removexattr lremovexattr fremovexattr tkill time futex sched_setaffinity sched_getaffinity ' +
  'set_thread_area io_setup io_destroy io_getevents io_submit io_cancel get_thread_area lookup_dcookie ' +
  'epoll_create epoll_ctl_old epoll_wait_old remap_file_pages getdents64 set_tid_address ' +
  'restart_syscall semtimedop fadvise64 timer_create timer_settime timer_gettime timer_getoverrun ' +
  'timer_delete clock_settime clock_gettime clock_getres clock_nanosleep exit_group epoll_wait ' +
  'epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy mq_open mq_unlink mq_timedsend ' +
  'mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl ioprio_set ' +
  'ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat ' +
  'fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat ' +
  'pselect6 ppoll unshare set_robust_list get_robust_list splice tee sync_file_range vmsplice ' +
  'move_pages utimensat epoll_pwait signalfd timerfd_create eventfd fallocate timerfd_settime ' +
  'timerfd_gettime accept4 signalfd4 eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev ' +
  'rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init fanotify_mark prlimit64 name_to_handle_at ' +
  'open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu process_vm_readv process_vm_writev kcmp ' +
  'finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create kexec_file_load ' +
  'bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc ' +
  'pkey_free statx io_pgetevents rseq uretprobe uprobe - - - - - - - - - - - - - - - - - - - - - - - - ' +
  '- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - ' +
  '- - - - - - - - - - - - - pidfd_send_signal io_uring_setup io_uring_enter io_uring_register ' +
  'open_tree move_mount fsopen fsconfig fsmount fspick pidfd_open clone3 close_range openat2 ' +
  'pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr quotactl_fd ' +
  'landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret process_mrelease ' +
  'futex_waitv set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait ' +
  'futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal ' +
  'setxattrat getxattrat listxattrat removexattrat open_tree_attr file_getattr file_setattr ' +  ''
).trim().split(' ');

export const X86_64: Arch = {
  name: 'x86_64',
  nodeArch: 'x64',
  elfMachine: 62, // EM_X86_64
  ptRegs: PT_REGS,
  ptRegsSize: 168,
  // System V AMD64 ABI: rdi rsi rdx rcx r8 r9
  argRegs: ['di', 'si', 'dx', 'cx', 'r8', 'r9'],
  retReg: 'ax',
  ipReg: 'ip',
  spReg: 'sp',
  stackArgSlot: 1,
  multiarch: 'x86_64-linux-gnu',
  ldCacheArchFlag: 0x0300, // FLAG_X8664_LIB64
  syscalls: SYSCALLS_BY_NUMBER,
  uapiSyscallHeaders: ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'],
  // UAPI names that differ from the tracepoint names
  uapiSyscallAliases: { stat: 'newstat', fstat: 'newfstat', lstat: 'newlstat', uname: 'newuname', sendfile: 'sendfile64', umount2: 'umount' },
  // how kernel functions behind a syscall are named (__x64_sys_read, __se_sys_read, ...)
  syscallFunctionPrefixes: ['__x64_sys_', '__se_sys_', '__do_sys_', '__ia32_sys_', 'ksys_', 'sys_'],
};
