/**
 * Expressions: scalars into temp registers (spilling in Sethi–Ullman order
 * when registers run out), conditions as jumps, memory values stored at a
 * location, and string comparison.
 */
import { FP, Helper, R0, R1, R2, R3, type Reg, type JmpCond } from '../../ebpf/asm';
import type { Binary, Expr, MapRef, Span } from '../ast';
import { leftSpine } from '../semantic';
import type { Loc, Lowering } from '../feature';
import { builtinVar, functionDef } from '../builtins';
import { cConstant } from '../constants';
import { fieldSize, isScalar, memSize, sameLayout, sourceField, type Type } from '../types';
import { ContextGen } from './context';

/** Load/store width names by byte count. */
const WIDTH: Record<number, 'b' | 'h' | 'w' | 'dw'> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };

/** Binary operators evaluated as conditions (jumps), not arithmetic. */
const CONDITIONS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=', '&&', '||']);

export abstract class ExprGen extends ContextGen {
  /** Reads a map value as a scalar (maps.ts). */
  protected abstract mapReadScalar(m: MapRef): Reg;
  /** Stores a map value at dst (maps.ts). */
  protected abstract mapValueInto(m: MapRef, dst: Loc, target: Type): void;
  /** This generator as the builtins' lowering interface (program.ts). */
  protected abstract get lower(): Lowering;
  /** `x++` and friends as a value (maps.ts). */
  protected abstract incDec(e: Extract<Expr, { kind: 'IncDec' }>): Reg;

  /** Registers an expression needs (rough Sethi–Ullman number). */
  need(e: Expr): number {
    switch (e.kind) {
      case 'Binary': {
        // need(l op r) = max(need(l), need(r) + 1), unrolled over the left spine (chains are as long as the program)
        const spine = leftSpine(e);
        return spine.nodes.reduce((m, b) => Math.max(m, this.need(b.right) + 1), this.need(spine.leaf));
      }
      case 'Unary':
      case 'Cast':
        return this.need(e.operand);
      case 'Ternary':
        return Math.max(this.need(e.cond), this.need(e.then), this.need(e.otherwise));
      case 'Call':
        return e.args.reduce((m, x) => Math.max(m, this.need(x) + 1), 1);
      case 'Index':
        return Math.max(this.need(e.object), this.need(e.index) + 1);
      default:
        return 1;
    }
  }

  /**
   * Evaluates a scalar expression into a fresh temporary register. An
   * integer that counts elements of a pointer (`n` in `p + n`, `p[n]`,
   * `p += n`) is scaled by the pointee's size here.
   */
  scalar(e: Expr): Reg {
    const r = this.scalarValue(e);
    const scale = this.inst.facts.scaleBy.get(e);
    if (scale !== undefined && scale !== 1) this.a.mul64(r, scale);
    return r;
  }

  private scalarValue(e: Expr): Reg {
    const t = this.type(e);
    switch (e.kind) {
      case 'IntegerLit': {
        const r = this.temp(e.span);
        this.a.movConst(r, e.value);
        return r;
      }
      case 'Identifier': {
        // a C constant (the checker refused unknown names)
        const r = this.temp(e.span);
        this.a.movConst(r, this.inst.facts.constants.get(e) ?? cConstant(e.name, this.target) ?? 0n);
        return r;
      }
      case 'BoolLit': {
        const r = this.temp(e.span);
        this.a.mov64(r, e.value ? 1 : 0);
        return r;
      }
      case 'PositionalParam': {
        const r = this.temp(e.span);
        const v = e.index === 0 ? BigInt(this.paramsCount()) : this.paramInt(e.index);
        this.a.movConst(r, v);
        return r;
      }
      case 'Builtin': {
        const b = builtinVar(e.name);
        if (!b?.scalar) this.fail(`${e.name} cannot be used as a value here`, e.span);
        return b.scalar(this.lower, e);
      }
      case 'Variable': {
        const r = this.temp(e.span);
        this.a.ldx('dw', r, FP, this.varSlot(e.name, e.span));
        return r;
      }
      case 'MapRef':
        return this.mapReadScalar(e);
      case 'Call': {
        const f = functionDef(e.name);
        if (!f?.scalar) this.fail(`${e.name}() cannot be used as a value`, e.span);
        return f.scalar(this.lower, e);
      }
      case 'Binary':
        return this.binary(e);
      case 'Unary': {
        if (e.op === '!') return this.boolOf(e);
        if (e.op === '*') return this.memoryRead(e);
        if (e.op === '&') return this.addressOf(e.operand, e.span);
        const r = this.scalar(e.operand);
        if (e.op === '-') this.a.neg64(r);
        else if (e.op === '~') this.a.xor64(r, -1);
        return r;
      }
      case 'Ternary': {
        // Nothing is held while the condition and the branches are evaluated (nested
        // ternaries need no more registers than one): the result is the then-branch's
        // register, which the else branch, evaluated with it free, moves its value into.
        const els = this.a.newLabel('else'), end = this.a.newLabel('tend');
        this.cond(e.cond, els);
        const r = this.scalar(e.then);
        this.a.ja(end);
        this.a.label(els);
        this.release1(r);
        const r2 = this.scalar(e.otherwise);
        if (r2 !== r) {
          this.a.mov64(r, r2);
          this.release1(r2);
          this.take(r, e.span);
        }
        this.a.label(end);
        return r;
      }
      case 'Cast': {
        const r = this.scalar(e.operand);
        this.normalize(r, t);
        return r;
      }
      case 'FieldAccess': {
        const ri = this.inst.facts.recordField.get(e);
        if (ri !== undefined) return this.tupleFieldScalar(e.object, ri, e.span);
        if (this.inst.facts.memberOffsets.has(e)) return this.memoryRead(e);
        return this.fieldScalar(e.object, e.field, e.span);
      }
      case 'IncDec':
        return this.incDec(e);
      case 'Offsetof': {
        const v = this.inst.facts.offsetof.get(e);
        if (v === undefined) this.fail('internal: offsetof() was not computed', e.span);
        const r = this.temp(e.span);
        this.a.mov64(r, v);
        return r;
      }
      case 'Index': {
        const ot = this.type(e.object);
        if (ot.kind === 'string') return this.stringIndex(e.object, e.index, ot.size, e.span);
        return (ot.kind === 'int' && ot.ptr) || ot.kind === 'cdata' ? this.memoryRead(e) : this.indexScalar(e);
      }
      case 'TupleIndex':
        return this.tupleFieldScalar(e.object, e.index, e.span);
      case 'Sizeof': {
        const n = this.inst.facts.sizeof.get(e);
        if (n === undefined) this.fail('internal: sizeof() was not computed', e.span);
        const r = this.temp(e.span);
        this.a.mov64(r, n);
        return r;
      }
      default:
        this.fail(`${e.kind} cannot be used as a number`, e.span);
    }
  }

  protected boolOf(e: Expr): Reg {
    const f = this.a.newLabel('false');
    const end = this.a.newLabel('bend');
    if (this.isScalarComparison(e)) {
      // the 0/1 goes into the left operand's register once compared: one temp fewer
      // (`printf("%d", pid == tid)` has the record pointer live beside both operands)
      const l = this.compareJump(e, f);
      this.a.mov64(l, 1);
      this.a.ja(end);
      this.a.label(f);
      this.a.mov64(l, 0);
      this.a.label(end);
      return l;
    }
    const r = this.temp(e.span);
    // r is reserved before evaluating the condition so the condition's temps differ.
    this.cond(e, f);
    this.a.mov64(r, 1);
    this.a.ja(end);
    this.a.label(f);
    this.a.mov64(r, 0);
    this.a.label(end);
    return r;
  }

  /**
   * Arithmetic `l op r`. A chain `a + b + c ...` is evaluated from its
   * innermost left operand up, in a loop, emitting what recursion would.
   */
  protected binary(e: Binary): Reg {
    if (CONDITIONS.has(e.op)) return this.boolOf(e);
    const spine: Binary[] = [];
    let x: Expr = e;
    while (x.kind === 'Binary' && !CONDITIONS.has(x.op)) {
      spine.push(x);
      x = x.left;
    }
    let l = this.scalar(x);
    for (let i = spine.length - 1; i >= 0; i--) l = this.arith(spine[i], l);
    return l;
  }

  /** Applies one arithmetic node to its evaluated left operand `l`. */
  private arith(e: Binary, left: Reg): Reg {
    const op = e.op;
    const t = this.type(e);
    const [l, r] = this.withRight(left, e.left, e.right);
    // `(a + b) + p`: a left operand computed in this chain did not pass through scalar(), which scales
    const scaleL = e.left.kind === 'Binary' ? this.inst.facts.scaleBy.get(e.left) : undefined;
    if (scaleL !== undefined && scaleL !== 1) this.a.mul64(l, scaleL);
    switch (op) {
      case '+': this.a.add64(l, r); break;
      case '-': this.a.sub64(l, r); break;
      case '*': this.a.mul64(l, r); break;
      case '/': this.a.div64(l, r); break;
      case '%': this.a.mod64(l, r); break;
      case '&': this.a.and64(l, r); break;
      case '|': this.a.or64(l, r); break;
      case '^': this.a.xor64(l, r); break;
      case '<<': this.a.lsh64(l, r); break;
      case '>>': this.a.rsh64(l, r); break;
      default: this.fail(`operator ${op} not supported`, e.span);
    }
    this.release1(r);
    this.normalize(l, t);
    return l;
  }

  /** Evaluates two operands into registers, spilling the left one if the right one needs the registers. */
  operands(left: Expr, right: Expr): [Reg, Reg] {
    return this.withRight(this.scalar(left), left, right);
  }

  /** Evaluates `right` next to the evaluated `left` (in `l`), spilling `l` if `right` needs the registers. */
  private withRight(l: Reg, left: Expr, right: Expr): [Reg, Reg] {
    if (this.need(right) > this.freeCount()) {
      const slot = this.alloc(8);
      this.a.stx('dw', FP, slot, l);
      this.release1(l);
      const r = this.scalar(right);
      l = this.temp(left.span);
      this.a.ldx('dw', l, FP, slot);
      return [l, r];
    }
    return [l, this.scalar(right)];
  }

  /** Jumps to `falseLabel` when `e` is false (zero), falls through otherwise. */
  cond(e: Expr, falseLabel: string): void {
    if (e.kind === 'Unary' && e.op === '!') {
      const t = this.a.newLabel('not');
      this.cond(e.operand, t);
      this.a.ja(falseLabel);
      this.a.label(t);
      return;
    }
    if (e.kind === 'Binary') {
      if (e.op === '&&' || e.op === '||') {
        this.logicalChain(e, falseLabel);
        return;
      }
      const cmp = ['==', '!=', '<', '<=', '>', '>='];
      if (cmp.includes(e.op)) {
        const lt = this.type(e.left), rt = this.type(e.right);
        if (lt.kind === 'string' || rt.kind === 'string') {
          this.stringCompare(e.left, e.right, e.op === '==' ? falseLabel : null, e.op === '!=' ? falseLabel : null);
          return;
        }
        this.release1(this.compareJump(e, falseLabel));
        return;
      }
    }
    const r = this.scalar(e);
    this.a.jeq(r, 0, falseLabel);
    this.release1(r);
  }

  /** `l op r` comparing two scalars (not strings). */
  private isScalarComparison(e: Expr): e is Binary {
    return e.kind === 'Binary' && ['==', '!=', '<', '<=', '>', '>='].includes(e.op) &&
      this.type(e.left).kind !== 'string' && this.type(e.right).kind !== 'string';
  }

  /** Jumps to falseLabel when the scalar comparison `e` is false; returns its left operand's register (still held). */
  private compareJump(e: Binary, falseLabel: string): Reg {
    const lt = this.type(e.left), rt = this.type(e.right);
    const signed = lt.kind === 'int' && rt.kind === 'int' && lt.signed && rt.signed;
    const neg: Record<string, JmpCond> = signed
      ? { '==': 'JNE', '!=': 'JEQ', '<': 'JSGE', '<=': 'JSGT', '>': 'JSLE', '>=': 'JSLT' }
      : { '==': 'JNE', '!=': 'JEQ', '<': 'JGE', '<=': 'JGT', '>': 'JLE', '>=': 'JLT' };
    const rc = e.right.kind === 'IntegerLit' && e.right.value >= -0x80000000n && e.right.value <= 0x7fffffffn ? Number(e.right.value) : undefined;
    if (rc !== undefined) {
      const l = this.scalar(e.left);
      this.a.jcond(neg[e.op], l, rc, falseLabel);
      return l;
    }
    const [l, r] = this.operands(e.left, e.right);
    this.a.jcond(neg[e.op], l, r, falseLabel);
    this.release1(r);
    return l;
  }

  /**
   * `a && b && ...` / `a || b || ...` (left-deep, as long as the program) in a
   * loop, emitting what the recursive rules would:
   *   l && r: cond(l, F); cond(r, F)
   *   l || r: cond(l, f); ja t; f: cond(r, F); t:
   */
  private logicalChain(top: Binary, falseLabel: string): void {
    const op = top.op;
    const nodes: Binary[] = [];
    let x: Expr = top;
    while (x.kind === 'Binary' && x.op === op) {
      nodes.push(x);
      x = x.left;
    }
    if (op === '&&') {
      this.cond(x, falseLabel);
      for (let i = nodes.length - 1; i >= 0; i--) this.cond(nodes[i].right, falseLabel);
      return;
    }
    const labels = nodes.map(() => ({ t: this.a.newLabel('or'), f: this.a.newLabel('orf') }));
    this.cond(x, labels[nodes.length - 1].f);
    for (let i = nodes.length - 1; i >= 0; i--) {
      this.a.ja(labels[i].t);
      this.a.label(labels[i].f);
      this.cond(nodes[i].right, i === 0 ? falseLabel : labels[i - 1].f);
      this.a.label(labels[i].t);
    }
  }

  /**
   * Compares two strings up to their NUL: jumps to `ifDiffer` when they differ
   * and to `ifEqual` when equal (a null label falls through).
   */
  stringCompare(a: Expr, b: Expr, ifDiffer: string | null, ifEqual: string | null): void {
    const mark = this.frameMark;
    const differ = ifDiffer ?? this.a.newLabel('sdiff');
    const equal = ifEqual ?? this.a.newLabel('seq');
    if (b.kind !== 'StringLit' && a.kind === 'StringLit') [a, b] = [b, a];
    const la = this.addr(a);
    const sa = memSize(this.type(a));
    if (b.kind === 'StringLit' || (b.kind === 'PositionalParam' && this.type(b).kind === 'string')) {
      const bytes = Buffer.from(b.kind === 'StringLit' ? b.value : this.paramStr(b.index));
      const n = Math.min(bytes.length, sa);
      for (let i = 0; i < n; i++) {
        this.a.ldx('b', R0, la.base, la.off + i);
        this.a.jne(R0, bytes[i], differ);
      }
      if (bytes.length > sa) this.a.ja(differ);
      else if (bytes.length < sa) {
        this.a.ldx('b', R0, la.base, la.off + bytes.length);
        this.a.jne(R0, 0, differ);
      }
      this.a.ja(equal);
    } else {
      const lb = this.addr(b);
      const sb = memSize(this.type(b));
      const n = Math.min(sa, sb);
      for (let i = 0; i < n; i++) {
        this.a.ldx('b', R0, la.base, la.off + i);
        this.a.ldx('b', R1, lb.base, lb.off + i);
        this.a.jne(R0, R1, differ);
        this.a.jeq(R0, 0, equal);
      }
      if (sa !== sb) {
        const longer = sa > sb ? la : lb;
        this.a.ldx('b', R0, longer.base, longer.off + n);
        this.a.jne(R0, 0, differ);
      }
      this.a.ja(equal);
      this.dropLoc(lb);
    }
    if (!ifDiffer) this.a.label(differ);
    if (!ifEqual) this.a.label(equal);
    this.dropLoc(la);
    this.release(mark);
  }

  /** `s[i]`: the byte at i of a string value (sign-extended, a char), 0 past its end. */
  private stringIndex(object: Expr, index: Expr, size: number, span: Span): Reg {
    const mark = this.frameMark;
    const loc = this.addr(object);
    const r = this.temp(span);
    if (index.kind === 'IntegerLit' && index.value < BigInt(size)) {
      this.a.ldx('b', r, loc.base, loc.off + Number(index.value));
    } else {
      const i = this.scalar(index);
      const oob = this.a.newLabel('sioob'), done = this.a.newLabel('sidone');
      // unsigned compare: a negative index is past the end too; the verifier sees the bound
      this.a.jge(i, size, oob);
      this.a.mov64(r, loc.base);
      this.a.add64(r, loc.off);
      this.a.add64(r, i);
      this.a.ldx('b', r, r, 0);
      this.a.ja(done);
      this.a.label(oob);
      this.a.mov64(r, 0);
      this.a.label(done);
      this.release1(i);
    }
    this.a.lsh64(r, 56);
    this.a.arsh64(r, 56);
    this.dropLoc(loc);
    this.release(Math.min(mark, this.frameMark));
    return r;
  }

  /** Field `index` of the tuple (or record) `object`, as a scalar. */
  private tupleFieldScalar(object: Expr, index: number, span: Span): Reg {
    const mark = this.frameMark;
    const loc = this.addr(object);
    const ot = this.type(object);
    const r = this.temp(span);
    if (ot.kind === 'tuple') this.loadField(r, { base: loc.base, off: loc.off + ot.offsets[index] }, ot.fields[index]);
    this.dropLoc(loc);
    this.release(Math.min(mark, this.frameMark));
    return r;
  }

  /** Field `index` of the tuple (or record) `object`, written at `dst` in the layout of `target`. */
  private tupleFieldStore(object: Expr, index: number, dst: Loc, target: Type): void {
    const mark = this.frameMark;
    const ot = this.type(object);
    const src = this.addr(object);
    if (ot.kind === 'tuple') this.copyValue(dst, target, { base: src.base, off: src.off + ot.offsets[index] }, ot.fields[index]);
    this.dropLoc(src);
    this.release(mark);
  }

  /** Frees the temp register of a location (FP-based locations need nothing). */
  dropLoc(l: Loc): void {
    if (l.base !== FP) this.release1(l.base);
  }

  /** Address of a memory-typed value; valid until the end of the statement. */
  addr(e: Expr): Loc {
    if (e.kind === 'Variable') return { base: FP, off: this.varSlot(e.name, e.span) };
    const t = this.type(e);
    const off = this.alloc(memSize(t), e.span);
    const loc = { base: FP, off };
    this.storeInto(e, loc, t);
    return loc;
  }

  /**
   * Writes the value of `e` at `dst` in the layout of `target` (which may be
   * wider than the value's own type: shorter strings are zero-padded).
   */
  storeInto(e: Expr, dst: Loc, target: Type): void {
    const t = this.type(e);
    if (isScalar(t)) {
      const r = this.scalar(e);
      this.a.stx('dw', dst.base, dst.off, r);
      this.release1(r);
      return;
    }
    const tsize = memSize(target);
    const vsize = memSize(t);
    if (t.kind === 'cdata' && (e.kind === 'FieldAccess' || e.kind === 'Index' || (e.kind === 'Unary' && e.op === '*'))) {
      // a struct or array in memory, copied out by value (bpf_probe_read_* zeroes it when unreadable)
      const obj = e.kind === 'Unary' ? e.operand : e.object;
      const addr = e.kind === 'Unary' ? this.scalar(e.operand) : this.addressOf(e, e.span);
      this.lea(R1, dst);
      this.a.mov64(R2, Math.min(tsize, t.size));
      this.a.mov64(R3, addr);
      this.release1(addr);
      this.callRead(this.readHelper(this.spaceOf(obj)), e.span);
      if (tsize > t.size) this.zero({ base: dst.base, off: dst.off + t.size }, tsize - t.size);
      return;
    }
    switch (e.kind) {
      case 'StringLit':
      case 'PositionalParam': {
        const text = e.kind === 'StringLit' ? e.value : this.paramStr(e.index);
        const bytes = Buffer.alloc(tsize);
        Buffer.from(text).copy(bytes, 0, 0, Math.max(0, tsize - 1));
        this.storeBytes(dst, bytes);
        return;
      }
      case 'Tuple': {
        const tt = target.kind === 'tuple' ? target : t;
        if (tt.kind !== 'tuple') break;
        this.zeroPadding(dst, tt);
        // written order is evaluation order; a record's field goes where the target has its name
        e.elements.forEach((el, i) => {
          const j = tt.names && e.names ? tt.names.indexOf(e.names[i]) : i;
          this.storeField(el, { base: dst.base, off: dst.off + tt.offsets[j] }, tt.fields[j]);
        });
        return;
      }
      case 'Variable': {
        const src = { base: FP, off: this.varSlot(e.name, e.span) };
        this.copyValue(dst, target, src, t);
        return;
      }
      case 'Builtin': {
        const b = builtinVar(e.name);
        if (b?.store) {
          b.store(this.lower, e, dst, tsize);
          return;
        }
        break;
      }
      case 'Call': {
        const f = functionDef(e.name);
        if (f?.store) {
          f.store(this.lower, e, dst, tsize);
          return;
        }
        break;
      }
      case 'MapRef':
        this.mapValueInto(e, dst, target);
        return;
      case 'Ternary': {
        const els = this.a.newLabel('selse'), end = this.a.newLabel('send');
        this.cond(e.cond, els);
        this.storeInto(e.then, dst, target);
        this.a.ja(end);
        this.a.label(els);
        this.storeInto(e.otherwise, dst, target);
        this.a.label(end);
        return;
      }
      case 'TupleIndex':
        this.tupleFieldStore(e.object, e.index, dst, target);
        return;
      case 'FieldAccess': {
        const ri = this.inst.facts.recordField.get(e);
        if (ri !== undefined) {
          this.tupleFieldStore(e.object, ri, dst, target);
          return;
        }
        if (this.inst.facts.memberOffsets.has(e) && t.kind === 'string') {
          // char array member of a struct: read it as a string
          this.readStringAt(this.memberAddr(e), dst, tsize, t.charArray ?? t.size - 1, this.spaceOf(e.object));
          return;
        }
        if (this.type(e.object).kind === 'ctx') {
          this.ctxFieldStore(e.field, dst, tsize, e.span);
          return;
        }
        break;
      }
      case 'Index':
      case 'Unary': {
        // a char array element of a pointer (`*p` of `char (*)[16]`, `p[i]` of char[16] elements)
        if (t.kind !== 'string' || (e.kind === 'Unary' && e.op !== '*')) break;
        const obj = e.kind === 'Index' ? e.object : e.operand;
        if (e.kind === 'Index' && this.type(obj).kind !== 'int' && this.type(obj).kind !== 'cdata') break;
        this.readStringAt(e.kind === 'Index' ? this.elementAddr(e) : this.scalar(e.operand), dst, tsize, t.charArray ?? t.size - 1, this.spaceOf(obj));
        return;
      }
      default:
        break;
    }
    this.fail(`cannot produce a ${t.kind} value from ${e.kind}${vsize ? '' : ''}`, e.span);
  }

  /** Copies a stored value into a possibly wider slot (zero-padding strings, re-laying out tuples). */
  copyValue(dst: Loc, target: Type, src: Loc, t: Type): void {
    if (target.kind === 'tuple' && t.kind === 'tuple' && !sameLayout(target, t)) {
      this.zeroPadding(dst, target);
      target.fields.forEach((f, i) => {
        const j = sourceField(target, t, i);
        this.copyField({ base: dst.base, off: dst.off + target.offsets[i] }, f, { base: src.base, off: src.off + t.offsets[j] }, t.fields[j]);
      });
      return;
    }
    const vs = memSize(t), ts = memSize(target);
    this.copy(dst, src, Math.min(vs, ts));
    if (ts > vs) this.zero({ base: dst.base, off: dst.off + vs }, ts - vs);
  }

  /** Stores a tuple element into its field: an integer at the field's own width (C layout). */
  private storeField(e: Expr, dst: Loc, field: Type): void {
    if (field.kind !== 'int' || fieldSize(field) === 8 || !isScalar(this.type(e))) {
      this.storeInto(e, dst, field);
      return;
    }
    const r = this.scalar(e);
    this.a.stx(WIDTH[fieldSize(field)], dst.base, dst.off, r);
    this.release1(r);
  }

  /** Loads an integer tuple field into `r`, sign-extended when signed. */
  private loadField(r: Reg, src: Loc, field: Type): void {
    const n = fieldSize(field);
    this.a.ldx(WIDTH[n] ?? 'dw', r, src.base, src.off);
    if (field.kind === 'int' && field.signed && n < 8) {
      this.a.lsh64(r, 64 - n * 8);
      this.a.arsh64(r, 64 - n * 8);
    }
  }

  /** One field of a tuple copied into a field of another layout (integers converted between widths). */
  private copyField(dst: Loc, target: Type, src: Loc, t: Type): void {
    if (target.kind !== 'int' || t.kind !== 'int' || fieldSize(target) === fieldSize(t)) {
      this.copyValue(dst, target, src, t);
      return;
    }
    this.loadField(R0, src, t);
    this.a.stx(WIDTH[fieldSize(target)], dst.base, dst.off, R0);
  }

  /** Zeroes the gaps between tuple fields (string fields are fully written by their stores). */
  zeroPadding(dst: Loc, t: Extract<Type, { kind: 'tuple' }>): void {
    t.fields.forEach((f, i) => {
      const end = t.offsets[i] + fieldSize(f);
      const next = i + 1 < t.fields.length ? t.offsets[i + 1] : t.size;
      if (next > end) this.zero({ base: dst.base, off: dst.off + end }, next - end);
    });
  }
}
