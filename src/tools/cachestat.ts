/**
 * cachestat: page cache hits, misses and dirties per interval, from kprobes
 * on the page cache functions (needs kprobes); columns as bcc cachestat.
 *
 * bcc's arithmetic: accesses are mark-accessed calls minus buffer dirties,
 * misses are pages added to the cache minus pages dirtied (writes add pages
 * too), hits are accesses minus misses.
 */
import * as fs from 'node:fs';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { CountDeltas, type Delta } from './common/deltas';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { firstKprobeable } from './common/kfuncs';
import { intOf, runToolProgram } from './common/script';
import { tpExists } from './common/tp';
import { ToolError } from './tool';

/** The four counted events, by bcc's key numbers. */
export const NF_APCL = 0; // a page added to the page cache
export const NF_MPA = 1; // a page marked accessed
export const NF_MBD = 2; // a buffer marked dirty
export const NF_APD = 3; // a page accounted dirtied

/** Where each event is probed on the running kernel. */
export interface CacheProbes {
  apcl: string;
  mpa: string;
  mbd: string;
  apd: string;
}

/**
 * The probes of the running kernel, as bcc chooses them: the folio functions
 * (5.16+) before the page ones, and for dirtied pages the kprobe when the
 * function survived inlining, else the writeback_dirty_folio (or _page) tracepoint.
 */
export function cacheProbes(tool: string, forEbpf: boolean): CacheProbes {
  const pick = (names: string[]): string | undefined => firstKprobeable(names);
  const apcl = pick(['filemap_add_folio', 'add_to_page_cache_lru']);
  const mpa = pick(['folio_mark_accessed', 'mark_page_accessed']);
  const mbd = pick(['mark_buffer_dirty']);
  const apdFn = pick(['folio_account_dirtied', 'account_page_dirtied']);
  const apdTp = ['writeback_dirty_folio', 'writeback_dirty_page'].find((e) => tpExists('writeback', e));
  const apd = apdFn ? `kprobe:${apdFn}` : apdTp ? `tracepoint:writeback:${apdTp}` : undefined;
  if (forEbpf) {
    return {
      apcl: `kprobe:${apcl ?? 'filemap_add_folio'}`, mpa: `kprobe:${mpa ?? 'folio_mark_accessed'}`,
      mbd: 'kprobe:mark_buffer_dirty', apd: apd ?? 'tracepoint:writeback:writeback_dirty_folio',
    };
  }
  const missing = [apcl ? '' : 'filemap_add_folio (or add_to_page_cache_lru)', mpa ? '' : 'folio_mark_accessed (or mark_page_accessed)', mbd ? '' : 'mark_buffer_dirty',
    apd ? '' : 'folio_account_dirtied (or account_page_dirtied, or the writeback:writeback_dirty_folio tracepoint)'].filter(Boolean);
  if (missing.length) throw new ToolError(`${tool}: this kernel has none of the functions it probes for ${missing.join(', ')}`);
  return { apcl: `kprobe:${apcl}`, mpa: `kprobe:${mpa}`, mbd: `kprobe:${mbd}`, apd: apd as string };
}

/** One block per event: `key(nf)` is the map update counting it (cachestat: by event; cachetop: by process and event). */
export function cacheProgram(p: CacheProbes, pred: string, key: (nf: number) => string): string {
  const block = (probe: string, nf: number) => `${probe}${pred ? ` /${pred}/` : ''}\n{\n  ${key(nf)} = count();\n}\n`;
  return [block(p.apcl, NF_APCL), block(p.mpa, NF_MPA), block(p.mbd, NF_MBD), block(p.apd, NF_APD)].join('\n');
}

export const cachestatProgram = (p: CacheProbes): string => cacheProgram(p, '', (nf) => `@cache[${nf}]`);

/** Buffers and Cached from /proc/meminfo, in MB. */
export function meminfoMB(text = readMeminfo()): { buffers: number; cached: number } {
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { buffers: kb('Buffers') / 1024, cached: kb('Cached') / 1024 };
}

function readMeminfo(): string {
  try {
    return fs.readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return '';
  }
}

/** Counts by event (absent events are 0). */
export function countsByEvent(deltas: readonly Delta[], keyIndex = 0): number[] {
  const c = [0, 0, 0, 0];
  for (const d of deltas) c[Number(intOf(d.key[keyIndex]))] += Number(d.value);
  return c;
}

/** bcc cachestat's hits, misses and ratio from the four counts. */
export function cachestatFigures(c: readonly number[]): { hits: number; misses: number; dirties: number; ratio: number } {
  const total = Math.max(0, c[NF_MPA] - c[NF_MBD]);
  let misses = Math.max(0, c[NF_APCL] - c[NF_APD]);
  let hits = total - misses;
  // Read-ahead can add more pages than were asked for: then every access counts as a miss.
  if (hits < 0) {
    misses = total;
    hits = 0;
  }
  return { hits, misses, dirties: c[NF_MBD], ratio: total > 0 ? hits / total : 0 };
}

export interface CachestatOptions {
  timestamp: boolean;
  interval: number;
  count?: number;
  ebpf: boolean;
}

export const cachestatHeader = (o: CachestatOptions): string =>
  `${o.timestamp ? `${'TIME'.padEnd(8)} ` : ''}${['HITS', 'MISSES', 'DIRTIES', 'HITRATIO'].map((h) => h.padStart(8)).join(' ')} ${'BUFFERS_MB'.padStart(12)} ${'CACHED_MB'.padStart(10)}\n`;

export function cachestatLine(o: CachestatOptions, c: readonly number[], mem: { buffers: number; cached: number }, now: Date): string {
  const f = cachestatFigures(c);
  return `${o.timestamp ? `${clockTime(now).padEnd(8)} ` : ''}${String(f.hits).padStart(8)} ${String(f.misses).padStart(8)} ${String(f.dirties).padStart(8)} ` +
    `${(100 * f.ratio).toFixed(2).padStart(7)}% ${mem.buffers.toFixed(0).padStart(12)} ${mem.cached.toFixed(0).padStart(10)}\n`;
}

const mod: ToolModule<CachestatOptions> = {
  description: 'Page cache hits, misses and hit ratio per interval; needs kprobes.',
  category: 'memory',
  spec: {
    name: 'cachestat',
    summary: 'Count cache kernel function calls',
    options: [{ short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' }, EBPF_OPTION],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: ['cachestat             # run with default option of 1 second delay', 'cachestat -T          # include timestamps',
      'cachestat 1 5         # print 5 times at 1 second intervals'],
    notes: 'Follows bcc (kprobes on filemap_add_folio, folio_mark_accessed, mark_buffer_dirty and folio_account_dirtied,\n' +
      'or their page-era names; the writeback_dirty_folio tracepoint where folio_account_dirtied is inlined). DIRTIES counts\n' +
      'mark_buffer_dirty calls. libbpf-tools cachestat prints TOTAL MISSES HITS DIRTIES BUFFERS_MB CACHED_MB instead.',
  },
  options(a: ParsedArgs): CachestatOptions {
    return { timestamp: a.flag('timestamp'), interval: a.int('interval') ?? 1, count: a.int('count'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    if (!o.ebpf && !hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'cachestat needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    const program = cachestatProgram(cacheProbes('cachestat', o.ebpf));
    if (o.ebpf) return Promise.resolve(printProgram(program));
    let reports = 0;
    // the map stays cumulative: each line is what it gained (clearing it would lose the counts made meanwhile)
    const deltas = new CountDeltas();
    return runToolProgram({
      name: 'cachestat',
      program,
      banner: cachestatHeader(o),
      interval: o.interval,
      count: o.count,
      report: (rt, final) => {
        rt.print(cachestatLine(o, countsByEvent(deltas.next(rt.map('@cache'))), meminfoMB(), new Date()));
        // bcc says "Detaching..." when Ctrl-C ends it, not when the count runs out.
        if (++reports !== o.count && final) rt.print('Detaching...\n');
      },
    });
  },
};

export const cachestat = mod;
export const tool = defineTool(mod);
