/**
 * The contract between a language feature and the stages that drive it.
 *
 * A builtin variable or function is one definition (src/lang/builtins/): the
 * names it parses as, its type rule (run by the checker through `TypeRules`),
 * and its lowering (run by the code generator through `Lowering`, a narrow
 * view of the generator). Neither side imports the other: both import this
 * module, which imports only types.
 */
import type { Config } from './config';
import type { Asm, Reg } from '../ebpf/asm';
import type { Builtin, Call, Expr, MapRef, Span } from './ast';
import type { EventSpec, FieldSpec, HostValue } from './artifact';
import type { ProbeContext } from './probes';
import type { Target } from '../target/target';
import type { Type } from './types';

/** A location in memory: base register (FP or a temp holding a pointer) plus offset. */
export interface Loc {
  base: Reg;
  off: number;
}

/** What a map argument of a builtin (`print(@x)`, `delete(@x[k])`) is known to be. */
export interface MapFacts {
  name: string;
  /** null: used without keys. */
  key: Type | null;
  value: Type;
  agg: { kind: string };
}

/** The checker's services for type rules. */
export interface TypeRules {
  /** The probe context this instance is compiled for: what it offers (registers, u64 args, ...). */
  readonly ctx: ProbeContext;
  readonly opts: { readonly strlen: number; readonly strTrailer?: string; readonly params: readonly string[]; readonly target: Target; readonly config?: Config };
  /** Pass 1 learns map types; some errors wait for pass 2. */
  readonly firstPass: boolean;
  error(message: string, span: Span | null, notes?: string[]): Type;
  warn(message: string, span: Span | null): void;
  /** Types an expression (recording it) and returns the type. */
  type(e: Expr): Type;
  /** Types an expression used as a value: a struct or array in memory becomes its bytes (cdata). */
  valueType(e: Expr): Type;
  /** The type recorded for an expression already typed (none when not). */
  typeOf(e: Expr): Type;
  /** Types an expression that must be an integer. */
  int(e: Expr, what?: string): Type;
  /** A compile-time integer constant, or undefined. */
  constInt(e: Expr): bigint | undefined;
  /** A required constant argument (reports an error and returns 0 when not constant). */
  requireConst(e: Expr, what: string): bigint;
  /** The map behind a map argument; undefined (after an error, or in pass 1) when unknown. */
  mapArg(e: Expr, fn: string): MapFacts | undefined;
  /** The definition of a named value type (Type 'named'). */
  namedType(name: string): NamedValueTypeDef;
  /** A u64 pointer to kernel struct/union `name` (a plain u64 without BTF). */
  btfPointer(name: string, tag?: 'struct' | 'union'): Type;
}

/** Script-wide resources a lowering may ask for. */
export interface SharedResources {
  addEvent(e: EventSpec): number;
  /** Index of a user map's UserMapSpec (creating it on first use). */
  userMapNumber(name: string): number;
  /** The array map holding the start time for `elapsed`. */
  start(): number;
  /** The stack-trace map. */
  stacks(): number;
  /** The array map (1 × u64) holding the -c command's pid, written by the runtime before attaching (cpid). */
  commandPid(): number;
  /** The array map (1 × u64) the loader fills with this fact of the machine (ncpus). */
  hostValue(name: HostValue): number;
  /** The exiting flag exit() sets (see Shared.exitFlag), -1 when the script has no exit(). */
  readonly exitFlagIndex: number;
}

/** Record fields laid out after the 8-byte event id. */
export interface FieldLayout {
  fields: FieldSpec[];
  types: Type[];
  size: number;
}

/** The code generator's services for lowerings. r0–r5 are scratch; temps come from temp(). */
export interface Lowering {
  readonly a: Asm;
  /** The register holding the program's context. */
  readonly ctx: Reg;
  /** The probe context being compiled. */
  readonly probe: ProbeContext;
  readonly shared: SharedResources;
  /** The kernel compiled for (architecture, symbols). */
  readonly target: Target;
  type(e: Expr): Type;
  temp(span?: Span | null): Reg;
  release1(r: Reg): void;
  alloc(size: number, span?: Span | null): number;
  readonly frameMark: number;
  release(mark: number): void;
  /** Evaluates a scalar expression into a fresh temp. */
  scalar(e: Expr): Reg;
  /** Address of a memory-typed value (valid until the end of the statement). */
  addr(e: Expr): Loc;
  dropLoc(l: Loc): void;
  storeInto(e: Expr, dst: Loc, target: Type): void;
  zero(loc: Loc, size: number): void;
  copy(dst: Loc, src: Loc, size: number): void;
  lea(dst: Reg, loc: Loc): void;
  ldMap(dst: Reg, mapIndex: number): void;
  constOf(e: Expr): bigint;
  /** The text of positional parameter $i ('' when not given). */
  paramStr(i: number): string;
  fail(msg: string, span: Span | null): never;
  /** Reads argument N of the probe (registers, u64 arg arrays, USDT specs). */
  argScalar(n: number, span: Span): Reg;
  /** r = index of this event's probe name. */
  probeIndexValue(r: Reg, span?: Span | null): void;
  layoutFields(args: Expr[]): FieldLayout;
  writeFields(rec: Reg, args: Expr[], layout: FieldLayout): void;
  /** Sends one record through the event ring (a failed reserve is counted as lost). */
  emitEvent(id: number, size: number, write: (rec: Reg) => void, span: Span | null): void;
  mapDelete(m: MapRef, keyExprs: Expr[] | null): void;
  mapHasKey(m: MapRef, keyExprs: Expr[], span: Span): Reg;
  mapLength(m: MapRef, span: Span): Reg;
  /** Calls a memory-reading helper (probe_read*): with -k its failures are counted and reported. */
  callRead(helper: number, span?: Span | null): void;
}

/**
 * A value type a builtin introduces (Type/ValueType 'named'): its wire layout
 * is one u64, computed in the kernel; user space shows it as `text` wherever
 * it appears (printf %s, print, map keys and values, JSON strings, sorted as
 * text). Registered by name in a definition file's VALUE_TYPES table.
 */
export interface NamedValueTypeDef {
  /** The printf conversions it accepts: 'string' (%s) or 'integer' (%d, %x, ...). */
  printfAs: 'string' | 'integer';
  /** The text of the u64 the kernel recorded. */
  text(raw: bigint): string;
}

/** The map helpers an aggregation's lowering uses (lang/aggregations.ts). */
export interface AggLowering {
  readonly a: Asm;
  scalar(e: Expr): Reg;
  release1(r: Reg): void;
  alloc(size: number, span?: Span | null): number;
  /** Present key: `inPlace` updates the value R0 points at (may jump to `done`); absent: `first` writes the first value on the stack and returns its offset. */
  updateOrInsert(index: number, key: Loc, inPlace: (done: string) => void, first: () => number): void;
  /** The first {value, count} pair of min/max/avg/stats on the stack; returns its offset. */
  firstValueAndCount(val: Reg): number;
  /** In place: v → hist(v, bits) bucket index. */
  log2Bucket(v: Reg, bits: number): void;
  /** In place: v → lhist(v, min, max, step) bucket index. */
  linearBucket(v: Reg, min: bigint, max: bigint, step: bigint): void;
}

/** A builtin variable (`pid`, `comm`, `arg0`, ...). */
export interface BuiltinVarDef {
  /** The names it parses as (default: its key in the definition table). */
  names?: readonly string[];
  check(c: TypeRules, e: Builtin): Type;
  /** Lowering for scalar types: a temp register holding the value. */
  scalar?(g: Lowering, e: Builtin): Reg;
  /** Lowering for memory types: writes the value (`size` bytes) at dst. */
  store?(g: Lowering, e: Builtin, dst: Loc, size: number): void;
}

/** A builtin function (`printf`, `str`, ...). */
export interface FunctionDef {
  /** The names it parses as (default: its key in the definition table). */
  names?: readonly string[];
  minArgs: number;
  maxArgs: number;
  /** Needs --unsafe. */
  unsafe?: boolean;
  check(c: TypeRules, e: Call): Type;
  scalar?(g: Lowering, e: Call): Reg;
  store?(g: Lowering, e: Call, dst: Loc, size: number): void;
  /** Lowering of a call used as a statement (printf, exit, ...). */
  stmt?(g: Lowering, e: Call): void;
  /** The probe's action ends after this call (exit(): bpftrace runs nothing after it). */
  endsAction?: boolean;
}
