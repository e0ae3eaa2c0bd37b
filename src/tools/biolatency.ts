/**
 * biolatency: block I/O latency histogram from block_rq_issue (or _insert
 * with -Q) to block_rq_complete, requests matched by (dev, sector);
 * output and flags as libbpf-tools biolatency.
 */
import type { HistMap, MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { cgroupId } from './common/filters';
import { defineTool, type ToolModule } from './common/define';
import { diskByName, diskNameOf, listDisks } from './common/disks';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint } from './common/tp';

export interface BiolatencyOptions {
  timestamp: boolean;
  milliseconds: boolean;
  queued: boolean;
  perDisk: boolean;
  perFlag: boolean;
  disk?: string;
  dev?: number;
  interval: number;
  count: number;
  /** bcc's -e: average and total after the histograms. */
  extension?: boolean;
  /** bcc's -j: one JSON record per histogram. */
  json?: boolean;
  cgroup?: bigint;
}

export function biolatencyProgram(o: BiolatencyOptions): string {
  // libbpf-tools' -c: the cgroup of the task that issues (or queues) the request
  const devPred = [o.dev !== undefined ? `args->dev == ${o.dev}` : '', o.cgroup !== undefined ? `cgroup == ${o.cgroup}` : ''].filter(Boolean).join(' && ');
  // A request is its (device, sector); a flush has no sector: 0 at issue, ~0 at completion, and the
  // data-less write it stands for (rwbs WS) completes right after it at sector 0. Keyed by the
  // sector, that write took the flush's start time (flushes showed as Sync-Write). Data-less
  // requests are keyed at ~0 at both ends instead, so the flush matches itself and the write nothing.
  const sector = '$sector = args->sector;\n  if (args->nr_sector == 0) { $sector = 0xffffffffffffffff; }\n  ';
  const req = 'args->dev, $sector';
  const keys: string[] = [];
  if (o.perDisk) keys.push('args->dev');
  if (o.perFlag) keys.push('args->rwbs');
  const key = keys.length ? `[${keys.join(', ')}]` : '';
  const div = o.milliseconds ? 1000000 : 1000;
  const out: string[] = [];
  if (o.queued) {
    out.push(`tracepoint:block:block_rq_insert${devPred ? ` /${devPred}/` : ''}\n{\n  ${sector}@start[${req}] = nsecs;\n}\n`);
    // Requests that bypass the scheduler are never inserted: start them at issue.
    out.push(`tracepoint:block:block_rq_issue${devPred ? ` /${devPred}/` : ''}\n{\n  ${sector}if (@start[${req}] == 0) {\n    @start[${req}] = nsecs;\n  }\n}\n`);
  } else {
    out.push(`tracepoint:block:block_rq_issue${devPred ? ` /${devPred}/` : ''}\n{\n  ${sector}@start[${req}] = nsecs;\n}\n`);
  }
  out.push(
    `tracepoint:block:block_rq_complete\n{\n  ${sector}$t = @start[${req}];\n  if ($t != 0) {\n` +
      `    @lat${key} = hist((nsecs - $t) / ${div});\n` +
      (o.extension ? `    @ext_total = sum((nsecs - $t) / ${div});\n    @ext_count = count();\n` : '') +
      `    delete(@start[${req}]);\n  }\n}\n`,
  );
  return out.join('\n');
}

/** libbpf-tools' flag names from the tracepoint's rwbs string (op letter plus F/A/S/M modifiers). */
export function flagsFromRwbs(rwbs: string): string {
  let s = rwbs;
  let pre = '';
  // A leading F before the op letter is a preflush; F after it is FUA.
  if (s.length > 1 && s[0] === 'F') {
    pre = 'PreFlush-';
    s = s.slice(1);
  }
  const ops: Record<string, string> = { R: 'Read', W: 'Write', D: 'Discard', E: 'SecureErase', F: 'Flush', N: 'Unknown' };
  const op = ops[s[0]] ?? 'Unknown';
  const mods = s.slice(1);
  let f = '';
  if (mods.includes('A')) f += 'ReadAhead-';
  f += pre;
  if (mods.includes('F')) f += 'FUA-';
  if (mods.includes('M')) f += 'Metadata-';
  if (mods.includes('S')) f += 'Sync-';
  return f + op;
}

/** Extension (-e) totals: the sum of latencies and their count. */
export interface BiolatencyTotals {
  total: bigint;
  count: bigint;
}

export function biolatencyReport(o: BiolatencyOptions, m: MapDump | undefined, now: Date = new Date(), ext?: BiolatencyTotals): string {
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  const units = o.milliseconds ? 'msecs' : 'usecs';
  const disks = o.perDisk ? listDisks() : [];
  for (const e of m && m.kind === 'hist' ? (m as HistMap).entries : []) {
    let k = 0;
    const disk = o.perDisk ? diskNameOf(intOf(e.key[k++]), disks) ?? 'Unknown' : undefined;
    const flags = o.perFlag ? flagsFromRwbs(strOf(e.key[k++])) : undefined;
    if (o.json) {
      s += biolatencyJson(slotsFromHist(e.value), units, now, flags !== undefined ? ['flags', flags] : disk !== undefined ? ['disk', disk] : undefined) + '\n';
      continue;
    }
    if (disk !== undefined) s += `\ndisk = ${disk}\t`;
    if (flags !== undefined) s += `${o.perDisk ? '' : '\n'}flags = ${flags}`;
    s += '\n';
    s += log2HistText(slotsFromHist(e.value), units);
  }
  // bcc's -e line, after the histograms
  if (o.extension && ext && ext.count > 0n) s += `\navg = ${ext.total / ext.count} ${units}, total: ${ext.total} ${units}, count: ${ext.count}\n\n`;
  return s;
}

/**
 * bcc's -j record for one histogram: its fields and buckets (interval-start/-end/count up to the last
 * non-empty slot), as JSON (bcc prints a Python dict, with single quotes, which JSON readers refuse).
 */
export function biolatencyJson(slots: readonly bigint[], units: string, now: Date, section?: [string, string]): string {
  let last = 0;
  slots.forEach((v, i) => {
    if (v !== 0n) last = i;
  });
  const data = [];
  for (let i = 0; i <= last && slots.length; i++) {
    const end = 2 ** (i + 1) - 1;
    data.push({ 'interval-start': i === 0 ? 0 : 2 ** i, 'interval-end': end, count: Number(slots[i] ?? 0n) });
  }
  const p = (n: number) => String(n).padStart(2, '0');
  const ts = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())} ${clockTime(now)}`;
  const rec: Record<string, unknown> = { ts, val_type: units, data };
  if (section) rec[section[0]] = section[1];
  return JSON.stringify(rec);
}

const mod: ToolModule<BiolatencyOptions> = {
  description: 'Summarize block device I/O latency as a histogram.',
  category: 'disk',
  spec: {
    name: 'biolatency',
    summary: 'Summarize block device I/O latency as a histogram.',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'Include timestamp on output' },
      { short: 'm', long: 'milliseconds', dest: 'ms', kind: 'flag', help: 'Millisecond histogram' },
      { short: 'Q', long: 'queued', dest: 'queued', kind: 'flag', help: 'Include OS queued time in I/O time' },
      { short: 'D', long: 'disks', dest: 'perDisk', kind: 'flag', help: 'Print a histogram per disk device' },
      { short: 'F', long: 'flag', dest: 'perFlag', kind: 'flag', help: 'Print a histogram per set of I/O flags' },
      { short: 'e', long: 'extension', dest: 'extension', kind: 'flag', help: 'summarize average/total value (bcc)' },
      { short: 'j', long: 'json', dest: 'json', kind: 'flag', help: 'json output (bcc; real JSON, one record per line)' },
      { short: 'c', long: 'cgroup', dest: 'cgroup', kind: 'string', metavar: 'CGROUP', help: 'Trace process in cgroup path (libbpf-tools)' },
      { short: 'd', long: 'disk', dest: 'disk', kind: 'string', metavar: 'DISK', help: 'Trace this disk only' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'biolatency              # summarize block I/O latency as a histogram',
      'biolatency 1 10         # print 1 second summaries, 10 times',
      'biolatency -mT 1        # 1s summaries, milliseconds, and timestamps',
      'biolatency -Q           # include OS queued time in I/O time',
      'biolatency -D           # show each disk device separately',
      'biolatency -F           # show I/O flags separately',
      'biolatency -d sdc       # Trace sdc only',
    ],
    notes: 'Follows libbpf-tools. Requests are matched by (device, sector) from the block tracepoints; -F names flags from the\n' +
      'tracepoint rwbs string, so flags absent from rwbs (Idle, Priority, NoMerge...) are not shown.',
  },
  options(a: ParsedArgs): BiolatencyOptions {
    const disk = a.str('disk');
    return {
      timestamp: a.flag('timestamp'),
      milliseconds: a.flag('ms'),
      queued: a.flag('queued'),
      perDisk: a.flag('perDisk'),
      perFlag: a.flag('perFlag'),
      disk,
      dev: disk !== undefined ? diskByName(disk).dev : undefined,
      interval: a.int('interval') ?? 0,
      count: a.int('count') ?? 0,
      extension: a.flag('extension'),
      json: a.flag('json'),
      cgroup: a.str('cgroup') !== undefined ? cgroupId(a.str('cgroup') as string) : undefined,
    };
  },
  main(o) {
    requireTracepoint('block', 'block_rq_complete');
    if (o.queued) requireTracepoint('block', 'block_rq_insert');
    return runToolProgram({
      name: 'biolatency',
      program: biolatencyProgram(o),
      banner: 'Tracing block device I/O... Hit Ctrl-C to end.\n',
      interval: o.interval,
      count: o.count || undefined,
      report: (rt) => {
        const total = rt.map('@ext_total');
        const count = rt.map('@ext_count');
        const sum = (m: MapDump | undefined) => (m && (m.kind === 'sum' || m.kind === 'count') && m.entries[0] ? m.entries[0].value : 0n);
        rt.print(biolatencyReport(o, rt.map('@lat'), new Date(), { total: sum(total), count: sum(count) }));
        for (const name of ['@lat', '@ext_total', '@ext_count']) rt.clearMap(name);
      },
    });
  },
};

export const biolatency = mod;
export const tool = defineTool(mod);
