/**
 * What the checker's parts share: the results it hands to the code generator
 * (MapInfo, InstanceTypes, CheckerFacts), its options, and small helpers.
 */
import type { Config } from '../config';
import type { Binary, Expr, Probe, Span, TypeDef, TypeName } from '../ast';
import { optionalBtf, type Target } from '../../target/target';
import type { Aggregation } from '../artifact';
import { type Diagnostic, nearestNames } from '../diagnostics';
import type { ProbeContext } from '../probes';
import { type AddrSpace, type CType, type Type, CAST_TYPES, UINT64 } from '../types';
import { CTypes, valueOfCType } from '../ctypes';
import { scriptEnums } from '../enums';
import { cConstant } from '../constants';
import type { TracepointField } from '../../sys/tracefs';

export interface MapInfo {
  name: string;
  /** null: used without keys. */
  key: Type | null;
  /** Written with several keys (`@m[a, b]`): the tuple key prints spread. */
  multiKey: boolean;
  value: Type;
  agg: Aggregation;
  span: Span;
  /** Declared with `let @name = lruhash(N);`: the map's kind and size (else a hash of max_map_keys entries). */
  decl?: { lru: boolean; percpu: boolean; maxEntries: number };
}

/** Types of one probe instance (a probe compiled for one context). */
export interface InstanceTypes {
  probe: Probe;
  probeIndex: number;
  ctx: ProbeContext;
  exprs: Map<Expr, Type>;
  vars: Map<string, Type>;
  facts: CheckerFacts;
}

/** What the checker computed beyond types, for the code generator. */
export interface CheckerFacts {
  /** Byte offsets of record members read through typed pointers (`curtask->pid`, `((struct point *)arg0)->y`). */
  memberOffsets: Map<Expr, number>;
  /**
   * Pointer arithmetic: the integer operand of `p + n` (or an index `p[n]`)
   * is multiplied by this (the pointee's size); for `p++` the IncDec node steps by it.
   */
  scaleBy: Map<Expr, number>;
  /** Values of offsetof() expressions. */
  offsetof: Map<Expr, number>;
  /** Values of sizeof() expressions. */
  sizeof: Map<Expr, number>;
  /** `$r.a` of a record (S27): the position of field `a`, read like the tuple index `$r.N`. */
  recordField: Map<Expr, number>;
  /** Values of identifiers that name constants (a script's enumerators, kernel enumerators, uapi #defines). */
  constants: Map<Expr, bigint>;
}

export interface SemanticOptions {
  /** The kernel compiled for (BTF of kernel structs). */
  target: Target;
  params: string[];
  strlen: number;
  /** What a cut str() read prints after it (config str_trunc_trailer, F60); bpftrace 0.26's `..` when unset. */
  strTrailer?: string;
  unsafe: boolean;
  /** Struct definitions written in the script (for offsetof). */
  typeDefs?: readonly TypeDef[];
  /** Binaries the script's uprobes probe: their DWARF types come after the script's, before the kernel's. */
  userBinaries?: readonly string[];
  /** The configuration (stack_mode is the default mode of kstack/ustack); defaults when absent. */
  config?: Config;
}


/** A kernel pointer to kernel struct/union `name` of the target (a plain u64 without BTF). */
export function btfPointer(target: Target, name: string, tag: 'struct' | 'union' = 'struct'): Type {
  return btfIdPointer(target, optionalBtf(target)?.find(name, tag));
}

/** A kernel pointer to the kernel BTF type `id` (a plain u64 when undefined). */
export function btfIdPointer(target: Target, id: number | undefined): Type {
  if (id === undefined) return UINT64;
  return { kind: 'int', size: 8, signed: false, ptr: { to: cTypesOf({ target }).fromBtf(id), space: 'kernel' } };
}

const C_TYPES = new WeakMap<Target, WeakMap<readonly TypeDef[], Map<string, CTypes>>>();
const NO_DEFS: readonly TypeDef[] = [];

/**
 * The C types of a compilation: the script's definitions, the DWARF of its
 * uprobe binaries, then the target's BTF (one instance per target, script and binaries).
 */
export function cTypesOf(opts: Pick<SemanticOptions, 'target' | 'typeDefs' | 'userBinaries'>): CTypes {
  const defs = opts.typeDefs ?? NO_DEFS;
  const files = opts.userBinaries ?? [];
  let byDefs = C_TYPES.get(opts.target);
  if (!byDefs) C_TYPES.set(opts.target, (byDefs = new WeakMap()));
  let byFiles = byDefs.get(defs);
  if (!byFiles) byDefs.set(defs, (byFiles = new Map()));
  const key = files.join('\0');
  let c = byFiles.get(key);
  if (!c) {
    // the DWARF reader only when there are uprobe binaries to read
    const user = files.length ? (require('../providers/uprobe-dwarf') as typeof import('../providers/uprobe-dwarf')).userTypesOf(files) : null;
    byFiles.set(key, (c = new CTypes(defs, () => optionalBtf(opts.target), user)));
  }
  return c;
}


export interface SemanticResult {
  maps: Map<string, MapInfo>;
  instances: InstanceTypes[];
  warnings: Diagnostic[];
  unsafe: boolean;
}


/**
 * Type of a tracepoint field as bpftrace presents it. With `pointees`, a
 * pointer field carries its pointee type (`struct __kernel_timespec * rqtp`,
 * the struct from kernel BTF) in the given address space.
 */
export function fieldType(f: TracepointField, strlen: number, pointees?: { ctypes: CTypes; space: AddrSpace }): Type {
  if (f.dataLoc) return { kind: 'string', size: strlen };
  if (f.btfType && pointees) {
    const v = valueOfCType(pointees.ctypes.fromBtf(f.btfType.id, f.btfType.file), pointees.space);
    if (typeof v !== 'string') return v;
  }
  const base = f.type.replace(/\[.*\]$/, '').trim();
  if (f.arrayLen !== undefined) {
    if (/\bchar$/.test(base) && !base.includes('*')) return { kind: 'string', size: f.arrayLen };
    const elemSize = f.arrayLen ? f.size / f.arrayLen : f.size;
    const es = ([1, 2, 4, 8].includes(elemSize) ? elemSize : 8) as 1 | 2 | 4 | 8;
    return { kind: 'array', elem: { kind: 'int', size: es, signed: f.signed }, elemSize, length: f.arrayLen, field: f };
  }
  if (base.includes('*')) {
    const m = /^(.*?)\s*((?:\*\s*(?:const\s*)?)+)$/.exec(base);
    const to = m && pointees ? pointees.ctypes.named(m[1], (m[2].match(/\*/g) ?? []).length - 1, false) : undefined;
    return to ? { kind: 'int', size: 8, signed: false, ptr: { to, space: pointees!.space } } : { kind: 'int', size: 8, signed: false };
  }
  const size = ([1, 2, 4, 8].includes(f.size) ? f.size : 8) as 1 | 2 | 4 | 8;
  // `enum skb_drop_reason reason`: the field's values print as the enum's names (bpftrace 0.26)
  const en = pointees && /^enum\s+(\w+)$/.exec(base);
  if (en) {
    let c: CType | undefined;
    try {
      c = pointees.ctypes.named(`enum ${en[1]}`, 0, false);
    } catch {
      c = undefined; // a recorded target without this answer: a plain integer
    }
    if (c?.kind === 'int' && c.enum) return { kind: 'int', size, signed: f.signed, enum: c.enum };
  }
  return { kind: 'int', size, signed: f.signed };
}


/** A left-deep chain `((leaf op r) op r) ...`: its Binary nodes top first, and the innermost left operand. */
export function leftSpine(top: Binary): { nodes: Binary[]; leaf: Expr } {
  const nodes: Binary[] = [];
  let x: Expr = top;
  while (x.kind === 'Binary') {
    nodes.push(x);
    x = x.left;
  }
  return { nodes, leaf: x };
}

/** `a op b` of two integer constants; undefined for a division by zero or a non-arithmetic op. */
export function foldConst(op: string, a: bigint, b: bigint): bigint | undefined {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return b ? a / b : undefined;
    case '%': return b ? a % b : undefined;
    case '<<': return a << b;
    case '>>': return a >> b;
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    default: return undefined;
  }
}

export function nonNeg(v: bigint | undefined): boolean {
  return v !== undefined && v >= 0n;
}

export function hint(name: string, cands: Iterable<string>): string[] {
  const near = nearestNames(name, cands);
  return near.length ? [`HINT: did you mean ${near.join(', ')}?`] : [];
}

/**
 * The value and type of a bare identifier naming a constant: an enumerator of
 * the script's enums first (type `enum Foo`, 64-bit unsigned as in bpftrace),
 * then a C constant of the target (constants.ts); undefined when unknown.
 */
export function identifierConstant(opts: Pick<SemanticOptions, 'target' | 'typeDefs'>, name: string): { value: bigint; type: Type } | undefined {
  const own = scriptEnums(opts.typeDefs ?? []).enumerators.get(name);
  if (own) return { value: own.value, type: { kind: 'int', size: 8, signed: false, enum: own.info } };
  const v = cConstant(name, opts.target);
  if (v === undefined) return undefined;
  return { value: v, type: v > 0x7fffffffffffffffn ? UINT64 : { kind: 'int', size: 8, signed: true } };
}

/** `enum NAME` of the script, else of kernel BTF, as a cast names it: a 64-bit value of that enum (bpftrace). */
export function enumCastType(opts: Pick<SemanticOptions, 'target' | 'typeDefs' | 'userBinaries'>, base: string): Type | undefined {
  const m = /^enum\s+(\w+)$/.exec(base.trim());
  if (!m) return undefined;
  let c;
  try {
    c = cTypesOf(opts).named(`enum ${m[1]}`, 0);
  } catch {
    return undefined; // a recorded target without this answer
  }
  return c?.kind === 'int' && c.enum ? { kind: 'int', size: 8, signed: false, enum: c.enum } : undefined;
}

/**
 * The type a cast or a declaration names: integers, `char[N]`, and pointers
 * to any C type (`int32 *`, `struct point *`, `struct task_struct **`) into
 * `space` (the probe's: user memory in uprobes and USDT, else the kernel's).
 */
export function castType(opts: Pick<SemanticOptions, 'target' | 'typeDefs' | 'userBinaries'>, t: TypeName, space: AddrSpace = 'kernel'): Type | undefined {
  if (t.pointerDepth > 0) {
    const to = cTypesOf(opts).named(t.base, t.pointerDepth - 1);
    return to ? { kind: 'int', size: 8, signed: false, ptr: { to, space } } : undefined;
  }
  if (t.arrayLength !== null) return t.base === 'char' ? { kind: 'string', size: t.arrayLength } : undefined;
  return CAST_TYPES[t.base] ?? enumCastType(opts, t.base);
}
