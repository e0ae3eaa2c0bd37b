/**
 * The compiler's public entry: source text → ScriptArtifact (maps, programs,
 * event layouts) that the runtime loads and runs.
 *
 * @example
 *   const art = compile({ name: '-e', text: 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }' }, {});
 *   art.programs[0].attach; // [{ kind: 'tracepoint', category: 'syscalls', event: 'sys_enter_getppid' }]
 */
import type { AttachPoint, Probe, Program, SourceFile, Expr, Stmt } from './ast';
import type { AttachSpec, ProgramSpec, ScriptArtifact } from './artifact';
import { CompileError } from './diagnostics';
import { resolveConfig } from './config';
import { parse } from './parser';
import { desugar } from './desugar';
import { scopeVariables } from './scopes';
import { some } from './visit';
import { expandAttachPoint, type ExpandedPoint, type ProbeContext } from './probes';
import { analyze, dumpTypes, type SemanticResult } from './semantic';
import { Gen, Shared, keylessHashes, startTimeProgram } from './codegen';
import { disassemble, dropUnreachable } from '../ebpf/asm';
import type { Span } from './ast';
import { mergeSyscallPoints } from './syscall-merge';
import { has, type Target } from '../target/target';
import { runningKernel } from '../target/kernel';

export interface CompileOptions {
  /** The kernel to compile for (default: the running kernel). Every fact about the machine comes from it. */
  target?: Target;
  /** Never merge syscall tracepoints into one raw_syscalls program (for comparisons and tests). */
  perTracepoint?: boolean;
  /** `-k`: count every failed memory read (probe_read*) per call site; the runtime reports the counts. */
  helperErrors?: boolean;
  /** Positional parameters $1..$N. */
  params?: string[];
  /** Program options after `--` (`--aa=20`), read by getopt(). */
  namedParams?: Record<string, string>;
  /** -p PID: uprobes/usdt attach to this process only. */
  pid?: number;
  /** -c CMD will run: watchpoints without -p watch its process. */
  command?: boolean;
  verbose?: boolean;
  /** Default string length for str(), args strings (bpftrace 0.17: 64). */
  strlen?: number;
  /** Allow unsafe functions (system, signal). */
  unsafe?: boolean;
  /** `-D NAME=value` macros for the preprocessor. */
  defines?: Record<string, string>;
  /** `-d` dumps to print: 'types' and 'codegen' are handled here ('ast' by the CLI). */
  debug?: string[];
  /** `--probe-filter`: only attach points whose expanded names match are kept (BEGIN/END always are). */
  probeFilter?: RegExp;
  /** Where dumps go (default: stdout). */
  debugOut?: (text: string) => void;
}

/** Intermediate results, for `-d types` and tests. */
export interface CompileResult {
  artifact: ScriptArtifact;
  program: Program;
  semantic: SemanticResult;
}

/** Compiles a script; throws CompileError (with the source attached) for mistakes in it. */
export function compile(source: SourceFile, opts: CompileOptions = {}): ScriptArtifact {
  return compileDetailed(source, opts).artifact;
}

/** Like compile(), from an already parsed program. */
export function compileProgram(program: Program, opts: CompileOptions = {}): CompileResult {
  try {
    return compileInner(scopeVariables(desugar(program, { namedParams: opts.namedParams })), opts);
  } catch (e) {
    if (e instanceof CompileError) throw e.withSource(program.source);
    throw e;
  }
}

export function compileDetailed(source: SourceFile, opts: CompileOptions = {}): CompileResult {
  let program: Program;
  try {
    program = parse(source, { defines: opts.defines });
  } catch (e) {
    if (e instanceof CompileError) throw e.withSource(source);
    throw e;
  }
  const r = compileProgram(program, opts);
  const out = opts.debugOut ?? ((t: string) => void process.stdout.write(t));
  const dbg = new Set(opts.debug ?? []);
  if (dbg.has('types') || dbg.has('all')) out(dumpTypesOf(r));
  if (dbg.has('codegen') || dbg.has('all')) out(dumpCodegen(r.artifact));
  return r;
}

function usesName(probe: Probe, names: Set<string>): boolean {
  return some([probe.predicate, probe.body], (n) => n.kind === 'Builtin' && names.has(n.name));
}

interface Instance {
  probeIndex: number;
  ctx: ProbeContext;
  attach: AttachSpec[];
  names: string[];
}

function compileInner(program: Program, opts: CompileOptions): CompileResult {
  const target = opts.target ?? runningKernel();
  // the config block, then BPFTRACE_<KEY> environment variables over it (lang/config.ts)
  const cfg = resolveConfig(program.config, process.env);
  if (cfg.errors.length) throw CompileError.many(cfg.errors.map((e) => ({ severity: 'ERROR', message: e.message, span: e.span, notes: [] })), program.source);
  const config = cfg.values;
  // opts.strlen: a caller's default (tools), below what the script or environment sets
  const wantStrlen = cfg.set.has('max_strlen') ? config.max_strlen : opts.strlen ?? config.max_strlen;
  // strings live on the 512-byte BPF stack: at most 200 bytes
  const strlenSpan = program.config.find((c) => /^(bpftrace_)?(max_)?strlen$/i.test(c.key))?.span ?? null;
  if (wantStrlen < 1) throw new CompileError(`max_strlen must be at least 1`, strlenSpan);
  if (wantStrlen > 200) throw new CompileError(`max_strlen ${wantStrlen} is too large: at most 200 bytes are supported`, strlenSpan);
  const strlen = wantStrlen;
  const params = opts.params ?? [];

  // Expand attach points; group points that can share one program.
  const instances: Instance[] = [];
  program.probes.forEach((probe, probeIndex) => {
    // `probe` alone need not split k/uprobe wildcards: one program reads it from the attach cookie
    const cookieProbe = usesName(probe, new Set(['probe'])) && !usesName(probe, new Set(['args', 'func'])) && has(target, 'bpf_cookie');
    const split = usesName(probe, new Set(['probe', 'args', 'func']));
    const groups = new Map<string, Instance>();
    let all: ExpandedPoint[] = [];
    const usesArgs = usesName(probe, new Set(['args']));
    for (const ap of probe.attachPoints) all.push(...expandAttachPoint(substituteParams(ap, params), { pid: opts.pid, command: opts.command, target, usesArgs }));
    const filter = opts.probeFilter;
    if (filter) all = all.filter((p) => p.spec.kind === 'begin' || p.spec.kind === 'end' || filter.test(p.name));
    // Many syscall tracepoints cost ~75 ms each to enable: serve them from one raw_syscalls program.
    // The syscall table (a header file to parse) only when there are syscall tracepoints to merge.
    const syscallPoints = all.some((p) => p.spec.kind === 'tracepoint' && p.spec.category === 'syscalls');
    const merged = mergeSyscallPoints(all, probe, { disabled: opts.perTracepoint, syscallNumbers: syscallPoints ? target.syscallNumbers() : null });
    for (const m of merged.instances) instances.push({ probeIndex, ctx: m.ctx, attach: [m.spec], names: m.names });
    all = merged.rest;
    {
      for (const p of all) {
        const viaCookie = cookieProbe && !p.ctx.perPoint && (p.spec.kind === 'kprobe' || p.spec.kind === 'uprobe');
        const key = (split && !viaCookie) || p.ctx.perPoint ? `${p.name}#${instances.length}#${groups.size}` : `${p.ctx.provider}:${p.ctx.progType}:${p.ctx.retprobe}`;
        const g = groups.get(key);
        if (g) {
          g.attach.push(p.spec);
          g.names.push(p.name);
        } else {
          groups.set(key, { probeIndex, ctx: viaCookie ? { ...p.ctx, probeFromCookie: true } : p.ctx, attach: [p.spec], names: [p.name] });
        }
      }
    }
    instances.push(...groups.values());
  });

  const userBinaries = [...new Set(instances.flatMap((i) => i.attach.flatMap((a) => (a.kind === 'uprobe' ? [a.path] : []))))];
  const sem = analyze(program, instances.map((i) => ({ probeIndex: i.probeIndex, ctx: i.ctx })), { params, strlen, strTrailer: String(config.str_trunc_trailer), unsafe: !!opts.unsafe, target, userBinaries, config });
  for (const w of cfg.warnings) sem.warnings.push({ severity: 'WARNING', message: w.message, span: w.span, notes: [] });
  for (const d of program.mapDecls) {
    const m = sem.maps.get(`@${d.name}`);
    if (!m) sem.warnings.push({ severity: 'WARNING', message: `Unused map: @${d.name}`, span: d.span, notes: [] });
    else m.decl = { lru: d.mapType.includes('lru'), percpu: d.mapType.startsWith('percpu'), maxEntries: d.maxEntries };
  }

  // BEGIN and END run once each: no burst to absorb, and mapping a 4 MiB ring costs ~3 ms of
  // CPU and 8 MiB of RSS at start-up (the kernel maps the data pages twice). Overflows are counted.
  const oneShot = instances.every((i) => i.attach.every((a) => a.kind === 'begin' || a.kind === 'end'));
  const shared = new Shared(sem.maps, {
    strlen,
    maxMapKeys: config.max_map_keys,
    // 4 MiB: absorbs bursts of ~1M events/s (bench section 3); 64 KiB for BEGIN/END only; TSBPF_RING_BYTES overrides
    ringSize: oneShot ? 1 << 16 : 1 << 22,
    stackLimit: 127,
    target,
    helperErrors: !!opts.helperErrors,
    keylessHashes: keylessHashes(program),
  }, params);
  // Create the user maps in declaration order so indexes are stable.
  for (const name of sem.maps.keys()) shared.userMap(name);
  // Every probe tests the exiting flag from its first instruction, whichever probe holds the exit()
  if (some([...program.probes, ...program.functions, ...program.macros], (n) => n.kind === 'Call' && n.name === 'exit')) shared.exitFlag();

  const programs: ProgramSpec[] = [];
  const deadCode: Span[] = [];
  const usesElapsed = program.probes.some((p) => usesName(p, new Set(['elapsed'])));
  if (usesElapsed) programs.push(startTimeProgram(shared));
  instances.forEach((inst, i) => {
    const types = sem.instances[i];
    const nameIndex = shared.probeNames.length;
    shared.probeNames.push(...inst.names);
    if (inst.ctx.probeFromCookie) {
      inst.attach = inst.attach.map((a, k) => (a.kind === 'kprobe' || a.kind === 'uprobe' ? { ...a, cookie: nameIndex + k } : a));
    }
    const g = new Gen(types, shared, nameIndex);
    const { insns, sourceMap, functions } = withoutDeadCode(g.program(), deadCode);
    const prog: ProgramSpec = {
      name: progName(inst.names[0], i),
      type: inst.ctx.progType,
      attach: inst.attach,
      insns,
      sourceMap,
      probeIndex: inst.probeIndex,
    };
    if (functions) prog.functions = functions.map((f, k) => (k === 0 ? { ...f, name: prog.name } : f));
    if (inst.ctx.progType === 'tracing') prog.expectedAttachType = inst.ctx.retprobe ? 'fexit' : 'fentry';
    programs.push(prog);
  });

  const artifact: ScriptArtifact = {
    source: program.source,
    maps: shared.maps,
    programs,
    events: shared.events,
    userMaps: shared.userMaps,
    eventRing: shared.ringIndex,
    lossCounter: shared.lossIndex,
    ...(shared.quietIndex >= 0 ? { ringQuiet: shared.quietIndex } : {}),
    mapErrorCounter: shared.mapErrorCounter,
    helperErrors: shared.helperErrorInfo(),
    ...(shared.commandPidIndex >= 0 ? { commandPidMap: shared.commandPidIndex } : {}),
    probeNames: shared.probeNames,
    config,
    unsafe: sem.unsafe,
    warnings: [...sem.warnings, ...deadCodeWarnings(deadCode)].map((d) => new CompileError(d.message, d.span, program.source).format().replace(/ERROR/, 'WARNING')),
  };
  return { artifact, program, semantic: sem };
}

/** `uprobe:$1:func`: positional parameters inside attach points are replaced as text, then split again. */
function substituteParams(ap: AttachPoint, params: string[]): AttachPoint {
  // `BEG$1` with $1 = IN names BEGIN: the provider is substituted too
  const all = [ap.provider, ...ap.parts];
  if (!all.some((p) => /\$\d+/.test(p))) return ap;
  const text = all.join(':').replace(/\$(\d+)/g, (m, n: string) => {
    const v = params[Number(n) - 1];
    if (v === undefined) throw new CompileError(`${ap.raw} uses ${m}, but only ${params.length} positional parameter${params.length === 1 ? ' was' : 's were'} given`, ap.span);
    return v;
  });
  const [provider, ...parts] = text.split(':');
  return { ...ap, provider, parts, raw: text };
}

function progName(name: string, i: number): string {
  const base = name.replace(/^[a-z]+:/, '').replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '');
  return `${base.slice(0, 11)}_${i}`.slice(0, 15);
}

/** `-d types` output. */
export function dumpTypesOf(r: CompileResult): string {
  return dumpTypes(r.program, r.semantic);
}

/** `-d codegen` output: each program's instructions, with the source line of each statement. */
export function dumpCodegen(a: ScriptArtifact): string {
  const out: string[] = [];
  for (const p of a.programs) {
    out.push(`${p.name} (${p.type}) → ${p.attach.map(attachText).join(', ')}`);
    const lines = disassemble(p.insns, { mapRef: (v) => `map[${a.maps[v]?.name ?? v}]` });
    let lastLine = -1;
    lines.forEach((l) => {
      const m = /^\s*(\d+):/.exec(l);
      const span = m ? p.sourceMap[Number(m[1])] : null;
      if (span && span.line !== lastLine) {
        lastLine = span.line;
        out.push(`; ${a.source.text.split('\n')[span.line - 1]?.trim() ?? ''}  (line ${span.line})`);
      }
      if (l) out.push(l);
    });
  }
  return out.join('\n') + '\n';
}

function attachText(s: AttachSpec): string {
  switch (s.kind) {
    case 'tracepoint':
      return `tracepoint:${s.category}:${s.event}`;
    case 'kprobe':
      return `${s.retprobe ? 'kretprobe' : 'kprobe'}:${s.func}`;
    case 'uprobe':
      return `${s.retprobe ? 'uretprobe' : 'uprobe'}:${s.path}+0x${s.offset.toString(16)}`;
    default:
      return s.kind;
  }
}

export type { Expr, Stmt };

type GenProgram = ReturnType<Gen['program']>;

/**
 * Leaves out the instructions no path reaches (the verifier refuses them:
 * statements after `return`, branches a constant never takes), and notes
 * the source spans whose code was left out entirely, for one warning each.
 */
function withoutDeadCode(p: GenProgram, deadCode: Span[]): GenProgram {
  const pruned = dropUnreachable(p.insns, p.functions?.map((f) => f.insn) ?? []);
  if (pruned.removed.length === 0) return p;
  const sourceMap = pruned.kept.map((k) => p.sourceMap[k] ?? null);
  const live = new Set(sourceMap.filter((s): s is Span => s !== null).map((s) => `${s.start}:${s.end}`));
  // bpftrace warns once, at the first unreachable statement; code of spans still partly live
  // (a constant branch inside strcontains) is the compiler's, not the user's, and gets no warning
  const dead = pruned.removed.map((k) => p.sourceMap[k]).filter((s): s is Span => !!s && !live.has(`${s.start}:${s.end}`));
  const first = dead.sort((a, b) => a.start - b.start || b.end - a.end)[0];
  if (first && !deadCode.some((s) => s.start === first.start && s.end === first.end)) deadCode.push(first);
  const functions = p.functions?.map((f) => ({ ...f, insn: pruned.newIndex[f.insn] }));
  return { ...p, insns: pruned.insns, sourceMap, ...(functions ? { functions } : {}) };
}

/** bpftrace's warning for code left out (it runs the rest, as we do). */
function deadCodeWarnings(spans: Span[]): { message: string; span: Span }[] {
  return [...spans].sort((a, b) => a.start - b.start).map((span) => ({ message: 'Unreachable statement.', span }));
}
