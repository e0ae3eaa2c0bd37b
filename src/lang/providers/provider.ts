/**
 * The shape of a probe provider: one definition per provider (tracepoint,
 * kprobe, uprobe, ...) in src/lang/providers/, listed in src/lang/probes.ts.
 * A definition says how an attach point as written expands into kernel attach
 * specs (`expand`), what the probe context offers the builtins (ProbeContext:
 * args, retval, func, registers), which probes exist (`list`, for `tsbpf -l`)
 * and how each attach kind it produces is attached (`attach`, run by the
 * runtime).
 */
import type { AttachPoint } from '../ast';
import type { AttachSpec, ProgramType } from '../artifact';
import { CompileError, nearestNames } from '../diagnostics';
import type { Target } from '../../target/target';
import type { TracepointFormat } from '../../sys/tracefs';
import type { UsdtArg } from '../../ebpf/usdt';
import type { Link } from '../../ebpf/attach';
import type { Program } from '../../ebpf/programs';

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
  /**
   * arg0..argN are the probed function's arguments (kprobe, uprobe, usdt,
   * fentry, raw tracepoints, BEGIN/END); false where registers or a record
   * hold something else (perf events, timers, watchpoints, tracepoints).
   */
  funcArgs: boolean;
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
  /** Why `args` cannot be used here, when the provider knows better than the generic sentence (a uprobe without DWARF). */
  argsUnavailable?: string;
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

export type AttachKind = AttachSpec['kind'];

/** What the runtime knows at attach time that the compiler did not. */
export interface AttachContext {
  /** Pid of the -c command (started stopped), when a spec asks for it (`pidOfCommand`). */
  commandPid?: number;
}

/** Attaches a loaded program to one attach spec of kind K; returns the links to close on exit. */
export type Attacher<K extends AttachKind> = (prog: Program, spec: AttachSpec & { kind: K }, ctx: AttachContext) => Link[];

/** The attachers of the kinds a provider produces. */
export type Attachers<K extends AttachKind> = { readonly [P in K]: Attacher<P> };

export interface ProviderOptions {
  pid?: number;
  /** A -c command will run (its pid is known only at attach time). */
  command?: boolean;
  /** The kernel compiled for: tracepoints, kernel functions, BTF. */
  target: Target;
  /** The probe's actions use `args` (uprobes then read the binary's DWARF for its parameters). */
  usesArgs?: boolean;
}

/** A `tsbpf -l PATTERN` request, as each provider sees it. */
export interface ListRequest {
  /** Tests a full probe name ('tracepoint:sched:sched_switch') against the pattern. */
  matches(name: string): boolean;
  /** The pattern after 'provider:' ('/bin/bash:read*' for uprobe:/bin/bash:read*). */
  rest: string;
  /** -lv: details (tracepoint fields) under each name. */
  verbose: boolean;
  pid?: number;
  target: Target;
}

export interface ProviderDef<K extends AttachKind = AttachKind> {
  /** Canonical name ('tracepoint'); `aliases` parse the same ('t'). */
  name: string;
  aliases: readonly string[];
  expand(ap: AttachPoint, opts: ProviderOptions): ExpandedPoint[];
  /**
   * The probes matching a -l request, one line each (verbose details as
   * indented lines after their probe). Absent: the provider lists nothing.
   */
  list?(req: ListRequest): string[];
  /**
   * 'default': also listed by a pattern without a provider (-l '*sleep*'), as
   * bpftrace lists software, hardware and tracepoints; 'explicit': only when
   * the pattern names the provider (kprobe:vfs_*); 'alone': needs a binary, so a
   * pattern naming it lists nothing else (uprobe:/bin/bash:*).
   */
  listing?: 'default' | 'explicit' | 'alone';
  attach: Attachers<K>;
}

/** A provider of any attach kinds, as the registry holds it. */
export type AnyProviderDef = Omit<ProviderDef, 'attach'> & { readonly attach: Partial<Attachers<AttachKind>> };

/** Declares a provider (keeps the attach kinds it produces precise for the registry's check). */
export function provider<K extends AttachKind>(def: ProviderDef<K>): ProviderDef<K> {
  return def;
}

export function err(ap: AttachPoint, msg: string, notes: string[] = []): CompileError {
  return new CompileError(msg, ap.span, null, notes);
}

export function baseCtx(provider: string, progType: ProgramType, name: string): ProbeContext {
  return { provider, progType, regs: false, u64Args: false, funcArgs: false, retprobe: false, user: false, probeName: name, perPoint: false };
}

export function parseCount(ap: AttachPoint, s: string | undefined, what: string): number {
  if (s === undefined || !/^\d+$/.test(s.replace(/_/g, '')) || Number(s.replace(/_/g, '')) <= 0) {
    throw err(ap, `${ap.provider}: ${what} must be a positive integer, got '${s ?? ''}'`);
  }
  const n = Number(s.replace(/_/g, ''));
  if (n > Number.MAX_SAFE_INTEGER) throw err(ap, `${ap.provider}: ${what} is too large: ${s.length > 40 ? `${s.slice(0, 40)}...` : s} (at most ${Number.MAX_SAFE_INTEGER})`);
  return n;
}

export function hintNames(name: string, candidates: Iterable<string>): string[] {
  const near = nearestNames(name, candidates);
  return near.length ? [`HINT: did you mean ${near.join(', ')}?`] : [];
}


/** Throws (for expressions that must produce a value). */
export function unreachable(e: Error): never {
  throw e;
}
