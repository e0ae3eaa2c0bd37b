/**
 * killsnoop: one line per kill() syscall (sender, signal, target, result),
 * from the syscalls:sys_enter_kill / sys_exit_kill tracepoints. Flags and
 * columns as bcc killsnoop.
 */
import * as fs from 'node:fs';
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { parseSignal } from './common/signals';
import { requireTracepoint } from './common/tp';

export interface KillsnoopOptions {
  failed: boolean;
  pid?: number;
  tpid?: number;
  signals: number[];
  ebpf: boolean;
}

const EV = 'K %d %d %d %d %s\n';

export function killsnoopProgram(o: KillsnoopOptions): string {
  const conds: string[] = [];
  if (o.pid !== undefined) conds.push(`pid == ${o.pid}`);
  if (o.tpid !== undefined) conds.push(`args->pid == ${o.tpid}`);
  if (o.signals.length) conds.push(`(${o.signals.map((s) => `args->sig == ${s}`).join(' || ')})`);
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  const exitPred = o.failed ? '@ks_live[tid] && args->ret < 0' : '@ks_live[tid]';
  return `tracepoint:syscalls:sys_enter_kill${pred}
{
  @ks_tpid[tid] = args->pid;
  @ks_sig[tid] = args->sig;
  @ks_live[tid] = 1;
}

tracepoint:syscalls:sys_exit_kill /${exitPred}/
{
  printf("${EV.replace('\n', '\\n')}", pid, @ks_sig[tid], @ks_tpid[tid], args->ret, comm);
}

tracepoint:syscalls:sys_exit_kill /@ks_live[tid]/
{
  delete(@ks_tpid[tid]);
  delete(@ks_sig[tid]);
  delete(@ks_live[tid]);
}
`;
}

/** bcc sizes the PID columns to the digits of kernel.pid_max, plus one. */
export function pidColumnWidth(): number {
  try {
    return fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim().length + 1;
  } catch {
    return 6;
  }
}

export function killsnoopHeader(w: number): string {
  return `${'TIME'.padEnd(9)} ${'PID'.padEnd(w)} ${'COMM'.padEnd(16)} ${'SIG'.padEnd(4)} ${'TPID'.padEnd(w)} RESULT\n`;
}

export interface KillRecord {
  pid: number;
  comm: string;
  sig: number;
  tpid: number;
  ret: number;
}

export function killsnoopLine(w: number, e: KillRecord, now: Date): string {
  return `${clockTime(now).padEnd(9)} ${String(e.pid).padEnd(w)} ${e.comm.padEnd(16)} ${String(e.sig).padEnd(4)} ${String(e.tpid).padEnd(w)} ${e.ret}\n`;
}

/** A 32-bit int tracepoint field or a long return value, as signed. */
const signed = (v: Value | undefined, bits = 64) => Number(BigInt.asIntN(bits, intOf(v)));

export function decodeKill(v: Value[]): KillRecord {
  return { pid: signed(v[0]), sig: signed(v[1], 32), tpid: signed(v[2], 32), ret: signed(v[3]), comm: strOf(v[4]) };
}

const mod: ToolModule<KillsnoopOptions> = {
  description: 'Trace signals issued by the kill() syscall: sender, signal, target and result.',
  category: 'apps',
  spec: {
    name: 'killsnoop',
    summary: 'Trace signals issued by the kill() syscall',
    options: [
      { short: 'x', long: 'failed', dest: 'failed', kind: 'flag', help: 'only show failed kill syscalls' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'trace this PID only which is the sender of signal' },
      { short: 'T', long: 'tpid', dest: 'tpid', kind: 'int', metavar: 'TPID', help: 'trace this target PID only which is the receiver of signal' },
      { short: 's', long: 'signal', dest: 'signal', kind: 'list', commaSplit: true, metavar: 'SIGNAL', help: 'trace a signal or a signal list' },
      EBPF_OPTION,
    ],
    examples: [
      'killsnoop           # trace all kill() signals',
      'killsnoop -x        # only show failed kills',
      'killsnoop -p 181    # only trace PID 181',
      'killsnoop -T 189    # only trace target PID 189',
      'killsnoop -s 9      # only trace signal 9',
      'killsnoop -s 9,15   # trace signal 9 and 15',
    ],
    notes: 'Follows bcc (kill() only, PID columns sized to kernel.pid_max). libbpf-tools killsnoop is sigsnoop -k: it also\n' +
      'traces tkill() and tgkill() and prints sigsnoop\'s columns. -s also takes signal names (TERM, SIGKILL).',
  },
  options(a: ParsedArgs): KillsnoopOptions {
    return {
      failed: a.flag('failed'),
      pid: a.int('pid'),
      tpid: a.int('tpid'),
      signals: a.list('signal').map((s) => parseSignal(s, '-s')),
      ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = killsnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('syscalls', 'sys_enter_kill');
    const w = pidColumnWidth();
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(killsnoopLine(w, decodeKill(v), new Date()));
      return true;
    };
    return runToolProgram({ name: 'killsnoop', program, banner: killsnoopHeader(w), onEvent });
  },
};

export const killsnoop = mod;
export const tool = defineTool(mod);
