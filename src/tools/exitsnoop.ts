/**
 * exitsnoop: one line per process termination (exit or fatal signal) from
 * sched:sched_process_exit, with its age and how it ended; flags and
 * columns as bcc exitsnoop.
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { signalName } from './common/signals';
import { requireTracepoint } from './common/tp';

export interface ExitsnoopOptions {
  timestamp: boolean;
  utc: boolean;
  pid?: number;
  label?: string;
  failed: boolean;
  perThread: boolean;
  ebpf: boolean;
}

const EV = 'X %d %d %d %d %d %s\n';

export function exitsnoopProgram(o: ExitsnoopOptions): string {
  const conds: string[] = [];
  // A process ends when its main thread (tid == tgid) does, unless --per-thread.
  if (o.pid !== undefined) conds.push(`pid == ${o.pid}`);
  if (!o.perThread) conds.push('tid == pid');
  if (o.failed) conds.push('curtask->exit_code != 0');
  return `tracepoint:sched:sched_process_exit${conds.length ? ` /${conds.join(' && ')}/` : ''}
{
  printf("${EV.replace('\n', '\\n')}", pid, tid, curtask->real_parent->tgid, nsecs - curtask->start_time, curtask->exit_code, comm);
}
`;
}

/** strftime("%Z"): the local time zone's abbreviation. */
function zoneAbbrev(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

export function exitsnoopHeader(o: ExitsnoopOptions, now = new Date()): string {
  let s = '';
  if (o.timestamp) s += `TIME-${o.utc ? 'UTC' : zoneAbbrev(now)}`.padEnd(13);
  if (o.label !== undefined) s += 'LABEL'.padEnd(6);
  return s + `${'PCOMM'.padEnd(16)} ${'PID'.padEnd(7)} ${'PPID'.padEnd(7)} ${'TID'.padEnd(7)} ${'AGE(s)'.padEnd(7)} ${'EXIT_CODE'.padEnd(10)}\n`;
}

export interface ExitRecord {
  pid: number;
  tid: number;
  ppid: number;
  ageNs: bigint;
  /** task->exit_code: status << 8 | core-dump bit 0x80 | signal. */
  exitCode: number;
  comm: string;
}

/** "0", "code N", or "signal N (NAME)" with ", core dumped " as bcc prints it. */
export function exitText(exitCode: number): string {
  const code = exitCode >> 8;
  const info = exitCode & 0xff;
  if (info === 0) return code === 0 ? '0' : `code ${code}`;
  let s = '';
  const sig = info & 0x7f;
  if (sig) s += `signal ${sig} (${signalName(sig)?.replace(/^SIG/, '') ?? 'unknown'})`;
  if (info & 0x80) s += ', core dumped ';
  return s;
}

function hhmmssms(d: Date, utc: boolean): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return utc
    ? `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`
    : `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function exitsnoopLine(o: ExitsnoopOptions, e: ExitRecord, now: Date): string {
  let s = '';
  if (o.timestamp) s += hhmmssms(now, o.utc).padEnd(13);
  if (o.label !== undefined) s += (o.label || 'exit').padEnd(6);
  const age = (Number(e.ageNs) / 1e9).toFixed(2);
  return s + `${e.comm.padEnd(16)} ${String(e.pid).padEnd(7)} ${String(e.ppid).padEnd(7)} ${String(e.tid).padEnd(7)} ${age.padEnd(7)} ${exitText(e.exitCode)}\n`;
}

const mod: ToolModule<ExitsnoopOptions> = {
  description: 'Trace process termination (exit and fatal signals) with the process age and exit status.',
  category: 'cpu',
  spec: {
    name: 'exitsnoop',
    summary: 'Trace all process termination (exit, fatal signal)',
    options: [
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp (local time default)' },
      { long: 'utc', dest: 'utc', kind: 'flag', help: 'include timestamp in UTC (-t implied)' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { long: 'label', dest: 'label', kind: 'string', metavar: 'LABEL', help: 'label each line' },
      { short: 'x', long: 'failed', dest: 'failed', kind: 'flag', help: 'trace only fails, exclude exit(0)' },
      { long: 'per-thread', dest: 'perThread', kind: 'flag', help: 'trace per thread termination' },
      EBPF_OPTION,
    ],
    examples: [
      'exitsnoop                # trace all process termination',
      'exitsnoop -x             # trace only fails, exclude exit(0)',
      'exitsnoop -t             # include timestamps (local time)',
      'exitsnoop --utc          # include timestamps (UTC)',
      'exitsnoop -p 181         # only trace PID 181',
      'exitsnoop --label=exit   # label each output line with \'exit\'',
      'exitsnoop --per-thread   # trace per thread termination',
    ],
    notes: 'Follows bcc: signals are named as bcc does ("signal 15 (TERM)"); libbpf-tools exitsnoop prints strsignal()\n' +
      'text ("signal 15 (Terminated)"), spells --per-thread as -T and has -c CGROUP (not here yet).',
  },
  options(a: ParsedArgs): ExitsnoopOptions {
    return {
      timestamp: a.flag('timestamp') || a.flag('utc'),
      utc: a.flag('utc'),
      pid: a.int('pid'),
      label: a.str('label'),
      failed: a.flag('failed'),
      perThread: a.flag('perThread'),
      ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = exitsnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('sched', 'sched_process_exit');
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      const n = (i: number) => Number(intOf(v[i]));
      rt.print(exitsnoopLine(o, { pid: n(0), tid: n(1), ppid: n(2), ageNs: intOf(v[3]), exitCode: n(4), comm: strOf(v[5]) }, new Date()));
      return true;
    };
    return runToolProgram({ name: 'exitsnoop', program, banner: exitsnoopHeader(o), onEvent });
  },
};

export const exitsnoop = mod;
export const tool = defineTool(mod);
