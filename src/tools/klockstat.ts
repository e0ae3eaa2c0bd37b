/**
 * klockstat: kernel mutex statistics by caller: how long mutex_lock took to
 * acquire ("spin") and how long the mutex was then held, from a kprobe and
 * kretprobe on mutex_lock and a kprobe on mutex_unlock (needs kprobes);
 * flags and output as bcc klockstat.
 */
import type { MapDump } from '../runtime/format/maps';
import type { Value } from '../runtime/values';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { firstKprobeable } from './common/kfuncs';
import { runToolProgram } from './common/script';
import { framesOf } from './common/stacks';
import { keyString } from './common/text';
import { ToolError } from './tool';

export interface KlockstatOptions {
  duration?: number;
  interval?: number;
  locks: number;
  stacks: number;
  caller?: string;
  sort: 'max' | 'total' | 'count';
  pid?: number;
  tid?: number;
  /** Unique stacks the per-caller maps can hold (their max_map_keys). */
  stackStorage: number;
  ebpf: boolean;
}

/** bcc's -S: the first field of the list picks the order of both tables (acq_* and hld_* alike). */
export function parseSort(s: string | undefined): KlockstatOptions['sort'] {
  if (s === undefined) return 'max';
  for (const f of s.split(',')) {
    const m = /^(?:acq|hld)_(max|total|count)$/.exec(f);
    if (m) return m[1] as KlockstatOptions['sort'];
  }
  throw new ToolError(`Wrong sort argument: ${s} (fields: acq_max, acq_total, acq_count, hld_max, hld_total, hld_count)`);
}

export function klockstatProgram(o: KlockstatOptions, lockFn = 'mutex_lock'): string {
  const pred = o.tid !== undefined ? ` /tid == ${o.tid}/` : o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  // Frame 0 is mutex_lock itself, frame 1 its caller; -s N shows frames up to N - 1 under the caller.
  const depth = Math.max(2, o.stacks);
  return `config = { max_map_keys = ${o.stackStorage} }

kprobe:${lockFn}${pred}
{
  @kl_start[tid] = nsecs;
  @kl_lock[tid] = arg0;
  @kl_stack[tid] = kstack(${depth});
}

kretprobe:${lockFn} /@kl_start[tid] != 0/
{
  $now = nsecs;
  $st = @kl_stack[tid];
  $d = $now - @kl_start[tid];
  @acq_count[$st] = count();
  @acq_max[$st] = max($d);
  @acq_total[$st] = sum($d);
  // held from now until mutex_unlock of the same mutex (one owner at a time: keyed by the mutex)
  @kl_held[@kl_lock[tid]] = $now;
  @kl_hstack[@kl_lock[tid]] = $st;
  delete(@kl_start[tid]);
  delete(@kl_lock[tid]);
  delete(@kl_stack[tid]);
}

kprobe:mutex_unlock /@kl_held[arg0] != 0/
{
  $st = @kl_hstack[arg0];
  $d = nsecs - @kl_held[arg0];
  @hld_count[$st] = count();
  @hld_max[$st] = max($d);
  @hld_total[$st] = sum($d);
  delete(@kl_held[arg0]);
  delete(@kl_hstack[arg0]);
}
`;
}

interface LockRow {
  frames: string[];
  count: bigint;
  max: bigint;
  total: bigint;
}

/** The rows of one table (acq or hld): count, max and total per stack. */
export function lockRows(count: MapDump | undefined, max: MapDump | undefined, total: MapDump | undefined): LockRow[] {
  const rows = new Map<string, LockRow>();
  const row = (key: readonly Value[]): LockRow => {
    const k = keyString(key);
    let r = rows.get(k);
    if (!r) rows.set(k, (r = { frames: framesOf(key[0], true), count: 0n, max: 0n, total: 0n }));
    return r;
  };
  const each = (m: MapDump | undefined, set: (r: LockRow, v: bigint) => void) => {
    if (m && m.kind !== 'value' && (m.kind === 'count' || m.kind === 'sum' || m.kind === 'max')) for (const e of m.entries) set(row(e.key), e.value);
  };
  each(count, (r, v) => (r.count = v));
  each(max, (r, v) => (r.max = v));
  each(total, (r, v) => (r.total = v));
  return [...rows.values()].filter((r) => r.count > 0n);
}

/** One table as bcc prints it: a blank line, the header, the top -n rows by the -S field, -c keeping callers that start with it. */
export function lockTable(o: KlockstatOptions, rows: LockRow[], what: 'Spin' | 'Hold'): string {
  const lc = what.toLowerCase();
  let s = `\n${'Caller'.padStart(40)} ${`Avg ${what}`.padStart(10)} ${'Count'.padStart(6)} ${`Max ${lc}`.padStart(10)} ${`Total ${lc}`.padStart(10)}\n`;
  const sorted = [...rows].sort((a, b) => (b[o.sort] > a[o.sort] ? 1 : b[o.sort] < a[o.sort] ? -1 : 0)).slice(0, o.locks);
  for (const r of sorted) {
    const caller = r.frames[1] ?? '[Missed Kernel Stack]';
    // bcc's test is caller.find(substring) == 0: the caller starts with it
    if (o.caller !== undefined && !caller.startsWith(o.caller)) continue;
    s += `${caller.padStart(40)} ${(r.total / r.count).toString().padStart(10)} ${r.count.toString().padStart(6)} ${r.max.toString().padStart(10)} ${r.total.toString().padStart(10)}\n`;
    for (const f of r.frames.slice(2, o.stacks)) s += `${f.padStart(40)}\n`;
  }
  return s;
}

const MAPS = ['@acq_count', '@acq_max', '@acq_total', '@hld_count', '@hld_max', '@hld_total'];

const mod: ToolModule<KlockstatOptions> = {
  description: 'Kernel mutex statistics by caller: time to acquire and time held; needs kprobes.',
  category: 'kernel',
  spec: {
    name: 'klockstat',
    summary: 'Trace kernel mutex lock events and display locks statistics',
    options: [
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'total duration of trace in seconds' },
      { short: 'i', long: 'interval', dest: 'interval', kind: 'int', metavar: 'INTERVAL', min: 1, help: 'print summary at this interval (seconds)' },
      { short: 'n', long: 'locks', dest: 'locks', kind: 'int', metavar: 'LOCKS', min: 0, help: 'print given number of locks' },
      { short: 's', long: 'stacks', dest: 'stacks', kind: 'int', metavar: 'STACKS', min: 0, help: 'print given number of stack entries' },
      { short: 'c', long: 'caller', dest: 'caller', kind: 'string', metavar: 'CALLER', help: 'print locks taken by given caller' },
      { short: 'S', long: 'sort', dest: 'sort', kind: 'string', metavar: 'SORT', help: 'sort data on <aq_field,hd_field>, fields: acq_[max|total|count] hld_[max|total|count]' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 1, help: 'trace this TID only' },
      { long: 'stack-storage-size', dest: 'stackStorage', kind: 'int', metavar: 'STACK_STORAGE_SIZE', min: 1, help: 'the number of unique stack traces that can be stored and displayed (default 16384)' },
      EBPF_OPTION,
    ],
    examples: [
      'klockstat                           # trace system wide',
      'klockstat -d 5                      # trace for 5 seconds only',
      'klockstat -i 5                      # display stats every 5 seconds',
      'klockstat -p 123                    # trace locks for PID 123',
      'klockstat -t 321                    # trace locks for TID 321',
      "klockstat -c pipe_                  # display stats only for lock callers with 'pipe_' substring",
      'klockstat -S acq_count              # sort lock acquired results on acquired count',
      'klockstat -S hld_total              # sort lock held results on total held time',
      'klockstat -S acq_count,hld_total    # combination of above',
      'klockstat -n 3                      # display 3 locks',
      'klockstat -s 3                      # display 3 levels of stack',
    ],
    notes: 'Follows bcc (kprobes on mutex_lock, or mutex_lock_nested, and mutex_unlock; times in nanoseconds; -c keeps\n' +
      'callers that start with CALLER, as bcc\'s test does; the first -S field orders both tables, as in bcc). Rows are\n' +
      'per caller and the -s frames above it (bcc: per full stack). Hold time is matched by mutex, bcc matches by\n' +
      'nesting depth per thread. --stack-storage-size is the key limit of every map of the program. With -i, calls\n' +
      'made while a report is read and cleared are not counted (bcc stops counting while it prints). libbpf-tools\n' +
      'klockstat also traces rwsems and prints a different layout.',
  },
  options(a: ParsedArgs): KlockstatOptions {
    if (a.has('duration') && a.has('interval')) throw new ToolError('-d and -i cannot be used together');
    return {
      duration: a.int('duration'), interval: a.int('interval'), locks: a.int('locks') ?? 99999999, stacks: a.int('stacks') ?? 1,
      caller: a.str('caller'), sort: parseSort(a.str('sort')), pid: a.int('pid'), tid: a.int('tid'), stackStorage: a.int('stackStorage') ?? 16384, ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    if (!o.ebpf && !hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'klockstat needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    // With lock debugging (CONFIG_DEBUG_LOCK_ALLOC) mutex_lock is a macro for mutex_lock_nested.
    const program = klockstatProgram(o, firstKprobeable(['mutex_lock_nested', 'mutex_lock']) ?? 'mutex_lock');
    if (o.ebpf) return Promise.resolve(printProgram(program));
    return runToolProgram({
      name: 'klockstat',
      program,
      banner: 'Tracing lock events... Hit Ctrl-C to end.\n',
      interval: o.interval,
      duration: o.duration,
      report: (rt) => {
        const m = (n: string) => rt.map(n);
        rt.print(lockTable(o, lockRows(m('@acq_count'), m('@acq_max'), m('@acq_total')), 'Spin') +
          lockTable(o, lockRows(m('@hld_count'), m('@hld_max'), m('@hld_total')), 'Hold'));
        for (const n of MAPS) rt.clearMap(n);
      },
    });
  },
};

export const klockstat = mod;
export const tool = defineTool(mod);
