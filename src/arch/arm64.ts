/**
 * arm64 (AArch64): the same description as ./x86_64.ts, for the other
 * architecture Debian ships a cloud kernel for.
 *
 * - `struct pt_regs` (arch/arm64/include/asm/ptrace.h): `user_pt_regs`
 *   (x0..x30, sp, pc, pstate) first, then orig_x0, syscallno and kernel-only
 *   fields. Register names are bpftrace's for aarch64 (x0..x30, sp, pc,
 *   pstate). Checked against the running kernel's BTF by
 *   test/kernel/arch-smoke.test.ts in the arm64 VM lane.
 * - AAPCS64: integer arguments in x0..x7, the result in x0; a call pushes no
 *   return address (it is in x30), so stack arguments start at sp itself.
 * - the syscall table: arm64 uses the generic numbering of
 *   include/uapi/asm-generic/unistd.h (no open, stat, fork, ... — only their
 *   *at/2 successors). The table was produced by preprocessing that header as
 *   arm64 does (64-bit longs; __ARCH_WANT_RENAMEAT, _NEW_STAT,
 *   _SET_GET_RLIMIT, _TIME32_SYSCALLS, _SYS_CLONE3, _MEMFD_SECRET) and taking
 *   each number's entry point without its `sys_` prefix, which is the
 *   tracepoint name (sys_newfstat → newfstat, sys_umount → umount for
 *   umount2, sys_ni_syscall → '-'); 451 onwards are the numbers every
 *   architecture shares since 5.1 (the same as x86-64's from 424 on).
 *
 * Pure data (one type-only import), so every layer may use it.
 */
import type { Arch } from './arch';

/** Byte offsets of the registers in `struct pt_regs`, by bpftrace's reg() names. */
const PT_REGS: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`x${i}`, i * 8])),
  sp: 248, pc: 256, pstate: 264, orig_x0: 272,
};

// arm64 (asm-generic), by number ('-' marks numbers without a tracepoint).
const SYSCALLS_BY_NUMBER = (
  'io_setup io_destroy io_submit io_cancel io_getevents setxattr lsetxattr fsetxattr getxattr lgetxattr ' +
  'fgetxattr listxattr llistxattr flistxattr removexattr lremovexattr fremovexattr getcwd lookup_dcookie ' +
  'eventfd2 epoll_create1 epoll_ctl epoll_pwait dup dup3 fcntl inotify_init1 inotify_add_watch ' +
  'inotify_rm_watch ioctl ioprio_set ioprio_get flock mknodat mkdirat unlinkat symlinkat linkat renameat ' +
  'umount mount pivot_root - statfs fstatfs truncate ftruncate fallocate faccessat chdir fchdir chroot ' +
  'fchmod fchmodat fchownat fchown openat close vhangup pipe2 quotactl getdents64 lseek read write readv ' +
  'writev pread64 pwrite64 preadv pwritev sendfile64 pselect6 ppoll signalfd4 vmsplice splice tee ' +
  'readlinkat newfstatat newfstat sync fsync fdatasync sync_file_range timerfd_create timerfd_settime ' +
  'timerfd_gettime utimensat acct capget capset personality exit exit_group waitid set_tid_address unshare ' +
  'futex set_robust_list get_robust_list nanosleep getitimer setitimer kexec_load init_module delete_module ' +
  'timer_create timer_gettime timer_getoverrun timer_settime timer_delete clock_settime clock_gettime ' +
  'clock_getres clock_nanosleep syslog ptrace sched_setparam sched_setscheduler sched_getscheduler ' +
  'sched_getparam sched_setaffinity sched_getaffinity sched_yield sched_get_priority_max ' +
  'sched_get_priority_min sched_rr_get_interval restart_syscall kill tkill tgkill sigaltstack rt_sigsuspend ' +
  'rt_sigaction rt_sigprocmask rt_sigpending rt_sigtimedwait rt_sigqueueinfo rt_sigreturn setpriority ' +
  'getpriority reboot setregid setgid setreuid setuid setresuid getresuid setresgid getresgid setfsuid ' +
  'setfsgid times setpgid getpgid getsid setsid getgroups setgroups newuname sethostname setdomainname ' +
  'getrlimit setrlimit getrusage umask prctl getcpu gettimeofday settimeofday adjtimex getpid getppid ' +
  'getuid geteuid getgid getegid gettid sysinfo mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify ' +
  'mq_getsetattr msgget msgctl msgrcv msgsnd semget semctl semtimedop semop shmget shmctl shmat shmdt ' +
  'socket socketpair bind listen accept connect getsockname getpeername sendto recvfrom setsockopt ' +
  'getsockopt shutdown sendmsg recvmsg readahead brk munmap mremap add_key request_key keyctl clone execve ' +
  'mmap fadvise64_64 swapon swapoff mprotect msync mlock munlock mlockall munlockall mincore madvise ' +
  'remap_file_pages mbind get_mempolicy set_mempolicy migrate_pages move_pages rt_tgsigqueueinfo ' +
  'perf_event_open accept4 recvmmsg - - - - - - - - - - - - - - - - wait4 prlimit64 fanotify_init ' +
  'fanotify_mark name_to_handle_at open_by_handle_at clock_adjtime syncfs setns sendmmsg process_vm_readv ' +
  'process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create ' +
  'bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc ' +
  'pkey_free statx io_pgetevents rseq kexec_file_load - - - - - - - - - - - - - - - - - - - - - - - - - - - ' +
  '- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - ' +
  '- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - ' +
  'pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig ' +
  'fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 ' +
  'mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret ' +
  'process_mrelease futex_waitv set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake ' +
  'futex_wait futex_requeue statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal ' +
  'setxattrat getxattrat listxattrat removexattrat open_tree_attr file_getattr file_setattr '
).trim().split(' ');

export const ARM64: Arch = {
  name: 'aarch64',
  nodeArch: 'arm64',
  elfMachine: 183, // EM_AARCH64
  ptRegs: PT_REGS,
  ptRegsSize: 336,
  argRegs: ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'],
  retReg: 'x0',
  ipReg: 'pc',
  spReg: 'sp',
  stackArgSlot: 0,
  multiarch: 'aarch64-linux-gnu',
  ldCacheArchFlag: 0x0a00, // FLAG_AARCH64_LIB64
  syscalls: SYSCALLS_BY_NUMBER,
  // Generated per architecture since 6.11 (before, asm/unistd.h is the generic header, whose
  // 64-bit names are macros of macros and which defines __NR_syscalls: not read).
  uapiSyscallHeaders: ['/usr/include/aarch64-linux-gnu/asm/unistd_64.h'],
  uapiSyscallAliases: { fstat: 'newfstat', uname: 'newuname', sendfile: 'sendfile64', umount2: 'umount', fadvise64: 'fadvise64_64' },
  // how kernel functions behind a syscall are named (__arm64_sys_read, __se_sys_read, ...)
  syscallFunctionPrefixes: ['__arm64_sys_', '__se_sys_', '__do_sys_', 'ksys_', 'sys_'],
};
