/**
 * bitesize: block I/O size histogram per process name, from the
 * block:block_rq_issue tracepoint (libbpf-tools' behaviour and output).
 */
import type { HistMap, MapDump } from '../runtime/format/maps';
import { type ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { diskByName } from './common/disks';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { quote, runToolProgram } from './common/script';
import { keyString } from './common/text';
import { tpField } from './common/tp';

export interface BitesizeOptions {
  comm?: string;
  disk?: string;
  /** Kernel dev_t of `disk` (resolved when options are built). */
  dev?: number;
  timestamp: boolean;
  /** The request-size field of block_rq_issue on this kernel ('bytes' since 6.x, 'nr_bytes' before). */
  bytesField?: string;
  interval: number;
  count: number;
}

/** The tsbpf program for these options. */
export function bitesizeProgram(o: BitesizeOptions): string {
  const conds: string[] = [];
  // libbpf-tools compares only the characters given: -c d matches "dd".
  if (o.comm) conds.push(`strncmp(comm, ${quote(o.comm)}, ${Buffer.byteLength(o.comm)}) == 0`);
  if (o.dev !== undefined) conds.push(`args->dev == ${o.dev}`);
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  return `tracepoint:block:block_rq_issue${pred}\n{\n  @kbytes[comm] = hist(args->${o.bytesField ?? 'bytes'} / 1024);\n}\n`;
}

/** One report: a blank line, optional time, then a histogram per process. */
export function bitesizeReport(m: MapDump | undefined, timestamp: boolean, now: Date = new Date()): string {
  let s = '\n';
  if (timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  if (!m || m.kind !== 'hist') return s;
  for (const e of (m as HistMap).entries) {
    s += `\nProcess Name = ${keyString(e.key)}\n`;
    s += log2HistText(slotsFromHist(e.value), 'Kbytes');
  }
  return s;
}

const mod: ToolModule<BitesizeOptions> = {
  description: 'Summarize block device I/O size as a histogram (per process name).',
  category: 'disk',
  spec: {
    name: 'bitesize',
    summary: 'Summarize block device I/O size as a histogram.',
    options: [
      { short: 'c', long: 'comm', dest: 'comm', kind: 'string', metavar: 'COMM', help: 'Trace this comm only (prefix match, as libbpf-tools)' },
      { short: 'd', long: 'disk', dest: 'disk', kind: 'string', metavar: 'DISK', help: 'Trace this disk only' },
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'Include timestamp on output' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'bitesize              # summarize block I/O size as a histogram',
      'bitesize 1 10         # print 1 second summaries, 10 times',
      'bitesize -T 1         # 1s summaries with timestamps',
      'bitesize -c fio       # trace fio only',
      'bitesize -d sda       # trace sda only',
    ],
    notes: 'Follows libbpf-tools: interval/count positionals, -d DISK, -c prefix match; tracepoint block:block_rq_issue.',
  },
  options(a: ParsedArgs): BitesizeOptions {
    const disk = a.str('disk');
    return {
      comm: a.str('comm'),
      disk,
      dev: disk !== undefined ? diskByName(disk).dev : undefined,
      timestamp: a.flag('timestamp'),
      interval: a.int('interval') ?? 0,
      count: a.int('count') ?? 0,
    };
  },
  main(o) {
    o.bytesField = tpField('block', 'block_rq_issue', ['bytes', 'nr_bytes']);
    return runToolProgram({
      name: 'bitesize',
      program: bitesizeProgram(o),
      banner: 'Tracing block device I/O... Hit Ctrl-C to end.\n',
      interval: o.interval,
      count: o.count || undefined,
      report: (rt) => {
        rt.print(bitesizeReport(rt.map('@kbytes'), o.timestamp));
        rt.clearMap('@kbytes');
      },
    });
  },
};

export const bitesize = mod;
export const tool = defineTool(mod);
