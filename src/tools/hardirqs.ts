/**
 * hardirqs: time spent in each hard interrupt handler (or with -C how many
 * ran, with -d a histogram per handler), keyed by the handler's name, from
 * irq:irq_handler_entry/exit; flags and output as bcc hardirqs.
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { runToolProgram, strOf } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface HardirqsOptions {
  timestamp: boolean;
  nanoseconds: boolean;
  count: boolean;
  dist: boolean;
  cpu?: number;
  interval: number;
  outputs: number;
  ebpf: boolean;
}

export function hardirqsProgram(o: HardirqsOptions): string {
  const pred = o.cpu !== undefined ? ` /cpu == ${o.cpu}/` : '';
  if (o.count) return `tracepoint:irq:irq_handler_entry${pred}\n{\n  @hi_count[str(args->name)] = count();\n}\n`;
  const factor = o.nanoseconds ? 1 : 1000;
  const store = o.dist ? `@hi_dist[@hi_name[cpu]] = hist($ns${factor > 1 ? ` / ${factor}` : ''});` : '@hi_total[@hi_name[cpu]] = sum($ns);';
  // Handlers do not nest on a CPU (they run with interrupts off): the CPU's entry is the current handler's.
  return `tracepoint:irq:irq_handler_entry${pred}\n{\n  @hi_start[cpu] = nsecs;\n  @hi_name[cpu] = str(args->name);\n}\n\n` +
    `tracepoint:irq:irq_handler_exit /@hi_start[cpu] != 0/\n{\n  $ns = nsecs - @hi_start[cpu];\n  ${store}\n  delete(@hi_start[cpu]);\n}\n`;
}

export function hardirqsReport(o: HardirqsOptions, m: MapDump | undefined, now = new Date()): string {
  const label = o.count ? 'count' : o.nanoseconds ? 'nsecs' : 'usecs';
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  if (o.dist) {
    if (m?.kind === 'hist') for (const e of m.entries) s += `\nhardirq = ${strOf(e.key[0])}\n${log2HistText(slotsFromHist(e.value), label, 'bcc')}`;
    return s;
  }
  s += `${'HARDIRQ'.padEnd(26)} ${`TOTAL_${label}`.padStart(11)}\n`;
  const factor = o.count || o.nanoseconds ? 1n : 1000n;
  if (m && (m.kind === 'sum' || m.kind === 'count')) {
    for (const e of [...m.entries].sort((a, b) => (a.value > b.value ? -1 : a.value < b.value ? 1 : 0))) s += `${strOf(e.key[0]).padEnd(26)} ${String(e.value / factor).padStart(11)}\n`;
  }
  return s;
}

const mod: ToolModule<HardirqsOptions> = {
  description: 'Summarize hard interrupt (IRQ handler) time or counts by handler name.',
  category: 'cpu',
  spec: {
    name: 'hardirqs',
    summary: 'Summarize hard irq event time as histograms',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'N', long: 'nanoseconds', dest: 'ns', kind: 'flag', help: 'output in nanoseconds' },
      { short: 'C', long: 'count', dest: 'count', kind: 'flag', help: 'show event counts instead of timing' },
      { short: 'd', long: 'dist', dest: 'dist', kind: 'flag', help: 'show distributions as histograms' },
      { short: 'c', long: 'cpu', dest: 'cpu', kind: 'int', metavar: 'CPU', min: 0, help: 'trace this CPU only' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'outputs', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'hardirqs            # sum hard irq event time',
      'hardirqs -d         # show hard irq event time as histograms',
      'hardirqs 1 10       # print 1 second summaries, 10 times',
      'hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps',
      'hardirqs -c 1       # sum hard irq event time on CPU 1 only',
    ],
    notes: 'Follows bcc. Handler names longer than 64 bytes are cut. libbpf-tools hardirqs prints a different table\n' +
      '(HARDIRQ TOTAL_usecs, -C as TOTAL_count) and has -c as a cgroup.',
  },
  options(a: ParsedArgs): HardirqsOptions {
    if (a.flag('count') && (a.flag('dist') || a.flag('ns'))) throw new ToolError("The --count option can't be used with time-based options");
    return {
      timestamp: a.flag('timestamp'), nanoseconds: a.flag('ns'), count: a.flag('count'), dist: a.flag('dist'), cpu: a.int('cpu'),
      interval: a.int('interval') ?? 0, outputs: a.int('outputs') ?? 0, ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = hardirqsProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('irq', 'irq_handler_entry');
    const map = o.count ? '@hi_count' : o.dist ? '@hi_dist' : '@hi_total';
    return runToolProgram({
      name: 'hardirqs',
      program,
      banner: o.count ? 'Tracing hard irq events... Hit Ctrl-C to end.\n' : 'Tracing hard irq event time... Hit Ctrl-C to end.\n',
      interval: o.interval,
      count: o.outputs || undefined,
      report: (rt) => {
        rt.print(hardirqsReport(o, rt.map(map)));
        rt.clearMap(map);
      },
    });
  },
};

export const hardirqs = mod;
export const tool = defineTool(mod);
