/**
 * sigsnoop: one line per signal generated (signal:signal_generate), or with
 * -k per kill()/tkill()/tgkill() syscall. Flags and columns as Debian's
 * libbpf-tools sigsnoop 0.26 (bcc has no sigsnoop).
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { parseSignal } from './common/signals';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface SigsnoopOptions {
  failed: boolean;
  killOnly: boolean;
  pid?: number;
  signals: number[];
  names: boolean;
  ebpf: boolean;
}

const EV = 'S %d %d %d %d %s\n';
const ev = EV.replace('\n', '\\n');

/** The kill-family syscalls and the tracepoint field holding the target. */
const KILL_CALLS: [string, string][] = [['kill', 'pid'], ['tkill', 'pid'], ['tgkill', 'pid']];

export function sigsnoopProgram(o: SigsnoopOptions): string {
  const sigCond = o.signals.length ? `(${o.signals.map((s) => `args->sig == ${s}`).join(' || ')})` : '';
  const pidCond = o.pid !== undefined ? `pid == ${o.pid}` : '';
  if (!o.killOnly) {
    const conds = [o.failed ? 'args->errno != 0' : '', sigCond, pidCond].filter(Boolean);
    return `tracepoint:signal:signal_generate${conds.length ? ` /${conds.join(' && ')}/` : ''}\n{\n` +
      `  printf("${ev}", pid, args->sig, args->pid, args->errno, comm);\n}\n`;
  }
  const conds = [sigCond, pidCond].filter(Boolean);
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  const out: string[] = [];
  for (const [call, target] of KILL_CALLS) {
    out.push(`tracepoint:syscalls:sys_enter_${call}${pred}\n{\n  @sg_tpid[tid] = args->${target};\n  @sg_sig[tid] = args->sig;\n  @sg_live[tid] = 1;\n}\n`);
    out.push(`tracepoint:syscalls:sys_exit_${call} /@sg_live[tid]${o.failed ? ' && args->ret < 0' : ''}/\n{\n` +
      `  printf("${ev}", pid, @sg_sig[tid], @sg_tpid[tid], args->ret, comm);\n}\n`);
    out.push(`tracepoint:syscalls:sys_exit_${call} /@sg_live[tid]/\n{\n  delete(@sg_tpid[tid]);\n  delete(@sg_sig[tid]);\n  delete(@sg_live[tid]);\n}\n`);
  }
  return out.join('\n');
}

export const SIGSNOOP_HEADER = `${'TIME'.padEnd(8)} ${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} ${'SIG'.padEnd(9)} ${'TPID'.padEnd(7)} ${'RESULT'.padEnd(6)}\n`;

/** libbpf-tools' names: SIGHUP..SIGSYS, SIGNAL-32..64 for the real-time ones, N/A for 0. */
export function sigsnoopSignalName(n: number): string {
  const std = ['N/A', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV',
    'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG',
    'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS'];
  return n >= 0 && n < std.length ? std[n] : n <= 64 ? `SIGNAL-${n}` : String(n);
}

export function sigsnoopLine(o: SigsnoopOptions, v: Value[], now: Date): string {
  const s = (x: Value | undefined, bits: number) => Number(BigInt.asIntN(bits, intOf(x)));
  const sig = s(v[1], 32);
  const sigText = o.names && sig >= 0 && sig <= 64 ? sigsnoopSignalName(sig) : String(sig);
  return `${clockTime(now).padEnd(8)} ${String(s(v[0], 64)).padEnd(7)} ${strOf(v[4]).padEnd(16)} ${sigText.padEnd(9)} ${String(s(v[2], 32)).padEnd(7)} ${String(s(v[3], 64)).padEnd(6)}\n`;
}

const mod: ToolModule<SigsnoopOptions> = {
  description: 'Trace standard and real-time signals as they are generated (or kill-family syscalls with -k).',
  category: 'apps',
  spec: {
    name: 'sigsnoop',
    summary: 'Trace standard and real-time signals.',
    options: [
      { short: 'x', long: 'failed', dest: 'failed', kind: 'flag', help: 'Trace failed signals only.' },
      { short: 'k', long: 'kill', dest: 'kill', kind: 'flag', help: 'Trace signals issued by kill syscall only.' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'Process ID to trace' },
      { short: 's', long: 'signal', dest: 'signal', kind: 'list', commaSplit: true, metavar: 'SIGNAL', help: 'Signals to trace.' },
      { short: 'n', long: 'name', dest: 'name', kind: 'flag', help: 'Output signal name instead of signal number.' },
      EBPF_OPTION,
    ],
    examples: [
      'sigsnoop             # trace signals system-wide',
      'sigsnoop -k          # trace signals issued by kill syscall only',
      'sigsnoop -x          # trace failed signals only',
      'sigsnoop -p 1216     # only trace PID 1216',
      'sigsnoop -s 1,9,15   # trace signal 1, 9, 15',
    ],
    notes: "Follows Debian's libbpf-tools 0.26 (no TCOMM column; newer libbpf-tools add one). bcc has no sigsnoop.\n" +
      'RESULT is the signal_generate errno field (as libbpf-tools), or with -k the syscall\'s return value.',
  },
  options(a: ParsedArgs): SigsnoopOptions {
    const signals = a.list('signal').map((s) => parseSignal(s, '-s'));
    if (signals.some((s) => s < 1)) throw new ToolError('-s: signals to trace are 1 to 64');
    return { failed: a.flag('failed'), killOnly: a.flag('kill'), pid: a.int('pid'), signals, names: a.flag('name'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = sigsnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (o.killOnly) requireTracepoint('syscalls', 'sys_enter_kill');
    else requireTracepoint('signal', 'signal_generate');
    const onEvent = (e: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (e.kind !== 'printf' || e.format !== EV) return false;
      rt.print(sigsnoopLine(o, v, new Date()));
      return true;
    };
    return runToolProgram({ name: 'sigsnoop', program, banner: SIGSNOOP_HEADER, onEvent });
  },
};

export const sigsnoop = mod;
export const tool = defineTool(mod);
