/**
 * dcstat: directory entry cache (dcache) statistics per interval, from a
 * kprobe on lookup_fast (references) and a kretprobe on d_lookup (slow
 * lookups, and misses when it finds nothing); needs kprobes. Output as bcc dcstat.
 */
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { CountDeltas } from './common/deltas';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { firstKprobeable, kprobeableMatching } from './common/kfuncs';
import { intOf, runToolProgram } from './common/script';
import { ToolError } from './tool';

export interface DcstatOptions {
  interval: number;
  count?: number;
  ebpf: boolean;
}

/** bcc's statistics, by their key numbers. */
export const STATS = [['REFS', 1], ['SLOW', 2], ['MISS', 3]] as const;

/**
 * lookup_fast, or its compiler clone (lookup_fast.constprop.N) where the kernel
 * has only that, as bcc's ^lookup_fast$|^lookup_fast.constprop.*.\d$ finds it.
 */
export function lookupFast(tool: string, forEbpf: boolean): string {
  const f = firstKprobeable(['lookup_fast']) ?? kprobeableMatching(/^lookup_fast\.constprop\.\d+$/)[0];
  if (f) return f;
  if (forEbpf) return 'lookup_fast';
  throw new ToolError(`${tool}: this kernel has no lookup_fast (nor a lookup_fast.constprop clone) to probe`);
}

export function dcstatProgram(fast: string): string {
  return `kprobe:${fast}\n{\n  @dcstat[1] = count();\n}\n\n` +
    '// A slow lookup: d_lookup, called once the lockless fast path gave up; a miss when it finds nothing.\n' +
    'kretprobe:d_lookup\n{\n  @dcstat[2] = count();\n  if (retval == 0) {\n    @dcstat[3] = count();\n  }\n}\n';
}

export const dcstatHeader = (): string => `${'TIME'.padEnd(8)}  ${STATS.map(([s]) => ` ${`${s}/s`.padStart(8)}`).join('')} ${'HIT%'.padStart(8)}\n`;

/** One line: each statistic per second over the interval, then the hit ratio (bcc's "-%" without references). */
export function dcstatLine(counts: ReadonlyMap<number, bigint>, interval: number, now: Date): string {
  const n = (k: number) => Number(counts.get(k) ?? 0n);
  let s = `${clockTime(now).padEnd(8)}: ${STATS.map(([, k]) => ` ${String(Math.trunc(n(k) / interval)).padStart(8)}`).join('')}`;
  const ref = n(1);
  s += ref > 0 ? ` ${((100 * (ref - n(3))) / ref).toFixed(2).padStart(8)}` : ` ${'-'.padStart(7)}%`;
  return `${s}\n`;
}

const mod: ToolModule<DcstatOptions> = {
  description: 'Directory entry cache (dcache) references, slow lookups, misses and hit ratio per interval; needs kprobes.',
  category: 'fs',
  spec: {
    name: 'dcstat',
    summary: 'Directory entry cache (dcache) stats.',
    options: [EBPF_OPTION],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds (default 1)' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: ['dcstat              # print every second', 'dcstat 5 3          # print every 5 seconds, 3 times'],
    notes: 'Follows bcc: REFS counts lookup_fast calls (one per path component), SLOW d_lookup calls, MISS d_lookup\n' +
      'calls that found nothing. libbpf-tools has no dcstat.',
  },
  options(a: ParsedArgs): DcstatOptions {
    return { interval: a.int('interval') ?? 1, count: a.int('count'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    if (!o.ebpf && !hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'dcstat needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    const program = dcstatProgram(lookupFast('dcstat', o.ebpf));
    if (o.ebpf) return Promise.resolve(printProgram(program));
    // the map stays cumulative: each line is what it gained (clearing it would lose the counts made meanwhile)
    const deltas = new CountDeltas();
    return runToolProgram({
      name: 'dcstat',
      program,
      banner: dcstatHeader(),
      interval: o.interval,
      count: o.count,
      report: (rt) => {
        const counts = new Map<number, bigint>();
        for (const d of deltas.next(rt.map('@dcstat'))) counts.set(Number(intOf(d.key[0])), d.value);
        rt.print(dcstatLine(counts, o.interval, new Date()));
      },
    });
  },
};

export const dcstat = mod;
export const tool = defineTool(mod);
