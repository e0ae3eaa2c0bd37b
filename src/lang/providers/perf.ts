/**
 * Perf-event providers: timers (interval, profile), software and hardware
 * counters. Their programs run on a perf event; the context is struct
 * bpf_perf_event_data (pt_regs of the interrupted code first), so registers
 * are readable but there are no function arguments.
 */
import type { AttachPoint } from '../ast';
import type { AttachSpec } from '../artifact';
import { PerfType, SwEvent, HwEvent } from '../../sys/perf';
import { attachPerfEvent } from '../../ebpf/attach';
import { baseCtx, err, hintNames, parseCount, provider, type Attacher, type ListRequest } from './provider';

const timeUnits: Record<string, number> = { s: 1e9, ms: 1e6, us: 1e3, ns: 1 };

/** Event name → [config, default period]; a string value is an alias of the event it names. */
type PerfEventTable = Record<string, [number, number] | string>;

const swEvents: PerfEventTable = {
  'cpu-clock': [SwEvent.CPU_CLOCK, 1000000], cpu: 'cpu-clock',
  'task-clock': [SwEvent.TASK_CLOCK, 1000000],
  'page-faults': [SwEvent.PAGE_FAULTS, 100], faults: 'page-faults',
  'context-switches': [SwEvent.CONTEXT_SWITCHES, 1000], cs: 'context-switches',
  'cpu-migrations': [SwEvent.CPU_MIGRATIONS, 1], 'minor-faults': [SwEvent.PAGE_FAULTS_MIN, 100],
  'major-faults': [SwEvent.PAGE_FAULTS_MAJ, 1], 'alignment-faults': [SwEvent.ALIGNMENT_FAULTS, 1],
  'emulation-faults': [SwEvent.EMULATION_FAULTS, 1], dummy: [SwEvent.DUMMY, 1], 'bpf-output': [SwEvent.BPF_OUTPUT, 1],
};

const hwEvents: PerfEventTable = {
  'cpu-cycles': [HwEvent.CPU_CYCLES, 1000000], cycles: 'cpu-cycles',
  instructions: [HwEvent.INSTRUCTIONS, 1000000], 'cache-references': [HwEvent.CACHE_REFERENCES, 1000000],
  'cache-misses': [HwEvent.CACHE_MISSES, 1000000], 'branch-instructions': [HwEvent.BRANCH_INSTRUCTIONS, 100000],
  branches: 'branch-instructions', 'branch-misses': [HwEvent.BRANCH_MISSES, 100000],
  'bus-cycles': [HwEvent.BUS_CYCLES, 100000], 'frontend-stalls': [HwEvent.STALLED_CYCLES_FRONTEND, 1000000],
  'backend-stalls': [HwEvent.STALLED_CYCLES_BACKEND, 1000000], 'ref-cycles': [HwEvent.REF_CPU_CYCLES, 1000000],
};

/** Every perf event attaches the same way: on each CPU, or on one for `interval`. */
const attachPerf: Attacher<'perf'> = (prog, s, ctx) => {
  const pid = s.pidOfCommand ? ctx.commandPid : s.pid;
  if (s.pidOfCommand && pid === undefined) throw new Error('no -c command is running to attach to');
  return [attachPerfEvent(prog, {
    type: s.type, config: BigInt(s.config), frequency: s.frequency, samplePeriod: s.period !== undefined ? BigInt(s.period) : undefined,
    // a watchpoint on a process counts that process's own accesses, not the kernel's (zeroing .bss at exec, read(2) copies)
    pid, breakpoint: s.breakpoint, userOnly: s.breakpoint !== undefined,
  })];
};

function perfProvider(name: string, aliases: string[], table: PerfEventTable, type: number) {
  return provider({
    name,
    aliases,
    listing: 'default',
    // aliases too (software:cpu:), as bpftrace lists them
    list: (req: ListRequest) => Object.keys(table).sort().map((ev) => `${name}:${ev}:`).filter((n) => req.matches(n)),
    attach: { perf: attachPerf },
    expand(ap: AttachPoint) {
      const [ev, cnt] = ap.parts;
      const entry = ev === undefined ? undefined : table[ev];
      const e = typeof entry === 'string' ? table[entry] as [number, number] : entry;
      if (!e) {
        throw err(ap, `${name}: unknown event '${ev ?? ''}'`, hintNames(ev ?? '', Object.keys(table)));
      }
      const period = cnt === undefined ? e[1] : parseCount(ap, cnt, 'count');
      const full = `${name}:${ev}:${period}`;
      return [{ spec: { kind: 'perf', type, config: e[0], period, allCpus: true }, ctx: { ...baseCtx(name, 'perf_event', full), regs: true }, name: full }];
    },
  });
}

export const softwareProvider = perfProvider('software', ['s'], swEvents, PerfType.SOFTWARE);
export const hardwareProvider = perfProvider('hardware', ['h'], hwEvents, PerfType.HARDWARE);



/** `interval:1s`, `profile:10ms` (bpftrace 0.24, P26-P27): one part with a unit suffix reads as `unit:count`. */
function unitSuffixed(parts: readonly string[]): string[] {
  const m = parts.length === 1 ? /^(\d+)(us|ms|s|hz)$/.exec(parts[0]) : null;
  return m ? [m[2], m[1]] : [...parts];
}

/** `-l 'interval:*'`: the units a timer is written in (`interval:hz:`, ...), listed only when the provider is named. */
function listUnits(name: string) {
  return (req: ListRequest) => ['hz', 'ms', 's', 'us'].map((u) => `${name}:${u}:`).filter((n) => req.matches(n));
}

export const intervalProvider = provider({
  name: 'interval',
  aliases: ['i'],
  listing: 'explicit',
  list: listUnits('interval'),
  // one timer on one CPU: the program runs once per period, not once per CPU
  attach: {
    interval: (prog, s) => [attachPerfEvent(prog, { type: PerfType.SOFTWARE, config: BigInt(SwEvent.CPU_CLOCK), samplePeriod: BigInt(s.periodNs), cpus: [0] })],
  },
  expand(ap) {
    let [unit, n] = unitSuffixed(ap.parts);
    if (n === undefined && unit !== undefined) [unit, n] = ['ms', unit];
    let periodNs: number;
    if (unit === 'hz') periodNs = Math.round(1e9 / parseCount(ap, n, 'frequency'));
    else if (unit !== undefined && timeUnits[unit] !== undefined && unit !== 'ns') periodNs = parseCount(ap, n, 'period') * timeUnits[unit];
    else throw err(ap, `interval: unknown unit '${unit ?? ''}' (use s, ms, us or hz)`);
    if (periodNs > 2 ** 63) throw err(ap, `interval: the period is too long (at most 2^63 ns, about 292 years)`);
    const full = `interval:${unit}:${n}`;
    return [{ spec: { kind: 'interval', periodNs }, ctx: { ...baseCtx('interval', 'perf_event', full), regs: true }, name: full }];
  },
});

export const profileProvider = provider({
  name: 'profile',
  aliases: ['p'],
  listing: 'explicit',
  list: listUnits('profile'),
  attach: { perf: attachPerf },
  expand(ap) {
    const [unit, n] = unitSuffixed(ap.parts);
    let spec: AttachSpec;
    if (unit === 'hz') spec = { kind: 'perf', type: PerfType.SOFTWARE, config: SwEvent.CPU_CLOCK, frequency: parseCount(ap, n, 'frequency'), allCpus: true };
    else if (unit !== undefined && timeUnits[unit] !== undefined && unit !== 'ns') {
      spec = { kind: 'perf', type: PerfType.SOFTWARE, config: SwEvent.CPU_CLOCK, period: parseCount(ap, n, 'period') * timeUnits[unit], allCpus: true };
    } else throw err(ap, `profile: unknown unit '${unit ?? ''}' (use hz, s, ms or us)`);
    const full = `profile:${unit}:${n}`;
    return [{ spec, ctx: { ...baseCtx('profile', 'perf_event', full), regs: true }, name: full }];
  },
});

/** HW_BREAKPOINT_R / _W / _X (include/uapi/linux/hw_breakpoint.h). */
const BP_MODE: Record<string, number> = { r: 1, w: 2, x: 4 };

/**
 * `watchpoint:ADDR:LEN:MODE` (bpftrace): a hardware breakpoint on LEN bytes
 * (1, 2, 4 or 8) at ADDR in the process given with -p (or the -c command,
 * started stopped and resumed once attached); MODE is r, w, x or a
 * combination (rw). The program runs on the access, with the accessing
 * code's registers as context.
 */
export const watchpointProvider = provider({
  name: 'watchpoint',
  aliases: [],
  attach: { perf: attachPerf },
  expand(ap, opts) {
    const [addrText, lenText, modeText] = ap.parts;
    if (ap.parts.length !== 3) throw err(ap, 'watchpoint needs an address, a length and a mode: watchpoint:ADDR:LEN:MODE (e.g. watchpoint:0x10000000:8:rw)');
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(addrText)) throw err(ap, `watchpoint: the address must be a number, got '${addrText}'`);
    const address = Number(addrText);
    if (!Number.isSafeInteger(address) || address === 0) throw err(ap, `watchpoint: address ${addrText} is out of range`);
    const length = Number(lenText);
    if (![1, 2, 4, 8].includes(length) || !/^\d+$/.test(lenText)) throw err(ap, `watchpoint: the length must be 1, 2, 4 or 8 bytes, got '${lenText}'`);
    if (address % length !== 0) throw err(ap, `watchpoint: address ${addrText} is not aligned to its length ${length}`);
    let mode = 0;
    for (const c of modeText ?? '') {
      const bit = BP_MODE[c];
      if (bit === undefined || mode & bit) throw err(ap, `watchpoint: the mode is r, w, x or a combination such as rw, got '${modeText ?? ''}'`);
      mode |= bit;
    }
    if (mode === 0) throw err(ap, 'watchpoint: the mode is r, w, x or a combination such as rw');
    if (mode & BP_MODE.x && mode !== BP_MODE.x) throw err(ap, 'watchpoint: x (execute) cannot be combined with r or w');
    // x86 debug registers trigger on writes or on reads-or-writes, never on reads alone
    if (mode === BP_MODE.r && opts.target.arch.name === 'x86_64') throw err(ap, 'watchpoint: x86-64 cannot watch reads alone: use rw');
    if (opts.pid === undefined && !opts.command) throw err(ap, 'watchpoint needs -p PID or -c CMD: the address is in that process');
    const full = `watchpoint:0x${address.toString(16)}:${length}:${modeText}`;
    return [{
      spec: {
        kind: 'perf', type: PerfType.BREAKPOINT, config: 0, period: 1, allCpus: false, breakpoint: { address, length, mode },
        ...(opts.pid !== undefined ? { pid: opts.pid } : { pidOfCommand: true }),
      },
      ctx: { ...baseCtx('watchpoint', 'perf_event', full), regs: true },
      name: full,
    }];
  },
});

/** The perf-event providers, in the order `tsbpf -l` lists them (a new one is added here). */
export const PERF_PROVIDERS = [softwareProvider, hardwareProvider, intervalProvider, profileProvider, watchpointProvider] as const;
