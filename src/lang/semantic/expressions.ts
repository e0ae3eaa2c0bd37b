/**
 * Typing expressions: literals, names, builtins and calls (through their
 * definitions), operators (chains in loops), field and BTF member access.
 */
import type { Binary, Expr, MapRef, Span, Stmt } from '../ast';
import { CTypeError, type CTypes, offsetOf, valueOfCType } from '../ctypes';
import { positionalInt } from '../positional';
import { enumKey } from '../enums';
import { optionalBtf } from '../../target/target';
import { type Diagnostic, nearestNames } from '../diagnostics';
import type { ProbeContext } from '../probes';
import { AGGREGATIONS, aggregationDef } from '../aggregations';
import { builtinNames, builtinVar, functionDef, functionNames, namedValueType } from '../builtins';
import type { NamedValueTypeDef, TypeRules } from '../feature';
import {
  type AddrSpace, type CType, type Type, BOOL, INT64, NONE, UINT64, isStorable, memSize, sameShape, storedField, storedType, tupleType, typeName, unify,
} from '../types';
import {
  type CheckerFacts, type MapInfo, type SemanticOptions, btfIdPointer, btfPointer, cTypesOf, castType, fieldType, foldConst, hint, identifierConstant, leftSpine, nonNeg,
} from './shared';

/**
 * A member or element of a struct/array held by value (cdata): a nested
 * struct or array is in the copy (BPF memory, read as the kernel's), while
 * pointers keep the address space the copy was read from.
 */
function inCopy(t: Type): Type {
  return t.kind === 'int' && t.embedded && t.ptr ? { ...t, ptr: { ...t.ptr, space: 'kernel' } } : t;
}

/** The largest struct or array held by value: it is copied through the BPF stack (512 bytes in all). */
const MAX_CDATA = 256;

/**
 * The checker for one probe instance, expressions part (statements: checker.ts).
 * Builtins' type rules receive it (as TypeRules) to type their arguments and
 * report errors.
 */
export abstract class ExprChecker implements TypeRules {
  readonly exprs = new Map<Expr, Type>();
  readonly vars = new Map<string, Type>();
  readonly facts: CheckerFacts = { memberOffsets: new Map(), scaleBy: new Map(), offsetof: new Map(), sizeof: new Map(), recordField: new Map(), constants: new Map() };
  /** Loop nesting, for break/continue. */
  loopDepth = 0;
  /** Whether `exprs` of this instance produced unsafe actions. */
  constructor(
    readonly ctx: ProbeContext,
    readonly opts: SemanticOptions,
    readonly maps: Map<string, MapInfo>,
    protected readonly diags: Diagnostic[],
    readonly warnings: Diagnostic[],
    /** Pass 1 tolerates maps read before their assignment is seen. */
    readonly firstPass: boolean,
    readonly state: { unsafe: boolean },
  ) {}

  error(message: string, span: Span | null, notes: string[] = []): Type {
    this.diags.push({ severity: 'ERROR', message, span, notes });
    return NONE;
  }

  warn(message: string, span: Span | null): void {
    if (!this.firstPass) this.warnings.push({ severity: 'WARNING', message, span, notes: [] });
  }

  /**
   * Types an expression used as a value (stored, printed, compared): a struct,
   * union or array in memory (`*p`, `p->arr`) becomes its bytes (cdata), copied
   * out where the value goes; recorded so the code generator copies it.
   */
  valueType(e: Expr): Type {
    const t = this.type(e);
    return this.asValue(e, t);
  }

  /** `t` (the type of `e`) as a value: see valueType. */
  asValue(e: Expr, t: Type): Type {
    if (t.kind !== 'int' || !t.embedded || !t.ptr || (t.ptr.to.kind !== 'record' && t.ptr.to.kind !== 'array')) return t;
    let v: Type;
    try {
      const size = this.ctypes.sizeOf(t.ptr.to);
      if (size > MAX_CDATA) return this.error(`${typeName(t)} is ${size} bytes: values of C structs and arrays can be at most ${MAX_CDATA} bytes (read its members instead)`, e.span);
      v = { kind: 'cdata', c: t.ptr.to, size, space: t.ptr.space, layout: this.ctypes.layoutOf(t.ptr.to) };
    } catch (err) {
      if (err instanceof CTypeError) return this.error(err.message, e.span);
      throw err;
    }
    this.exprs.set(e, v);
    return v;
  }

  /** Types an expression (recording it) and returns the type. */
  type(e: Expr): Type {
    if (e.kind === 'Binary' && e.left.kind === 'Binary') return this.binaryChain(e);
    const t = this.compute(e);
    this.exprs.set(e, t);
    return t;
  }

  /**
   * `a + b + c + ...` is a left-deep tree as deep as the chain is long: its
   * left spine is typed bottom-up in a loop (in the order recursion would),
   * so a chain of any length needs no stack.
   */
  private binaryChain(top: Binary): Type {
    const spine = leftSpine(top);
    let t = this.type(spine.leaf);
    for (let i = spine.nodes.length - 1; i >= 0; i--) {
      const b = spine.nodes[i];
      t = this.binary(b, t);
      this.exprs.set(b, t);
    }
    return t;
  }

  typeOf(e: Expr): Type {
    return this.exprs.get(e) ?? NONE;
  }

  namedType(name: string): NamedValueTypeDef {
    return namedValueType(name);
  }

  btfPointer(name: string, tag: 'struct' | 'union' = 'struct'): Type {
    return btfPointer(this.opts.target, name, tag);
  }

  /** The C types this script can name (its definitions, then kernel BTF). */
  get ctypes(): CTypes {
    return cTypesOf(this.opts);
  }

  /**
   * Where a pointer made from an integer in this probe points (a cast,
   * `(struct x *)arg0`): user memory in uprobes and USDT probes, kernel memory
   * elsewhere, as bpftrace (syscall tracepoints too: only their pointer
   * arguments, typed by the format, point into user memory).
   */
  get space(): AddrSpace {
    // (a uprobe's `args` record from DWARF is a tracepoint-like format over its registers: still user)
    return this.ctx.user && (this.ctx.regs || !this.ctx.tracepoint) ? 'user' : 'kernel';
  }

  /** Types an expression that must be an integer. */
  int(e: Expr, what = 'expression'): Type {
    const t = this.type(e);
    if (t.kind !== 'int' && t.kind !== 'none') this.error(`${what} must be an integer, got ${typeName(t)}`, e.span);
    return t;
  }

  /** Evaluates a compile-time integer constant (literals, $N params, simple arithmetic). */
  constInt(e: Expr): bigint | undefined {
    switch (e.kind) {
      case 'IntegerLit':
        return e.value;
      case 'BoolLit':
        return e.value ? 1n : 0n;
      case 'Identifier':
        return identifierConstant(this.opts, e.name)?.value;
      case 'PositionalParam': {
        if (e.index === 0) return BigInt(this.opts.params.length);
        const p = this.opts.params[e.index - 1];
        return p !== undefined ? positionalInt(p) : undefined;
      }
      case 'Unary': {
        const v = this.constInt(e.operand);
        if (v === undefined) return undefined;
        return e.op === '-' ? -v : e.op === '~' ? ~v : e.op === '!' ? (v ? 0n : 1n) : undefined;
      }
      case 'Binary': {
        // the left spine in a loop: chains are as long as the program
        const spine = leftSpine(e);
        let a = this.constInt(spine.leaf);
        for (let i = spine.nodes.length - 1; i >= 0 && a !== undefined; i--) {
          const b = this.constInt(spine.nodes[i].right);
          a = b === undefined ? undefined : foldConst(spine.nodes[i].op, a, b);
        }
        return a;
      }
      default:
        return undefined;
    }
  }

  /** A required constant argument. */
  requireConst(e: Expr, what: string): bigint {
    this.type(e);
    const v = this.constInt(e);
    if (v === undefined) {
      this.error(`${what} must be an integer constant`, e.span);
      return 0n;
    }
    return v;
  }

  /** The map behind a map argument (`print(@x)`, `delete(@x[k])`); undefined in pass 1 when not yet known. */
  mapArg(e: Expr, fn: string): MapInfo | undefined {
    if (e.kind !== 'MapRef') {
      this.error(`${fn}() expects a map argument`, e.span);
      return undefined;
    }
    const m = this.maps.get(`@${e.name}`);
    if (!m && !this.firstPass) this.error(`undefined map: @${e.name}`, e.span, this.mapHint(e.name));
    return m;
  }

  mapHint(name: string): string[] {
    const near = nearestNames(`@${name}`, this.maps.keys());
    return near.length ? [`HINT: did you mean ${near.join(', ')}?`] : [];
  }

  /** Types the keys of a map reference into the map's key type. */
  keyType(m: MapRef): Type | null {
    if (!m.keys) return null;
    const ts = m.keys.map((k) => {
      const t = this.valueType(k);
      if (!isStorable(t)) this.error(`${typeName(t)} cannot be used as a map key`, k.span);
      return storedType(t);
    });
    return ts.length === 1 ? ts[0] : tupleType(ts);
  }

  private compute(e: Expr): Type {
    switch (e.kind) {
      case 'IntegerLit':
        // bpftrace: a literal above INT64_MAX is a uint64 (18446744073709551615 prints as itself, not -1)
        return e.value > 0x7fffffffffffffffn ? UINT64 : INT64;
      case 'BoolLit':
        return { kind: 'int', size: 1, signed: false, bool: true };
      case 'StringLit': {
        const size = Buffer.byteLength(e.value) + 1;
        // BPF addresses memory with 16-bit offsets: a longer literal cannot be placed (was an internal error)
        if (size > 32767) this.error(`string literal too long: ${size - 1} bytes (at most 32766)`, e.span);
        return { kind: 'string', size: Math.min(size, 32767) };
      }
      case 'PositionalParam': {
        if (e.index === 0) return INT64;
        const p = this.opts.params[e.index - 1];
        if (p === undefined) return INT64; // bpftrace: missing positional parameters read as 0
        return positionalInt(p) !== undefined ? INT64 : { kind: 'string', size: Buffer.byteLength(p) + 1 };
      }
      case 'Builtin': {
        const b = builtinVar(e.name);
        if (!b) return this.error(`unknown builtin: ${e.name}`, e.span, hint(e.name, builtinNames()));
        return b.check(this, e);
      }
      case 'Identifier':
        // a constant: the script's enumerator, a kernel enumerator (BTF) or a uapi #define (constants.ts)
        {
          const c = identifierConstant(this.opts, e.name);
          if (c) {
            this.facts.constants.set(e, c.value);
            return c.type;
          }
        }
        return this.error(`unknown identifier: ${e.name}`, e.span, hint(e.name, builtinNames()));
      case 'Variable': {
        const t = this.vars.get(e.name);
        if (!t) return this.error(`undefined variable: $${e.name}`, e.span, hint(e.name, this.vars.keys()));
        return t;
      }
      case 'MapRef': {
        const kt = this.keyType(e);
        const m = this.maps.get(`@${e.name}`);
        if (!m) {
          if (this.firstPass) return NONE;
          return this.error(`undefined map: @${e.name}`, e.span, this.mapHint(e.name));
        }
        this.checkKey(m, kt, e);
        if (m.agg.kind !== 'scalar' && !AGGREGATIONS[m.agg.kind].readable) {
          return this.error(`the value of ${m.name} (${m.agg.kind}) cannot be read in a probe`, e.span);
        }
        return m.value;
      }
      case 'Call': {
        if (aggregationDef(e.name)) return this.error(`${e.name}() must be assigned directly to a map: @x = ${e.name}(...)`, e.span);
        const f = functionDef(e.name);
        if (!f) return this.error(`unknown function: ${e.name}`, e.span, hint(e.name, [...functionNames(), ...Object.keys(AGGREGATIONS)]));
        if (e.args.length < f.minArgs || e.args.length > f.maxArgs) {
          const n = f.minArgs === f.maxArgs ? `${f.minArgs}` : f.maxArgs === Infinity ? `at least ${f.minArgs}` : `${f.minArgs} to ${f.maxArgs}`;
          return this.error(`${e.name}() takes ${n} argument${f.maxArgs === 1 ? '' : 's'}, got ${e.args.length}`, e.span);
        }
        if (f.unsafe) {
          this.state.unsafe = true;
          if (!this.opts.unsafe) return this.error(`${e.name}() is an unsafe function: run with --unsafe to allow it`, e.span);
        }
        return f.check(this, e);
      }
      case 'Binary':
        return this.binary(e, this.type(e.left));
      case 'Unary': {
        if (e.op === '*') return this.deref(e.operand, e.span);
        if (e.op === '&') return this.addressOf(e.operand, e.span);
        const t = this.int(e.operand, `operand of '${e.op}'`);
        if (e.op === '!') return BOOL;
        return t.kind === 'int' ? { kind: 'int', size: 8, signed: e.op === '-' ? true : t.signed } : INT64;
      }
      case 'Ternary': {
        this.cond(e.cond);
        const a = this.type(e.then), b = this.type(e.otherwise);
        if (a.kind === 'none' || b.kind === 'none') return a.kind === 'none' ? b : a;
        const u = unify(a, b);
        if (!u) return this.error(`ternary branches have different types: ${typeName(a)} and ${typeName(b)}`, e.span);
        if (a.kind === 'int' && b.kind === 'int') return a.bool && b.bool ? BOOL : { kind: 'int', size: 8, signed: a.signed && b.signed };
        return u;
      }
      case 'FieldAccess': {
        const ot = this.type(e.object);
        if (ot.kind === 'tuple' && ot.names && !e.arrow) {
          // `$r.a` of a record: the field at that name's position (the code generator reads it as `.N`)
          const i = ot.names.indexOf(e.field);
          if (i < 0) return this.error(`record has no field named '${e.field}'`, e.span, hint(e.field, ot.names));
          this.facts.recordField.set(e, i);
          return ot.fields[i];
        }
        if (ot.kind === 'int' && ot.ptr) return this.member(e, ot.ptr.to, ot.ptr.space);
        if (ot.kind === 'cdata') return inCopy(this.member(e, ot.c, ot.space));
        const t = this.field(e.object, ot, e.field, e.span);
        // fentry/fexit: a parameter that points to a kernel struct can be followed with ->
        const argStruct = ot.kind === 'ctx' ? this.ctx.btfArgs?.[e.field] : undefined;
        if (argStruct !== undefined && t.kind === 'int') return btfIdPointer(this.opts.target, argStruct);
        return t;
      }
      case 'Index': {
        const ot = this.type(e.object);
        if (ot.kind === 'array') {
          this.int(e.index, 'array index');
          const c = this.constInt(e.index);
          if (c !== undefined && (c < 0n || c >= BigInt(ot.length))) this.error(`the index ${c} is out of bounds for array of size ${ot.length}`, e.index.span);
          return ot.elem;
        }
        if (ot.kind === 'int' && ot.ptr) return this.pointerIndex(e, ot.ptr.to, ot.embedded === true, ot.ptr.space);
        if (ot.kind === 'string') {
          // a character of a string value (bpftrace 0.25+): an int8; a variable index past the end reads 0
          this.int(e.index, 'string index');
          const c = this.constInt(e.index);
          if (c !== undefined && (c < 0n || c >= BigInt(ot.size))) this.error(`the index ${c} is out of bounds for string[${ot.size}]`, e.index.span);
          return { kind: 'int', size: 1, signed: true };
        }
        if (ot.kind === 'cdata' && ot.c.kind === 'array') return inCopy(this.pointerIndex(e, ot.c, true, ot.space));
        if (ot.kind === 'none') return NONE;
        return this.error(`cannot index a value of type ${typeName(ot)}`, e.span);
      }
      case 'TupleIndex': {
        const ot = this.type(e.object);
        if (ot.kind !== 'tuple') return ot.kind === 'none' ? NONE : this.error(`'.${e.index}' needs a tuple, got ${typeName(ot)}`, e.span);
        if (e.index >= ot.fields.length) return this.error(`tuple index ${e.index} is out of range (the tuple has ${ot.fields.length} elements)`, e.span);
        return ot.fields[e.index];
      }
      case 'Tuple': {
        const ts = e.elements.map((x) => {
          const t = this.valueType(x);
          if (!isStorable(t)) this.error(`${typeName(t)} cannot be stored in a tuple`, x.span);
          return storedField(t);
        });
        return tupleType(ts, e.names);
      }
      case 'Cast': {
        const t = this.type(e.operand);
        // a pointer cast to another pointer keeps its address space (`(struct task_struct *)curtask` is a kernel pointer everywhere)
        const target = castType(this.opts, e.type, t.kind === 'int' && t.ptr ? t.ptr.space : this.space);
        if (!target) {
          if (e.type.pointerDepth > 0) return this.error(`unknown type: ${e.type.base}`, e.type.span);
          const en = /^enum\s+(\w+)$/.exec(e.type.base.trim());
          if (en) return this.error(`unknown enum: ${en[1]}`, e.type.span);
          return this.error(`unsupported cast type: ${e.type.base}${'*'.repeat(e.type.pointerDepth)}`, e.type.span);
        }
        if ((t.kind !== 'int' || t.embedded) && t.kind !== 'none') return this.error(`cannot cast ${typeName(t)} to ${typeName(target)}`, e.span);
        if (target.kind === 'int' && target.enum) {
          // a constant that is none of the enum's values is refused, as bpftrace does; a run-time one prints as its number
          const v = this.constInt(e.operand);
          if (v !== undefined && !(enumKey(v) in target.enum.names)) return this.error(`enum ${target.enum.name} has no enumerator of value ${v}`, e.operand.span);
        }
        return target;
      }
      case 'Sizeof': {
        const op = e.operand;
        if (op.kind === 'TypeName') {
          const t = castType(this.opts, op);
          const kernelSize = t || op.pointerDepth > 0 ? undefined : this.kernelTypeSize(op.base);
          // sizeof(NAME) of a constant (an enumerator: `sizeof(BTF_VAR_STATIC)` is 8, its 64-bit value)
          const constant = t || kernelSize !== undefined || op.pointerDepth > 0 || op.arrayLength !== null || !/^[A-Za-z_]\w*$/.test(op.base) ? undefined : identifierConstant(this.opts, op.base);
          if (constant) this.facts.sizeof.set(e, 8);
          else if (kernelSize !== undefined) this.facts.sizeof.set(e, kernelSize);
          else if (!t) return this.error(`unknown type: ${op.base}`, op.span);
          else this.facts.sizeof.set(e, op.pointerDepth > 0 ? 8 : t.kind === 'int' ? t.size : memSize(t));
        } else {
          // the value's size as the kernel holds it: an integer's width, a whole args array, else its memory layout
          const t = this.type(op);
          if (t.kind === 'int' && t.embedded && t.ptr) this.facts.sizeof.set(e, this.cSize(t.ptr.to, e.span)); // `sizeof(*p)` of a struct pointer
          // a char array member is its C size (a script struct's string value has one byte more, for a NUL)
          else if (t.kind === 'string' && t.charArray !== undefined) this.facts.sizeof.set(e, t.charArray);
          else this.facts.sizeof.set(e, t.kind === 'int' ? t.size : t.kind === 'array' ? t.field.size : memSize(t));
        }
        return UINT64;
      }
      case 'Offsetof': {
        if (e.type.kind !== 'TypeName') return this.error('offsetof() needs a struct type: offsetof(struct NAME, member)', e.span);
        const m = /^(struct|union)\s+(\w+)$/.exec(e.type.base.trim()) ?? /^()(\w+)$/.exec(e.type.base.trim());
        if (!m || e.type.pointerDepth) return this.error(`offsetof() needs a struct type, got ${e.type.base}`, e.type.span);
        try {
          this.facts.offsetof.set(e, offsetOf(m[1] || 'struct', m[2], e.field, this.opts.typeDefs ?? [], () => this.opts.target.btf()));
        } catch (err) {
          if (err instanceof CTypeError) return this.error(err.message, e.span);
          throw err;
        }
        return UINT64;
      }
      case 'BlockExpr':
      case 'IfExpr':
        // lang/desugar.ts turns these into statements before typing; one left here sits where statements cannot go
        return this.error(e.kind === 'IfExpr' ? 'an if expression cannot be used here' : 'a block expression cannot be used here', e.span);
      case 'IncDec': {
        this.assign(e.assign);
        const m = e.target.kind === 'MapRef' ? this.maps.get(`@${e.target.name}`) : undefined;
        if (m && m.agg.kind !== 'scalar') return this.error(`${e.assign.op}${e.assign.op} cannot be used on a ${m.agg.kind}() map`, e.span);
        return e.target.kind === 'Variable' ? this.vars.get(e.target.name) ?? INT64 : m?.value.kind === 'int' ? m.value : INT64;
      }
    }
  }

  /** sizeof(struct task_struct): the size of a kernel struct, union or enum from the target's BTF (undefined when unknown). */
  private kernelTypeSize(base: string): number | undefined {
    const sm = /^(struct|union)\s+(\w+)$/.exec(base.trim());
    if (sm && this.opts.typeDefs?.some((d) => d.tag === sm[1] && d.name === sm[2])) {
      const c = this.ctypes.named(base, 0);
      return c && this.cSize(c, null);
    }
    const m = /^(struct|union|enum)\s+(\w+)$/.exec(base.trim());
    const btf = m ? optionalBtf(this.opts.target) : null;
    if (!m || !btf) return undefined;
    try {
      const id = m[1] === 'enum' ? btf.find(m[2], 'enum') ?? btf.find(m[2], 'enum64') : btf.find(m[2], m[1] as 'struct' | 'union');
      return id === undefined ? undefined : btf.sizeOf(id);
    } catch {
      return undefined; // a recorded target without this answer
    }
  }

  /** Size in bytes of `sizeof(x)`. */
  cond(e: Expr): void {
    const t = this.type(e);
    if (t.kind !== 'int' && t.kind !== 'none') this.error(`condition must be an integer, got ${typeName(t)}`, e.span);
  }

  /** The type of `l op r`, the left operand's type `a` given (see binaryChain). */
  private binary(node: Binary, a: Type): Type {
    const { op, left: l, right: r, span } = node;
    const b = this.type(r);
    if (a.kind === 'none' || b.kind === 'none') return INT64;
    if (op === '&&' || op === '||') {
      if (a.kind !== 'int') this.error(`operand of '${op}' must be an integer, got ${typeName(a)}`, l.span);
      if (b.kind !== 'int') this.error(`operand of '${op}' must be an integer, got ${typeName(b)}`, r.span);
      return BOOL;
    }
    if (a.kind === 'string' || b.kind === 'string') {
      if (a.kind !== 'string' || b.kind !== 'string') return this.error(`cannot compare ${typeName(a)} with ${typeName(b)} using '${op}'`, span);
      if (op !== '==' && op !== '!=') return this.error(`strings only support '==' and '!=', not '${op}'`, span);
      return BOOL;
    }
    if (a.kind !== 'int') return this.error(`left operand of '${op}' must be an integer, got ${typeName(a)}`, l.span);
    if (b.kind !== 'int') return this.error(`right operand of '${op}' must be an integer, got ${typeName(b)}`, r.span);
    if (a.embedded || b.embedded) return this.error(`cannot use ${typeName(a.embedded ? a : b)} with '${op}': it is not a number`, a.embedded ? l.span : r.span);
    if ((a.ptr || b.ptr) && (op === '+' || op === '-')) return this.pointerArith(node, a, b);
    const signed = a.signed && b.signed;
    if (['==', '!=', '<', '<=', '>', '>='].includes(op)) {
      if (a.signed !== b.signed && ['<', '<=', '>', '>='].includes(op) && this.constInt(l) === undefined && this.constInt(r) === undefined) {
        this.warn(`comparison of integers of different signs: '${typeName(a)}' and '${typeName(b)}' can lead to undefined behavior`, span);
      }
      return BOOL;
    }
    if ((op === '/' || op === '%') && signed && !(nonNeg(this.constInt(l)) && nonNeg(this.constInt(r)))) {
      this.warn(`signed operands for '${op}' can lead to undefined behavior (cast to unsigned to silence warning)`, span);
    }
    return { kind: 'int', size: 8, signed };
  }

  /** `obj.name` where `obj` has type `ot` (already typed: typing it again would double the work per level). */
  private field(obj: Expr, ot: Type, name: string, span: Span): Type {
    if (ot.kind === 'ctx') {
      const tp = this.ctx.tracepoint;
      if (!tp) return this.error('args is not available in this probe', obj.span);
      const f = tp.fields.find((x) => x.name === name) ?? tp.commonFields.find((x) => x.name === name);
      if (!f) {
        return this.error(`tracepoint ${tp.category}:${tp.event} has no field '${name}'`, span, [
          `valid fields: ${tp.fields.map((x) => x.name).join(', ')}`,
        ]);
      }
      // pointer fields point into user memory in syscall tracepoints (their arguments), else the kernel's (bpftrace's rule)
      // (and a uprobe's `args`, its parameters from DWARF, are the process's)
      return fieldType(f, this.opts.strlen, { ctypes: this.ctypes, space: tp.category === 'syscalls' || this.ctx.user ? 'user' : 'kernel' });
    }
    if (ot.kind === 'none') return NONE;
    return this.error(`cannot access field '${name}' of ${typeName(ot)}`, span);
  }

  /**
   * `p->name` / `p.name` through a pointer to a record, or `rec.name` on a
   * record held in memory (`curtask->se.vruntime`): the member's offset for
   * the code generator, its value type for the rest.
   */
  private member(e: Extract<Expr, { kind: 'FieldAccess' }>, rec: CType, space: AddrSpace): Type {
    if (rec.kind !== 'record') return this.error(`cannot access field '${e.field}' of ${typeName(this.typeOf(e.object))}`, e.span);
    let m;
    try {
      m = this.ctypes.member(rec, e.field);
    } catch (err) {
      if (err instanceof CTypeError) return this.error(err.message, e.span);
      throw err;
    }
    if (typeof m === 'string') return this.error(m, e.span);
    if (m.bits) return this.error(`${rec.tag} ${rec.name}.${e.field} is a bitfield, which is not supported`, e.span);
    this.facts.memberOffsets.set(e, m.offset);
    const t = valueOfCType(m.type, space);
    return typeof t === 'string' ? this.error(`${rec.tag} ${rec.name}.${e.field}: ${t}`, e.span) : t;
  }

  /** `*p`: the pointee, read from the pointer's address space. */
  private deref(operand: Expr, span: Span): Type {
    const t = this.type(operand);
    if (t.kind === 'none') return NONE;
    if (t.kind !== 'int' || !t.ptr || t.embedded) return this.error(`cannot dereference ${typeName(t)}: it is not a pointer`, span);
    const v = valueOfCType(t.ptr.to, t.ptr.space);
    return typeof v === 'string' ? this.error(`cannot dereference ${typeName(t)}`, span) : v;
  }

  /** `p[i]` through a pointer (element `to`) or into an array held in memory (`embedded`). */
  private pointerIndex(e: Extract<Expr, { kind: 'Index' }>, to: CType, embedded: boolean, space: AddrSpace): Type {
    const elem = embedded ? (to.kind === 'array' ? to.elem : undefined) : to;
    if (!elem) return this.error(`cannot index a value of type ${typeName(this.typeOf(e.object))}`, e.span);
    this.int(e.index, 'index');
    const c = this.constInt(e.index);
    if (embedded && to.kind === 'array' && c !== undefined && to.length > 0 && (c < 0n || c >= BigInt(to.length))) {
      this.error(`the index ${c} is out of bounds for array of size ${to.length}`, e.index.span);
    }
    this.facts.scaleBy.set(e.index, this.cSize(elem, e.span));
    const v = valueOfCType(elem, space);
    return typeof v === 'string' ? this.error(`cannot index ${typeName(this.typeOf(e.object))}`, e.span) : v;
  }

  /** `&p->member`, `&p[i]`, `&*p`: the address of a value in memory, as a pointer to it. */
  private addressOf(operand: Expr, span: Span): Type {
    const t = this.type(operand);
    if (t.kind === 'none') return NONE;
    const lv = this.lvalueCType(operand);
    if (!lv) return this.error(`cannot take the address of this expression: only of a member, an element or a pointee in memory ('&$var' and '&@map' are not supported)`, span);
    return { kind: 'int', size: 8, signed: false, ptr: lv };
  }

  /** The C type and address space of an expression that names memory (for `&`), else undefined. */
  private lvalueCType(e: Expr): { to: CType; space: AddrSpace } | undefined {
    if (e.kind === 'FieldAccess' && this.facts.memberOffsets.has(e)) {
      const ot = this.typeOf(e.object);
      if (ot.kind !== 'int' || !ot.ptr || ot.ptr.to.kind !== 'record') return undefined;
      const m = this.ctypes.member(ot.ptr.to, e.field);
      return typeof m === 'string' ? undefined : { to: m.type, space: ot.ptr.space };
    }
    const ot = e.kind === 'Unary' && e.op === '*' ? this.typeOf(e.operand) : e.kind === 'Index' ? this.typeOf(e.object) : undefined;
    if (ot?.kind !== 'int' || !ot.ptr) return undefined;
    if (!ot.embedded) return { to: ot.ptr.to, space: ot.ptr.space };
    return e.kind === 'Index' && ot.ptr.to.kind === 'array' ? { to: ot.ptr.to.elem, space: ot.ptr.space } : undefined;
  }

  /** sizeof a C type; an unknown or unreadable struct is reported (and counts as 1). */
  private cSize(c: CType, span: Span | null): number {
    try {
      return this.ctypes.sizeOf(c);
    } catch (err) {
      if (!(err instanceof CTypeError)) throw err;
      this.error(err.message, span);
      return 1;
    }
  }

  /** `x += n`, `x -= n`, `x++` of a pointer `x`: n counts pointee elements (`@ = (int32 *)0x32; @++` is 0x36). */
  scaleStep(op: string | undefined, target: Type, value: Expr): void {
    if ((op === '+' || op === '-') && target.kind === 'int' && target.ptr && !target.embedded) this.facts.scaleBy.set(value, this.cSize(target.ptr.to, value.span));
  }

  /** `p + n`, `n + p`, `p - n`: a pointer, moved by n elements (n scaled by the pointee's size). */
  private pointerArith(node: Binary, a: Extract<Type, { kind: 'int' }>, b: Extract<Type, { kind: 'int' }>): Type {
    if (a.ptr && b.ptr) return this.error(`the ${node.op} operator cannot be used on two pointers (${typeName(a)}, ${typeName(b)})`, node.span);
    if (b.ptr && node.op === '-') return this.error(`cannot subtract a pointer (${typeName(b)}) from an integer`, node.span);
    const p = a.ptr ? a : b;
    this.facts.scaleBy.set(a.ptr ? node.right : node.left, this.cSize(p.ptr!.to, node.span));
    return { kind: 'int', size: 8, signed: false, ptr: p.ptr };
  }


  checkKey(m: MapInfo, kt: Type | null, e: MapRef): void {
    if ((m.key === null) !== (kt === null)) {
      this.error(m.key === null ? `${m.name} is used without keys elsewhere` : `${m.name} needs keys (${typeName(m.key as Type)})`, e.span);
    } else if (m.key && kt && !sameShape(m.key, kt)) {
      this.error(`${m.name} key type mismatch: ${typeName(kt)} where ${typeName(m.key)} is used elsewhere`, e.span);
    }
  }

  /** `x = v`, `@m[k] op= v`, `x++` (checker.ts). */
  protected abstract assign(s: Extract<Stmt, { kind: 'AssignStmt' }>): void;
}
