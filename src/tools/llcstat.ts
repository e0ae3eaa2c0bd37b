/**
 * llcstat: last-level cache references and misses by process (and CPU),
 * sampled from the hardware cache-references/cache-misses perf events
 * every SAMPLE_PERIOD events; output as bcc llcstat. Needs a CPU PMU.
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { keyString } from './common/text';

export interface LlcstatOptions {
  samplePeriod: number;
  duration: number;
  tid: boolean;
  ebpf: boolean;
}

export function llcstatProgram(o: LlcstatOptions): string {
  // Each sample stands for SAMPLE_PERIOD events, as bcc counts them.
  const key = o.tid ? '[pid, tid, cpu, comm]' : '[pid, cpu, comm]';
  return `hardware:cache-references:${o.samplePeriod}\n{\n  @llc_ref${key} = sum(${o.samplePeriod});\n}\n\n` +
    `hardware:cache-misses:${o.samplePeriod}\n{\n  @llc_miss${key} = sum(${o.samplePeriod});\n}\n`;
}

export function llcstatReport(o: LlcstatOptions, ref: MapDump | undefined, miss: MapDump | undefined): string {
  const misses = new Map<string, bigint>();
  if (miss && miss.kind === 'sum') for (const e of miss.entries) misses.set(keyString(e.key), e.value);
  let s = `PID      ${o.tid ? 'TID      ' : ''}NAME             CPU     REFERENCE         MISS    HIT%\n`;
  let totRef = 0n;
  let totMiss = 0n;
  if (ref && ref.kind === 'sum') {
    for (const e of ref.entries) {
      const m = misses.get(keyString(e.key)) ?? 0n;
      totRef += e.value;
      totMiss += m;
      // Sampling can count more misses than references for a key: bcc shows 0% then.
      const hit = e.value >= m ? e.value - m : 0n;
      const ids = e.key.slice(0, o.tid ? 2 : 1).map((x) => String(intOf(x)).padEnd(8)).join(' ');
      const cpu = intOf(e.key[o.tid ? 2 : 1]);
      const name = strOf(e.key[o.tid ? 3 : 2]);
      s += `${ids} ${name.padEnd(16)} ${String(cpu).padEnd(4)} ${String(e.value).padStart(12)} ${String(m).padStart(12)} ${((Number(hit) / Number(e.value)) * 100).toFixed(2).padStart(6)}%\n`;
    }
  }
  const rate = totRef > 0n ? ((Number(totRef - totMiss) / Number(totRef)) * 100).toFixed(2) : 'nan';
  return s + `Total References: ${totRef} Total Misses: ${totMiss} Hit Rate: ${rate}%\n`;
}

const mod: ToolModule<LlcstatOptions> = {
  description: 'Summarize last-level cache references and misses by process (hardware PMU events).',
  category: 'cpu',
  spec: {
    name: 'llcstat',
    summary: 'Summarize cache references and misses by PID',
    options: [
      { short: 'c', long: 'sample_period', dest: 'period', kind: 'int', metavar: 'SAMPLE_PERIOD', min: 1, help: 'Sample one in this many number of cache reference / miss events' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'flag', help: 'Summarize cache references and misses by PID/TID' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'duration', kind: 'int', min: 1, help: 'Duration, in seconds, to run' }],
    examples: ['llcstat              # summarize for 10 seconds', 'llcstat -c 1000 5    # sample every 1000th event, for 5 seconds', 'llcstat -t           # per thread'],
    notes: 'Follows bcc. On a machine without a CPU PMU (most virtual machines) it says so and exits.',
  },
  options(a: ParsedArgs): LlcstatOptions {
    return { samplePeriod: a.int('period') ?? 100, duration: a.int('duration') ?? 10, tid: a.flag('tid'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = llcstatProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    return runToolProgram({
      name: 'llcstat',
      program,
      banner: `Running for ${o.duration} seconds or hit Ctrl-C to end.\n`,
      duration: o.duration,
      report: (rt) => rt.print(llcstatReport(o, rt.map('@llc_ref'), rt.map('@llc_miss'))),
    });
  },
};

export const llcstat = mod;
export const tool = defineTool(mod);
