/**
 * wakeuptime: time threads spent blocked, summed by the kernel stack and
 * name of the thread that woke them, from sched:sched_switch (a thread
 * blocks) and sched:sched_waking (it is woken, in the waker's context).
 * Output as bcc wakeuptime (which uses a kprobe on try_to_wake_up), with
 * its -f folded format, and an SVG flame graph with --flamegraph FILE.
 */
import * as fs from 'node:fs';
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { runToolProgram, strOf } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface WakeuptimeOptions {
  userOnly: boolean;
  pid?: number;
  verbose: boolean;
  folded: boolean;
  /** --flamegraph FILE: also write an SVG flame graph of the folded stacks. */
  flamegraph?: string;
  duration?: number;
  minUs: number;
  maxUs?: number;
  /** --stack-storage-size: the most (stack, waker, target) entries kept; the tsbpf language's default when absent. */
  stackSize?: number;
  ebpf: boolean;
}

/** PF_KTHREAD from include/linux/sched.h. */
const PF_KTHREAD = 0x00200000;

export function wakeuptimeProgram(o: WakeuptimeOptions): string {
  // The thread switched out is current: its process and flags are at hand. Only sleeps count (not preemption).
  const block = ['(args->prev_state & 0xff) != 0', o.pid !== undefined ? `pid == ${o.pid}` : '', o.userOnly ? `(curtask->flags & ${PF_KTHREAD}) == 0` : ''].filter(Boolean).join(' && ');
  const range = [`$us >= ${o.minUs}`, o.maxUs !== undefined ? `$us <= ${o.maxUs}` : ''].filter(Boolean).join(' && ');
  // bcc sizes its stack table; here each stack is a key of the time map, so that map's size is the limit.
  const decl = o.stackSize !== undefined ? `let @wt_time = hash(${o.stackSize});\n\n` : '';
  return `${decl}tracepoint:sched:sched_switch /${block}/
{
  @wt_start[args->prev_pid] = nsecs;
}

tracepoint:sched:sched_waking /@wt_start[args->pid] != 0/
{
  $us = (nsecs - @wt_start[args->pid]) / 1000;
  if (${range}) {
    @wt_time[kstack(perf), comm, args->comm] = sum($us);
  }
  delete(@wt_start[args->pid]);
}
`;
}

export interface WakeSample {
  /** Innermost first, as name+offset. */
  withOffsets: string[];
  /** Innermost first, names only. */
  frames: string[];
  addrs: bigint[];
  waker: string;
  target: string;
  us: bigint;
}

export function wakeuptimeSamples(m: MapDump | undefined): WakeSample[] {
  if (!m || (m.kind !== 'sum' && m.kind !== 'count')) return [];
  return m.entries.map((e) => {
    const st = e.key[0];
    // perf-mode frames carry addresses; bcc prints name+offset (folded: the name) without the module.
    const raw = st?.kind === 'stack' ? st.frames.map((f) => f.replace(/ \([^)]*\)$/, '')) : [];
    return {
      withOffsets: raw,
      frames: raw.map((f) => f.replace(/\+(0x[0-9a-f]+|\d+)$/i, '')),
      addrs: st?.kind === 'stack' ? [...(st.addrs ?? [])] : [],
      waker: strOf(e.key[1]),
      target: strOf(e.key[2]),
      us: e.value,
    };
  }).sort((a, b) => (a.us < b.us ? -1 : a.us > b.us ? 1 : 0));
}

/** bcc's block (target, waker frames innermost first with addresses, waker, microseconds) or folded line. */
export function wakeuptimeText(o: WakeuptimeOptions, s: WakeSample): string {
  if (o.folded) return `${[s.waker, ...[...s.frames].reverse(), s.target].join(';')} ${s.us}\n`;
  let out = `    ${'target:'.padEnd(16)} ${s.target}\n`;
  s.withOffsets.forEach((f, i) => {
    out += `    ${(s.addrs[i] ?? 0n).toString(16).padEnd(16)} ${f}\n`;
  });
  return out + `    ${'waker:'.padEnd(16)} ${s.waker}\n        ${s.us}\n\n`;
}

const mod: ToolModule<WakeuptimeOptions> = {
  description: 'Summarize time blocked by the kernel stack and name of the waker.',
  category: 'kernel',
  spec: {
    name: 'wakeuptime',
    summary: 'Summarize sleep to wakeup time by waker kernel stack',
    options: [
      { short: 'u', long: 'useronly', dest: 'useronly', kind: 'flag', help: 'user threads only (no kernel threads)' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'v', long: 'verbose', dest: 'verbose', kind: 'flag', help: 'show raw addresses' },
      { short: 'f', long: 'folded', dest: 'folded', kind: 'flag', help: 'output folded format' },
      { long: 'flamegraph', dest: 'flamegraph', kind: 'string', metavar: 'FILE', help: 'also write an interactive SVG flame graph to FILE' },
      { short: 'm', long: 'min-block-time', dest: 'min', kind: 'int', metavar: 'MIN_BLOCK_TIME', min: 1, help: 'the amount of time in microseconds over which we store traces (default 1)' },
      { short: 'M', long: 'max-block-time', dest: 'max', kind: 'int', metavar: 'MAX_BLOCK_TIME', min: 1, help: 'the amount of time in microseconds under which we store traces (default U64_MAX)' },
      { long: 'stack-storage-size', dest: 'stackSize', kind: 'int', metavar: 'STACK_STORAGE_SIZE', min: 1, help: 'the number of unique stack traces that can be stored and displayed (default: the map key limit, 4096)' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'duration', kind: 'int', min: 1, help: 'duration of trace, in seconds' }],
    examples: [
      'wakeuptime             # trace blocked time with waker stacks',
      'wakeuptime 5           # trace for 5 seconds only',
      'wakeuptime -f 5        # 5 seconds, and output in folded format',
      'wakeuptime --flamegraph wake.svg 5   # 5 seconds, then write a flame graph',
      "wakeuptime -u          # don't include kernel threads (user only)",
      'wakeuptime -p 185      # trace for PID 185 only',
    ],
    notes: 'Follows bcc, from sched:sched_waking (the waker\'s context) instead of a kprobe on try_to_wake_up: the waker stack\n' +
      'starts in the scheduler\'s wake-up path. libbpf-tools wakeuptime prints the same blocks. --stack-storage-size bounds the\n' +
      'distinct (stack, waker, target) entries, each keeping its stack.',
  },
  options(a: ParsedArgs): WakeuptimeOptions {
    const minUs = a.int('min') ?? 1;
    const maxUs = a.int('max');
    if (maxUs !== undefined && maxUs < minUs) throw new ToolError(`max-block-time (${maxUs}) is below min-block-time (${minUs})`);
    return { userOnly: a.flag('useronly'), pid: a.int('pid'), verbose: a.flag('verbose'), folded: a.flag('folded'), flamegraph: a.str('flamegraph'), duration: a.int('duration'), minUs, maxUs, stackSize: a.int('stackSize'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = wakeuptimeProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('sched', 'sched_waking');
    const banner = o.folded ? undefined : `Tracing blocked time (us) by kernel stack${o.duration ? ` for ${o.duration} secs.` : '... Hit Ctrl-C to end.'}\n`;
    return runToolProgram({
      name: 'wakeuptime',
      program,
      banner,
      duration: o.duration,
      report: (rt) => {
        const samples = wakeuptimeSamples(rt.map('@wt_time'));
        const text = samples.map((s) => wakeuptimeText(o, s)).join('');
        rt.print(o.folded ? text : `\n${text}Detaching...\n`);
        if (o.flamegraph) {
          // the folded line's frames; the waker's kernel frames marked _[k] for the kernel colours
          const frames = (s: WakeSample) => [s.waker, ...[...s.frames].reverse().map((f) => `${f}_[k]`), s.target];
          const { foldedFromCounts, renderFlameGraph } = require('../runtime/flamegraph') as typeof import('../runtime/flamegraph');
          const folded = foldedFromCounts(samples.map((s) => ({ frames: frames(s), count: Number(s.us) })));
          fs.writeFileSync(o.flamegraph, renderFlameGraph(folded, { title: 'Wakeup Time Flame Graph', subtitle: 'tsbpf wakeuptime (microseconds)', countName: 'microseconds' }));
        }
      },
    });
  },
};

export const wakeuptime = mod;
export const tool = defineTool(mod);
