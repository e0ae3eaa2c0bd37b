/**
 * What the checker's parts share: the results it hands to the code generator
 * (MapInfo, InstanceTypes, CheckerFacts), its options, and small helpers.
 */
import type { Binary, Expr, Probe, Span, TypeDef, TypeName } from '../ast';
import { optionalBtf, type Target } from '../../target/target';
import type { Aggregation } from '../artifact';
import { type Diagnostic, nearestNames } from '../diagnostics';
import type { ProbeContext } from '../probes';
import { type Type, CAST_TYPES, UINT64 } from '../types';
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
  /** Byte offsets of kernel struct members read through BTF-typed pointers (`curtask->pid`). */
  btfOffsets: Map<Expr, number>;
  /** Values of offsetof() expressions. */
  offsetof: Map<Expr, number>;
  /** Values of sizeof() expressions. */
  sizeof: Map<Expr, number>;
}

export interface SemanticOptions {
  /** The kernel compiled for (BTF of kernel structs). */
  target: Target;
  params: string[];
  strlen: number;
  unsafe: boolean;
  /** Struct definitions written in the script (for offsetof). */
  typeDefs?: readonly TypeDef[];
}


/** A u64 pointer to kernel struct/union `name` of the target (a plain u64 without BTF). */
export function btfPointer(target: Target, name: string, tag: 'struct' | 'union' = 'struct'): Type {
  const btf = optionalBtf(target);
  const id = btf?.find(name, tag);
  return id === undefined ? UINT64 : { kind: 'int', size: 8, signed: false, btf: id };
}


export interface SemanticResult {
  maps: Map<string, MapInfo>;
  instances: InstanceTypes[];
  warnings: Diagnostic[];
  unsafe: boolean;
}


/** Type of a tracepoint field as bpftrace presents it. */
export function fieldType(f: TracepointField, strlen: number): Type {
  if (f.dataLoc) return { kind: 'string', size: strlen };
  const base = f.type.replace(/\[.*\]$/, '').trim();
  if (f.arrayLen !== undefined) {
    if (/\bchar$/.test(base) && !base.includes('*')) return { kind: 'string', size: f.arrayLen };
    const elemSize = f.arrayLen ? f.size / f.arrayLen : f.size;
    const es = ([1, 2, 4, 8].includes(elemSize) ? elemSize : 8) as 1 | 2 | 4 | 8;
    return { kind: 'array', elem: { kind: 'int', size: es, signed: f.signed }, elemSize, length: f.arrayLen, field: f };
  }
  if (base.includes('*')) return { kind: 'int', size: 8, signed: false };
  const size = ([1, 2, 4, 8].includes(f.size) ? f.size : 8) as 1 | 2 | 4 | 8;
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

export function castType(target: Target, t: TypeName): Type | undefined {
  const sm = /^(struct|union)\s+(\w+)$/.exec(t.base.trim());
  if (t.pointerDepth === 1 && sm) return btfPointer(target, sm[2], sm[1] as 'struct' | 'union');
  if (t.pointerDepth > 0) return UINT64;
  if (t.arrayLength !== null) return t.base === 'char' ? { kind: 'string', size: t.arrayLength } : undefined;
  return CAST_TYPES[t.base];
}
