/**
 * cpudist: histogram of on-CPU (or with -O off-CPU) time per task slice,
 * from sched:sched_switch; flags and output as bcc cpudist.
 */
import * as fs from 'node:fs';
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { intOf, runToolProgram } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface CpudistOptions {
  offcpu: boolean;
  timestamp: boolean;
  milliseconds: boolean;
  pids: boolean;
  tids: boolean;
  pid?: number;
  /** The traced process's threads at start (sched_switch names the incoming task by TID only). */
  pidTids?: number[];
  includeIdle: boolean;
  extension: boolean;
  interval: number;
  count: number;
  ebpf: boolean;
}

export function cpudistProgram(o: CpudistOptions): string {
  const div = o.milliseconds ? 1000000 : 1000;
  // The outgoing task is current: `pid` is its process. The incoming one is known by TID.
  const prevOk = [o.includeIdle ? '' : 'args->prev_pid != 0', o.pid !== undefined ? `pid == ${o.pid}` : ''].filter(Boolean);
  const nextOk = [o.includeIdle ? '' : 'args->next_pid != 0', o.pidTids ? `(${o.pidTids.map((t) => `args->next_pid == ${t}`).join(' || ')})` : ''].filter(Boolean);
  // Idle (TID 0) runs on every CPU at once: its slices are kept per CPU, as bcc does.
  const slot = (tid: string) => `${tid}, ${tid} == 0 ? cpu : 4294967295`;
  const cond = (c: string[]) => (c.length ? c.join(' && ') : '1');
  const store = (key: string) => `@cd_dist${key} = hist($delta / ${div});${o.extension ? `\n      @cd_total = sum($delta / ${div});\n      @cd_count = count();` : ''}`;
  if (!o.offcpu) {
    const key = o.tids ? '[args->prev_pid]' : o.pids ? '[pid]' : '';
    return `tracepoint:sched:sched_switch
{
  if (${cond(prevOk)}) {
    $t = @cd_start[${slot('args->prev_pid')}];
    if ($t != 0 && nsecs >= $t) {
      $delta = nsecs - $t;
      ${store(key)}
    }
    delete(@cd_start[${slot('args->prev_pid')}]);
  }
  if (${cond(nextOk)}) {
    @cd_start[${slot('args->next_pid')}] = nsecs;
  }
}
`;
  }
  const key = o.tids ? '[args->next_pid]' : o.pids ? '[@cd_tgid[args->next_pid]]' : '';
  return `tracepoint:sched:sched_switch
{
  if (${cond(prevOk)}) {
    @cd_start[${slot('args->prev_pid')}] = nsecs;${o.pids ? '\n    @cd_tgid[args->prev_pid] = pid;' : ''}
  }
  $t = @cd_start[${slot('args->next_pid')}];
  if ($t != 0 && nsecs >= $t) {
    $delta = nsecs - $t;
    ${store(key)}
    delete(@cd_start[${slot('args->next_pid')}]);
  }
}
`;
}

function commOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8');
  } catch {
    return undefined;
  }
}

/** One report: a blank line, [HH:MM:SS], the histogram(s) (per pid/tid with -P/-L) and the -e summary. */
export function cpudistReport(o: CpudistOptions, dist: MapDump | undefined, total: MapDump | undefined, count: MapDump | undefined, now = new Date()): string {
  const label = o.milliseconds ? 'msecs' : 'usecs';
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  if (dist?.kind === 'hist') {
    const section = o.tids ? 'tid' : 'pid';
    const entries = [...dist.entries].sort((a, b) => Number(intOf(a.key[0]) - intOf(b.key[0])));
    for (const e of entries) {
      if (o.pids || o.tids) {
        const id = Number(intOf(e.key[0]));
        // bcc prints /proc/PID/comm with its newline, which leaves a blank line before the histogram.
        const comm = commOf(id);
        s += `\n${section} = ${comm !== undefined ? `${id} ${comm}` : id}\n`;
      }
      s += log2HistText(slotsFromHist(e.value), label, 'bcc');
    }
  }
  const sumOf = (m: MapDump | undefined) => (m && (m.kind === 'sum' || m.kind === 'count') && m.entries.length ? m.entries[0].value : 0n);
  const c = sumOf(count);
  if (o.extension && c > 0n) {
    const t = sumOf(total);
    s += `\navg = ${t / c} ${label}, total: ${t} ${label}, count: ${c}\n\n`;
  }
  return s;
}

const mod: ToolModule<CpudistOptions> = {
  description: 'Summarize on- and off-CPU time per task as a histogram.',
  category: 'cpu',
  spec: {
    name: 'cpudist',
    summary: 'Summarize on- and off-CPU time per task as a histogram.',
    options: [
      { short: 'O', long: 'offcpu', dest: 'offcpu', kind: 'flag', help: 'measure off-CPU time' },
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'm', long: 'milliseconds', dest: 'ms', kind: 'flag', help: 'millisecond histogram' },
      { short: 'P', long: 'pids', dest: 'pids', kind: 'flag', help: 'print a histogram per process ID' },
      { short: 'L', long: 'tids', dest: 'tids', kind: 'flag', help: 'print a histogram per thread ID' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'I', long: 'include-idle', dest: 'idle', kind: 'flag', help: 'include CPU idle time' },
      { short: 'e', long: 'extension', dest: 'extension', kind: 'flag', help: 'show extension summary (average/total/count)' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'cpudist              # summarize on-CPU time as a histogram',
      'cpudist -O           # summarize off-CPU time as a histogram',
      'cpudist 1 10         # print 1 second summaries, 10 times',
      'cpudist -mT 1        # 1s summaries, milliseconds, and timestamps',
      'cpudist -P           # show each PID separately',
      'cpudist -p 185       # trace PID 185 only',
      'cpudist -I           # include CPU idle time',
      'cpudist -e           # show extension summary (average/total/count)',
    ],
    notes: 'Follows bcc (sched:sched_switch instead of a kprobe on finish_task_switch). -p covers the threads the process has\n' +
      'when tracing starts. libbpf-tools cpudist prints four spaces after "count" and has -c CGROUP.',
  },
  options(a: ParsedArgs): CpudistOptions {
    if (a.flag('pids') && a.flag('tids')) throw new ToolError('-P and -L are mutually exclusive');
    const pid = a.int('pid');
    let pidTids: number[] | undefined;
    if (pid !== undefined) {
      try {
        pidTids = fs.readdirSync(`/proc/${pid}/task`).map(Number);
      } catch {
        throw new ToolError(`no process with PID ${pid}`);
      }
    }
    return {
      offcpu: a.flag('offcpu'), timestamp: a.flag('timestamp'), milliseconds: a.flag('ms'), pids: a.flag('pids'), tids: a.flag('tids'),
      pid, pidTids, includeIdle: a.flag('idle'), extension: a.flag('extension'), interval: a.int('interval') ?? 0, count: a.int('count') ?? 0, ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = cpudistProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('sched', 'sched_switch');
    return runToolProgram({
      name: 'cpudist',
      program,
      banner: `Tracing ${o.offcpu ? 'off' : 'on'}-CPU time... Hit Ctrl-C to end.\n`,
      interval: o.interval,
      count: o.count || undefined,
      report: (rt) => {
        rt.print(cpudistReport(o, rt.map('@cd_dist'), rt.map('@cd_total'), rt.map('@cd_count')));
        for (const m of ['@cd_dist', '@cd_total', '@cd_count']) rt.clearMap(m);
      },
    });
  },
};

export const cpudist = mod;
export const tool = defineTool(mod);
