/**
 * tcpretrans: one line per TCP retransmission (addresses, ports, TCP state),
 * or with -c a count per flow, from the tcp:tcp_retransmit_skb tracepoint.
 * Flags and columns as bcc tcpretrans (which uses the same tracepoint when
 * it exists, and a kprobe on tcp_send_loss_probe for -l).
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { AF_INET, AF_INET6, in6Halves, ipv4FromBe32, ipv6FromHalves, portFromBe16, tcpStateName } from './common/inet';
import { intOf, runToolProgram, toolEvent } from './common/script';
import { requireTracepoint, tpHasField } from './common/tp';
import { ToolError } from './tool';

export interface TcpretransOptions {
  sequence: boolean;
  lossprobe: boolean;
  count: boolean;
  ipv4: boolean;
  ipv6: boolean;
  /** The tracepoint has `err` (6.10+): failed attempts are left out, as the kernel's own counters leave them out. */
  hasErr: boolean;
  ebpf: boolean;
}

const C = '$sk->__sk_common';
/** The sock's IPv6 addresses as two 64-bit halves each. */
const [S6A, S6B] = in6Halves(`${C}.skc_v6_rcv_saddr`);
const [D6A, D6B] = in6Halves(`${C}.skc_v6_daddr`);

/** type: 1 a retransmission, 2 a tail loss probe (bcc's R and L). */
const RETRANS = toolEvent('retrans', {
  type: ['%d', '$type'], pid: ['%d', 'pid'], family: ['%d', `${C}.skc_family`], state: ['%d', `${C}.skc_state`],
  lport: ['%d', `${C}.skc_num`], dport: ['%d', `${C}.skc_dport`], saddr4: ['%d', `${C}.skc_rcv_saddr`], daddr4: ['%d', `${C}.skc_daddr`],
  s6a: ['%d', S6A], s6b: ['%d', S6B], d6a: ['%d', D6A], d6b: ['%d', D6B], seq: ['%d', '$seq'],
});

export function tcpretransProgram(o: TcpretransOptions): string {
  const fam = o.ipv4 ? ` && ${C}.skc_family == ${AF_INET}` : o.ipv6 ? ` && ${C}.skc_family == ${AF_INET6}` : ` && (${C}.skc_family == ${AF_INET} || ${C}.skc_family == ${AF_INET6})`;
  const body = (type: number, seq: string) => o.count
    ? `  @retrans[${C}.skc_family, ${C}.skc_num, ${C}.skc_dport, ${S6A}, ${S6B}, ${D6A}, ${D6B}, ${C}.skc_rcv_saddr, ${C}.skc_daddr] = count();\n`
    : `  $type = ${type};\n  $seq = ${seq};\n  ${RETRANS.send()}\n`;
  // The sequence number of the retransmitted segment: TCP_SKB_CB(skb)->seq, in the skb's control buffer.
  const seq = '((struct tcp_skb_cb *)((uint64)args->skbaddr + offsetof(struct sk_buff, cb)))->seq';
  let out = `tracepoint:tcp:tcp_retransmit_skb\n{\n  $sk = (struct sock *)args->skaddr;\n  if (1${o.hasErr ? ' && args->err == 0' : ''}${fam}) {\n${body(1, o.sequence ? seq : '0').replace(/^/gm, '  ')}  }\n}\n`;
  if (o.lossprobe) out += `\nkprobe:tcp_send_loss_probe\n{\n  $sk = (struct sock *)arg0;\n  if (1${fam}) {\n${body(2, '0').replace(/^/gm, '  ')}  }\n}\n`;
  return out;
}

export const tcpretransHeader = (o: TcpretransOptions) =>
  `${'TIME'.padEnd(8)} ${'PID'.padEnd(7)} ${'IP'.padEnd(2)} ${'LADDR:LPORT'.padEnd(20)} T> ${'RADDR:RPORT'.padEnd(20)}` + (o.sequence ? ` ${'STATE'.padEnd(12)} ${'SEQ'.padEnd(10)}\n` : ` ${'STATE'.padEnd(4)}\n`);

export interface RetransRecord {
  type: number;
  pid: number;
  family: number;
  state: number;
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
  seq: bigint;
}

const addrOf = (family: number, v4: bigint, a: bigint, b: bigint) => (family === AF_INET6 ? ipv6FromHalves(a, b) : ipv4FromBe32(v4));

export function tcpretransLine(o: TcpretransOptions, e: RetransRecord, now: Date): string {
  const ip = e.family === AF_INET6 ? 6 : 4;
  const head = `${clockTime(now).padEnd(8)} ${String(e.pid).padEnd(7)} ${String(ip).padEnd(2)} ${`${e.laddr}:${e.lport}`.padEnd(20)} ${e.type === 2 ? 'L' : 'R'}> ${`${e.raddr}:${e.rport}`.padEnd(20)}`;
  return head + (o.sequence ? ` ${tcpStateName(e.state).padEnd(12)} ${e.seq}\n` : ` ${tcpStateName(e.state)}\n`);
}

/** bcc's -c table: retransmissions per flow, fewest first. */
export function tcpretransCounts(m: MapDump | undefined): string {
  let s = `\n${'LADDR:LPORT'.padEnd(25)} ${'RADDR:RPORT'.padEnd(25)} ${'RETRANSMITS'.padEnd(10)}\n`;
  if (!m || (m.kind !== 'count' && m.kind !== 'sum')) return s;
  const rows = m.entries.map((e) => {
    const k = e.key.map((x) => intOf(x));
    const family = Number(k[0]);
    const l = `[${addrOf(family, k[7], k[3], k[4])}]#${k[1]}`;
    const r = `[${addrOf(family, k[8], k[5], k[6])}]#${portFromBe16(k[2])}`;
    return { text: `${l.padEnd(20)} <-> ${r.padEnd(20)}`, n: e.value };
  }).sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  for (const r of rows) s += `${r.text} ${String(r.n).padStart(10)}\n`;
  return s;
}

const mod: ToolModule<TcpretransOptions> = {
  description: 'Trace TCP retransmissions: flow, TCP state, or counts per flow.',
  category: 'net',
  spec: {
    name: 'tcpretrans',
    summary: 'Trace TCP retransmits',
    options: [
      { short: 's', long: 'sequence', dest: 'sequence', kind: 'flag', help: 'display TCP sequence numbers' },
      { short: 'l', long: 'lossprobe', dest: 'lossprobe', kind: 'flag', help: 'include tail loss probe attempts (needs kprobes)' },
      { short: 'c', long: 'count', dest: 'count', kind: 'flag', help: 'count occurred retransmits per flow' },
      { short: '4', long: 'ipv4', dest: 'ipv4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'ipv6', kind: 'flag', help: 'trace IPv6 family only' },
      EBPF_OPTION,
    ],
    examples: [
      'tcpretrans           # trace TCP retransmits',
      'tcpretrans -l        # include TLP attempts',
      'tcpretrans -4        # trace IPv4 family only',
      'tcpretrans -6        # trace IPv6 family only',
    ],
    notes: 'T: R a retransmission, L a tail loss probe (-l). PID is whoever was on CPU (often 0: retransmit timers run in\n' +
      'softirq context). Follows bcc; on kernels whose tracepoint reports the result (6.10+), attempts that failed (the\n' +
      'original still queued on the host, no memory) are left out, so the rows match the kernel\'s TcpRetransSegs.',
  },
  options(a: ParsedArgs): TcpretransOptions {
    if (a.flag('ipv4') && a.flag('ipv6')) throw new ToolError('-4 and -6 are mutually exclusive');
    return {
      sequence: a.flag('sequence'), lossprobe: a.flag('lossprobe'), count: a.flag('count'), ipv4: a.flag('ipv4'), ipv6: a.flag('ipv6'),
      hasErr: tpHasField('tcp', 'tcp_retransmit_skb', 'err'), ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = tcpretransProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('tcp', 'tcp_retransmit_skb');
    const onRetrans = RETRANS.handle((v, rt) => {
      const family = Number(intOf(v.family));
      rt.print(tcpretransLine(o, {
        type: Number(intOf(v.type)), pid: Number(intOf(v.pid)), family, state: Number(intOf(v.state)),
        laddr: addrOf(family, intOf(v.saddr4), intOf(v.s6a), intOf(v.s6b)), lport: Number(intOf(v.lport)),
        raddr: addrOf(family, intOf(v.daddr4), intOf(v.d6a), intOf(v.d6b)), rport: portFromBe16(intOf(v.dport)),
        seq: BigInt.asUintN(32, intOf(v.seq)),
      }, new Date()));
    });
    return runToolProgram({
      name: 'tcpretrans',
      program,
      banner: o.count ? 'Tracing retransmits ... Hit Ctrl-C to end\n' : `Tracing retransmits ... Hit Ctrl-C to end\n${tcpretransHeader(o)}`,
      on: [onRetrans],
      report: o.count ? (rt) => rt.print(tcpretransCounts(rt.map('@retrans'))) : undefined,
    });
  },
};

export const tcpretrans = mod;
export const tool = defineTool(mod);
