/**
 * When kprobes or fentry are missing (kernels built without CONFIG_KPROBES,
 * locked-down kernels), the error names a stable tracepoint that observes the
 * same event, where one exists. Entry and return probes map to the syscall's
 * enter and exit tracepoints.
 */
import type { Arch } from '../arch';

interface Alt {
  enter: string;
  exit?: string;
  what: string;
}

const sys = (name: string, what = `${name}(2) calls`): Alt => ({
  enter: `tracepoint:syscalls:sys_enter_${name}`,
  exit: `tracepoint:syscalls:sys_exit_${name}`,
  what,
});
const tp = (enter: string, what: string): Alt => ({ enter: `tracepoint:${enter}`, what });

const TABLE: Record<string, Alt> = {
  vfs_read: sys('read'), ksys_read: sys('read'), vfs_readv: sys('readv'),
  vfs_write: sys('write'), ksys_write: sys('write'), vfs_writev: sys('writev'),
  vfs_open: sys('openat'), do_sys_open: sys('openat'), do_sys_openat2: sys('openat'), do_filp_open: sys('openat'),
  vfs_fsync: sys('fsync'), vfs_fsync_range: sys('fsync'), vfs_unlink: sys('unlinkat'), do_unlinkat: sys('unlinkat'),
  vfs_rename: sys('renameat2'), vfs_mkdir: sys('mkdirat'), vfs_statx: sys('newfstatat', 'stat(2)-family calls'),
  vfs_getattr: sys('newfstatat', 'stat(2)-family calls'), do_nanosleep: sys('clock_nanosleep'), hrtimer_nanosleep: sys('clock_nanosleep'),
  tcp_connect: sys('connect'), tcp_v4_connect: sys('connect'), tcp_v6_connect: sys('connect'), __sys_connect: sys('connect'),
  inet_accept: sys('accept4'), __sys_accept4: sys('accept4'), inet_csk_accept: sys('accept4'),
  tcp_sendmsg: sys('sendto', 'sendto(2) calls (and sys_enter_sendmsg for sendmsg(2))'),
  tcp_recvmsg: sys('recvfrom', 'recvfrom(2) calls (and sys_enter_recvmsg for recvmsg(2))'),
  __sys_bind: sys('bind'), __sys_listen: sys('listen'), __sys_socket: sys('socket'),
  tcp_set_state: tp('sock:inet_sock_set_state', 'TCP state changes'), tcp_close: tp('sock:inet_sock_set_state', 'TCP state changes'),
  tcp_retransmit_skb: tp('tcp:tcp_retransmit_skb', 'TCP retransmits'), tcp_send_reset: tp('tcp:tcp_send_reset', 'TCP resets sent'),
  kfree_skb: tp('skb:kfree_skb', 'dropped packets'), kfree_skb_reason: tp('skb:kfree_skb', 'dropped packets'),
  do_exit: tp('sched:sched_process_exit', 'process exits'), kernel_clone: tp('sched:sched_process_fork', 'forks'),
  _do_fork: tp('sched:sched_process_fork', 'forks'), wake_up_new_task: tp('sched:sched_wakeup_new', 'new tasks waking up'),
  do_execve: tp('sched:sched_process_exec', 'successful execs'), do_execveat_common: tp('sched:sched_process_exec', 'successful execs'),
  bprm_execve: tp('sched:sched_process_exec', 'successful execs'),
  finish_task_switch: tp('sched:sched_switch', 'context switches'), __schedule: tp('sched:sched_switch', 'context switches'),
  schedule: tp('sched:sched_switch', 'context switches'), try_to_wake_up: tp('sched:sched_wakeup', 'wakeups'),
  ttwu_do_wakeup: tp('sched:sched_wakeup', 'wakeups'), blk_account_io_start: tp('block:block_io_start', 'block I/O starts'),
  blk_mq_start_request: tp('block:block_rq_issue', 'block requests issued to the device'),
  blk_account_io_done: tp('block:block_io_done', 'block I/O completions'), blk_mq_end_request: tp('block:block_rq_complete', 'block request completions'),
  submit_bio: tp('block:block_bio_queue', 'bios queued'), __kmalloc: tp('kmem:kmalloc', 'kmalloc() allocations'),
  kmalloc_trace: tp('kmem:kmalloc', 'kmalloc() allocations'), kmem_cache_alloc: tp('kmem:kmem_cache_alloc', 'slab allocations'),
  kfree: tp('kmem:kfree', 'kfree() calls'), handle_mm_fault: tp('exceptions:page_fault_user', 'user page faults'),
  do_page_fault: tp('exceptions:page_fault_user', 'user page faults'), oom_kill_process: tp('oom:mark_victim', 'OOM kills'),
  mark_page_accessed: tp('filemap:mm_filemap_get_pages', 'page cache reads'), add_to_page_cache_lru: tp('filemap:mm_filemap_add_to_page_cache', 'page cache insertions'),
  security_file_open: sys('openat'), cap_capable: tp('capability:cap_capable', 'capability checks'),
};

/**
 * A sentence naming the tracepoint that observes what `kprobe:func` (or
 * kretprobe with `ret`) would, e.g. "tracepoint:syscalls:sys_enter_read
 * observes read(2) calls"; a generic note when there is none.
 */
export function tracepointAlternative(func: string, ret: boolean, arch: Arch): string {
  // the kernel functions behind a syscall are named by the architecture (__x64_sys_read, ksys_read, ...)
  const prefix = arch.syscallFunctionPrefixes.find((p) => func.startsWith(p) && /^\w+$/.test(func.slice(p.length)) && func.length > p.length);
  const syscall = prefix ? [func, func.slice(prefix.length)] : null;
  const alt = TABLE[func] ?? (syscall ? sys(syscall[1]) : undefined);
  if (!alt) return `no tracepoint observes ${func}() directly (tsbpf -l 'tracepoint:*' lists the ones this kernel has)`;
  const where = ret && alt.exit ? alt.exit : alt.enter;
  return `${where} observes ${ret && alt.exit ? alt.what.replace(/ calls\b/, ' returns') : alt.what}`;
}
