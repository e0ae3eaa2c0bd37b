/**
 * tcpsynbl: the TCP SYN backlog (a listener's accept queue length) each time
 * a handshake completes, as a histogram per backlog limit, from kprobes on
 * tcp_v4_syn_recv_sock / tcp_v6_syn_recv_sock (needs kprobes); output as bcc tcpsynbl.
 */
import type { MapDump } from '../runtime/format/maps';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { log2HistText, slotsFromHist } from './common/hist';
import { intOf, runToolProgram } from './common/script';
import { ToolError } from './tool';

export interface TcpsynblOptions {
  ipv4: boolean;
  ipv6: boolean;
  ebpf: boolean;
}

export function tcpsynblProgram(o: TcpsynblOptions): string {
  const fns = o.ipv4 ? ['tcp_v4_syn_recv_sock'] : o.ipv6 ? ['tcp_v6_syn_recv_sock'] : ['tcp_v4_syn_recv_sock', 'tcp_v6_syn_recv_sock'];
  // The listening socket is the first argument: its accept queue length and limit as the handshake completes.
  return `${fns.map((f) => `kprobe:${f}`).join(',\n')}\n{\n  $sk = (struct sock *)arg0;\n  @backlog[$sk->sk_max_ack_backlog] = hist($sk->sk_ack_backlog);\n}\n`;
}

/** bcc's print_log2_hist("backlog", "backlog_max"): one histogram per limit, smallest limit first. */
export function tcpsynblReport(m: MapDump | undefined): string {
  let s = '';
  if (!m || m.kind !== 'hist') return s;
  const sections = [...m.entries].sort((a, b) => (intOf(a.key[0]) < intOf(b.key[0]) ? -1 : 1));
  for (const e of sections) s += `\nbacklog_max = ${intOf(e.key[0])}\n${log2HistText(slotsFromHist(e.value), 'backlog', 'bcc')}`;
  return s;
}

const mod: ToolModule<TcpsynblOptions> = {
  description: 'TCP SYN backlog size as handshakes complete, a histogram per backlog limit; needs kprobes.',
  category: 'net',
  spec: {
    name: 'tcpsynbl',
    summary: 'Show TCP SYN backlog.',
    options: [
      { short: '4', long: 'ipv4', dest: 'ipv4', kind: 'flag', help: 'trace IPv4 family only' },
      { short: '6', long: 'ipv6', dest: 'ipv6', kind: 'flag', help: 'trace IPv6 family only' },
      EBPF_OPTION,
    ],
    examples: ['tcpsynbl          # trace syn backlog', 'tcpsynbl -4       # trace IPv4 family only', 'tcpsynbl -6       # trace IPv6 family only'],
    notes: 'Follows bcc (kprobes on tcp_v4_syn_recv_sock and tcp_v6_syn_recv_sock). libbpf-tools has no tcpsynbl.',
  },
  options(a: ParsedArgs): TcpsynblOptions {
    if (a.flag('ipv4') && a.flag('ipv6')) throw new ToolError('-4 and -6 cannot be used together');
    return { ipv4: a.flag('ipv4'), ipv6: a.flag('ipv6'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = tcpsynblProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (!hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'tcpsynbl needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    return runToolProgram({
      name: 'tcpsynbl',
      program,
      banner: 'Tracing SYN backlog size. Ctrl-C to end.\n',
      // bcc prints a newline after the ^C, then the histograms
      report: (rt) => rt.print(`\n${tcpsynblReport(rt.map('@backlog'))}`),
    });
  },
};

export const tcpsynbl = mod;
export const tool = defineTool(mod);
