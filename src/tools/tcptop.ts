/**
 * tcptop: TCP throughput by process and connection, top-style, from the
 * sock:sock_send_length and sock:sock_recv_length tracepoints (the bytes
 * each sendmsg/recvmsg on a socket moved, in the process's context). Flags
 * and columns as bcc tcptop (kprobes on tcp_sendmsg and tcp_cleanup_rbuf).
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { AF_INET, AF_INET6, in6Halves, ipv4FromBe32, ipv6FromHalves, IPPROTO_TCP, portFromBe16 } from './common/inet';
import { intOf, runToolProgram, strOf } from './common/script';
import { CLEAR, TOP_POSITIONALS, topBanner, topPreamble } from './common/top';
import { CGROUPMAP_OPTION, idFilter, pinnedMapFlags, MNTNSMAP_OPTION, MNTNS_EXPR, wantsIds, type PinnedMapFlags } from './common/pinnedmap';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface TcptopOptions extends PinnedMapFlags {
  clear: boolean;
  summary: boolean;
  pid?: number;
  ipv4: boolean;
  ipv6: boolean;
  interval: number;
  count?: number;
  ebpf: boolean;
}

const C = '$sk->__sk_common';
/** MSG_PEEK: a peek moves nothing (the tracepoint reports its length anyway). */
const MSG_PEEK = 2;

export function tcptopProgram(o: TcptopOptions): string {
  const conds = [`args->protocol == ${IPPROTO_TCP}`, 'args->ret > 0'];
  if (o.pid !== undefined) conds.push(`pid == ${o.pid}`);
  if (o.ipv4) conds.push(`args->family == ${AF_INET}`);
  else if (o.ipv6) conds.push(`args->family == ${AF_INET6}`);
  else conds.push(`(args->family == ${AF_INET} || args->family == ${AF_INET6})`);
  // with --cgroupmap / --mntnsmap, the ids are the last two key parts, looked up when the report is made
  const ids = wantsIds(o) ? `, cgroup, ${MNTNS_EXPR}` : '';
  const body = (map: string) => `{
  $sk = (struct sock *)args->sk;
  ${map}[pid, comm, args->family, ${C}.skc_num, ${C}.skc_dport, ${C}.skc_rcv_saddr, ${C}.skc_daddr, ${[...in6Halves(`${C}.skc_v6_rcv_saddr`), ...in6Halves(`${C}.skc_v6_daddr`)].join(', ')}${ids}] = sum(args->ret);
}
`;
  return `tracepoint:sock:sock_send_length /${conds.join(' && ')}/\n${body('@tt_send')}\n` +
    `tracepoint:sock:sock_recv_length /${conds.join(' && ')} && (args->flags & ${MSG_PEEK}) == 0/\n${body('@tt_recv')}`;
}

export interface TcptopRow {
  pid: number;
  comm: string;
  family: number;
  laddr: string;
  raddr: string;
  rx: bigint;
  tx: bigint;
}

/** Send and receive byte counts joined by (process, connection), busiest first. */
export function tcptopRows(send: MapDump | undefined, recv: MapDump | undefined, keep?: (cgroup: bigint, mntns: bigint) => boolean): TcptopRow[] {
  const rows = new Map<string, TcptopRow>();
  const add = (m: MapDump | undefined, dir: 'rx' | 'tx') => {
    if (!m || (m.kind !== 'sum' && m.kind !== 'count')) return;
    for (const e of m.entries) {
      const k = e.key;
      const n = (i: number) => intOf(k[i]);
      if (keep && !keep(n(11), n(12))) continue;
      const family = Number(n(2));
      const v6 = family === AF_INET6;
      const laddr = `${v6 ? ipv6FromHalves(n(7), n(8)) : ipv4FromBe32(n(5))}:${n(3)}`;
      const raddr = `${v6 ? ipv6FromHalves(n(9), n(10)) : ipv4FromBe32(n(6))}:${portFromBe16(n(4))}`;
      const id = `${n(0)} ${strOf(k[1])} ${laddr} ${raddr}`;
      const r = rows.get(id) ?? { pid: Number(n(0)), comm: strOf(k[1]), family, laddr, raddr, rx: 0n, tx: 0n };
      r[dir] += e.value;
      rows.set(id, r);
    }
  };
  add(send, 'tx');
  add(recv, 'rx');
  return [...rows.values()].sort((a, b) => (a.rx + a.tx < b.rx + b.tx ? 1 : a.rx + a.tx > b.rx + b.tx ? -1 : 0));
}

/** bcc's tables: IPv4 first, then IPv6 (wider address columns); Kbytes rounded down. */
export function tcptopTables(rows: readonly TcptopRow[]): string {
  let s = '';
  const table = (v6: boolean) => {
    const rs = rows.filter((r) => (r.family === AF_INET6) === v6);
    if (!rs.length) return;
    const w = v6 ? 32 : 21;
    s += `${v6 ? '\n' : ''}${'PID'.padEnd(7)} ${'COMM'.padEnd(12)} ${(v6 ? 'LADDR6' : 'LADDR').padEnd(w)} ${(v6 ? 'RADDR6' : 'RADDR').padEnd(w)} ${'RX_KB'.padStart(6)} ${'TX_KB'.padStart(6)}\n`;
    for (const r of rs) s += `${String(r.pid).padEnd(7)} ${r.comm.slice(0, 12).padEnd(12)} ${r.laddr.padEnd(w)} ${r.raddr.padEnd(w)} ${String(r.rx / 1024n).padStart(6)} ${String(r.tx / 1024n).padStart(6)}\n`;
  };
  table(false);
  table(true);
  return s;
}

const mod: ToolModule<TcptopOptions> = {
  description: 'Summarize TCP send/recv throughput by process and connection, top-style.',
  category: 'net',
  spec: {
    name: 'tcptop',
    summary: 'Summarize TCP send/recv throughput by host',
    options: [
      { short: 'C', long: 'noclear', dest: 'noclear', kind: 'flag', help: "don't clear the screen" },
      { short: 'S', long: 'nosummary', dest: 'nosummary', kind: 'flag', help: 'skip system summary line' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      { short: '4', long: 'ipv4', dest: 'ipv4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'ipv6', kind: 'flag', help: 'trace IPv6 family only' },
      EBPF_OPTION,
    ],
    positionals: TOP_POSITIONALS.map((p) => (p.name === 'interval' ? { ...p, help: 'output interval, in seconds (default 1)' } : p)),
    examples: [
      'tcptop           # trace TCP send/recv by host',
      "tcptop -C        # don't clear the screen",
      'tcptop -p 181    # only trace PID 181',
      'tcptop -4        # trace IPv4 family only',
      'tcptop -6        # trace IPv6 family only',
      'tcptop --cgroupmap /sys/fs/bpf/test01   # only trace cgroups in this BPF map',
      'tcptop --mntnsmap /sys/fs/bpf/mnt_ns_set # only trace mount namespaces in the map',
    ],
    notes: 'RX_KB and TX_KB: Kbytes received and sent in the interval, rounded down. Follows bcc, from the socket layer\'s\n' +
      'sock_send_length/sock_recv_length tracepoints instead of kprobes on tcp_sendmsg/tcp_cleanup_rbuf: TX counts the\n' +
      'bytes a send accepted (bcc: the bytes asked for); sendfile and splice, which bypass sendmsg, are not seen.\n' +
      '--cgroupmap/--mntnsmap look the id up when the report is made (bcc: in the kernel). libbpf-tools tcptop is kprobe-based.',
  },
  options(a: ParsedArgs): TcptopOptions {
    if (a.flag('ipv4') && a.flag('ipv6')) throw new ToolError('-4 and -6 are mutually exclusive');
    return {
      clear: !a.flag('noclear'), summary: !a.flag('nosummary'), pid: a.int('pid'), ipv4: a.flag('ipv4'), ipv6: a.flag('ipv6'),
      interval: a.int('interval') ?? 1, count: a.int('count'), ebpf: a.flag('ebpf'), ...pinnedMapFlags(a),
    };
  },
  main(o) {
    const program = tcptopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    for (const tp of ['sock_send_length', 'sock_recv_length']) requireTracepoint('sock', tp);
    const keep = idFilter(o);
    return runToolProgram({
      name: 'tcptop',
      program,
      banner: topBanner(o.interval),
      interval: o.interval,
      count: o.count,
      report: (rt) => {
        const rows = tcptopRows(rt.map('@tt_send'), rt.map('@tt_recv'), keep);
        for (const m of ['@tt_send', '@tt_recv']) rt.clearMap(m);
        rt.print((o.summary ? topPreamble(o.clear) : o.clear ? CLEAR : '\n') + tcptopTables(rows));
      },
    });
  },
};

export const tcptop = mod;
export const tool = defineTool(mod);
