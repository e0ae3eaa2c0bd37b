/**
 * statsnoop: one line per stat-family syscall (path, result) from the
 * syscall tracepoints; flags and columns as bcc statsnoop.
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { tpExists } from './common/tp';
import { MissingFeatureError } from '../sys/features';

export interface StatsnoopOptions {
  timestamp: boolean;
  sysname: boolean;
  failed: boolean;
  pid?: number;
  ebpf: boolean;
  /** The syscalls whose tracepoints exist here (all of STAT_CALLS by default). */
  calls?: string[];
}

/** bcc's sys_type order (its SYSCALL column names) and each call's path argument. */
export const STAT_CALLS: [string, string][] = [
  ['stat', 'filename'], ['statx', 'filename'], ['statfs', 'pathname'], ['newstat', 'filename'],
  ['newlstat', 'filename'], ['fstatat64', 'filename'], ['newfstatat', 'filename'],
];

const EV = 'ST %d %d %d %d %s %s\n';

export function statsnoopProgram(o: StatsnoopOptions): string {
  const pred = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  const out: string[] = [];
  STAT_CALLS.forEach(([call, arg], i) => {
    if (o.calls && !o.calls.includes(call)) return;
    out.push(`tracepoint:syscalls:sys_enter_${call}${pred}\n{\n  @st_path[tid] = str(args->${arg}, 255);\n  @st_type[tid] = ${i + 1};\n}\n`);
    out.push(`tracepoint:syscalls:sys_exit_${call} /@st_type[tid] != 0${o.failed ? ' && args->ret < 0' : ''}/\n{\n` +
      `  printf("${EV.replace('\n', '\\n')}", pid, @st_type[tid], args->ret, nsecs, comm, @st_path[tid]);\n}\n`);
    out.push(`tracepoint:syscalls:sys_exit_${call} /@st_type[tid] != 0/\n{\n  delete(@st_path[tid]);\n  delete(@st_type[tid]);\n}\n`);
  });
  return out.join('\n');
}

export function statsnoopHeader(o: StatsnoopOptions): string {
  return `${o.timestamp ? 'TIME(s)'.padEnd(14) : ''}${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} ${'FD'.padStart(4)} ${'ERR'.padStart(3)}${o.sysname ? ` ${'SYSCALL'.padEnd(12)}` : ''} PATH\n`;
}

export interface StatRecord {
  pid: number;
  type: number;
  ret: number;
  comm: string;
  path: string;
}

export function statsnoopLine(o: StatsnoopOptions, e: StatRecord, sinceFirstNs: bigint): string {
  const fd = e.ret >= 0 ? e.ret : -1;
  const err = e.ret >= 0 ? 0 : -e.ret;
  return `${o.timestamp ? (Number(sinceFirstNs) / 1e9).toFixed(9).padEnd(14) : ''}${String(e.pid).padEnd(7)} ${e.comm.padEnd(16)} ${String(fd).padStart(4)} ${String(err).padStart(3)}` +
    `${o.sysname ? ` ${(STAT_CALLS[e.type - 1]?.[0] ?? 'N/A').padEnd(12)}` : ''} ${e.path}\n`;
}

const mod: ToolModule<StatsnoopOptions> = {
  description: 'Trace stat() family syscalls: who looked up which path, and the result.',
  category: 'fs',
  spec: {
    name: 'statsnoop',
    summary: 'Trace stat() syscalls',
    options: [
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 's', long: 'sysname', dest: 'sysname', kind: 'flag', help: 'include syscall name on output' },
      { short: 'x', long: 'failed', dest: 'failed', kind: 'flag', help: 'only show failed stats' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      EBPF_OPTION,
    ],
    examples: [
      'statsnoop           # trace all stat() syscalls',
      'statsnoop -t        # include timestamps',
      'statsnoop -s        # include syscall name',
      'statsnoop -x        # only show failed stats',
      'statsnoop -p 181    # only trace PID 181',
    ],
    notes: 'Follows bcc (stat, statx, statfs, newstat, newlstat, fstatat64, newfstatat: those with tracepoints here).\n' +
      'libbpf-tools statsnoop prints a 20-wide COMM and 4-wide FD/ERR, and has no -s.',
  },
  options(a: ParsedArgs): StatsnoopOptions {
    return { timestamp: a.flag('timestamp'), sysname: a.flag('sysname'), failed: a.flag('failed'), pid: a.int('pid'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const calls = STAT_CALLS.map(([c]) => c).filter((c) => tpExists('syscalls', `sys_enter_${c}`));
    if (!o.ebpf && !calls.length) throw new MissingFeatureError('tracepoint:syscalls:sys_enter_newstat', 'no stat-family syscall tracepoints exist on this kernel');
    const program = statsnoopProgram({ ...o, calls: calls.length ? calls : undefined });
    if (o.ebpf) return Promise.resolve(printProgram(program));
    let first: bigint | undefined;
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      const ts = intOf(v[3]);
      first ??= ts;
      const e = { pid: Number(intOf(v[0])), type: Number(intOf(v[1])), ret: Number(BigInt.asIntN(64, intOf(v[2]))), comm: strOf(v[4]), path: strOf(v[5]) };
      rt.print(statsnoopLine(o, e, ts - first));
      return true;
    };
    return runToolProgram({ name: 'statsnoop', program, banner: statsnoopHeader(o), onEvent });
  },
};

export const statsnoop = mod;
export const tool = defineTool(mod);
