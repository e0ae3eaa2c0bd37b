/**
 * offcputime: time threads spent blocked (off CPU), summed by the stack
 * they blocked in, from sched:sched_switch: the stacks of the task being
 * switched out are remembered, and when it is switched back in the
 * off-CPU time is added under them. Output and flags as libbpf-tools
 * offcputime (microseconds), with bcc's -f folded output.
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { intOf, runToolProgram, strOf } from './common/script';
import { foldedStack, framesOf, mergeSamples, multiLineStack, type StackPrintOptions, type StackSample } from './common/stacks';
import { ToolError } from './tool';

export interface OffcputimeOptions extends StackPrintOptions {
  /** -s: frames with their +0xoffset. */
  offsets?: boolean;
  pid?: number;
  tid?: number;
  userThreads: boolean;
  kernelThreads: boolean;
  minUs: number;
  maxUs?: number;
  state?: number;
  folded: boolean;
  duration?: number;
}

/** PF_KTHREAD from include/linux/sched.h. */
const PF_KTHREAD = 0x00200000;

export function offcputimeProgram(o: OffcputimeOptions): string {
  const who: string[] = [];
  if (o.tid !== undefined) who.push(`args->prev_pid == ${o.tid}`);
  // The switched-out task is current: its process id covers threads created after tracing started too.
  if (o.pid !== undefined) who.push(`pid == ${o.pid}`);
  // The switched-out task is current, so its flags tell kernel threads from user threads.
  if (o.userThreads) who.push(`(curtask->flags & ${PF_KTHREAD}) == 0`);
  if (o.kernelThreads) who.push(`(curtask->flags & ${PF_KTHREAD}) != 0`);
  if (o.state !== undefined) who.push(`(args->prev_state & ${o.state}) != 0`);
  who.push('args->prev_pid != 0');
  const stacks = [o.userOnly ? '' : '@kst[args->prev_pid] = kstack;', o.kernelOnly ? '' : '@ust[args->prev_pid] = ustack;'].filter(Boolean).join('\n    ');
  const key = [o.userOnly ? '' : '@kst[args->next_pid]', o.kernelOnly ? '' : '@ust[args->next_pid]', 'args->next_comm', 'args->next_pid'].filter(Boolean).join(', ');
  const range = [`$us >= ${o.minUs}`, o.maxUs !== undefined ? `$us <= ${o.maxUs}` : ''].filter(Boolean).join(' && ');
  return `tracepoint:sched:sched_switch
{
  if (${who.join(' && ')}) {
    @off_start[args->prev_pid] = nsecs;
    ${stacks}
  }
  $t = @off_start[args->next_pid];
  if ($t != 0) {
    $us = (nsecs - $t) / 1000;
    if (${range}) {
      @offcpu[${key}] = sum($us);
    }
    delete(@off_start[args->next_pid]);
  }
}
`;
}

export function offcputimeSamples(m: MapDump | undefined, o: OffcputimeOptions): StackSample[] {
  if (!m || (m.kind !== 'sum' && m.kind !== 'count')) return [];
  const out = m.entries.map((e) => {
    let i = 0;
    const kernel = o.userOnly ? [] : framesOf(e.key[i++], o.offsets);
    const user = o.kernelOnly ? [] : framesOf(e.key[i++], o.offsets);
    return { kernel, user, comm: strOf(e.key[i++]), pid: Number(intOf(e.key[i++])), count: e.value };
  });
  return mergeSamples(out).sort((a, b) => (a.count < b.count ? -1 : a.count > b.count ? 1 : 0));
}

const mod: ToolModule<OffcputimeOptions> = {
  description: 'Summarize off-CPU time by stack trace (sched:sched_switch).',
  category: 'cpu',
  spec: {
    name: 'offcputime',
    summary: 'Summarize off-CPU time by stack trace.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'Trace this PID only' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 1, help: 'Trace this TID only' },
      { short: 'u', long: 'user-threads-only', dest: 'uthreads', kind: 'flag', help: 'User threads only (no kernel threads)' },
      { short: 'k', long: 'kernel-threads-only', dest: 'kthreads', kind: 'flag', help: 'Kernel threads only (no user threads)' },
      { short: 'U', long: 'user-stacks-only', dest: 'ustacks', kind: 'flag', help: 'show stacks from user space only (no kernel space stacks)' },
      { short: 'K', long: 'kernel-stacks-only', dest: 'kstacks', kind: 'flag', help: 'show stacks from kernel space only (no user space stacks)' },
      { short: 'd', long: 'delimited', dest: 'delimited', kind: 'flag', help: 'insert delimiter between kernel/user stacks' },
      { short: 'f', long: 'folded', dest: 'folded', kind: 'flag', help: 'output folded format (bcc)' },
      { short: 'm', long: 'min-block-time', dest: 'min', kind: 'int', metavar: 'MIN-BLOCK-TIME', min: 0, help: 'the amount of time in microseconds over which we store traces (default 1)' },
      { short: 'M', long: 'max-block-time', dest: 'max', kind: 'int', metavar: 'MAX-BLOCK-TIME', min: 0, help: 'the amount of time in microseconds under which we store traces' },
      { long: 'state', dest: 'state', kind: 'int', metavar: 'STATE', min: 0, help: 'filter on this thread state bitmask (eg, 2 == TASK_UNINTERRUPTIBLE)' },
      { short: 's', long: 'offset', dest: 'offset', kind: 'flag', help: 'show address offsets' },
      { long: 'stack-storage-size', dest: 'stackSize', kind: 'int', metavar: 'STACK_STORAGE_SIZE', min: 1, help: 'the number of unique stack traces (accepted: stacks are stored with their times)' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'duration', kind: 'int', min: 1, help: 'duration of trace, in seconds' }],
    examples: [
      'offcputime             # trace off-CPU stack time until Ctrl-C',
      'offcputime 5           # trace for 5 seconds only',
      'offcputime -m 1000     # trace only events that last more than 1000 usec',
      'offcputime -M 10000    # trace only events that last less than 10000 usec',
      'offcputime -p 185      # only trace threads for PID 185',
      'offcputime -t 188      # only trace thread 188',
      'offcputime -u          # only trace user threads (no kernel)',
      'offcputime -k          # only trace kernel threads (no user)',
      'offcputime -f 5        # folded output for flame graphs (bcc)',
    ],
    notes: 'Follows libbpf-tools (values in microseconds); -f/-U/-K/-d come from bcc. -p covers all of the process\'s threads, also those created later.',
  },
  options(a: ParsedArgs): OffcputimeOptions {
    if ([a.has('pid'), a.flag('uthreads'), a.flag('kthreads')].filter(Boolean).length > 1) throw new ToolError('-p, -u and -k are mutually exclusive');
    if (a.flag('ustacks') && a.flag('kstacks')) throw new ToolError('-U and -K are mutually exclusive');
    const pid = a.int('pid');
    const minUs = a.int('min') ?? 1;
    const maxUs = a.int('max');
    if (maxUs !== undefined && maxUs < minUs) throw new ToolError(`max-block-time (${maxUs}) is below min-block-time (${minUs})`);
    return {
      pid, tid: a.int('tid'), userThreads: a.flag('uthreads'), kernelThreads: a.flag('kthreads'),
      userOnly: a.flag('ustacks'), kernelOnly: a.flag('kstacks'), delimited: a.flag('delimited'), annotate: false,
      folded: a.flag('folded'), offsets: a.flag('offset'), minUs, maxUs, state: a.int('state'), duration: a.int('duration'),
    };
  },
  main(o) {
    return runToolProgram({
      name: 'offcputime',
      program: offcputimeProgram(o),
      duration: o.duration,
      compileHint: 'use -U (user stacks only) until kernel stacks are supported in tracepoint programs',
      report: (rt) => {
        const samples = offcputimeSamples(rt.map('@offcpu'), o);
        rt.print(samples.map((s) => (o.folded ? foldedStack(s, o) : multiLineStack(s, o))).join(''));
      },
    });
  },
};

export const offcputime = mod;
export const tool = defineTool(mod);
