/**
 * offwaketime: time threads spent blocked, summed by their off-CPU stack
 * together with the stack and name of the thread that woke them, from
 * sched:sched_switch (the target blocks: its stacks; it runs again: the
 * time is added) and sched:sched_waking (in the waker's context: its
 * stacks). Output and flags as bcc offwaketime (raw tracepoints on
 * sched_switch and sched_wakeup), with its -f folded format, and an SVG
 * flame graph with --flamegraph FILE.
 */
import * as fs from 'node:fs';
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { requireProcess } from './common/filters';
import { intOf, runToolProgram, strOf } from './common/script';
import { framesOf } from './common/stacks';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface OffwaketimeOptions {
  pids: number[];
  tids: number[];
  userThreads: boolean;
  kernelThreads: boolean;
  userOnly: boolean;
  kernelOnly: boolean;
  delimited: boolean;
  folded: boolean;
  flamegraph?: string;
  minUs: number;
  maxUs?: number;
  state?: number;
  duration?: number;
  ebpf: boolean;
}

/** PF_KTHREAD from include/linux/sched.h. */
const PF_KTHREAD = 0x00200000;

const PER_TID = ['@ow_start', '@ow_tk', '@ow_tu', '@ow_wk', '@ow_wu', '@ow_wcomm', '@ow_wtid'];

export function offwaketimeProgram(o: OffwaketimeOptions): string {
  // The switched-out task is current: its process, flags and stacks are at hand.
  const who: string[] = ['args->prev_pid != 0'];
  if (o.pids.length) who.push(`(${o.pids.map((p) => `pid == ${p}`).join(' || ')})`);
  if (o.tids.length) who.push(`(${o.tids.map((t) => `args->prev_pid == ${t}`).join(' || ')})`);
  if (o.userThreads) who.push(`(curtask->flags & ${PF_KTHREAD}) == 0`);
  if (o.kernelThreads) who.push(`(curtask->flags & ${PF_KTHREAD}) != 0`);
  if (o.state !== undefined) who.push(`(args->prev_state & ${o.state}) != 0`);
  const range = [`$us >= ${o.minUs}`, o.maxUs !== undefined ? `$us <= ${o.maxUs}` : ''].filter(Boolean).join(' && ');
  const k = o.userOnly ? '0' : 'kstack';
  const u = o.kernelOnly ? '0' : 'ustack';
  const n = 'args->next_pid';
  // sched_waking first: the compiler types a map at its first assignment in the text.
  return `tracepoint:sched:sched_waking /@ow_start[args->pid] != 0/
{
  @ow_wk[args->pid] = ${k};
  @ow_wu[args->pid] = ${u};
  @ow_wcomm[args->pid] = comm;
  @ow_wtid[args->pid] = tid;
}

tracepoint:sched:sched_switch
{
  if (${who.join(' && ')}) {
    @ow_start[args->prev_pid] = nsecs;
    @ow_tk[args->prev_pid] = ${k};
    @ow_tu[args->prev_pid] = ${u};
  }
  $t = @ow_start[${n}];
  if ($t != 0) {
    $us = (nsecs - $t) / 1000;
    if (${range}) {
      // A thread that ran again without a wake-up (it was preempted) counts with no waker, as in bcc.
      @offwake[args->next_comm, ${n}, @ow_tk[${n}], @ow_tu[${n}], @ow_wk[${n}], @ow_wu[${n}], @ow_wcomm[${n}], @ow_wtid[${n}]] = sum($us);
    }
${PER_TID.map((m) => `    delete(${m}[${n}]);`).join('\n')}
  }
}
`;
}

export interface WakeStackSample {
  target: string;
  targetTid: number;
  /** Innermost first. */
  targetKernel: string[];
  targetUser: string[];
  wakerKernel: string[];
  wakerUser: string[];
  waker: string;
  wakerTid: number;
  us: bigint;
}

export function offwaketimeSamples(m: MapDump | undefined): WakeStackSample[] {
  if (!m || (m.kind !== 'sum' && m.kind !== 'count')) return [];
  const merged = new Map<string, WakeStackSample>();
  for (const e of m.entries) {
    const [tc, tt, tk, tu, wk, wu, wc, wt] = e.key;
    const s: WakeStackSample = {
      target: strOf(tc), targetTid: Number(intOf(tt)), targetKernel: framesOf(tk), targetUser: framesOf(tu),
      wakerKernel: framesOf(wk), wakerUser: framesOf(wu), waker: strOf(wc), wakerTid: Number(intOf(wt)), us: e.value,
    };
    // Different addresses in the same functions print the same: one entry.
    const id = JSON.stringify({ ...s, us: 0 });
    const prev = merged.get(id);
    if (prev) prev.us += s.us;
    else merged.set(id, s);
  }
  return [...merged.values()].sort((a, b) => (a.us < b.us ? -1 : a.us > b.us ? 1 : 0));
}

/**
 * bcc's folded line, read bottom-up as a flame: target; its user then kernel frames outermost first; "--"; the
 * waker's kernel then user frames innermost first; waker. With `annotate`, kernel frames get _[k] (flame graph colours).
 */
export function offwakeFrames(s: WakeStackSample, o: OffwaketimeOptions, annotate = false): string[] {
  const kf = (f: string) => (annotate ? `${f}_[k]` : f);
  const line = [s.target];
  if (!o.kernelOnly) line.push(...[...s.targetUser].reverse());
  if (!o.userOnly) {
    if (o.delimited && !o.kernelOnly && s.targetKernel.length && s.targetUser.length) line.push('-');
    line.push(...[...s.targetKernel].reverse().map(kf));
  }
  line.push('--');
  if (!o.userOnly) line.push(...s.wakerKernel.map(kf));
  if (!o.kernelOnly) {
    if (o.delimited && !o.userOnly && s.wakerUser.length && s.wakerKernel.length) line.push('-');
    line.push(...s.wakerUser);
  }
  line.push(s.waker);
  return line;
}

/** bcc's multi-line block: waker, its stacks outermost first, "--", the target's innermost first, target, microseconds. */
export function offwakeBlock(s: WakeStackSample, o: OffwaketimeOptions): string {
  const delim = o.delimited && !o.userOnly && !o.kernelOnly;
  let out = `    ${'waker:'.padEnd(16)} ${s.waker} ${s.wakerTid}\n`;
  if (!o.kernelOnly) for (const f of [...s.wakerUser].reverse()) out += `    ${f}\n`;
  if (delim) out += '    -\n';
  if (!o.userOnly) for (const f of [...s.wakerKernel].reverse()) out += `    ${f}\n`;
  out += `    ${'--'.padEnd(16)} --\n`;
  if (!o.userOnly) for (const f of s.targetKernel) out += `    ${f}\n`;
  if (delim) out += '    -\n';
  if (!o.kernelOnly) for (const f of s.targetUser) out += `    ${f}\n`;
  return out + `    ${'target:'.padEnd(16)} ${s.target} ${s.targetTid}\n        ${s.us}\n\n`;
}

/** "185,186": a comma-separated list of positive ids. */
function idList(a: ParsedArgs, dest: string, flag: string): number[] {
  return a.list(dest).map((x) => {
    if (!/^\d+$/.test(x) || Number(x) < 1) throw new ToolError(`${flag}: '${x}' is not a positive integer`);
    return Number(x);
  });
}

const mod: ToolModule<OffwaketimeOptions> = {
  description: 'Summarize blocked time by the blocked thread\'s stack and its waker\'s stack.',
  category: 'cpu',
  spec: {
    name: 'offwaketime',
    summary: 'Summarize blocked time by kernel stack trace + waker stack',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'list', commaSplit: true, metavar: 'PIDS', help: 'trace these PIDS only. Can be a comma separated list of PIDS.' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'list', commaSplit: true, metavar: 'TIDS', help: 'trace these TIDS only. Can be a comma separated list of TIDS.' },
      { short: 'u', long: 'user-threads-only', dest: 'uthreads', kind: 'flag', help: 'user threads only (no kernel threads)' },
      { short: 'k', long: 'kernel-threads-only', dest: 'kthreads', kind: 'flag', help: 'kernel threads only (no user threads)' },
      { short: 'U', long: 'user-stacks-only', dest: 'ustacks', kind: 'flag', help: 'show stacks from user space only (no kernel space stacks)' },
      { short: 'K', long: 'kernel-stacks-only', dest: 'kstacks', kind: 'flag', help: 'show stacks from kernel space only (no user space stacks)' },
      { short: 'd', long: 'delimited', dest: 'delimited', kind: 'flag', help: 'insert delimiter between kernel/user stacks' },
      { short: 'f', long: 'folded', dest: 'folded', kind: 'flag', help: 'output folded format' },
      { long: 'flamegraph', dest: 'flamegraph', kind: 'string', metavar: 'FILE', help: 'also write an interactive SVG flame graph to FILE' },
      { long: 'stack-storage-size', dest: 'stackSize', kind: 'int', metavar: 'STACK_STORAGE_SIZE', min: 1, help: 'the number of unique stack traces that can be stored and displayed (accepted: stacks are stored with their times)' },
      { short: 'm', long: 'min-block-time', dest: 'min', kind: 'int', metavar: 'MIN_BLOCK_TIME', min: 0, help: 'the amount of time in microseconds over which we store traces (default 1)' },
      { short: 'M', long: 'max-block-time', dest: 'max', kind: 'int', metavar: 'MAX_BLOCK_TIME', min: 0, help: 'the amount of time in microseconds under which we store traces (default U64_MAX)' },
      { long: 'state', dest: 'state', kind: 'int', metavar: 'STATE', min: 0, help: 'filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE) see include/linux/sched.h' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'duration', kind: 'int', min: 1, help: 'duration of trace, in seconds' }],
    examples: [
      'offwaketime             # trace off-CPU + waker stack time until Ctrl-C',
      'offwaketime 5           # trace for 5 seconds only',
      'offwaketime -f 5        # 5 seconds, and output in folded format',
      'offwaketime --flamegraph offwake.svg 5   # 5 seconds, then write a flame graph',
      'offwaketime -m 1000     # trace only events that last more than 1000 usec',
      'offwaketime -M 9000     # trace only events that last less than 9000 usec',
      'offwaketime -p 185      # only trace threads for PID 185',
      'offwaketime -t 188      # only trace thread 188',
      'offwaketime -u          # only trace user threads (no kernel)',
      'offwaketime -k          # only trace kernel threads (no user)',
      'offwaketime -U          # only show user space stacks (no kernel)',
      'offwaketime -K          # only show kernel space stacks (no user)',
    ],
    notes: 'Values in microseconds. Follows bcc; the waker is recorded at sched:sched_waking, which always runs in the\n' +
      'waker\'s context (bcc: sched_wakeup), and stacks are printed whole (bcc drops the innermost frame of three of them).',
  },
  options(a: ParsedArgs): OffwaketimeOptions {
    const pids = idList(a, 'pid', '-p');
    const tids = idList(a, 'tid', '-t');
    if ([pids.length > 0, tids.length > 0, a.flag('uthreads'), a.flag('kthreads')].filter(Boolean).length > 1) throw new ToolError('-p, -t, -u and -k are mutually exclusive');
    if (a.flag('ustacks') && a.flag('kstacks')) throw new ToolError('-U and -K are mutually exclusive');
    const minUs = a.int('min') ?? 1;
    const maxUs = a.int('max');
    if (maxUs !== undefined && maxUs < minUs) throw new ToolError(`max-block-time (${maxUs}) is below min-block-time (${minUs})`);
    return {
      pids, tids, userThreads: a.flag('uthreads'), kernelThreads: a.flag('kthreads'), userOnly: a.flag('ustacks'), kernelOnly: a.flag('kstacks'),
      delimited: a.flag('delimited'), folded: a.flag('folded'), flamegraph: a.str('flamegraph'), minUs, maxUs, state: a.int('state'),
      duration: a.int('duration'), ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = offwaketimeProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    for (const p of o.pids) requireProcess(p, '-p');
    for (const t of o.tids) requireProcess(t, '-t');
    requireTracepoint('sched', 'sched_waking');
    const what = o.userOnly ? 'user' : o.kernelOnly ? 'kernel' : 'user + kernel';
    const banner = o.folded ? undefined : `Tracing blocked time (us) by ${what} off-CPU and waker stack${o.duration ? ` for ${o.duration} secs.` : '... Hit Ctrl-C to end.'}\n`;
    return runToolProgram({
      name: 'offwaketime',
      program,
      banner,
      duration: o.duration,
      report: (rt) => {
        const samples = offwaketimeSamples(rt.map('@offwake'));
        const text = samples.map((s) => (o.folded ? `${offwakeFrames(s, o).join(';')} ${s.us}\n` : offwakeBlock(s, o))).join('');
        rt.print(o.folded ? text : `\n${text}`);
        if (o.flamegraph) {
          const { foldedFromCounts, renderFlameGraph } = require('../runtime/flamegraph') as typeof import('../runtime/flamegraph');
          const folded = foldedFromCounts(samples.map((s) => ({ frames: offwakeFrames(s, o, true), count: Number(s.us) })));
          fs.writeFileSync(o.flamegraph, renderFlameGraph(folded, { title: 'Off-Wake Time Flame Graph', subtitle: 'tsbpf offwaketime (microseconds)', countName: 'microseconds' }));
        }
      },
    });
  },
};

export const offwaketime = mod;
export const tool = defineTool(mod);
