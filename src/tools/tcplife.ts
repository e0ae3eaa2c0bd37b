/**
 * tcplife: one line per closed TCP session with its endpoints, bytes sent
 * and received, and duration, from the sock:inet_sock_set_state tracepoint
 * (as libbpf-tools tcplife). Bytes come from struct tcp_sock (bytes_acked,
 * bytes_received) read through the socket pointer the tracepoint carries.
 */
import type { EventSpec } from '../lang/artifact';
import { CompileError } from '../lang/diagnostics';
import { inetNtop, type Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { compileTool, intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface TcplifeOptions {
  pid?: number;
  localPorts: number[];
  remotePorts: number[];
  wide: boolean;
  time: boolean;
  timestamp: boolean;
  csv: boolean;
  ipv4Only: boolean;
  ipv6Only: boolean;
  /** Read byte counts from struct tcp_sock (needs pointer casts with BTF in the compiler). */
  bytes?: boolean;
}

const TCP_SYN_SENT = 2;
const TCP_FIN_WAIT1 = 4;
const TCP_CLOSE = 7;
const TCP_LAST_ACK = 9;
const AF_INET = 2;
const AF_INET6 = 10;

const EV4 = `L4 ${'%d '.repeat(14)}%s\n`;
const EV6 = `L6 ${'%d '.repeat(38)}%s\n`;

export function tcplifeProgram(o: TcplifeOptions): string {
  const bytes = o.bytes ?? true;
  const portConds: string[] = [];
  if (o.localPorts.length) portConds.push(`(${o.localPorts.map((p) => `args->sport == ${p}`).join(' || ')})`);
  if (o.remotePorts.length) portConds.push(`(${o.remotePorts.map((p) => `args->dport == ${p}`).join(' || ')})`);
  const fam = o.ipv4Only ? [`args->family == ${AF_INET}`] : o.ipv6Only ? [`args->family == ${AF_INET6}`] : [];
  const pidCond = o.pid !== undefined ? `$pid == ${o.pid}` : '';
  const common = ['$pid', '$comm', 'args->sport', 'args->dport', '(nsecs - $start) / 1000', bytes ? '$tx' : '0', bytes ? '$rx' : '0'];
  const v4 = [...common, ...[0, 1, 2, 3].map((i) => `args->saddr[${i}]`), ...[0, 1, 2, 3].map((i) => `args->daddr[${i}]`)];
  const v6 = [...common, ...Array.from({ length: 16 }, (_, i) => `args->saddr_v6[${i}]`), ...Array.from({ length: 16 }, (_, i) => `args->daddr_v6[${i}]`)];
  // Formats carry the integers first and the comm last; reorder for printf's argument list.
  const order = (xs: string[]) => [xs[0], ...xs.slice(2), xs[1]];
  return `tracepoint:sock:inet_sock_set_state /${['args->protocol == 6', ...fam].join(' && ')}/
{
  $sk = args->skaddr;
  if (args->newstate < ${TCP_FIN_WAIT1} && @birth[$sk] == 0) {
    @birth[$sk] = nsecs;
  }
  // Connect and close-after-remote-close run in the owning process: remember who it is.
  if (args->newstate == ${TCP_SYN_SENT} || args->newstate == ${TCP_LAST_ACK}) {
    @who_pid[$sk] = pid;
    @who_comm[$sk] = comm;
  }
  if (args->newstate == ${TCP_CLOSE} && @birth[$sk] != 0) {
    $start = @birth[$sk];
    $pid = @who_pid[$sk] != 0 ? @who_pid[$sk] : pid;
    $comm = @who_pid[$sk] != 0 ? @who_comm[$sk] : comm;
${bytes ? '    $tp = (struct tcp_sock *)$sk;\n    $tx = $tp->bytes_acked;\n    $rx = $tp->bytes_received;\n' : ''}    if (${[pidCond, ...portConds].filter(Boolean).join(' && ') || '1'}) {
      if (args->family == ${AF_INET}) {
        printf("${EV4.replace('\n', '\\n')}", ${order(v4).join(', ')});
      } else {
        printf("${EV6.replace('\n', '\\n')}", ${order(v6).join(', ')});
      }
    }
  }
  if (args->newstate == ${TCP_CLOSE}) {
    delete(@birth[$sk]);
    delete(@who_pid[$sk]);
    delete(@who_comm[$sk]);
  }
}
`;
}

export interface TcpSession {
  pid: number;
  comm: string;
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
  txBytes: bigint;
  rxBytes: bigint;
  spanUs: bigint;
}

/** Decodes an L4/L6 event's values (integers in format order, comm last). */
export function decodeSession(v: Value[], v6: boolean): TcpSession {
  const n = v.slice(0, -1).map((x) => intOf(x));
  const bytes = (from: number, len: number) => Uint8Array.from(n.slice(from, from + len).map((b) => Number(b & 0xffn)));
  const alen = v6 ? 16 : 4;
  return {
    pid: Number(n[0]), comm: strOf(v[v.length - 1]), lport: Number(n[1]), rport: Number(n[2]), spanUs: n[3], txBytes: n[4], rxBytes: n[5],
    laddr: inetNtop(bytes(6, alen)), raddr: inetNtop(bytes(6 + alen, alen)),
  };
}

export function tcplifeHeader(o: TcplifeOptions): string {
  if (o.csv) return `${o.time ? 'TIME,' : ''}${o.timestamp ? 'TIME(s),' : ''}PID,COMM,IP,LADDR,LPORT,RADDR,RPORT,TX_KB,RX_KB,MS\n`;
  const w = o.wide ? 39 : 15;
  let s = '';
  if (o.time) s += `${'TIME'.padEnd(8)} `;
  if (o.timestamp) s += `${'TIME(s)'.padEnd(9)} `;
  return s + `${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} ${'LADDR'.padEnd(w)} ${'LPORT'.padEnd(5)} ${'RADDR'.padEnd(w)} ${'RPORT'.padEnd(5)} ${'TX_KB'.padEnd(6)} ${'RX_KB'.padEnd(6)} MS\n`;
}

export function tcplifeLine(o: TcplifeOptions, e: TcpSession, now: Date, sinceFirst: number, bytesKnown = true): string {
  const kb = (b: bigint) => (bytesKnown ? (Number(b) / 1024).toFixed(2) : '-');
  const ms = (Number(e.spanUs) / 1000).toFixed(2);
  if (o.csv) {
    const ip = e.laddr.includes(':') ? 6 : 4;
    return `${o.time ? `${clockTime(now)},` : ''}${o.timestamp ? `${sinceFirst.toFixed(6)},` : ''}${e.pid},${e.comm},${ip},${e.laddr},${e.lport},${e.raddr},${e.rport},${bytesKnown ? Math.trunc(Number(e.txBytes) / 1024) : '-'},${bytesKnown ? Math.trunc(Number(e.rxBytes) / 1024) : '-'},${ms}\n`;
  }
  const w = o.wide ? 39 : 15;
  let s = '';
  if (o.time) s += `${clockTime(now).padEnd(8)} `;
  if (o.timestamp) s += `${sinceFirst.toFixed(6).padEnd(9)} `;
  return s + `${String(e.pid).padEnd(7)} ${e.comm.padEnd(16)} ${e.laddr.padEnd(w)} ${String(e.lport).padEnd(5)} ${e.raddr.padEnd(w)} ${String(e.rport).padEnd(5)} ${kb(e.txBytes).padEnd(6)} ${kb(e.rxBytes).padEnd(6)} ${ms}\n`;
}

function ports(list: string[], flag: string): number[] {
  return list.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ToolError(`${flag} expects port numbers (0-65535), got '${p}'`);
    return n;
  });
}

const mod: ToolModule<TcplifeOptions> = {
  description: 'Trace TCP sessions: one line per closed session with bytes and duration.',
  category: 'net',
  spec: {
    name: 'tcplife',
    summary: 'Trace the lifespan of TCP sessions and summarize.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'Process ID to trace' },
      { short: 'L', long: 'localport', dest: 'lports', kind: 'list', commaSplit: true, metavar: 'LOCALPORT', help: 'Comma-separated list of local ports to trace.' },
      { short: 'D', long: 'remoteport', dest: 'rports', kind: 'list', commaSplit: true, metavar: 'REMOTEPORT', help: 'Comma-separated list of remote ports to trace.' },
      { short: 'w', long: 'wide', dest: 'wide', kind: 'flag', help: 'Wide column output (fits IPv6 addresses)' },
      { short: 'T', long: 'time', dest: 'time', kind: 'flag', help: 'include time column on output (HH:MM:SS)' },
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output (seconds)' },
      { short: 's', long: 'csv', dest: 'csv', kind: 'flag', help: 'comma separated values output (bcc)' },
      { short: '4', long: 'ipv4', dest: 'v4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'v6', kind: 'flag', help: 'trace IPv6 family only' },
      EBPF_OPTION,
    ],
    examples: [
      'tcplife             # trace all TCP connect()s',
      'tcplife -t          # include time column (HH:MM:SS)',
      'tcplife -w          # wider columns (fit IPv6)',
      'tcplife -s          # comma separated values output',
      'tcplife -p 181      # only trace PID 181',
      'tcplife -L 80       # only trace local port 80',
      'tcplife -L 80,81    # only trace local ports 80 and 81',
      'tcplife -D 80       # only trace remote port 80',
    ],
    notes: 'Follows libbpf-tools tcplife (columns, -L/-D lists, -4/-6); -s CSV and -T/-t come from bcc.',
  },
  options(a: ParsedArgs): TcplifeOptions {
    if (a.flag('v4') && a.flag('v6')) throw new ToolError('-4 and -6 are mutually exclusive');
    return {
      pid: a.int('pid'), localPorts: ports(a.list('lports'), '-L'), remotePorts: ports(a.list('rports'), '-D'),
      wide: a.flag('wide'), time: a.flag('time'), timestamp: a.flag('timestamp'), csv: a.flag('csv'), ipv4Only: a.flag('v4'), ipv6Only: a.flag('v6'),
    };
  },
  main(o) {
    requireTracepoint('sock', 'inet_sock_set_state', 'it appeared in Linux 4.16');
    let bytesKnown = true;
    try {
      compileTool('tcplife', tcplifeProgram({ ...o, bytes: true }));
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      // The byte counters need a struct tcp_sock * cast of the tracepoint's socket pointer.
      bytesKnown = false;
      process.stderr.write('tsbpf: tcplife: TX_KB and RX_KB are shown as "-": this build cannot read struct tcp_sock fields through the socket pointer yet\n');
    }
    let first: number | undefined;
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || (ev.format !== EV4 && ev.format !== EV6)) return false;
      const now = Date.now();
      first ??= now;
      rt.print(tcplifeLine(o, decodeSession(v, ev.format === EV6), new Date(now), (now - first) / 1000, bytesKnown));
      return true;
    };
    return runToolProgram({ name: 'tcplife', program: tcplifeProgram({ ...o, bytes: bytesKnown }), banner: tcplifeHeader(o), onEvent });
  },
};

export const tcplife = mod;
export const tool = defineTool(mod);
