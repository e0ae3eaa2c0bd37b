/**
 * bindsnoop: one line per bind() on an IPv4/IPv6 socket (process, protocol,
 * address, port, the socket options that change bind's behaviour, bound
 * interface), from the raw_syscalls:sys_enter / sys_exit tracepoints (bind's number).
 * At exit the socket is found through the descriptor (as solisten does) and
 * read after the kernel bound it, so an ephemeral port shows as chosen.
 * Flags and columns as bcc bindsnoop (kprobes on inet_bind/inet6_bind).
 */
import * as os from 'node:os';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { AF_INET, AF_INET6, in6Halves, ipv4FromBe32, ipv6FromHalves, parsePorts, portFromBe16 } from './common/inet';
import { intOf, runToolProgram, strOf, toolEvent } from './common/script';
import { CGROUPMAP_OPTION, idFilter, pinnedMapFlags, MNTNSMAP_OPTION, MNTNS_EXPR, type PinnedMapFlags } from './common/pinnedmap';
import { requireTracepoint } from './common/tp';

export interface BindsnoopOptions extends PinnedMapFlags {
  timestamp: boolean;
  wide: boolean;
  pid?: number;
  ports: number[];
  errors: boolean;
  printUid: boolean;
  uid?: number;
  count: boolean;
  ebpf: boolean;
}

/** include/net/inet_sock.h: the inet_flags bits of IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT. */
const INET_FLAGS_FREEBIND = 11;
const INET_FLAGS_TRANSPARENT = 15;
const INET_FLAGS_BIND_ADDRESS_NO_PORT = 18;

const SK = '$sk->__sk_common';
const [SADDR6_A, SADDR6_B] = in6Halves(`${SK}.skc_v6_rcv_saddr`);
const BIND = toolEvent('bind', {
  ts: ['%d', 'nsecs'], pid: ['%d', 'pid'], uid: ['%d', 'uid'], ret: ['%d', 'args->ret'], family: ['%d', `${SK}.skc_family`],
  proto: ['%d', '$sk->sk_protocol'], sport: ['%d', '$inet->inet_sport'], saddr4: ['%d', '$inet->inet_saddr'],
  saddr6hi: ['%d', SADDR6_A], saddr6lo: ['%d', SADDR6_B], opts: ['%d', '$opts'], dev: ['%d', `${SK}.skc_bound_dev_if`],
  comm: ['%s', 'comm'], cg: ['%llu', 'cgroup'], mntns: ['%llu', MNTNS_EXPR],
});

/** x86-64's bind syscall number. */
const NR_BIND = 49;

// raw_syscalls rather than syscalls:sys_enter_bind/sys_exit_bind: in the syscalls category the compiler reads
// memory through an address computed from an integer (the reuse bits below) as user memory.
export function bindsnoopProgram(o: BindsnoopOptions): string {
  const enter = [`args->id == ${NR_BIND}`, o.pid !== undefined ? `pid == ${o.pid}` : '', o.uid !== undefined ? `uid == ${o.uid}` : ''].filter(Boolean).join(' && ');
  const ok = o.errors ? '' : ' && args->ret == 0';
  const portCond = o.ports.length ? ` && (${o.ports.map((p) => `$port == ${p}`).join(' || ')})` : '';
  const flag = (bit: number, shift: number) => `((($inet->inet_flags >> ${bit}) & 1) << ${shift})`;
  return `tracepoint:raw_syscalls:sys_enter /${enter}/
{
  // +1: descriptor 0 is a real descriptor, 0 in the map means "no bind in flight".
  @bs_fd[tid] = args->args[0] + 1;
}

tracepoint:raw_syscalls:sys_exit /args->id == ${NR_BIND} && @bs_fd[tid] != 0${ok}/
{
  $fd = @bs_fd[tid] - 1;
  $fdt = curtask->files->fdt;
  if ((uint64)$fd < (uint64)$fdt->max_fds) {
    $file = $fdt->fd[$fd];
    $sk = ((struct socket *)$file->private_data)->sk;
    $inet = (struct inet_sock *)$sk;
    $port = (($inet->inet_sport & 0xff) << 8) | ($inet->inet_sport >> 8);
    if ((${SK}.skc_family == ${AF_INET} || ${SK}.skc_family == ${AF_INET6})${portCond}) {
      // bcc's option letters F T N R r, lowest bit first.
      // skc_reuse (4 bits) and skc_reuseport (1 bit) share the byte before skc_bound_dev_if: the compiler reads
      // no bitfields and dereferences no casts, so 8 bytes from 4 before that field are read as a pointer, byte 3 kept.
      $reuse = ((uint64)((struct list_head *)((uint64)$sk + offsetof(struct sock_common, skc_bound_dev_if) - 4))->next >> 24) & 0xff;
      $opts = ${flag(INET_FLAGS_FREEBIND, 0)} | ${flag(INET_FLAGS_TRANSPARENT, 1)} | ${flag(INET_FLAGS_BIND_ADDRESS_NO_PORT, 2)} |
        (($reuse & 1) << 3) | ((($reuse >> 4) & 1) << 4);
      ${BIND.send()}
    }
  }
  delete(@bs_fd[tid]);
}
`;
}

/** bcc's names for the protocols a bound socket has (Python's socket.IPPROTO_*). */
const PROTOS: Record<number, string> = { 0: 'IP', 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPV6', 132: 'SCTP', 136: 'UDPLITE', 255: 'RAW', 262: 'MPTCP' };

/** bcc's options column: F(reebind) T(ransparent) N(o port) R(euseaddr) r(euseport), '.' for an unset one. */
export function bindOptions(bits: number): string {
  return [...'FTNRr'].map((c, i) => ((bits >> i) & 1 ? c : '.')).join('');
}

const errnoName = (ret: number) => Object.entries(os.constants.errno).find(([, v]) => v === -ret)?.[0];

export function bindsnoopHeader(o: BindsnoopOptions): string {
  let s = '';
  if (o.timestamp) s += `${'TIME(s)'.padEnd(9)} `;
  if (o.printUid) s += `${'UID'.padStart(6)} `;
  if (o.errors) s += o.wide ? `${'RC'.padEnd(25)} ` : `${'RC'.padStart(3)} `;
  const addrW = o.wide ? 39 : 15;
  return s + `${'PID'.padStart(o.wide ? 10 : 8)} ${'COMM'.padEnd(12)} ${'PROT'.padEnd(4)} ${'ADDR'.padEnd(addrW)} ${'PORT'.padEnd(5)} ${'OPTS'.padStart(5)} ${'IF'.padStart(2)}\n`;
}

export interface BindRecord {
  ts: bigint;
  pid: number;
  uid: number;
  ret: number;
  family: number;
  proto: number;
  port: number;
  addr: string;
  opts: number;
  dev: number;
  comm: string;
}

export function bindsnoopLine(o: BindsnoopOptions, e: BindRecord, sinceFirstUs: number): string {
  let s = '';
  if (o.timestamp) s += `${(sinceFirstUs / 1e6).toFixed(6).padEnd(9)} `;
  if (o.printUid) s += `${String(e.uid).padStart(6)} `;
  // bcc: the return code as a number, with -w its text.
  if (o.errors) s += o.wide ? `${errnoText(e.ret).padEnd(25)} ` : `${String(e.ret).padStart(3)} `;
  const addrW = o.wide ? 39 : 15;
  const proto = (PROTOS[e.proto] ?? 'UNKNOWN').slice(0, 4);
  return s + `${String(e.pid).padStart(o.wide ? 10 : 8)} ${e.comm.slice(0, 12).padEnd(12)} ${proto.padEnd(4)} ${e.addr.slice(0, addrW).padEnd(addrW)} ${String(e.port).padStart(5)} ${bindOptions(e.opts).padEnd(5)} ${String(e.dev).padStart(2)}\n`;
}

/** strerror's text for a bind's negative errno. */
function errnoText(ret: number): string {
  if (ret === 0) return 'Success';
  const name = errnoName(ret) ?? '';
  const texts: Record<string, string> = {
    EADDRINUSE: 'Address already in use', EADDRNOTAVAIL: 'Cannot assign requested address', EACCES: 'Permission denied',
    EINVAL: 'Invalid argument', EBADF: 'Bad file descriptor', ENOTSOCK: 'Socket operation on non-socket', EAFNOSUPPORT: 'Address family not supported by protocol',
  };
  return texts[name] ?? (name || `Unknown error ${-ret}`);
}

/** bcc's --count table: binds per (address, port), most first. */
export function bindsnoopCounts(counts: Map<string, { addr: string; port: number; n: number }>): string {
  let s = `\n${'LADDR'.padEnd(32)} ${'LPORT'.padStart(20)}     ${'BINDS'.padEnd(10)}\n`;
  for (const c of [...counts.values()].sort((a, b) => b.n - a.n)) s += `${c.addr.padEnd(32)} ${String(c.port).padStart(20)}     ${String(c.n).padEnd(10)}\n`;
  return s;
}

const mod: ToolModule<BindsnoopOptions> = {
  description: 'Trace bind() on IPv4/IPv6 sockets: address, port, options and interface.',
  category: 'net',
  spec: {
    name: 'bindsnoop',
    summary: 'Trace TCP binds',
    options: [
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'w', long: 'wide', dest: 'wide', kind: 'flag', help: 'wide column output (fits IPv6 addresses)' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'P', long: 'port', dest: 'port', kind: 'list', commaSplit: true, metavar: 'PORT', help: 'comma-separated list of ports to trace.' },
      { short: 'E', long: 'errors', dest: 'errors', kind: 'flag', help: 'include errors in the output.' },
      { short: 'U', long: 'print-uid', dest: 'printUid', kind: 'flag', help: 'include UID on output' },
      { short: 'u', long: 'uid', dest: 'uid', kind: 'int', metavar: 'UID', min: 0, help: 'trace this UID only' },
      { long: 'count', dest: 'count', kind: 'flag', help: 'count binds per src ip and port' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      EBPF_OPTION,
    ],
    examples: [
      'bindsnoop           # trace all TCP bind()s',
      'bindsnoop -t        # include timestamps',
      'bindsnoop -w        # wider columns (fit IPv6)',
      'bindsnoop -p 181    # only trace PID 181',
      'bindsnoop -P 80     # only trace port 80',
      'bindsnoop -P 80,81  # only trace port 80 and 81',
      'bindsnoop -U        # include UID',
      'bindsnoop -u 1000   # only trace UID 1000',
      'bindsnoop -E        # report bind errors',
      'bindsnoop --count   # count bind per src ip',
      'bindsnoop --cgroupmap /sys/fs/bpf/test01   # only trace cgroups in this BPF map',
      'bindsnoop --mntnsmap /sys/fs/bpf/mnt_ns_set # only trace mount namespaces in the map',
    ],
    notes: 'OPTS: socket options set before the bind that change its behaviour: F IP_FREEBIND, T IP_TRANSPARENT,\n' +
      'N IP_BIND_ADDRESS_NO_PORT, R SO_REUSEADDR, r SO_REUSEPORT. IF: the SO_BINDTODEVICE interface index.\n' +
      'Follows bcc, from the bind() syscall tracepoints instead of kprobes on inet_bind/inet6_bind: binds made without\n' +
      'the syscall (in-kernel users) are not seen, and with -E a failed bind shows the socket as it was (port 0).\n' +
      '--cgroupmap/--mntnsmap look the id up when the event arrives (bcc: in the kernel). libbpf-tools bindsnoop is kprobe-based.',
  },
  options(a: ParsedArgs): BindsnoopOptions {
    return {
      timestamp: a.flag('timestamp'), wide: a.flag('wide'), pid: a.int('pid'), ports: parsePorts(a.list('port'), '-P'), errors: a.flag('errors'),
      printUid: a.flag('printUid'), uid: a.int('uid'), count: a.flag('count'), ebpf: a.flag('ebpf'), ...pinnedMapFlags(a),
    };
  },
  main(o) {
    const program = bindsnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('raw_syscalls', 'sys_exit');
    let first: bigint | undefined;
    const counts = new Map<string, { addr: string; port: number; n: number }>();
    const keep = idFilter(o);
    const onBind = BIND.handle((v, rt) => {
      if (keep && !keep(intOf(v.cg), intOf(v.mntns))) return;
      const family = Number(intOf(v.family));
      const e: BindRecord = {
        ts: intOf(v.ts), pid: Number(intOf(v.pid)), uid: Number(intOf(v.uid)), ret: Number(BigInt.asIntN(32, intOf(v.ret))), family,
        proto: Number(intOf(v.proto)), port: portFromBe16(intOf(v.sport)),
        addr: family === AF_INET6 ? ipv6FromHalves(intOf(v.saddr6hi), intOf(v.saddr6lo)) : ipv4FromBe32(intOf(v.saddr4)),
        opts: Number(intOf(v.opts)), dev: Number(intOf(v.dev)), comm: strOf(v.comm),
      };
      if (o.count) {
        const k = `${e.addr} ${e.port}`;
        const c = counts.get(k) ?? { addr: e.addr, port: e.port, n: 0 };
        c.n++;
        counts.set(k, c);
        return;
      }
      first ??= e.ts;
      rt.print(bindsnoopLine(o, e, Number((e.ts - first) / 1000n)));
    });
    return runToolProgram({
      name: 'bindsnoop',
      program,
      banner: o.count ? 'Tracing binds ... Hit Ctrl-C to end\n' : `Tracing binds ... Hit Ctrl-C to end\n${bindsnoopHeader(o)}`,
      on: [onBind],
      report: o.count ? (rt) => rt.print(bindsnoopCounts(counts)) : undefined,
    });
  },
};

export const bindsnoop = mod;
export const tool = defineTool(mod);
