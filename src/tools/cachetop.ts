/**
 * cachetop: page cache hits, misses and dirties per process, every interval,
 * from the same kprobes as cachestat (needs kprobes); columns as bcc cachetop.
 * bcc draws a curses screen; this prints each screen in turn, as top's batch mode.
 */
import * as fs from 'node:fs';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { CountDeltas, type Delta } from './common/deltas';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { cacheProbes, cacheProgram, meminfoMB, NF_APCL, NF_APD, NF_MBD, NF_MPA } from './cachestat';
import { intOf, runToolProgram, strOf } from './common/script';

export interface CachetopOptions {
  pid?: number;
  interval: number;
  ebpf: boolean;
}

export const FIELDS = ['PID', 'UID', 'CMD', 'HITS', 'MISSES', 'DIRTIES', 'READ_HIT%', 'WRITE_HIT%'] as const;

/** Keys for some 16000 processes (the map stays cumulative, see CountDeltas; a full map's lost updates are reported at exit). */
const MAP_KEYS = 65536;

export const cachetopProgram = (o: CachetopOptions, p = cacheProbes('cachetop', true)): string =>
  `config = { max_map_keys = ${MAP_KEYS} }\n\n` + cacheProgram(p, o.pid !== undefined ? `pid == ${o.pid}` : '', (nf) => `@cachetop[pid, uid, comm, ${nf}]`);

export interface CachetopRow {
  pid: number;
  uid: number;
  comm: string;
  hits: number;
  misses: number;
  dirties: number;
  readHit: number;
  writeHit: number;
}

/** bcc cachetop's per-process figures: HITS = accesses + buffer dirties, MISSES = pages added + pages dirtied. */
export function cachetopRows(deltas: readonly Delta[]): CachetopRow[] {
  const byProc = new Map<string, { pid: number; uid: number; comm: string; c: number[] }>();
  for (const e of deltas) {
    const pid = Number(intOf(e.key[0]));
    const uid = Number(intOf(e.key[1]));
    const comm = strOf(e.key[2]);
    const k = `${pid}-${uid}-${comm}`;
    const p = byProc.get(k) ?? { pid, uid, comm, c: [0, 0, 0, 0] };
    p.c[Number(intOf(e.key[3]))] += Number(e.value);
    byProc.set(k, p);
  }
  return [...byProc.values()].map(({ pid, uid, comm, c }) => {
    const access = c[NF_MPA] + c[NF_MBD];
    const misses = c[NF_APCL] + c[NF_APD];
    const all = access + misses;
    return {
      pid, uid, comm, hits: access, misses, dirties: c[NF_MBD],
      readHit: c[NF_MPA] > 0 ? (100 * c[NF_MPA]) / all : 0, writeHit: c[NF_APCL] > 0 ? (100 * c[NF_APCL]) / all : 0,
    };
  });
}

/** User names by UID from /etc/passwd; bcc prints UNKNOWN(uid) for the others. */
function userNames(): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && /^\d+$/.test(f[2]) && !m.has(Number(f[2]))) m.set(Number(f[2]), f[0]);
    }
  } catch {
    // no passwd: every user is UNKNOWN(uid)
  }
  return m;
}

/** One screen: bcc's title line, the header, the rows sorted by HITS, descending. */
export function cachetopScreen(rows: CachetopRow[], mem: { buffers: number; cached: number }, now: Date, users = userNames()): string {
  let s = `${clockTime(now).padEnd(8)} Buffers MB: ${mem.buffers.toFixed(0)} / Cached MB: ${mem.cached.toFixed(0)} / Sort: HITS / Order: descending\n`;
  s += `${FIELDS.slice(0, 6).map((f, i) => f.padEnd(i === 2 ? 16 : 8)).join(' ')} ${'READ_HIT%'.padEnd(10)} ${'WRITE_HIT%'.padEnd(10)}\n`;
  // Sorted as bcc does: by key first (a stable order among equal HITS), then by HITS.
  const sorted = [...rows].sort((a, b) => (`${a.pid}-${a.uid}-${a.comm}` < `${b.pid}-${b.uid}-${b.comm}` ? -1 : 1)).sort((a, b) => b.hits - a.hits);
  for (const r of sorted) {
    const user = (users.get(r.uid) ?? `UNKNOWN(${r.uid})`).slice(0, 8);
    s += `${String(r.pid).padStart(8)} ${user.padEnd(8)} ${r.comm.padEnd(16)} ${String(r.hits).padStart(8)} ${String(r.misses).padStart(8)} ` +
      `${String(r.dirties).padStart(8)} ${r.readHit.toFixed(1).padStart(9)}% ${r.writeHit.toFixed(1).padStart(9)}%\n`;
  }
  return s;
}

const mod: ToolModule<CachetopOptions> = {
  description: 'Page cache hits, misses and read/write hit ratios per process, top-like; needs kprobes.',
  category: 'memory',
  spec: {
    name: 'cachetop',
    summary: 'Show Linux page cache hit/miss statistics including read and write hit % per processes in a UI like top.',
    options: [{ short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' }, EBPF_OPTION],
    positionals: [{ name: 'interval', kind: 'int', min: 1, help: 'Interval between probes.' }],
    examples: ['cachetop            # refresh every 5 seconds', 'cachetop 1          # refresh every second', 'cachetop -p 181     # only PID 181'],
    notes: 'Follows bcc (the probes of cachestat, counted per PID, UID and command); bcc draws a curses screen with\n' +
      'keys to change the sort, this prints one screen per interval, sorted by HITS, descending. libbpf-tools has no cachetop.',
  },
  options(a: ParsedArgs): CachetopOptions {
    return { pid: a.int('pid'), interval: a.int('interval') ?? 5, ebpf: a.flag('ebpf') };
  },
  main(o) {
    if (!o.ebpf && !hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'cachetop needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    const program = cachetopProgram(o, cacheProbes('cachetop', o.ebpf));
    if (o.ebpf) return Promise.resolve(printProgram(program));
    // the map stays cumulative: each screen shows what each process gained (clearing would lose the counts made meanwhile)
    const deltas = new CountDeltas();
    return runToolProgram({
      name: 'cachetop',
      program,
      interval: o.interval,
      report: (rt, final) => {
        rt.print(cachetopScreen(cachetopRows(deltas.next(rt.map('@cachetop'))), meminfoMB(), new Date()) + '\n');
        if (final) rt.print('Detaching...\n');
      },
    });
  },
};

export const cachetop = mod;
export const tool = defineTool(mod);
