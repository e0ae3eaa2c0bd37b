/**
 * tcpconnect: one line per active TCP connection attempt (connect()), from
 * sock:inet_sock_set_state. The connecting process is remembered when the
 * socket enters SYN_SENT (that runs in its context) and the line printed
 * when it leaves SYN_SENT, once the local port is bound. Flags and columns
 * as bcc tcpconnect (which uses kprobes on tcp_v4/v6_connect).
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { AF_INET, AF_INET6, decodeStateEvent, IPPROTO_TCP, parsePorts, stateEventFormats, stateEventPrintf, TCP_SYN_SENT, type StateEvent } from './common/inet';
import { CGROUPMAP_OPTION, idFilter, MNTNSMAP_OPTION, MNTNS_EXPR, pinnedMapFlags, wantsIds, type PinnedMapFlags } from './common/pinnedmap';
import { runToolProgram } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface TcpconnectOptions extends PinnedMapFlags {
  timestamp: boolean;
  pid?: number;
  ports: number[];
  ipv4: boolean;
  ipv6: boolean;
  lport: boolean;
  printUid: boolean;
  uid?: number;
  count: boolean;
  ebpf: boolean;
}

/** The event's extra integers: uid, and with --cgroupmap/--mntnsmap the connecting task's cgroup id and mnt ns inode. */
const extraCount = (o: PinnedMapFlags) => (wantsIds(o) ? 3 : 1);
const formats = (o: PinnedMapFlags) => stateEventFormats(wantsIds(o) ? 'TCI' : 'TC', extraCount(o));

export function tcpconnectProgram(o: TcpconnectOptions): string {
  const enter = [`args->protocol == ${IPPROTO_TCP}`, `args->newstate == ${TCP_SYN_SENT}`];
  if (o.ipv4) enter.push(`args->family == ${AF_INET}`);
  if (o.ipv6) enter.push(`args->family == ${AF_INET6}`);
  if (o.pid !== undefined) enter.push(`pid == ${o.pid}`);
  if (o.uid !== undefined) enter.push(`uid == ${o.uid}`);
  if (o.ports.length) enter.push(`(${o.ports.map((p) => `args->dport == ${p}`).join(' || ')})`);
  // The connecting task is current only when the socket enters SYN_SENT: what the line shows of it is kept until then.
  const kept: [string, string][] = [['tc_pid', 'pid'], ['tc_uid', 'uid'], ['tc_comm', 'comm']];
  if (wantsIds(o)) kept.push(['tc_cg', 'cgroup'], ['tc_ns', MNTNS_EXPR]);
  const at = (m: string) => `@${m}[args->skaddr]`;
  const extra = [at('tc_uid'), ...(wantsIds(o) ? [at('tc_cg'), at('tc_ns')] : [])];
  return `tracepoint:sock:inet_sock_set_state /${enter.join(' && ')}/
{
${kept.map(([m, e]) => `  ${at(m)} = ${e};\n`).join('')}}

tracepoint:sock:inet_sock_set_state /args->protocol == ${IPPROTO_TCP} && args->oldstate == ${TCP_SYN_SENT} && @tc_pid[args->skaddr] != 0/
{
  ${stateEventPrintf(formats(o), at('tc_pid'), at('tc_comm'), extra)}
${kept.map(([m]) => `  delete(${at(m)});\n`).join('')}}
`;
}

export function tcpconnectHeader(o: TcpconnectOptions): string {
  let s = '';
  if (o.timestamp) s += 'TIME(s)'.padEnd(9);
  if (o.printUid) s += 'UID'.padEnd(6);
  if (o.lport) return s + `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)} ${'IP'.padEnd(2)} ${'SADDR'.padEnd(16)} ${'LPORT'.padEnd(6)} ${'DADDR'.padEnd(16)} ${'DPORT'.padEnd(6)}\n`;
  return s + `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)} ${'IP'.padEnd(2)} ${'SADDR'.padEnd(16)} ${'DADDR'.padEnd(16)} ${'DPORT'.padEnd(6)}\n`;
}

export function tcpconnectLine(o: TcpconnectOptions, e: StateEvent, sinceFirstS: number): string {
  let s = '';
  if (o.timestamp) s += sinceFirstS.toFixed(3).padEnd(9);
  if (o.printUid) s += String(e.extra[0]).padEnd(6);
  const head = `${String(e.pid).padEnd(7)} ${e.comm.slice(0, 12).padEnd(12)} ${String(e.family).padEnd(2)} ${e.saddr.padEnd(16)} `;
  // bcc ends the line with the (empty without -d) DNS query column.
  return s + head + (o.lport ? `${String(e.sport).padEnd(6)} ` : '') + `${e.daddr.padEnd(16)} ${String(e.dport).padEnd(6)} \n`;
}

/** bcc's -c table: connects per (source, destination, port), most first. */
export function tcpconnectCounts(counts: Map<string, { saddr: string; daddr: string; dport: number; n: number }>): string {
  let s = `\n${'LADDR'.padEnd(25)} ${'RADDR'.padEnd(25)} ${'RPORT'.padEnd(20)} ${'CONNECTS'.padEnd(10)}\n`;
  for (const c of [...counts.values()].sort((a, b) => b.n - a.n)) s += `${c.saddr.padEnd(25)} ${c.daddr.padEnd(25)} ${String(c.dport).padEnd(20)} ${String(c.n).padEnd(10)}\n`;
  return s;
}

const mod: ToolModule<TcpconnectOptions> = {
  description: 'Trace active TCP connections (connect()): who connected where.',
  category: 'net',
  spec: {
    name: 'tcpconnect',
    summary: 'Trace TCP connects',
    options: [
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'P', long: 'port', dest: 'port', kind: 'list', commaSplit: true, metavar: 'PORT', help: 'comma-separated list of destination ports to trace.' },
      { short: '4', long: 'ipv4', dest: 'ipv4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'ipv6', kind: 'flag', help: 'trace IPv6 family only' },
      { short: 'L', long: 'lport', dest: 'lport', kind: 'flag', help: 'include LPORT on output' },
      { short: 'U', long: 'print-uid', dest: 'printUid', kind: 'flag', help: 'include UID on output' },
      { short: 'u', long: 'uid', dest: 'uid', kind: 'int', metavar: 'UID', min: 0, help: 'trace this UID only' },
      { short: 'c', long: 'count', dest: 'count', kind: 'flag', help: 'count connects per src ip and dest ip/port' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      EBPF_OPTION,
    ],
    examples: [
      'tcpconnect           # trace all TCP connect()s',
      'tcpconnect -t        # include timestamps',
      'tcpconnect -p 181    # only trace PID 181',
      'tcpconnect -P 80     # only trace port 80',
      'tcpconnect -P 80,81  # only trace port 80 and 81',
      'tcpconnect -4        # only trace IPv4 family',
      'tcpconnect -6        # only trace IPv6 family',
      'tcpconnect -U        # include UID',
      'tcpconnect -u 1000   # only trace UID 1000',
      'tcpconnect -c        # count connects per src ip and dest ip/port',
      'tcpconnect -L        # include LPORT while printing outputs',
      'tcpconnect --cgroupmap mappath  # only trace cgroups in this BPF map',
      'tcpconnect --mntnsmap mappath   # only trace mount namespaces in the map',
    ],
    notes: 'Follows bcc, from sock:inet_sock_set_state instead of kprobes: a line prints when the SYN is answered (or\n' +
      'refused), so refused connects show too, as with bcc. Not here: -d (DNS, needs kprobes).\n' +
      '--cgroupmap/--mntnsmap: the map is looked up as each line arrives (keys added later count from then on).\n' +
      'libbpf-tools tcpconnect is kprobe-based, has no -L and spells the count table differently.',
  },
  options(a: ParsedArgs): TcpconnectOptions {
    if (a.flag('ipv4') && a.flag('ipv6')) throw new ToolError('-4 and -6 are mutually exclusive');
    return {
      timestamp: a.flag('timestamp'), pid: a.int('pid'), ports: parsePorts(a.list('port'), '-P'), ipv4: a.flag('ipv4'), ipv6: a.flag('ipv6'),
      lport: a.flag('lport'), printUid: a.flag('printUid'), uid: a.int('uid'), count: a.flag('count'), ebpf: a.flag('ebpf'), ...pinnedMapFlags(a),
    };
  },
  main(o) {
    const program = tcpconnectProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('sock', 'inet_sock_set_state');
    const fmt = formats(o);
    const inIds = idFilter(o);
    let first: number | undefined;
    const counts = new Map<string, { saddr: string; daddr: string; dport: number; n: number }>();
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf') return false;
      const e = decodeStateEvent(fmt, ev.format, v, extraCount(o));
      if (!e) return false;
      if (inIds && !inIds(e.extra[1], e.extra[2])) return true;
      if (o.count) {
        const k = `${e.saddr} ${e.daddr} ${e.dport}`;
        const c = counts.get(k) ?? { saddr: e.saddr, daddr: e.daddr, dport: e.dport, n: 0 };
        c.n++;
        counts.set(k, c);
        return true;
      }
      const now = Date.now();
      first ??= now;
      rt.print(tcpconnectLine(o, e, (now - first) / 1000));
      return true;
    };
    return runToolProgram({
      name: 'tcpconnect',
      program,
      banner: o.count ? 'Tracing connect ... Hit Ctrl-C to end\n' : tcpconnectHeader(o),
      onEvent,
      report: o.count ? (rt) => rt.print(tcpconnectCounts(counts)) : undefined,
    });
  },
};

export const tcpconnect = mod;
export const tool = defineTool(mod);
