/**
 * runqslower: one line per task that waited on a run queue longer than
 * min_us, from sched_wakeup/sched_wakeup_new/sched_switch; flags and
 * columns as bcc runqslower.
 */
import * as fs from 'node:fs';
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface RunqslowerOptions {
  minUs: number;
  previous: boolean;
  pid?: number;
  tid?: number;
  /** Threads of `pid` when tracing started (the tracepoints carry thread ids only). */
  tids?: number[];
  ebpf: boolean;
}

const EV = 'RQ %d %d %d %s %s\n';

export function runqslowerProgram(o: RunqslowerOptions): string {
  const ids = o.tid !== undefined ? [o.tid] : o.tids;
  const tidIn = (expr: string) => (ids?.length ? `(${ids.map((t) => `${expr} == ${t}`).join(' || ')})` : '');
  const wakePred = ['args->pid != 0', tidIn('args->pid')].filter(Boolean).join(' && ');
  // A preempted task stays runnable (prev_state has no state bits): it is queued again from now.
  const prevPred = ['(args->prev_state & 0xff) == 0', 'args->prev_pid != 0', tidIn('args->prev_pid')].filter(Boolean).join(' && ');
  return [
    `tracepoint:sched:sched_wakeup /${wakePred}/\n{\n  @rq_start[args->pid] = nsecs;\n}\n`,
    `tracepoint:sched:sched_wakeup_new /${wakePred}/\n{\n  @rq_start[args->pid] = nsecs;\n}\n`,
    `tracepoint:sched:sched_switch /${prevPred}/\n{\n  @rq_start[args->prev_pid] = nsecs;\n}\n`,
    `tracepoint:sched:sched_switch /@rq_start[args->next_pid] != 0/\n{\n` +
      `  $us = (nsecs - @rq_start[args->next_pid]) / 1000;\n` +
      `  if ($us > ${o.minUs}) {\n    printf("${EV.replace('\n', '\\n')}", args->next_pid, $us, args->prev_pid, args->next_comm, args->prev_comm);\n  }\n` +
      '  delete(@rq_start[args->next_pid]);\n}\n',
  ].join('\n');
}

export const runqslowerHeader = (o: RunqslowerOptions) =>
  o.previous ? `${'TIME'.padEnd(8)} ${'COMM'.padEnd(16)} ${'TID'.padEnd(6)} ${'LAT(us)'.padStart(14)} ${'PREV COMM'.padEnd(16)} ${'PREV TID'.padEnd(6)}\n`
    : `${'TIME'.padEnd(8)} ${'COMM'.padEnd(16)} ${'TID'.padEnd(6)} ${'LAT(us)'.padStart(14)}\n`;

export function runqslowerLine(o: RunqslowerOptions, v: readonly Value[], now: Date): string {
  const s = `${clockTime(now).padEnd(8)} ${strOf(v[3]).padEnd(16)} ${String(intOf(v[0])).padEnd(6)} ${String(intOf(v[1])).padStart(14)}`;
  return o.previous ? `${s} ${strOf(v[4]).padEnd(16)} ${String(intOf(v[2])).padEnd(6)}\n` : `${s}\n`;
}

const mod: ToolModule<RunqslowerOptions> = {
  description: 'Trace tasks that waited on a CPU run queue longer than a threshold (default 10 ms).',
  category: 'cpu',
  spec: {
    name: 'runqslower',
    summary: 'Trace high run queue latency',
    options: [
      { short: 'P', long: 'previous', dest: 'previous', kind: 'flag', help: 'also show previous task name and TID' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 1, help: 'trace this TID only' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'min_us', kind: 'int', min: 0, help: 'minimum run queue latency to trace, in us (default 10000)' }],
    examples: [
      'runqslower         # trace run queue latency higher than 10000 us (default)',
      'runqslower 1000    # trace run queue latency higher than 1000 us',
      'runqslower -p 123  # trace pid 123',
      'runqslower -t 123  # trace tid 123 (use for threads only)',
      'runqslower -P      # also show previous task comm and TID',
    ],
    notes: 'Follows bcc (the sched tracepoints; -p covers the threads the process has when tracing starts).\n' +
      'libbpf-tools runqslower prints the same columns.',
  },
  options(a: ParsedArgs): RunqslowerOptions {
    if (a.has('pid') && a.has('tid')) throw new ToolError('-p and -t are mutually exclusive');
    const pid = a.int('pid');
    let tids: number[] | undefined;
    if (pid !== undefined) {
      try {
        tids = fs.readdirSync(`/proc/${pid}/task`).map(Number);
      } catch {
        throw new ToolError(`no process with PID ${pid}`);
      }
    }
    return { minUs: a.int('min_us') ?? 10000, previous: a.flag('previous'), pid, tid: a.int('tid'), tids, ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = runqslowerProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('sched', 'sched_switch');
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(runqslowerLine(o, v, new Date()));
      return true;
    };
    return runToolProgram({ name: 'runqslower', program, banner: `Tracing run queue latency higher than ${o.minUs} us\n${runqslowerHeader(o)}`, onEvent });
  },
};

export const runqslower = mod;
export const tool = defineTool(mod);
