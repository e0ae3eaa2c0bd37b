/**
 * tcpaccept: one line per passive TCP connection returned by accept(),
 * from the syscalls:sys_exit_accept/accept4 tracepoints. The accepted
 * socket is found through the new file descriptor (task->files->fdt->fd[fd]
 * → file->private_data → socket->sk), so the columns are bcc's (which
 * reads the sock returned by inet_csk_accept through a kretprobe).
 */
import type { EventSpec } from '../lang/artifact';
import { inetNtop, type Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { AF_INET, AF_INET6, in6Halves, ipv4FromBe32, IPPROTO_TCP, parsePorts, portFromBe16 } from './common/inet';
import { intOf, runToolProgram, strOf } from './common/script';
import { tpExists } from './common/tp';
import { CGROUPMAP_OPTION, idFilter, MNTNSMAP_OPTION, MNTNS_EXPR, pinnedMapFlags, wantsIds, type PinnedMapFlags } from './common/pinnedmap';
import { MissingFeatureError } from '../sys/features';
import { ToolError } from './tool';

export interface TcpacceptOptions extends PinnedMapFlags {
  time: boolean;
  timestamp: boolean;
  pid?: number;
  ports: number[];
  ipv4: boolean;
  ipv6: boolean;
  ebpf: boolean;
  /** Which exit tracepoints exist here. */
  calls?: string[];
}

const EV4 = 'A4 %d %d %d %d %d %s\n';
const EV6 = `A6 %d %d %d ${'%d '.repeat(4)}%s\n`;
/** With --cgroupmap/--mntnsmap: the same with the task's cgroup id and mnt ns inode before comm. */
const EV4_IDS = 'A4I %d %d %d %d %d %d %d %s\n';
const EV6_IDS = `A6I %d %d %d ${'%d '.repeat(6)}%s\n`;
const IDS = ['cgroup', MNTNS_EXPR];

export function tcpacceptProgram(o: TcpacceptOptions): string {
  const probes = (o.calls ?? ['accept', 'accept4']).map((c) => `tracepoint:syscalls:sys_exit_${c}`).join(',\n');
  const pred = ['args->ret >= 0', o.pid !== undefined ? `pid == ${o.pid}` : ''].filter(Boolean).join(' && ');
  const fams = o.ipv4 ? [AF_INET] : o.ipv6 ? [AF_INET6] : [AF_INET, AF_INET6];
  const conds = [`$sk->sk_protocol == ${IPPROTO_TCP}`, `(${fams.map((f) => `$fam == ${f}`).join(' || ')})`];
  if (o.ports.length) conds.push(`(${o.ports.map((p) => `$sk->__sk_common.skc_num == ${p}`).join(' || ')})`);
  const c = '$sk->__sk_common';
  // IPv6 addresses as two 64-bit halves each.
  const v6 = [...in6Halves(`${c}.skc_v6_daddr`), ...in6Halves(`${c}.skc_v6_rcv_saddr`)];
  const ids = wantsIds(o);
  const tail = [...(ids ? IDS : []), 'comm'].join(', ');
  const esc = (f: string) => f.replace('\n', '\\n');
  return `${probes} /${pred}/
{
  // The new descriptor's file in the fd table.
  $fdt = curtask->files->fdt;
  if ((uint64)args->ret < (uint64)$fdt->max_fds) {
    $file = $fdt->fd[args->ret];
    $sk = ((struct socket *)$file->private_data)->sk;
    $fam = ${c}.skc_family;
    if (${conds.join(' && ')}) {
      if ($fam == ${AF_INET}) {
        printf("${esc(ids ? EV4_IDS : EV4)}", pid, ${c}.skc_num, ${c}.skc_dport, ${c}.skc_daddr, ${c}.skc_rcv_saddr, ${tail});
      } else {
        printf("${esc(ids ? EV6_IDS : EV6)}", pid, ${c}.skc_num, ${c}.skc_dport, ${v6.join(', ')}, ${tail});
      }
    }
  }
}
`;
}

/** An IPv6 address from two 64-bit halves read as host-order (little-endian) integers. */
function ipv6FromHalves(v: readonly Value[], from: number): string {
  const b = new Uint8Array(16);
  for (let i = 0; i < 2; i++) {
    let x = BigInt.asUintN(64, intOf(v[from + i]));
    for (let j = 0; j < 8; j++, x >>= 8n) b[i * 8 + j] = Number(x & 0xffn);
  }
  return inetNtop(b);
}

export function tcpacceptHeader(o: TcpacceptOptions): string {
  let s = '';
  if (o.time) s += 'TIME'.padEnd(9);
  if (o.timestamp) s += 'TIME(s)'.padEnd(9);
  return s + `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)} ${'IP'.padEnd(2)} ${'RADDR'.padEnd(16)} ${'RPORT'.padEnd(5)} ${'LADDR'.padEnd(16)} ${'LPORT'.padEnd(5)}\n`;
}

export interface AcceptRecord {
  pid: number;
  comm: string;
  family: 4 | 6;
  raddr: string;
  rport: number;
  laddr: string;
  lport: number;
  /** Only with --cgroupmap/--mntnsmap. */
  cgroup?: bigint;
  mntns?: bigint;
}

export function decodeAccept(format: string, v: readonly Value[]): AcceptRecord | undefined {
  const n = (i: number) => Number(intOf(v[i]));
  const comm = strOf(v[v.length - 1]);
  if (format === EV4) return { pid: n(0), lport: n(1), rport: portFromBe16(n(2)), raddr: ipv4FromBe32(intOf(v[3])), laddr: ipv4FromBe32(intOf(v[4])), family: 4, comm };
  if (format === EV6) return { pid: n(0), lport: n(1), rport: portFromBe16(n(2)), raddr: ipv6FromHalves(v, 3), laddr: ipv6FromHalves(v, 5), family: 6, comm };
  const ids = { cgroup: intOf(v[v.length - 3]), mntns: intOf(v[v.length - 2]) };
  if (format === EV4_IDS) return { ...decodeAccept(EV4, [...v.slice(0, 5), v[v.length - 1]])!, ...ids };
  if (format === EV6_IDS) return { ...decodeAccept(EV6, [...v.slice(0, 7), v[v.length - 1]])!, ...ids };
  return undefined;
}

export function tcpacceptLine(o: TcpacceptOptions, e: AcceptRecord, now: Date, sinceFirstS: number): string {
  let s = '';
  if (o.time) s += clockTime(now).padEnd(9);
  if (o.timestamp) s += sinceFirstS.toFixed(3).padEnd(9);
  return s + `${String(e.pid).padEnd(7)} ${e.comm.slice(0, 12).padEnd(12)} ${String(e.family).padEnd(2)} ${e.raddr.padEnd(16)} ${String(e.rport).padEnd(5)} ${e.laddr.padEnd(16)} ${String(e.lport).padEnd(5)}\n`;
}

const mod: ToolModule<TcpacceptOptions> = {
  description: 'Trace passive TCP connections (accept()): who accepted whom, on which port.',
  category: 'net',
  spec: {
    name: 'tcpaccept',
    summary: 'Trace TCP accepts',
    options: [
      { short: 'T', long: 'time', dest: 'time', kind: 'flag', help: 'include time column on output (HH:MM:SS)' },
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'P', long: 'port', dest: 'port', kind: 'list', commaSplit: true, metavar: 'PORT', help: 'comma-separated list of local ports to trace' },
      { short: '4', long: 'ipv4', dest: 'ipv4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'ipv6', kind: 'flag', help: 'trace IPv6 family only' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      EBPF_OPTION,
    ],
    examples: [
      'tcpaccept           # trace all TCP accept()s',
      'tcpaccept -t        # include timestamps',
      'tcpaccept -P 80,81  # only trace port 80 and 81',
      'tcpaccept -p 181    # only trace PID 181',
      'tcpaccept -4        # trace IPv4 family',
      'tcpaccept -6        # trace IPv6 family',
      'tcpaccept --cgroupmap mappath  # only trace cgroups in this BPF map',
      'tcpaccept --mntnsmap mappath   # only trace mount namespaces in the map',
    ],
    notes: 'Follows bcc, from the accept()/accept4() syscall tracepoints instead of a kretprobe on inet_csk_accept:\n' +
      'accepts made without those syscalls (io_uring, in-kernel users) are not seen.\n' +
      '--cgroupmap/--mntnsmap: the map is looked up as each line arrives (keys added later count from then on).\n' +
      'libbpf-tools has no tcpaccept.',
  },
  options(a: ParsedArgs): TcpacceptOptions {
    if (a.flag('ipv4') && a.flag('ipv6')) throw new ToolError('-4 and -6 are mutually exclusive');
    return { time: a.flag('time'), timestamp: a.flag('timestamp'), pid: a.int('pid'), ports: parsePorts(a.list('port'), '-P'), ipv4: a.flag('ipv4'), ipv6: a.flag('ipv6'), ebpf: a.flag('ebpf'), ...pinnedMapFlags(a) };
  },
  main(o) {
    const calls = ['accept', 'accept4'].filter((c) => tpExists('syscalls', `sys_exit_${c}`));
    if (!o.ebpf && !calls.length) throw new MissingFeatureError('tracepoint:syscalls:sys_exit_accept4', 'tracepoints syscalls:sys_exit_accept and sys_exit_accept4 do not exist on this kernel');
    const program = tcpacceptProgram({ ...o, calls: calls.length ? calls : undefined });
    if (o.ebpf) return Promise.resolve(printProgram(program));
    let first: number | undefined;
    const inIds = idFilter(o);
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf') return false;
      const e = decodeAccept(ev.format, v);
      if (!e) return false;
      if (inIds && !inIds(e.cgroup ?? 0n, e.mntns ?? 0n)) return true;
      const now = Date.now();
      first ??= now;
      rt.print(tcpacceptLine(o, e, new Date(now), (now - first) / 1000));
      return true;
    };
    return runToolProgram({ name: 'tcpaccept', program, banner: tcpacceptHeader(o), onEvent });
  },
};

export const tcpaccept = mod;
export const tool = defineTool(mod);
