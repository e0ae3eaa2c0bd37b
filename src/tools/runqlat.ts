/**
 * runqlat: run queue (scheduler) latency histogram: time from a thread
 * being woken (sched_wakeup, sched_wakeup_new) or preempted (sched_switch
 * with prev_state running) until it runs (sched_switch next_pid). Output and
 * flags as libbpf-tools runqlat.
 */
import * as fs from 'node:fs';
import type { HistMap, MapDump } from '../runtime/format/maps';
import type { BucketCounts } from '../runtime/format/hist';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { cgroupId } from './common/filters';
import { defineTool, type ToolModule } from './common/define';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { ToolError } from './tool';

export interface RunqlatOptions {
  timestamp: boolean;
  milliseconds: boolean;
  perProcess: boolean;
  perThread: boolean;
  /** bcc's --pidnss: a histogram per PID namespace (of the task that waited). */
  perPidns?: boolean;
  pid?: number;
  /** Threads of `pid` when tracing started (the wakeup tracepoints carry thread ids only; later ones are followed). */
  tids?: number[];
  interval: number;
  count: number;
  cgroup?: bigint;
}

export function runqlatProgram(o: RunqlatOptions): string {
  // -p: the wakeup tracepoints name the woken thread only. Threads the process had at start are listed;
  // threads it creates later are remembered in @member when created (current is then their creator).
  const member = (expr: string) =>
    o.pid === undefined ? '' : `(${[...(o.tids ?? []).map((t) => `${expr} == ${t}`), `@member[${expr}] == 1`].join(' || ')})`;
  // The idle task (pid 0) is never queued: libbpf-tools skips it too.
  // libbpf-tools' -c: the cgroup of current (the waker, at a wakeup; the task switched out, at a switch)
  const cg = o.cgroup !== undefined ? `cgroup == ${o.cgroup}` : '';
  const wakePred = ['args->pid != 0', member('args->pid'), cg].filter(Boolean).join(' && ');
  const div = o.milliseconds ? 1000000 : 1000;
  const key = o.perProcess || o.perThread ? '[args->next_pid, args->next_comm]' : '';
  // A preempted task is still runnable: its prev_state holds only the preempt marker (TASK_REPORT_MAX), no state bits.
  const prevPred = ['(args->prev_state & 0xff) == 0', 'args->prev_pid != 0', o.pid !== undefined ? `pid == ${o.pid}` : '', cg].filter(Boolean).join(' && ');
  const nextPred = ['@qtime[args->next_pid] != 0'].join(' && ');
  // --pidnss: the tracepoint names the task switched in by pid only; the raw tracepoint hands over its task_struct,
  // whose PID namespace is the one it was created in (task_active_pid_ns: thread_pid->numbers[level].ns).
  const switchIn = o.perPidns
    ? 'rawtracepoint:sched_switch /@qtime[args.next->pid] != 0/\n{\n  $t = args.next;\n' +
      `  @lat[$t->thread_pid->numbers[$t->thread_pid->level].ns->ns.inum] = hist((nsecs - @qtime[$t->pid]) / ${div});\n` +
      '  delete(@qtime[$t->pid]);\n}\n'
    : `tracepoint:sched:sched_switch /${nextPred}/\n{\n` +
      `  @lat${key} = hist((nsecs - @qtime[args->next_pid]) / ${div});\n` +
      '  delete(@qtime[args->next_pid]);\n}\n';
  const members = o.pid === undefined ? [] : [
    `tracepoint:sched:sched_process_fork /pid == ${o.pid}/\n{\n  @member[args->child_pid] = 1;\n}\n`,
    `tracepoint:sched:sched_process_exit /pid == ${o.pid}/\n{\n  delete(@member[tid]);\n}\n`,
  ];
  return [
    ...members,
    `tracepoint:sched:sched_wakeup${wakePred ? ` /${wakePred}/` : ''}\n{\n  @qtime[args->pid] = nsecs;\n}\n`,
    `tracepoint:sched:sched_wakeup_new${wakePred ? ` /${wakePred}/` : ''}\n{\n  @qtime[args->pid] = nsecs;\n}\n`,
    `tracepoint:sched:sched_switch /${prevPred}/\n{\n  @qtime[args->prev_pid] = nsecs;\n}\n`,
    switchIn,
  ].join('\n');
}

/** Thread group id of a thread (for -P); the thread id itself when it is gone. */
function tgidOf(tid: number): number {
  try {
    const m = /^Tgid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${tid}/status`, 'utf8'));
    return m ? Number(m[1]) : tid;
  } catch {
    return tid;
  }
}

export function runqlatReport(o: RunqlatOptions, m: MapDump | undefined, now: Date = new Date(), tgid: (tid: number) => number = tgidOf): string {
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  if (!m || m.kind !== 'hist') return s;
  const units = o.milliseconds ? 'msecs' : 'usecs';
  const entries = (m as HistMap).entries;
  if (o.perPidns) {
    // bcc's section order: by namespace inode
    const byNs = [...entries].sort((a, b) => (intOf(a.key[0]) < intOf(b.key[0]) ? -1 : 1));
    for (const e of byNs) s += `\npidns = ${intOf(e.key[0])}\n${log2HistText(slotsFromHist(e.value), units)}`;
    return s;
  }
  if (!o.perProcess && !o.perThread) {
    for (const e of entries) s += log2HistText(slotsFromHist(e.value), units);
    return s;
  }
  // Per process: merge the threads' histograms under their thread group id.
  const groups = new Map<number, { comm: string; slots: bigint[] }>();
  for (const e of entries) {
    const tid = Number(intOf(e.key[0]));
    const id = o.perProcess ? tgid(tid) : tid;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { comm: strOf(e.key[1]), slots: [] }));
    addSlots(g.slots, e.value);
  }
  for (const [id, g] of groups) {
    s += `\n${o.perProcess ? 'pid' : 'tid'} = ${id} ${g.comm}\n`;
    s += log2HistText(g.slots, units);
  }
  return s;
}

function addSlots(into: bigint[], counts: BucketCounts): void {
  slotsFromHist(counts).forEach((c, i) => {
    while (into.length <= i) into.push(0n);
    into[i] += c;
  });
}

function threadsOf(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    throw new ToolError(`-p: no process with PID ${pid}`);
  }
}

const mod: ToolModule<RunqlatOptions> = {
  description: 'Summarize run queue (scheduler) latency as a histogram.',
  category: 'cpu',
  spec: {
    name: 'runqlat',
    summary: 'Summarize run queue (scheduler) latency as a histogram.',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'Include timestamp on output' },
      { short: 'm', long: 'milliseconds', dest: 'ms', kind: 'flag', help: 'Millisecond histogram' },
      { short: 'P', long: 'pids', dest: 'pids', kind: 'flag', help: 'Print a histogram per process ID' },
      { short: 'L', long: 'tids', dest: 'tids', kind: 'flag', help: 'Print a histogram per thread ID' },
      { long: 'pidnss', dest: 'pidnss', kind: 'flag', help: 'Print a histogram per PID namespace (bcc)' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'Trace this PID only' },
      { short: 'c', long: 'cgroup', dest: 'cgroup', kind: 'string', metavar: 'CGROUP', help: 'Trace process in cgroup path (libbpf-tools; the waking task\'s cgroup, as libbpf-tools)' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'runqlat         # summarize run queue latency as a histogram',
      'runqlat 1 10    # print 1 second summaries, 10 times',
      'runqlat -mT 1   # 1s summaries, milliseconds, and timestamps',
      'runqlat -P      # show each PID separately',
      'runqlat -p 185  # trace PID 185 only',
      'runqlat --pidnss  # show each PID namespace separately (bcc)',
    ],
    notes: 'Follows libbpf-tools, on the sched tracepoints (no BTF tracepoints): -p covers the threads the process had at\n' +
      'start and those it creates later; -P groups threads by the process they belong to when printed. --pidnss (bcc) keys each latency by the PID\n' +
      'namespace of the task that waited (bcc takes the namespace of the task switched out at that moment).',
  },
  options(a: ParsedArgs): RunqlatOptions {
    if (a.flag('pids') && a.flag('tids')) throw new ToolError('-P and -L cannot be used together');
    if (a.flag('pidnss') && (a.flag('pids') || a.flag('tids'))) throw new ToolError('--pidnss cannot be used with -P or -L');
    const pid = a.int('pid');
    return {
      timestamp: a.flag('timestamp'),
      milliseconds: a.flag('ms'),
      perProcess: a.flag('pids'),
      perThread: a.flag('tids'),
      perPidns: a.flag('pidnss'),
      pid,
      tids: pid !== undefined ? threadsOf(pid) : undefined,
      interval: a.int('interval') ?? 0,
      count: a.int('count') ?? 0,
      cgroup: a.str('cgroup') !== undefined ? cgroupId(a.str('cgroup') as string) : undefined,
    };
  },
  main(o) {
    return runToolProgram({
      name: 'runqlat',
      program: runqlatProgram(o),
      banner: 'Tracing run queue latency... Hit Ctrl-C to end.\n',
      interval: o.interval,
      count: o.count || undefined,
      report: (rt) => {
        rt.print(runqlatReport(o, rt.map('@lat')));
        rt.clearMap('@lat');
      },
    });
  },
};

export const runqlat = mod;
export const tool = defineTool(mod);
