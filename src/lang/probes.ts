/**
 * Probe providers: how an attach point as written (`t:syscalls:sys_enter_*`,
 * `uprobe:/bin/bash:readline`, `interval:s:1`) becomes kernel attach specs, a
 * program type, and what the probe body can read from its context.
 *
 * One table entry per provider; aliases map onto it. Anything that depends on
 * the running system (tracefs, ELF files, kallsyms) is looked up here at
 * compile time, so the artifact is plain data.
 */
import * as fs from 'node:fs';
import type { AttachPoint, Span } from './ast';
import type { AttachSpec, ProgramType } from './artifact';
import { CompileError, nearestNames } from './diagnostics';
import { UnknownTracepointError, globToRegExp, type TracepointField, type TracepointFormat } from '../sys/tracefs';
import { PerfType, SwEvent, HwEvent } from '../sys/perf';
import type { KernelBtf, Target } from '../target/target';
import { ElfFile, isGlob } from '../ebpf/elf';
import { tracepointAlternative } from './kernel-alternatives';
import { resolveLibrary } from '../ebpf/ldcache';
import { readMaps } from '../ebpf/symbolize';
import { findUsdtProbes, readUsdtProbes, type UsdtArg } from '../ebpf/usdt';

/** What a probe body can read from its context register. */
export interface ProbeContext {
  /** Canonical provider name ('tracepoint', 'kprobe', ...). */
  provider: string;
  progType: ProgramType;
  /** Tracepoint record layout (`args`). */
  tracepoint?: TracepointFormat;
  /** ctx is (or starts with) struct pt_regs: arg0..argN, retval, func via registers. */
  regs: boolean;
  /** ctx is an array of u64 arguments (raw tracepoints, BEGIN/END). */
  u64Args: boolean;
  /** BEGIN/END: run once from user space (BPF_PROG_TEST_RUN by the tracer), not on a kernel event. */
  fromUserSpace?: boolean;
  retprobe: boolean;
  /** User-space probe (uprobe/usdt): func is a user symbol, pointers are user memory. */
  user: boolean;
  /** USDT argument locations, arg0..argN. */
  usdtArgs?: UsdtArg[];
  /** One program serves several k/uprobe points: `probe` is the attach cookie (each point's probe name index). */
  probeFromCookie?: boolean;
  /** fentry/fexit: parameters that point to kernel structs → the struct's BTF type id (for `args.file->f_flags`). */
  btfArgs?: Record<string, number>;
  /** fexit: byte offset of the return value in the context (after the parameters). */
  retvalOffset?: number;
  /** Link-time address of the USDT probe site (for %rip-relative arguments: load bias = runtime address − this). */
  usdtAddress?: number;
  /** For `func` in uprobes: the symbol name known at compile time. */
  funcName?: string;
  /** `probe` name this instance stands for (first attach point when shared). */
  probeName: string;
  /** When true, `probe`/`args` differ per attach point so every point gets its own program. */
  perPoint: boolean;
  /**
   * Set when this instance serves many `syscalls:sys_{enter,exit}_*` points
   * from one `raw_syscalls` program: `nrs[i]` is the syscall number of the
   * instance's i-th probe name. The program looks the id up and exits early
   * for syscalls not selected; `probe` comes from the lookup.
   */
  syscalls?: { nrs: number[] };
}

/** One expanded attach point. */
export interface ExpandedPoint {
  spec: AttachSpec;
  ctx: ProbeContext;
  /** Canonical full name for the `probe` builtin. */
  name: string;
}

interface ProviderDef {
  name: string;
  aliases: string[];
  expand(ap: AttachPoint, opts: ProviderOptions): ExpandedPoint[];
}

export interface ProviderOptions {
  pid?: number;
  /** The kernel compiled for: tracepoints, kernel functions, BTF. */
  target: Target;
}

function err(ap: AttachPoint, msg: string, notes: string[] = []): CompileError {
  return new CompileError(msg, ap.span, null, notes);
}

function baseCtx(provider: string, progType: ProgramType, name: string): ProbeContext {
  return { provider, progType, regs: false, u64Args: false, retprobe: false, user: false, probeName: name, perPoint: false };
}

function parseCount(ap: AttachPoint, s: string | undefined, what: string): number {
  if (s === undefined || !/^\d+$/.test(s.replace(/_/g, '')) || Number(s.replace(/_/g, '')) <= 0) {
    throw err(ap, `${ap.provider}: ${what} must be a positive integer, got '${s ?? ''}'`);
  }
  return Number(s.replace(/_/g, ''));
}

const timeUnits: Record<string, number> = { s: 1e9, ms: 1e6, us: 1e3, ns: 1 };

const swEvents: Record<string, [number, number]> = {
  'cpu-clock': [SwEvent.CPU_CLOCK, 1000000], cpu: [SwEvent.CPU_CLOCK, 1000000],
  'task-clock': [SwEvent.TASK_CLOCK, 1000000],
  'page-faults': [SwEvent.PAGE_FAULTS, 100], faults: [SwEvent.PAGE_FAULTS, 100],
  'context-switches': [SwEvent.CONTEXT_SWITCHES, 1000], cs: [SwEvent.CONTEXT_SWITCHES, 1000],
  'cpu-migrations': [SwEvent.CPU_MIGRATIONS, 1], 'minor-faults': [SwEvent.PAGE_FAULTS_MIN, 100],
  'major-faults': [SwEvent.PAGE_FAULTS_MAJ, 1], 'alignment-faults': [SwEvent.ALIGNMENT_FAULTS, 1],
  'emulation-faults': [SwEvent.EMULATION_FAULTS, 1], dummy: [SwEvent.DUMMY, 1], 'bpf-output': [SwEvent.BPF_OUTPUT, 1],
};

const hwEvents: Record<string, [number, number]> = {
  'cpu-cycles': [HwEvent.CPU_CYCLES, 1000000], cycles: [HwEvent.CPU_CYCLES, 1000000],
  instructions: [HwEvent.INSTRUCTIONS, 1000000], 'cache-references': [HwEvent.CACHE_REFERENCES, 1000000],
  'cache-misses': [HwEvent.CACHE_MISSES, 1000000], 'branch-instructions': [HwEvent.BRANCH_INSTRUCTIONS, 100000],
  branches: [HwEvent.BRANCH_INSTRUCTIONS, 100000], 'branch-misses': [HwEvent.BRANCH_MISSES, 100000],
  'bus-cycles': [HwEvent.BUS_CYCLES, 100000], 'frontend-stalls': [HwEvent.STALLED_CYCLES_FRONTEND, 1000000],
  'backend-stalls': [HwEvent.STALLED_CYCLES_BACKEND, 1000000], 'ref-cycles': [HwEvent.REF_CPU_CYCLES, 1000000],
};

function perfProvider(name: string, aliases: string[], table: Record<string, [number, number]>, type: number): ProviderDef {
  return {
    name,
    aliases,
    expand(ap) {
      const [ev, cnt] = ap.parts;
      const e = ev === undefined ? undefined : table[ev];
      if (!e) {
        throw err(ap, `${name}: unknown event '${ev ?? ''}'`, hintNames(ev ?? '', Object.keys(table)));
      }
      const period = cnt === undefined ? e[1] : parseCount(ap, cnt, 'count');
      const full = `${name}:${ev}:${period}`;
      return [{ spec: { kind: 'perf', type, config: e[0], period, allCpus: true }, ctx: { ...baseCtx(name, 'perf_event', full), regs: true }, name: full }];
    },
  };
}

function hintNames(name: string, candidates: Iterable<string>): string[] {
  const near = nearestNames(name, candidates);
  return near.length ? [`HINT: did you mean ${near.join(', ')}?`] : [];
}

// ---- tracepoints -------------------------------------------------------------

const tracepointProvider: ProviderDef = {
  name: 'tracepoint',
  aliases: ['t'],
  expand(ap, { target }) {
    if (ap.parts.length !== 2) throw err(ap, `tracepoint needs category and event: tracepoint:CATEGORY:EVENT`);
    const [cat, ev] = ap.parts;
    let names: { category: string; event: string }[];
    if (isGlob(cat) || isGlob(ev)) {
      names = target.tracepoints(cat, ev);
      if (!names.length) throw err(ap, `no tracepoints match '${cat}:${ev}'`);
    } else {
      names = [{ category: cat, event: ev }];
    }
    return names.map(({ category, event }) => {
      let fmt: TracepointFormat;
      try {
        fmt = target.tracepointFormat(category, event);
      } catch (e) {
        if (e instanceof UnknownTracepointError) {
          let cands: string[] = [];
          let what = `tracepoint not found: ${category}:${event}`;
          try {
            if (target.tracepointCategories().includes(category)) cands = target.tracepoints(category, '*').map((t) => t.event);
            else {
              cands = [...target.tracepointCategories()];
              what = `unknown tracepoint category: ${category}`;
              return unreachable(err(ap, what, hintNames(category, cands)));
            }
          } catch (inner) {
            if (inner instanceof CompileError) throw inner;
          }
          throw err(ap, what, hintNames(event, cands));
        }
        throw err(ap, `cannot read tracepoint ${category}:${event}: ${(e as Error).message}`);
      }
      const full = `tracepoint:${category}:${event}`;
      return {
        spec: { kind: 'tracepoint', category, event },
        ctx: { ...baseCtx('tracepoint', 'tracepoint', full), tracepoint: fmt, user: category === 'syscalls' },
        name: full,
      };
    });
  },
};

function unreachable(e: Error): never {
  throw e;
}

const rawTracepointProvider: ProviderDef = {
  name: 'rawtracepoint',
  aliases: ['rt'],
  expand(ap) {
    const event = ap.parts[ap.parts.length - 1];
    if (!event) throw err(ap, 'rawtracepoint needs an event name: rawtracepoint:EVENT');
    const full = `rawtracepoint:${event}`;
    return [{ spec: { kind: 'raw_tracepoint', event }, ctx: { ...baseCtx('rawtracepoint', 'raw_tracepoint', full), u64Args: true }, name: full }];
  },
};

// ---- timers ---------------------------------------------------------------------

const intervalProvider: ProviderDef = {
  name: 'interval',
  aliases: ['i'],
  expand(ap) {
    let [unit, n] = ap.parts;
    if (n === undefined && unit !== undefined) [unit, n] = ['ms', unit];
    let periodNs: number;
    if (unit === 'hz') periodNs = Math.round(1e9 / parseCount(ap, n, 'frequency'));
    else if (unit !== undefined && timeUnits[unit] !== undefined && unit !== 'ns') periodNs = parseCount(ap, n, 'period') * timeUnits[unit];
    else throw err(ap, `interval: unknown unit '${unit ?? ''}' (use s, ms, us or hz)`);
    const full = `interval:${unit}:${n}`;
    return [{ spec: { kind: 'interval', periodNs }, ctx: { ...baseCtx('interval', 'perf_event', full), regs: true }, name: full }];
  },
};

const profileProvider: ProviderDef = {
  name: 'profile',
  aliases: ['p'],
  expand(ap) {
    const [unit, n] = ap.parts;
    let spec: AttachSpec;
    if (unit === 'hz') spec = { kind: 'perf', type: PerfType.SOFTWARE, config: SwEvent.CPU_CLOCK, frequency: parseCount(ap, n, 'frequency'), allCpus: true };
    else if (unit !== undefined && timeUnits[unit] !== undefined && unit !== 'ns') {
      spec = { kind: 'perf', type: PerfType.SOFTWARE, config: SwEvent.CPU_CLOCK, period: parseCount(ap, n, 'period') * timeUnits[unit], allCpus: true };
    } else throw err(ap, `profile: unknown unit '${unit ?? ''}' (use hz, s, ms or us)`);
    const full = `profile:${unit}:${n}`;
    return [{ spec, ctx: { ...baseCtx('profile', 'perf_event', full), regs: true }, name: full }];
  },
};

// ---- kprobes ----------------------------------------------------------------------

function kprobeProvider(name: string, aliases: string[], retprobe: boolean): ProviderDef {
  return {
    name,
    aliases,
    expand(ap, { target: kernel }) {
      let module: string | undefined;
      let target = ap.parts[ap.parts.length - 1] ?? '';
      if (ap.parts.length === 2) module = ap.parts[0];
      else if (ap.parts.length > 2 || !target) throw err(ap, `${name} needs a function: ${name}:FUNC or ${name}:MODULE:FUNC`);
      let offset = 0;
      const plus = /^(.*)\+(0x[0-9a-f]+|\d+)$/i.exec(target);
      if (plus) {
        if (retprobe) throw err(ap, `${name} does not take an offset`);
        target = plus[1];
        offset = Number(plus[2]);
      }
      const funcs = isGlob(target) ? kernel.kprobeFunctions().filter((f) => globToRegExp(target).test(f)) : [target];
      if (!funcs.length) throw err(ap, `no kernel functions match '${target}'`);
      return funcs.map((func) => {
        const full = `${name}:${module ? `${module}:` : ''}${func}${offset ? `+${offset}` : ''}`;
        const spec: AttachSpec = { kind: 'kprobe', func, offset, retprobe };
        if (module) spec.module = module;
        if (funcs.length === 1) spec.alternative = tracepointAlternative(func, retprobe);
        return { spec, ctx: { ...baseCtx(name, 'kprobe', full), regs: true, retprobe, funcName: func }, name: full };
      });
    },
  };
}

// ---- uprobes ---------------------------------------------------------------------

/**
 * Resolves the binary of a uprobe/usdt target: a path, a library short name
 * (`libc`, via the linker cache or — with a pid — what that process mapped),
 * or a program name on PATH. With a pid, paths are looked up through
 * /proc/PID/root, so a process in a container is probed in its own files.
 */
export function resolveBinary(target: string, pid?: number): string | undefined {
  const inRoot = (p: string): string => {
    if (pid === undefined || !p.startsWith('/')) return p;
    const r = `/proc/${pid}/root${p}`;
    return fs.existsSync(r) ? r : p;
  };
  if (target.includes('/')) {
    const p = inRoot(target);
    return fs.existsSync(p) ? p : undefined;
  }
  if (pid !== undefined) {
    // the process's own executable by name
    try {
      const exe = fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
      if (exe.split('/').pop() === target) return inRoot(exe);
    } catch {
      // gone or not ours: fall back to system-wide lookups
    }
  }
  try {
    return inRoot(resolveLibrary(target, pid));
  } catch {
    // not a library
  }
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = `${dir}/${target}`;
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Files a process has mapped executable (its binary and shared libraries), through /proc/PID/root. */
export function processObjects(pid: number): string[] {
  const out = new Set<string>();
  for (const m of readMaps(pid)) {
    const p = m.path.replace(/ \(deleted\)$/, '');
    if (p.startsWith('/') && m.perms.includes('x')) out.add(p);
  }
  return [...out].map((p) => (fs.existsSync(`/proc/${pid}/root${p}`) ? `/proc/${pid}/root${p}` : p));
}

/** The path as the user knows it (without the /proc/PID/root prefix), for probe names. */
function shownPath(p: string): string {
  return p.replace(/^\/proc\/\d+\/root(?=\/)/, '');
}

function uprobeProvider(name: string, aliases: string[], retprobe: boolean): ProviderDef {
  return {
    name,
    aliases,
    expand(ap, opts) {
      if (ap.parts.length < 2) throw err(ap, `${name} needs a binary and a function: ${name}:/path:FUNC`);
      const binArg = ap.parts.slice(0, -1).join(':');
      let target = ap.parts[ap.parts.length - 1];
      const path = resolveBinary(binArg, opts.pid);
      if (!path) throw err(ap, `${name}: cannot find binary or library '${binArg}'${opts.pid !== undefined ? ` (also looked in process ${opts.pid})` : ''}`);
      let elf: ElfFile;
      try {
        elf = ElfFile.open(path);
      } catch (e) {
        throw err(ap, `${name}: cannot read ELF file ${path}: ${(e as Error).message}`);
      }
      const out: ExpandedPoint[] = [];
      const mk = (offset: number, symbol: string | undefined, shown: string): ExpandedPoint => {
        const full = `${name}:${shownPath(path)}:${shown}`;
        const spec: AttachSpec = { kind: 'uprobe', path, offset, retprobe };
        if (symbol) spec.symbol = symbol;
        if (opts.pid !== undefined) spec.pid = opts.pid;
        return { spec, ctx: { ...baseCtx(name, 'kprobe', full), regs: true, retprobe, user: true, funcName: symbol ?? shown }, name: full };
      };
      if (/^0x[0-9a-f]+$/i.test(target) || /^\d+$/.test(target)) {
        const addr = Number(target);
        const off = elf.vaddrToFileOffset(addr);
        if (off === undefined) throw err(ap, `${name}: address ${target} is not in a loaded segment of ${path}`);
        out.push(mk(off, undefined, target));
        return out;
      }
      let extra = 0;
      const plus = /^(.*)\+(0x[0-9a-f]+|\d+)$/i.exec(target);
      if (plus) {
        if (retprobe) throw err(ap, `${name} does not take an offset`);
        target = plus[1];
        extra = Number(plus[2]);
      }
      if (isGlob(target)) {
        const syms = elf.findSymbols(target, { functionsOnly: true });
        if (!syms.length) throw err(ap, `no functions in ${path} match '${target}'`);
        const seen = new Set<string>();
        for (const s of syms) {
          if (seen.has(s.name)) continue;
          seen.add(s.name);
          out.push(mk(elf.symbolFileOffset(s.name) + extra, s.name, s.name));
        }
        return out;
      }
      let off: number;
      try {
        off = elf.symbolFileOffset(target);
      } catch {
        const names = elf.findSymbols('*', { functionsOnly: true }).map((s) => s.name);
        throw err(ap, `${name}: function '${target}' not found in ${path}`, hintNames(target, names));
      }
      out.push(mk(off + extra, target, extra ? `${target}+${extra}` : target));
      return out;
    },
  };
}

const usdtProvider: ProviderDef = {
  name: 'usdt',
  aliases: ['U'],
  expand(ap, opts) {
    const pid = opts.pid;
    // With -p the binary may be omitted or '*': every object the process has mapped.
    const anyObject = ap.parts.length === 1 || ap.parts[0] === '*' || ap.parts[0] === '';
    if (ap.parts.length < 1 || ap.parts.length > 3 || (anyObject && pid === undefined)) {
      throw err(ap, `usdt needs a binary and a probe: usdt:/path:[provider:]name${anyObject ? ' (usdt:*:name needs -p PID)' : ''}`);
    }
    let paths: string[];
    if (anyObject) {
      try {
        paths = processObjects(pid as number);
      } catch (e) {
        throw err(ap, `usdt: cannot read the mappings of process ${pid}: ${(e as Error).message}`);
      }
    } else {
      const path = resolveBinary(ap.parts[0], pid);
      if (!path) throw err(ap, `usdt: cannot find binary '${ap.parts[0]}'`);
      paths = [path];
    }
    const rest = anyObject && ap.parts.length !== 3 ? ap.parts.slice(-1) : ap.parts.slice(1);
    const provider = rest.length === 2 ? rest[0] : '*';
    const pname = rest[rest.length - 1];
    const out: ExpandedPoint[] = [];
    const known: string[] = [];
    for (const path of paths) {
      let probes;
      try {
        probes = findUsdtProbes(path, provider, pname);
      } catch (e) {
        if (anyObject) continue;
        throw err(ap, `usdt: cannot read probes of ${path}: ${(e as Error).message}`);
      }
      if (!probes.length) {
        try {
          known.push(...readUsdtProbes(path).map((p) => `${p.provider}:${p.name}`));
        } catch {
          // no notes
        }
      }
      for (const p of probes) {
        if (!p.args) throw err(ap, `usdt: cannot parse the arguments of ${p.provider}:${p.name}: ${p.argError ?? ''}`);
        const full = `usdt:${shownPath(path)}:${p.provider}:${p.name}`;
        const spec: AttachSpec = { kind: 'uprobe', path, offset: p.fileOffset, retprobe: false };
        if (p.semaphoreOffset) spec.refCtrOffset = p.semaphoreOffset;
        if (pid !== undefined) spec.pid = pid;
        // Different probe sites place arguments differently: one program each.
        out.push({ spec, ctx: { ...baseCtx('usdt', 'kprobe', full), regs: true, user: true, usdtArgs: p.args, usdtAddress: p.address, perPoint: true }, name: full });
      }
    }
    if (!out.length) {
      const where = anyObject ? `process ${pid}` : shownPath(paths[0]);
      throw err(ap, `usdt probe not found: ${provider}:${pname} in ${where}`, hintNames(`${provider}:${pname}`, known));
    }
    return out;
  },
};

/**
 * fentry/fexit `args`: the traced function's parameters from kernel BTF, laid
 * out as a record of u64 slots (the tracing program's context), so `args.NAME`
 * uses the same field machinery as tracepoints. fexit's return value follows
 * the parameters.
 */
function btfArgs(target: Target, func: string): { format: TracepointFormat; structArgs: Record<string, number>; retOffset: number; retSigned: boolean } | string {
  let btf: KernelBtf;
  try {
    btf = target.btf();
  } catch (e) {
    return (e as Error).message;
  }
  const id = btf.find(func, 'func');
  if (id === undefined) return `kernel function '${func}' is not in the kernel's BTF (/sys/kernel/btf/vmlinux)`;
  const { returnType, params } = btf.funcParams(id);
  const field = (name: string, typeId: number, i: number): TracepointField => {
    const rid = btf.resolve(typeId);
    const t = btf.type(rid);
    const size = t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64' ? btf.sizeOf(rid) : 8;
    const signed = (t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64') && t.signed;
    return { name, type: btf.typeName(typeId), offset: 8 * i, size: [1, 2, 4, 8].includes(size) ? size : 8, signed, dataLoc: false };
  };
  const fields = params.filter((p) => p.type !== 0).map((p, i) => field(p.name || `arg${i}`, p.type, i));
  const structArgs: Record<string, number> = {};
  params.filter((p) => p.type !== 0).forEach((p, i) => {
    const t = btf.type(btf.resolve(p.type));
    if (t.kind !== 'ptr') return;
    const target = btf.resolve(t.type);
    const k = btf.kind(target);
    if (k === 'struct' || k === 'union') structArgs[p.name || `arg${i}`] = target;
  });
  const ret = returnType ? btf.type(btf.resolve(returnType)) : undefined;
  const format: TracepointFormat = { category: 'btf', event: func, id: 0, commonFields: [], fields, printFmt: '' };
  return { format, structArgs, retOffset: 8 * fields.length, retSigned: ret !== undefined && (ret.kind === 'int' || ret.kind === 'enum') && ret.signed };
}

function fentryProvider(name: string, aliases: string[], exit: boolean): ProviderDef {
  return {
    name,
    aliases,
    expand(ap, { target }) {
      const func = ap.parts[ap.parts.length - 1];
      if (!func) throw err(ap, `${name} needs a function: ${name}:FUNC`);
      if (isGlob(func)) throw err(ap, `${name}: wildcards are not supported yet; name one function`);
      const full = `${name}:${func}`;
      const a = btfArgs(target, func);
      if (typeof a === 'string') throw err(ap, `${name}: ${a}`);
      return [{
        spec: { kind: exit ? 'fexit' : 'fentry', func, alternative: tracepointAlternative(func, exit) },
        ctx: {
          ...baseCtx(name, 'tracing', full), u64Args: true, retprobe: exit, funcName: func, perPoint: true,
          tracepoint: a.format, btfArgs: a.structArgs, retvalOffset: exit ? a.retOffset : undefined,
        },
        name: full,
      }];
    },
  };
}

const beginEnd = (which: 'BEGIN' | 'END'): ProviderDef => ({
  name: which,
  aliases: [],
  expand() {
    return [{ spec: { kind: which === 'BEGIN' ? 'begin' : 'end' }, ctx: { ...baseCtx(which, 'raw_tracepoint', which), u64Args: true, fromUserSpace: true }, name: which }];
  },
});

/** The provider table. */
export const PROVIDERS: readonly ProviderDef[] = [
  beginEnd('BEGIN'),
  beginEnd('END'),
  tracepointProvider,
  rawTracepointProvider,
  intervalProvider,
  profileProvider,
  perfProvider('software', ['s'], swEvents, PerfType.SOFTWARE),
  perfProvider('hardware', ['h'], hwEvents, PerfType.HARDWARE),
  kprobeProvider('kprobe', ['k'], false),
  kprobeProvider('kretprobe', ['kr'], true),
  uprobeProvider('uprobe', ['u'], false),
  uprobeProvider('uretprobe', ['ur'], true),
  usdtProvider,
  fentryProvider('fentry', ['f', 'kfunc'], false),
  fentryProvider('fexit', ['fr', 'kretfunc'], true),
];

const byName = new Map<string, ProviderDef>();
for (const p of PROVIDERS) {
  byName.set(p.name, p);
  for (const a of p.aliases) byName.set(a, p);
}

/** Expands one attach point; throws CompileError (with the point's span) for unknown providers or targets. */
export function expandAttachPoint(ap: AttachPoint, opts: ProviderOptions): ExpandedPoint[] {
  const p = byName.get(ap.provider);
  if (!p) throw err(ap, `unknown probe type '${ap.provider}'`, hintNames(ap.provider, byName.keys()));
  try {
    return p.expand(ap, opts);
  } catch (e) {
    if (e instanceof CompileError) throw e;
    throw err(ap, `${ap.raw}: ${(e as Error).message}`);
  }
}

/** Canonical provider name for an alias, or undefined. */
export function providerName(alias: string): string | undefined {
  return byName.get(alias)?.name;
}

export type { Span };
