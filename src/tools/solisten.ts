/**
 * solisten: one line per listen() on a TCP socket (process, protocol,
 * backlog, port, address), from the syscalls:sys_enter_listen tracepoint;
 * the socket is found through the descriptor (task->files->fdt->fd[fd] →
 * file->private_data → socket->sk), so the columns are bcc's (a kprobe on
 * inet_listen).
 */
import type { EventSpec } from '../lang/artifact';
import { inetNtop, type Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { AF_INET, AF_INET6, in6Halves, ipv4FromBe32, IPPROTO_TCP } from './common/inet';
import { intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint } from './common/tp';

export interface SolistenOptions {
  showNetns: boolean;
  pid?: number;
  netns?: number;
  ebpf: boolean;
}

const EV = 'SL %d %d %d %d %d %d %d %d %s\n';

export function solistenProgram(o: SolistenOptions): string {
  const c = '$sk->__sk_common';
  const conds = [`$sk->sk_protocol == ${IPPROTO_TCP}`, `(${c}.skc_family == ${AF_INET} || ${c}.skc_family == ${AF_INET6})`];
  if (o.netns !== undefined) conds.push(`${c}.skc_net.net->ns.inum == ${o.netns}`);
  return `tracepoint:syscalls:sys_enter_listen${o.pid !== undefined ? ` /pid == ${o.pid}/` : ''}
{
  $fdt = curtask->files->fdt;
  if ((uint64)args->fd < (uint64)$fdt->max_fds) {
    $file = $fdt->fd[args->fd];
    $sk = ((struct socket *)$file->private_data)->sk;
    if (${conds.join(' && ')}) {
      printf("${EV.replace('\n', '\\n')}", pid, ${c}.skc_net.net->ns.inum, ${c}.skc_family, args->backlog, ${c}.skc_num, ${c}.skc_rcv_saddr, ${in6Halves(`${c}.skc_v6_rcv_saddr`).join(', ')}, comm);
    }
  }
}
`;
}

export const solistenHeader = (o: SolistenOptions) =>
  o.showNetns ? `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)} ${'NETNS'.padEnd(12)} ${'PROTO'.padEnd(6)} ${'BACKLOG'.padEnd(8)} ${'PORT'.padEnd(5)} ${'ADDR'.padEnd(39)}\n`
    : `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)} ${'PROTO'.padEnd(6)} ${'BACKLOG'.padEnd(8)} ${'PORT'.padEnd(5)} ${'ADDR'.padEnd(39)}\n`;

export function solistenLine(o: SolistenOptions, v: readonly Value[]): string {
  const n = (i: number) => intOf(v[i]);
  const v6 = Number(n(2)) === AF_INET6;
  let addr: string;
  if (v6) {
    const b = new Uint8Array(16);
    [n(6), n(7)].forEach((h, i) => {
      let x = BigInt.asUintN(64, h);
      for (let j = 0; j < 8; j++, x >>= 8n) b[i * 8 + j] = Number(x & 0xffn);
    });
    addr = inetNtop(b);
  } else {
    addr = ipv4FromBe32(n(5));
  }
  const proto = `TCPv${v6 ? 6 : 4}`;
  const comm = strOf(v[8]).slice(0, 12).padEnd(12);
  const tail = `${proto.padEnd(6)} ${String(Number(BigInt.asIntN(32, n(3)))).padEnd(8)} ${String(n(4)).padEnd(5)} ${addr.padEnd(39)}`;
  return o.showNetns ? `${String(n(0)).padEnd(7)} ${comm} ${String(n(1)).padEnd(12)} ${tail}\n` : `${String(n(0)).padEnd(7)} ${comm} ${tail}\n`;
}

const mod: ToolModule<SolistenOptions> = {
  description: 'Trace listen() on TCP sockets: process, protocol, backlog, port and address.',
  category: 'net',
  spec: {
    name: 'solisten',
    summary: 'Stream sockets listen',
    options: [
      { long: 'show-netns', dest: 'showNetns', kind: 'flag', help: 'show network namespace' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'n', long: 'netns', dest: 'netns', kind: 'int', metavar: 'NETNS', min: 1, help: 'trace this Network Namespace only' },
      EBPF_OPTION,
    ],
    examples: [
      'solisten              # Stream socket listen',
      'solisten -p 1234      # Stream socket listen for specified PID only',
      'solisten --netns 4242 # " for the specified network namespace ID only',
      'solisten --show-netns # Show network ns ID (useful for containers)',
    ],
    notes: 'Follows bcc, from the listen() syscall tracepoint instead of a kprobe on inet_listen: listens made without the\n' +
      'syscall (io_uring, in-kernel users) are not seen. libbpf-tools solisten is kprobe-based and prints RET and TIME.',
  },
  options(a: ParsedArgs): SolistenOptions {
    return { showNetns: a.flag('showNetns'), pid: a.int('pid'), netns: a.int('netns'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = solistenProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('syscalls', 'sys_enter_listen');
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(solistenLine(o, v));
      return true;
    };
    return runToolProgram({ name: 'solisten', program, banner: solistenHeader(o), onEvent });
  },
};

export const solisten = mod;
export const tool = defineTool(mod);
