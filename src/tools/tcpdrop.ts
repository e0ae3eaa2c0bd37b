/**
 * tcpdrop: one block per TCP packet the kernel dropped (addresses and ports
 * from the packet, the socket's state, the TCP flags, the drop reason, the
 * kernel stack that dropped it), from the skb:kfree_skb tracepoint with its
 * drop reason. Columns and flags as bcc tcpdrop (which prefers a kprobe on
 * tcp_drop and falls back to this tracepoint).
 */
import * as fs from 'node:fs';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { AF_INET, AF_INET6, in6Halves, ipv4FromBe32, ipv6FromHalves, IPPROTO_TCP, portFromBe16, tcpStateName } from './common/inet';
import { intOf, runToolProgram, toolEvent } from './common/script';
import { requireTracepoint, tpHasField } from './common/tp';
import { tracepointFormat } from '../sys/tracefs';
import { ToolError } from './tool';

export interface TcpdropOptions {
  ipv4: boolean;
  ipv6: boolean;
  /** Only drops on sockets of this network namespace (its inode number). */
  netns?: number;
  /** The tracepoint names the socket that received the packet (rx_sk, 6.12+): used when the skb has no owner yet. */
  hasRxSk: boolean;
  ebpf: boolean;
}

const C = '$sk->__sk_common';
// IPv6: the packet came from the socket's peer to its local address, as bcc reports it.
const [R6A, R6B] = in6Halves(`${C}.skc_v6_daddr`);
const [L6A, L6B] = in6Halves(`${C}.skc_v6_rcv_saddr`);

const DROP = toolEvent('tcpdrop', {
  pid: ['%d', 'pid'], family: ['%d', `${C}.skc_family`], state: ['%d', `${C}.skc_state`],
  saddr4: ['%d', '$ip->saddr'], daddr4: ['%d', '$ip->daddr'],
  s6a: ['%d', R6A], s6b: ['%d', R6B], d6a: ['%d', L6A], d6b: ['%d', L6B],
  sport: ['%d', '$tcp->source'], dport: ['%d', '$tcp->dest'], flags: ['%d', '$flags'], reason: ['%d', 'args->reason'],
  stack: ['%s', 'kstack(perf)'],
});

export function tcpdropProgram(o: TcpdropOptions, notSpecified: number): string {
  const fam = o.ipv4 ? `${C}.skc_family == ${AF_INET}` : o.ipv6 ? `${C}.skc_family == ${AF_INET6}` : `(${C}.skc_family == ${AF_INET} || ${C}.skc_family == ${AF_INET6})`;
  const conds = [`$sk->sk_protocol == ${IPPROTO_TCP}`, fam];
  if (o.netns !== undefined) conds.push(`${C}.skc_net.net->ns.inum == ${o.netns}`);
  const sk = o.hasRxSk ? '$sk = (struct sock *)args->rx_sk;\n  if ($sk == 0) {\n    $sk = $skb->sk;\n  }' : '$sk = $skb->sk;';
  // Reasons above NOT_SPECIFIED are real drops (below: not dropped yet, consumed), as bcc counts them.
  return `tracepoint:skb:kfree_skb /args->reason > ${notSpecified}/
{
  $skb = (struct sk_buff *)args->skbaddr;
  ${sk}
  if ($sk != 0) {
    if (${conds.join(' && ')}) {
      $ip = (struct iphdr *)($skb->head + $skb->network_header);
      $tcp = (struct tcphdr *)($skb->head + $skb->transport_header);
      // The flags are byte 13 of the TCP header (bitfields in struct tcphdr): 8 bytes from 8 read as a pointer, byte 5 kept.
      $flags = ((uint64)((struct list_head *)((uint64)$tcp + 8))->next >> 40) & 0xff;
      ${DROP.send()}
    }
  }
}
`;
}

/** bcc's tcp.flags2str. */
export function tcpFlagsText(flags: number): string {
  return ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'].filter((_, i) => flags & (1 << i)).join('|');
}

/** The drop reasons this kernel names, from the tracepoint's print format (__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...)). */
export function dropReasons(printFmt: string): Map<number, string> {
  const m = new Map<number, string>();
  const at = printFmt.indexOf('REC->reason');
  if (at < 0) return m;
  for (const x of printFmt.slice(at).matchAll(/\{\s*(\d+)\s*,\s*"([A-Z0-9_]+)"\s*\}/g)) m.set(Number(x[1]), x[2]);
  return m;
}

export const HEADER = `${'TIME'.padEnd(8)} ${'PID'.padEnd(7)} ${'IP'.padEnd(2)} ${'SADDR:SPORT'.padEnd(20)} > ${'DADDR:DPORT'.padEnd(20)} ${'STATE (FLAGS)'.padEnd(20)} REASON (CODE)\n`;

export interface DropRecord {
  pid: number;
  family: number;
  saddr: string;
  sport: number;
  daddr: string;
  dport: number;
  state: number;
  flags: number;
  reason: number;
  /** Innermost first, as function+0xoffset. */
  stack: string[];
}

export function tcpdropText(e: DropRecord, reasons: Map<number, string>, now: Date): string {
  const ip = e.family === AF_INET6 ? 6 : 4;
  const state = `${tcpStateName(e.state)} (${tcpFlagsText(e.flags)})`;
  let s = `${clockTime(now).padEnd(8)} ${String(e.pid).padEnd(7)} ${String(ip).padEnd(2)} ${`${e.saddr}:${e.sport}`.padEnd(20)} > ${`${e.daddr}:${e.dport}`.padEnd(20)} ${state.padEnd(20)} ${reasons.get(e.reason) ?? 'UNKNOWN'} (${e.reason})\n`;
  for (const f of e.stack) s += `\t${f}\n`;
  return s + '\n';
}

/** The inode number of a process's network namespace (bcc's --pid-netns). */
function netnsOf(pid: number): number {
  try {
    return fs.statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    throw new ToolError(`--pid-netns: no process ${pid}`);
  }
}

const mod: ToolModule<TcpdropOptions> = {
  description: 'Trace TCP packets dropped by the kernel, with the reason and the kernel stack.',
  category: 'net',
  spec: {
    name: 'tcpdrop',
    summary: 'Trace TCP drops by the kernel',
    options: [
      { short: '4', long: 'ipv4', dest: 'ipv4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'ipv6', kind: 'flag', help: 'trace IPv6 family only' },
      { long: 'netns-id', dest: 'netnsId', kind: 'int', metavar: 'NETNS_ID', min: 1, help: 'the netns id to filter by' },
      { long: 'pid-netns', dest: 'pidNetns', kind: 'int', metavar: 'PID_NETNS', min: 1, help: 'the pid whose netns to filter by' },
      EBPF_OPTION,
    ],
    examples: [
      'tcpdrop           # trace kernel TCP drops',
      'tcpdrop -4        # trace IPv4 family only',
      'tcpdrop -6        # trace IPv6 family only',
    ],
    notes: 'Follows bcc, from skb:kfree_skb with its drop reason (the names are this kernel\'s). The socket is the packet\'s\n' +
      'owner or, when it has none yet (a drop on receive, e.g. by a socket filter), the receiving socket the tracepoint\n' +
      'names; packets no socket took (NO_SOCKET) are not shown, as in bcc.',
  },
  options(a: ParsedArgs): TcpdropOptions {
    if (a.flag('ipv4') && a.flag('ipv6')) throw new ToolError('-4 and -6 are mutually exclusive');
    const netnsId = a.int('netnsId');
    const pidNetns = a.int('pidNetns');
    if (netnsId !== undefined && pidNetns !== undefined) throw new ToolError('--pid-netns and --netns-id are mutually exclusive');
    return {
      ipv4: a.flag('ipv4'), ipv6: a.flag('ipv6'), netns: pidNetns !== undefined ? netnsOf(pidNetns) : netnsId,
      hasRxSk: tpHasField('skb', 'kfree_skb', 'rx_sk'), ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    requireTracepoint('skb', 'kfree_skb');
    if (!tpHasField('skb', 'kfree_skb', 'reason')) throw new ToolError('tracepoint skb:kfree_skb has no drop reason on this kernel (5.17+ has it)');
    const reasons = dropReasons(tracepointFormat('skb', 'kfree_skb').printFmt);
    const notSpecified = [...reasons].find(([, n]) => n === 'NOT_SPECIFIED')?.[0] ?? 2;
    const program = tcpdropProgram(o, notSpecified);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    const onDrop = DROP.handle((v, rt) => {
      const family = Number(intOf(v.family));
      const st = v.stack;
      // perf-mode frames read "function+offset (module)"; bcc prints function+0xoffset.
      const stack = st?.kind === 'stack' ? st.frames.map((f) => f.replace(/ \([^)]*\)$/, '').replace(/\+(\d+)$/, (_, n: string) => `+0x${Number(n).toString(16)}`)) : [];
      rt.print(tcpdropText({
        pid: Number(intOf(v.pid)), family, state: Number(intOf(v.state)), flags: Number(intOf(v.flags)), reason: Number(intOf(v.reason)),
        saddr: family === AF_INET6 ? ipv6FromHalves(intOf(v.s6a), intOf(v.s6b)) : ipv4FromBe32(intOf(v.saddr4)), sport: portFromBe16(intOf(v.sport)),
        daddr: family === AF_INET6 ? ipv6FromHalves(intOf(v.d6a), intOf(v.d6b)) : ipv4FromBe32(intOf(v.daddr4)), dport: portFromBe16(intOf(v.dport)),
        stack,
      }, reasons, new Date()));
    });
    return runToolProgram({ name: 'tcpdrop', program, banner: HEADER, on: [onDrop] });
  },
};

export const tcpdrop = mod;
export const tool = defineTool(mod);
