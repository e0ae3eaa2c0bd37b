/**
 * drsnoop: one line per direct reclaim (an allocation that had to free memory
 * itself before it could go on), with its latency and the pages it reclaimed,
 * from the vmscan:mm_vmscan_direct_reclaim_begin/end tracepoints; flags and
 * columns as bcc drsnoop. `--memcg` adds the reclaims a memory cgroup's limit
 * forces (mm_vmscan_memcg_reclaim_begin/end), which bcc does not show.
 */
import { kernelSymbols } from '../ebpf/symbolize';
import { MissingFeatureError } from '../sys/features';
import { native } from '../sys/native';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { parseUser } from './common/filters';
import { intOf, runToolProgram, strOf, toolEvent } from './common/script';
import { requireTracepoint } from './common/tp';

export interface DrsnoopOptions {
  timestamp: boolean;
  printUid: boolean;
  pid?: number;
  tid?: number;
  uid?: number;
  duration?: number;
  name?: string;
  /** bcc's -v: the system's free memory when the reclaim began (vm_zone_stat[NR_FREE_PAGES]). */
  verbose: boolean;
  /** tsbpf's own: memory-cgroup limit reclaim too. */
  memcg: boolean;
  ebpf: boolean;
}

/** The kernel's per-zone counters; NR_FREE_PAGES is item 0 of enum zone_stat_item. */
const VM_ZONE_STAT = 'vm_zone_stat';

/** One reclaim, sent at its end; `free` is the free page count at its start (-v) or 0. */
const reclaimEvent = (o: Pick<DrsnoopOptions, 'verbose'>) => toolEvent('reclaim', {
  ts: ['%d', '$us'], pid: ['%d', 'pid'], tid: ['%d', 'tid'], uid: ['%d', 'uid'],
  lat: ['%d', '$lat'], pages: ['%d', '$pages'], free: ['%d', o.verbose ? '$free' : '0'], comm: ['%s', 'comm'],
});

/** The begin/end tracepoint pairs traced: direct reclaim, and with --memcg the cgroup-limit reclaim. */
export function reclaimEvents(o: Pick<DrsnoopOptions, 'memcg'>): string[] {
  return o.memcg ? ['direct_reclaim', 'memcg_reclaim'] : ['direct_reclaim'];
}

export function drsnoopProgram(o: DrsnoopOptions): string {
  // bcc: the TID filter trumps the PID filter.
  const conds = [o.tid !== undefined ? `tid == ${o.tid}` : o.pid !== undefined ? `pid == ${o.pid}` : '', o.uid !== undefined ? `uid == ${o.uid}` : ''].filter(Boolean);
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  const ev = reclaimEvents(o);
  // vm_zone_stat[0] is an atomic_long_t; the language has no unary '*', so it is read as the first
  // 8-byte member of a struct at that address (list_head.next).
  const free = o.verbose ? `\n  @dr_free[tid] = (int64)((struct list_head *)kaddr("${VM_ZONE_STAT}"))->next;` : '';
  return `${ev.map((e) => `tracepoint:vmscan:mm_vmscan_${e}_begin`).join(',\n')}${pred}
{
  @dr_start[tid] = nsecs;${free}
}

${ev.map((e) => `tracepoint:vmscan:mm_vmscan_${e}_end`).join(',\n')} /@dr_start[tid] != 0/
{
  // One value per variable: printf's arguments are kept simple for the compiler's register allocator.
  $now = nsecs;
  $us = $now / 1000;
  $lat = $now - @dr_start[tid];
  $pages = args->nr_reclaimed;${o.verbose ? '\n  $free = @dr_free[tid];' : ''}
  ${reclaimEvent(o).send()}
  delete(@dr_start[tid]);${o.verbose ? '\n  delete(@dr_free[tid]);' : ''}
}
`;
}

export function drsnoopHeader(o: DrsnoopOptions): string {
  return `${o.timestamp ? 'TIME(s)'.padEnd(14) : ''}${o.printUid ? 'UID'.padEnd(6) : ''}${'COMM'.padEnd(14)} ${(o.tid !== undefined ? 'TID' : 'PID').padEnd(6)} ${'LAT(ms)'.padStart(8)} ${'PAGES'.padStart(5)}${o.verbose ? 'FREE(KB)'.padStart(10) : ''}\n`;
}

export interface ReclaimRecord {
  us: bigint;
  pid: number;
  tid: number;
  uid: number;
  latNs: bigint;
  pages: bigint;
  freePages: bigint;
  comm: string;
}

/** Formats reclaims in order; TIME(s) counts from the first one seen (bcc's initial_ts). */
export class DrsnoopPrinter {
  private first?: bigint;
  private readonly pageKb = BigInt(pageSize() / 1024);

  constructor(private readonly o: DrsnoopOptions) {}

  line(e: ReclaimRecord): string | undefined {
    this.first ??= e.us;
    if (this.o.name !== undefined && !e.comm.includes(this.o.name)) return undefined;
    let s = '';
    if (this.o.timestamp) s += (Number(e.us - this.first) / 1e6).toFixed(9).padEnd(14);
    if (this.o.printUid) s += String(e.uid).padEnd(6);
    s += `${e.comm.slice(0, 14).padEnd(14)} ${String(this.o.tid !== undefined ? e.tid : e.pid).padEnd(6)} ${(Number(e.latNs) / 1e6).toFixed(2).padStart(8)} ${String(e.pages).padStart(5)}`;
    if (this.o.verbose) s += String(e.freePages * this.pageKb).padStart(10);
    return s + '\n';
  }
}

function pageSize(): number {
  try {
    return native().pageSize;
  } catch {
    return 4096;
  }
}

const mod: ToolModule<DrsnoopOptions> = {
  description: 'Trace direct memory reclaim: one line per reclaim with its latency and pages reclaimed.',
  category: 'memory',
  spec: {
    name: 'drsnoop',
    summary: 'Trace direct reclaim',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'U', long: 'print-uid', dest: 'printUid', kind: 'flag', help: 'print UID column' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'trace this PID only' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 0, help: 'trace this TID only' },
      { short: 'u', long: 'uid', dest: 'uid', kind: 'string', metavar: 'UID', help: 'trace this UID only' },
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'total duration of trace in seconds' },
      { short: 'n', long: 'name', dest: 'name', kind: 'string', metavar: 'NAME', help: 'only print process names containing this name' },
      { short: 'v', long: 'verbose', dest: 'verbose', kind: 'flag', help: 'show system memory state' },
      { long: 'memcg', dest: 'memcg', kind: 'flag', help: 'also trace reclaim forced by a memory cgroup\'s limit (tsbpf\'s own)' },
      EBPF_OPTION,
    ],
    examples: [
      'drsnoop           # trace all direct reclaim',
      'drsnoop -T        # include timestamps',
      'drsnoop -U        # include UID',
      'drsnoop -p 181    # only trace PID 181',
      'drsnoop -t 123    # only trace TID 123',
      'drsnoop -u 1000   # only trace UID 1000',
      'drsnoop -d 10     # trace for 10 seconds only',
      'drsnoop -n main   # only print process names containing "main"',
      'drsnoop --memcg   # also show reclaim inside memory cgroups at their limit',
    ],
    notes: 'Follows bcc (vmscan:mm_vmscan_direct_reclaim_begin/end). Direct reclaim is the page allocator freeing memory\n' +
      'for itself when the whole system runs low; a memory cgroup that reaches its limit reclaims through\n' +
      'mm_vmscan_memcg_reclaim_begin/end instead, which bcc and libbpf-tools do not trace: --memcg adds those.\n' +
      '-v reads vm_zone_stat through /proc/kallsyms, so it needs a kernel that lists data symbols (CONFIG_KALLSYMS_ALL).',
  },
  options(a: ParsedArgs): DrsnoopOptions {
    const uid = a.str('uid');
    return {
      timestamp: a.flag('timestamp'),
      printUid: a.flag('printUid'),
      pid: a.int('pid'),
      tid: a.int('tid'),
      uid: uid !== undefined ? parseUser(uid) : undefined,
      duration: a.int('duration'),
      name: a.str('name'),
      verbose: a.flag('verbose'),
      memcg: a.flag('memcg'),
      ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = drsnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    for (const e of reclaimEvents(o)) for (const end of ['begin', 'end']) requireTracepoint('vmscan', `mm_vmscan_${e}_${end}`);
    if (o.verbose && safeAddress(VM_ZONE_STAT) === undefined) {
      throw new MissingFeatureError('kallsyms', `drsnoop -v reads the kernel's ${VM_ZONE_STAT}, but /proc/kallsyms does not list it on this kernel (it needs CONFIG_KALLSYMS_ALL); run without -v`);
    }
    const printer = new DrsnoopPrinter(o);
    return runToolProgram({
      name: 'drsnoop',
      program,
      banner: drsnoopHeader(o),
      duration: o.duration,
      on: [
        reclaimEvent(o).handle((e, rt) => {
          const n = (k: keyof typeof e) => intOf(e[k]);
          const s = printer.line({ us: n('ts'), pid: Number(n('pid')), tid: Number(n('tid')), uid: Number(n('uid')), latNs: n('lat'), pages: n('pages'), freePages: n('free'), comm: strOf(e.comm) });
          if (s) rt.print(s);
        }),
      ],
    });
  },
};

function safeAddress(name: string): bigint | undefined {
  try {
    return kernelSymbols().address(name);
  } catch {
    return undefined;
  }
}

export const drsnoop = mod;
export const tool = defineTool(mod);
