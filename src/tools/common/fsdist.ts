/**
 * The file-system "dist" tools (bcc's ext4dist, xfsdist...): latency
 * histograms of a file system's reads, writes, opens and fsyncs, from
 * kprobes on its file operations and their returns. One definition; each
 * tool module names its file system (common/fsslower.ts has their functions).
 */
import type { HistMap, MapDump } from '../../runtime/format/maps';
import type { ToolDef } from '../tool';
import type { ParsedArgs } from './args';
import { defineTool, type ToolModule } from './define';
import { EBPF_OPTION, printProgram } from './ebpf';
import { FS_OPS, requireKprobes, type FileSystemOps } from './fsslower';
import { clockTime, log2HistText, slotsFromHist } from './hist';
import { runToolProgram, strOf } from './script';

export interface FsdistOptions {
  noTimestamp: boolean;
  milliseconds: boolean;
  pid?: number;
  interval?: number;
  count?: number;
  ebpf: boolean;
}

export function fsdistProgram(f: FileSystemOps, o: FsdistOptions): string {
  const pred = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  const factor = o.milliseconds ? 1000000 : 1000;
  return `${FS_OPS.map(({ op }) => `kprobe:${f[op]}`).join(',\n')}${pred}
{
  @fsd_start[tid] = nsecs;
}
${FS_OPS.map(({ op }) => `
kretprobe:${f[op]} /@fsd_start[tid] != 0/
{
  @fsd_dist["${op}"] = hist((nsecs - @fsd_start[tid]) / ${factor});
  delete(@fsd_start[tid]);
}
`).join('')}`;
}

/** bcc's print_log2_hist with "operation" sections, in the order read, write, open, fsync. */
export function fsdistReport(o: FsdistOptions, m: MapDump | undefined, now: Date = new Date()): string {
  let s = '\n';
  if (o.interval && !o.noTimestamp) s += `${clockTime(now)}:\n`;
  const entries = m && m.kind === 'hist' ? (m as HistMap).entries : [];
  const order = FS_OPS.map(({ op }) => op as string);
  const sorted = [...entries].sort((a, b) => order.indexOf(strOf(a.key[0])) - order.indexOf(strOf(b.key[0])));
  for (const e of sorted) s += `\noperation = ${strOf(e.key[0])}\n${log2HistText(slotsFromHist(e.value), o.milliseconds ? 'msecs' : 'usecs', 'bcc')}`;
  return s;
}

/** The tool for one file system. */
export function fsdistTool(f: FileSystemOps): ToolDef {
  const tool = `${f.name}dist`;
  const mod: ToolModule<FsdistOptions> = {
    description: `Summarize ${f.label} operation latency (read, write, open, fsync) as histograms; needs kprobes.`,
    category: 'fs',
    spec: {
      name: tool,
      summary: `Summarize ${f.label} operation latency`,
      options: [
        { short: 'T', long: 'notimestamp', dest: 'noTimestamp', kind: 'flag', help: "don't include timestamp on interval output" },
        { short: 'm', long: 'milliseconds', dest: 'ms', kind: 'flag', help: 'output in milliseconds' },
        { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'trace this PID only' },
        EBPF_OPTION,
      ],
      positionals: [
        { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
        { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
      ],
      examples: [
        `${tool}            # show operation latency as a histogram`,
        `${tool} -p 181     # trace PID 181 only`,
        `${tool} 1 10       # print 1 second summaries, 10 times`,
        `${tool} -m 5       # 5s summaries, milliseconds`,
      ],
      notes: `Follows bcc (kprobes and kretprobes on ${FS_OPS.map(({ op }) => f[op]).join(', ')};\n` +
        'one histogram per operation, read, write, open, fsync in that order).',
    },
    options(a: ParsedArgs): FsdistOptions {
      return { noTimestamp: a.flag('noTimestamp'), milliseconds: a.flag('ms'), pid: a.int('pid'), interval: a.int('interval'), count: a.int('count'), ebpf: a.flag('ebpf') };
    },
    main(o) {
      const program = fsdistProgram(f, o);
      if (o.ebpf) return Promise.resolve(printProgram(program));
      requireKprobes(tool, f);
      return runToolProgram({
        name: tool,
        program,
        banner: `Tracing ${f.label} operation latency... Hit Ctrl-C to end.\n`,
        interval: o.interval,
        count: o.count,
        report: (rt) => {
          rt.print(fsdistReport(o, rt.map('@fsd_dist')));
          rt.clearMap('@fsd_dist');
        },
      });
    },
  };
  return defineTool(mod);
}
