/**
 * softirqs: time spent in each soft interrupt vector (or with -C how many
 * ran, with -d a histogram per vector), from irq:softirq_entry/exit; flags
 * and output as bcc softirqs.
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { intOf, runToolProgram } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface SoftirqsOptions {
  timestamp: boolean;
  nanoseconds: boolean;
  events: boolean;
  dist: boolean;
  cpu?: number;
  interval: number;
  count: number;
  ebpf: boolean;
}

/** kernel/softirq.c softirq_to_name, lower case as bcc prints them. */
export const SOFTIRQ_NAMES = ['hi', 'timer', 'net_tx', 'net_rx', 'block', 'irq_poll', 'tasklet', 'sched', 'hrtimer', 'rcu'];

export function softirqsProgram(o: SoftirqsOptions): string {
  const pred = o.cpu !== undefined ? ` /cpu == ${o.cpu}/` : '';
  if (o.events) return `tracepoint:irq:softirq_entry${pred}\n{\n  @si_count[args->vec] = count();\n}\n`;
  const factor = o.nanoseconds ? 1 : 1000;
  const store = o.dist ? `@si_dist[args->vec] = hist($ns${factor > 1 ? ` / ${factor}` : ''});` : '@si_total[args->vec] = sum($ns);';
  // Soft interrupts do not nest on a CPU: the CPU's start time is its current one's.
  return `tracepoint:irq:softirq_entry${pred}\n{\n  @si_start[cpu] = nsecs;\n}\n\n` +
    `tracepoint:irq:softirq_exit /@si_start[cpu] != 0/\n{\n  $ns = nsecs - @si_start[cpu];\n  ${store}\n  delete(@si_start[cpu]);\n}\n`;
}

export function softirqsReport(o: SoftirqsOptions, m: MapDump | undefined, now = new Date()): string {
  const label = o.events ? 'count' : o.nanoseconds ? 'nsecs' : 'usecs';
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  const name = (vec: bigint) => SOFTIRQ_NAMES[Number(vec)] ?? String(vec);
  if (o.dist) {
    if (m?.kind === 'hist') for (const e of m.entries) s += `\nsoftirq = ${name(intOf(e.key[0]))}\n${log2HistText(slotsFromHist(e.value), label, 'bcc')}`;
    return s;
  }
  s += `${'SOFTIRQ'.padEnd(16)} ${`TOTAL_${label}`.padStart(11)}\n`;
  const factor = o.events || o.nanoseconds ? 1n : 1000n;
  if (m && (m.kind === 'sum' || m.kind === 'count')) {
    for (const e of [...m.entries].sort((a, b) => (a.value > b.value ? -1 : a.value < b.value ? 1 : 0))) s += `${name(intOf(e.key[0])).padEnd(16)} ${String(e.value / factor).padStart(11)}\n`;
  }
  return s;
}

const mod: ToolModule<SoftirqsOptions> = {
  description: 'Summarize soft interrupt (softirq) time or counts by vector.',
  category: 'cpu',
  spec: {
    name: 'softirqs',
    summary: 'Summarize soft irq event time as histograms.',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'N', long: 'nanoseconds', dest: 'ns', kind: 'flag', help: 'output in nanoseconds' },
      { short: 'C', long: 'events', dest: 'events', kind: 'flag', help: 'show the number of soft irq events' },
      { short: 'd', long: 'dist', dest: 'dist', kind: 'flag', help: 'show distributions as histograms' },
      { short: 'c', long: 'cpu', dest: 'cpu', kind: 'int', metavar: 'CPU', min: 0, help: 'trace this CPU only' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'softirqs            # sum soft irq event time',
      'softirqs -C         # show the number of soft irq events',
      'softirqs -d         # show soft irq event time as histograms',
      'softirqs 1 10       # print 1 second summaries, 10 times',
      'softirqs -NT 1      # 1s summaries, nanoseconds, and timestamps',
      'softirqs -c 1       # trace soft irq events on CPU 1 only',
    ],
    notes: 'Follows bcc. libbpf-tools softirqs prints a different table (SOFTIRQ TOTAL_usecs with -C as COUNT) and has no -c.',
  },
  options(a: ParsedArgs): SoftirqsOptions {
    if (a.flag('events') && (a.flag('dist') || a.flag('ns'))) throw new ToolError("The --events option can't be used with time-based options");
    return {
      timestamp: a.flag('timestamp'), nanoseconds: a.flag('ns'), events: a.flag('events'), dist: a.flag('dist'), cpu: a.int('cpu'),
      interval: a.int('interval') ?? 0, count: a.int('count') ?? 0, ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = softirqsProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('irq', 'softirq_entry');
    const map = o.events ? '@si_count' : o.dist ? '@si_dist' : '@si_total';
    return runToolProgram({
      name: 'softirqs',
      program,
      banner: o.events ? 'Tracing soft irq events... Hit Ctrl-C to end.\n' : 'Tracing soft irq event time... Hit Ctrl-C to end.\n',
      interval: o.interval,
      count: o.count || undefined,
      report: (rt) => {
        rt.print(softirqsReport(o, rt.map(map)));
        rt.clearMap(map);
      },
    });
  },
};

export const softirqs = mod;
export const tool = defineTool(mod);
