/**
 * tcpstates: one line per TCP state change, with the time spent in the old
 * state, from sock:inet_sock_set_state. Flags and columns as bcc tcpstates.
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { AF_INET, AF_INET6, decodeStateEvent, IPPROTO_TCP, parsePorts, stateEventFormats, stateEventPrintf, TCP_CLOSE, tcpStateName, type StateEvent } from './common/inet';
import { runToolProgram } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface TcpstatesOptions {
  time: boolean;
  timestamp: boolean;
  wide: boolean;
  csv: boolean;
  localPorts: number[];
  remotePorts: number[];
  ipv4: boolean;
  ipv6: boolean;
  ebpf: boolean;
}

const FMT = stateEventFormats('TS', 1);

export function tcpstatesProgram(o: TcpstatesOptions): string {
  const pred = [`args->protocol == ${IPPROTO_TCP}`];
  if (o.ipv4) pred.push(`args->family == ${AF_INET}`);
  if (o.ipv6) pred.push(`args->family == ${AF_INET6}`);
  const ports = [
    o.localPorts.length ? `(${o.localPorts.map((p) => `args->sport == ${p}`).join(' || ')})` : '',
    o.remotePorts.length ? `(${o.remotePorts.map((p) => `args->dport == ${p}`).join(' || ')})` : '',
  ].filter(Boolean);
  const body = `  $last = @ts_last[$sk];
  $us = $last != 0 ? (nsecs - $last) / 1000 : 0;
  ${stateEventPrintf(FMT, 'pid', 'comm', ['$us'])}
  if (args->newstate == ${TCP_CLOSE}) {
    delete(@ts_last[$sk]);
  } else {
    @ts_last[$sk] = nsecs;
  }`;
  // A socket filtered out by port forgets its start time, as bcc's does.
  const inner = ports.length ? `  if (${ports.join(' && ')}) {\n${body.replace(/^/gm, '  ')}\n  } else {\n    delete(@ts_last[$sk]);\n  }` : body;
  return `tracepoint:sock:inet_sock_set_state /${pred.join(' && ')}/\n{\n  $sk = args->skaddr;\n${inner}\n}\n`;
}

export function tcpstatesHeader(o: TcpstatesOptions): string {
  let s = '';
  if (o.time) s += o.csv ? 'TIME,' : `${'TIME'.padEnd(8)} `;
  if (o.timestamp) s += o.csv ? 'TIME(s),' : `${'TIME(s)'.padEnd(9)} `;
  const cols = ['SKADDR', 'C-PID', 'C-COMM', 'IP', 'LADDR', 'LPORT', 'RADDR', 'RPORT', 'OLDSTATE', 'NEWSTATE', 'MS'];
  if (o.csv) return s + cols.join(',') + '\n';
  if (o.wide) return s + `${'SKADDR'.padEnd(16)} ${'C-PID'.padEnd(5)} ${'C-COMM'.padEnd(16)} ${'IP'.padEnd(2)} ${'LADDR'.padEnd(39)} ${'LPORT'.padEnd(5)} ${'RADDR'.padEnd(39)} ${'RPORT'.padEnd(5)} ${'OLDSTATE'.padEnd(11)} -> ${'NEWSTATE'.padEnd(11)} MS\n`;
  return s + `${'SKADDR'.padEnd(16)} ${'C-PID'.padEnd(5)} ${'C-COMM'.padEnd(10)} ${'LADDR'.padEnd(15)} ${'LPORT'.padEnd(5)} ${'RADDR'.padEnd(15)} ${'RPORT'.padEnd(5)} ${'OLDSTATE'.padEnd(11)} -> ${'NEWSTATE'.padEnd(11)} MS\n`;
}

export function tcpstatesLine(o: TcpstatesOptions, e: StateEvent, now: Date, sinceFirstS: number): string {
  let s = '';
  if (o.time) s += o.csv ? `${clockTime(now)},` : `${clockTime(now).padEnd(8)} `;
  if (o.timestamp) s += o.csv ? `${sinceFirstS.toFixed(6)},` : `${sinceFirstS.toFixed(6).padEnd(9)} `;
  const sk = BigInt.asUintN(64, e.skaddr).toString(16);
  const ms = (Number(e.extra[0]) / 1000).toFixed(3);
  const old = tcpStateName(e.oldstate);
  const neu = tcpStateName(e.newstate);
  if (o.csv) return s + [sk, e.pid, e.comm, e.family, e.saddr, e.sport, e.daddr, e.dport, old, neu, ms].join(',') + '\n';
  if (o.wide) {
    return s + `${sk.padEnd(16)} ${String(e.pid).padEnd(5)} ${e.comm.slice(0, 16).padEnd(16)} ${String(e.family).padEnd(2)} ${e.saddr.padEnd(39)} ${String(e.sport).padEnd(5)} ${e.daddr.padEnd(39)} ${String(e.dport).padEnd(5)} ${old.padEnd(11)} -> ${neu.padEnd(11)} ${ms}\n`;
  }
  return s + `${sk.padEnd(16)} ${String(e.pid).padEnd(5)} ${e.comm.slice(0, 10).padEnd(10)} ${e.saddr.padEnd(15)} ${String(e.sport).padEnd(5)} ${e.daddr.padEnd(15)} ${String(e.dport).padEnd(5)} ${old.padEnd(11)} -> ${neu.padEnd(11)} ${ms}\n`;
}

const mod: ToolModule<TcpstatesOptions> = {
  description: 'Trace TCP session state changes and the time spent in each state.',
  category: 'net',
  spec: {
    name: 'tcpstates',
    summary: 'Trace TCP session state changes and durations',
    options: [
      { short: 'T', long: 'time', dest: 'time', kind: 'flag', help: 'include time column on output (HH:MM:SS)' },
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output (seconds)' },
      { short: 'w', long: 'wide', dest: 'wide', kind: 'flag', help: 'wide column output (fits IPv6 addresses)' },
      { short: 's', long: 'csv', dest: 'csv', kind: 'flag', help: 'comma separated values output' },
      { short: 'L', long: 'localport', dest: 'lport', kind: 'list', commaSplit: true, metavar: 'LOCALPORT', help: 'comma-separated list of local ports to trace.' },
      { short: 'D', long: 'remoteport', dest: 'dport', kind: 'list', commaSplit: true, metavar: 'REMOTEPORT', help: 'comma-separated list of remote ports to trace.' },
      { short: 'Y', long: 'journal', dest: 'journal', kind: 'flag', help: 'log session state changes to the systemd journal (not supported here)' },
      { short: '4', long: 'ipv4', dest: 'ipv4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'ipv6', kind: 'flag', help: 'trace IPv6 family only' },
      EBPF_OPTION,
    ],
    examples: [
      'tcpstates           # trace all TCP state changes',
      'tcpstates -t        # include timestamp column',
      'tcpstates -T        # include time column (HH:MM:SS)',
      'tcpstates -w        # wider columns (fit IPv6)',
      'tcpstates -stT      # csv output, with times & timestamps',
      'tcpstates -L 80     # only trace local port 80',
      'tcpstates -L 80,81  # only trace local ports 80 and 81',
      'tcpstates -D 80     # only trace remote port 80',
      'tcpstates -4        # trace IPv4 family only',
      'tcpstates -6        # trace IPv6 family only',
    ],
    notes: 'Follows bcc (C-PID/C-COMM are whoever was on the CPU at the change, often not the owner). libbpf-tools\n' +
      'tcpstates prints PID/COMM, a 26-wide -w, and -T as a timestamp flag. -Y (systemd journal) is refused.',
  },
  options(a: ParsedArgs): TcpstatesOptions {
    if (a.flag('ipv4') && a.flag('ipv6')) throw new ToolError('-4 and -6 are mutually exclusive');
    if (a.flag('journal')) throw new ToolError('-Y (systemd journal logging) is not supported by this tcpstates');
    return {
      time: a.flag('time'), timestamp: a.flag('timestamp'), wide: a.flag('wide'), csv: a.flag('csv'),
      localPorts: parsePorts(a.list('lport'), '-L'), remotePorts: parsePorts(a.list('dport'), '-D'),
      ipv4: a.flag('ipv4'), ipv6: a.flag('ipv6'), ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = tcpstatesProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('sock', 'inet_sock_set_state');
    let first: number | undefined;
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf') return false;
      const e = decodeStateEvent(FMT, ev.format, v, 1);
      if (!e) return false;
      const now = Date.now();
      first ??= now;
      rt.print(tcpstatesLine(o, e, new Date(now), (now - first) / 1000));
      return true;
    };
    return runToolProgram({ name: 'tcpstates', program, banner: tcpstatesHeader(o), onEvent });
  },
};

export const tcpstates = mod;
export const tool = defineTool(mod);
