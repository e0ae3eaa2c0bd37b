/**
 * The generator's frame: the instruction buffer, the temp registers, the
 * stack frame and the byte moves every lowering uses.
 *
 * Register convention: r6 holds the context for the whole program; r7–r9 are
 * expression temporaries (callee-saved, so they survive helper calls); r0–r5
 * are scratch within one lowering step and die at every call. When r7–r9 are
 * all held, temp() hands out a virtual register that lives in a stack slot
 * (spill.ts rewrites it after assembly), so an expression never runs out.
 *
 * Stack: scratch variables get fixed slots for the whole program; memory
 * temporaries (keys, strings, values) are freed at the end of each statement.
 * Integers in memory are always 8 bytes.
 *
 * The generator is one class built in layers, one file per concern:
 * frame → context (probe arguments) → expr → maps → events → statements → program.
 */
import { Asm, FP, Helper, R0, R1, R2, R6, R7, R8, R9, PseudoLd, helperName, type Reg } from '../../ebpf/asm';
import type { Expr, Span } from '../ast';
import { CompileError } from '../diagnostics';
import type { Loc } from '../feature';
import { positionalInt } from '../positional';
import { cConstant } from '../constants';
import type { InstanceTypes } from '../semantic';
import type { ProbeContext } from '../probes';
import { NONE, align8, memSize, type Type } from '../types';
import type { Shared } from './resources';
import type { Target } from '../../target/target';
import { VREG_BASE } from './spill';

export type { Loc };

export const STACK_LIMIT = 512;

export const TEMPS: readonly Reg[] = [R7, R8, R9];

const virtualRegs: Reg[] = [];
/** Virtual register k (one object per number, so held registers compare by identity). */
function virtualReg(k: number): Reg {
  while (virtualRegs.length <= k) virtualRegs.push(Object.freeze({ n: VREG_BASE + virtualRegs.length }));
  return virtualRegs[k];
}
const isVirtual = (r: Reg) => r.n >= VREG_BASE;

const SIZE_NAME: Record<number, 'b' | 'h' | 'w' | 'dw'> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };

/** Widest access (8/4/2/1) that fits in `left` bytes and is aligned at both offsets (bases are 8-aligned). */
function chunk(left: number, a: number, b: number): number {
  for (const n of [8, 4, 2]) if (left >= n && ((a % n) + n) % n === 0 && ((b % n) + n) % n === 0) return n;
  return 1;
}

export abstract class FrameGen {
  readonly a = new Asm();
  protected free: Reg[] = [...TEMPS];
  /** Released virtual registers (reused first, so their stack slots are reused by lifetime) and how many exist. */
  protected vfree: Reg[] = [];
  protected vcount = 0;
  protected frame = 0;
  /** Deepest stack use of any function of this program: virtual registers' slots go below it. */
  protected frameHigh = 0;
  protected vars = new Map<string, number>();
  protected loops: { brk: string; cont: string }[] = [];
  protected exitLabel: string;
  /** Callback subprograms (for_each_map_elem), emitted after the main program. */
  protected subprogs: { label: string; emit: () => void }[] = [];
  protected funcRefs: { at: number; label: string }[] = [];
  protected subprogStart = new Map<string, number>();
  readonly spans: Span[] = [];
  readonly ctx = R6;

  constructor(readonly inst: InstanceTypes, readonly shared: Shared, readonly probeNameIndex: number) {
    this.exitLabel = this.a.newLabel('exit');
  }

  /** The kernel compiled for. */
  get target(): Target {
    return this.shared.opts.target;
  }

  /** The probe context being compiled (what it offers: registers, u64 args, ...). */
  get probe(): ProbeContext {
    return this.inst.ctx;
  }

  type(e: Expr): Type {
    // a variable's slot holds its final (widest) type, whatever it was where this read was typed
    if (e.kind === 'Variable') return this.inst.vars.get(e.name) ?? this.inst.exprs.get(e) ?? NONE;
    return this.inst.exprs.get(e) ?? NONE;
  }

  fail(msg: string, span: Span | null): never {
    throw new CompileError(msg, span);
  }

  /** Allocates `size` bytes (8-aligned) of stack; returns the FP-relative offset. */
  alloc(size: number, span: Span | null = null): number {
    this.frame += align8(Math.max(size, 1));
    this.frameHigh = Math.max(this.frameHigh, this.frame);
    if (this.frame > STACK_LIMIT) {
      this.fail(`this probe needs more than ${STACK_LIMIT} bytes of BPF stack; use shorter strings (config = { max_strlen = N }) or fewer variables`, span);
    }
    return -this.frame;
  }

  get frameMark(): number {
    return this.frame;
  }

  release(mark: number): void {
    this.frame = mark;
  }

  temp(_span: Span | null = null): Reg {
    return this.free.pop() ?? this.vfree.pop() ?? virtualReg(this.vcount++);
  }

  /** Takes back a register released earlier, now free again (the ternary's result). */
  take(r: Reg, span: Span | null): void {
    const list = isVirtual(r) ? this.vfree : this.free;
    const i = list.indexOf(r);
    if (i < 0) this.fail('internal: a released register was not given back', span);
    list.splice(i, 1);
  }

  release1(r: Reg): void {
    if (TEMPS.includes(r) && !this.free.includes(r)) this.free.push(r);
    else if (isVirtual(r) && !this.vfree.includes(r)) this.vfree.push(r);
  }

  freeCount(): number {
    return this.free.length;
  }

  ldMap(dst: Reg, mapIndex: number): void {
    this.a.ldImm64(dst, mapIndex, PseudoLd.MAP_FD);
  }

  /** dst = address of byte `off` of array map `mapIndex`'s first value (no lookup, never null). */
  ldMapValue(dst: Reg, mapIndex: number, off: number): void {
    this.a.ldImm64(dst, (BigInt(off) << 32n) | BigInt(mapIndex), PseudoLd.MAP_VALUE);
  }

  /** r<dst> = FP + off (a stack pointer). */
  lea(dst: Reg, loc: Loc): void {
    this.a.mov64(dst, loc.base);
    if (loc.off) this.a.add64(dst, loc.off);
  }

  zero(loc: Loc, size: number): void {
    for (let o = 0; o < size;) {
      const n = chunk(size - o, loc.off + o, loc.off + o);
      this.a.st(SIZE_NAME[n], loc.base, loc.off + o, 0);
      o += n;
    }
  }

  /** Copies bytes with the widest accesses both sides' alignment allows (the verifier rejects misaligned stack access). */
  copy(dst: Loc, src: Loc, size: number): void {
    for (let o = 0; o < size;) {
      const n = chunk(size - o, dst.off + o, src.off + o);
      this.a.ldx(SIZE_NAME[n], R0, src.base, src.off + o);
      this.a.stx(SIZE_NAME[n], dst.base, dst.off + o, R0);
      o += n;
    }
  }

  /** Stores constant bytes. */
  storeBytes(dst: Loc, bytes: Buffer): void {
    for (let o = 0; o < bytes.length;) {
      const n = chunk(Math.min(bytes.length - o, 4), dst.off + o, dst.off + o);
      const v = n === 4 ? bytes.readInt32LE(o) : n === 2 ? bytes.readInt16LE(o) : bytes.readInt8(o);
      this.a.st(SIZE_NAME[n], dst.base, dst.off + o, v);
      o += n;
    }
  }

  /**
   * Calls a helper that reads memory (probe_read*). With -k a failure
   * (r0 < 0) is counted for this call site, through a stack slot used and
   * given back at once.
   */
  callRead(helper: number, span: Span | null = null): void {
    this.a.call(helper);
    if (!this.shared.opts.helperErrors) return;
    const { map, site } = this.shared.helperErrorSite(helperName(helper) ?? `helper ${helper}`, span ?? this.spans[this.spans.length - 1] ?? null);
    const mark = this.frameMark;
    const slot = this.alloc(8, span);
    const ok = this.a.newLabel('readok');
    this.a.jsge(R0, 0, ok);
    this.a.st('w', FP, slot, site);
    this.ldMap(R1, map);
    this.a.mov64(R2, FP);
    this.a.add64(R2, slot);
    this.a.call(Helper.map_lookup_elem);
    this.a.jeq(R0, 0, ok);
    this.a.ldx('dw', R1, R0, 0);
    this.a.add64(R1, 1);
    this.a.stx('dw', R0, 0, R1);
    this.a.label(ok);
    this.release(mark);
  }

  /** Narrows a 64-bit register to an integer type (truncate, then sign/zero-extend). */
  normalize(r: Reg, t: Type): void {
    if (t.kind === 'int' && t.bool && t.size === 1) {
      // (bool)x is x != 0 (bpftrace 0.24+), not its low byte
      const done = this.a.newLabel('bool');
      this.a.jeq(r, 0, done);
      this.a.mov64(r, 1);
      this.a.label(done);
      return;
    }
    if (t.kind !== 'int' || t.size === 8) return;
    const bits = t.size * 8;
    if (t.signed) {
      this.a.lsh64(r, 64 - bits);
      this.a.arsh64(r, 64 - bits);
    } else if (t.size === 4) {
      this.a.mov32(r, r);
    } else {
      this.a.and64(r, (1 << bits) - 1);
    }
  }

  protected paramsCount(): number {
    return this.shared.params.length;
  }

  paramInt(i: number): bigint {
    const p = this.shared.params[i - 1];
    return (p !== undefined ? positionalInt(p) : undefined) ?? 0n;
  }

  paramStr(i: number): string {
    return this.shared.params[i - 1] ?? '';
  }

  varSlot(name: string, span: Span | null): number {
    let off = this.vars.get(name);
    if (off === undefined) {
      const t = this.inst.vars.get(name);
      if (!t) this.fail(`undefined variable: ${name}`, span);
      // variables live for the whole program: allocate below any statement temporaries
      off = this.alloc(memSize(t), span);
      this.vars.set(name, off);
    }
    return off;
  }

  protected tag(span: Span): void {
    this.spans.push(span);
    this.a.setTag(this.spans.length - 1);
  }

  constOf(e: Expr): bigint {
    if (e.kind === 'IntegerLit') return e.value;
    if (e.kind === 'Identifier') return this.inst.facts.constants.get(e) ?? cConstant(e.name, this.target) ?? 0n;
    if (e.kind === 'PositionalParam') return this.paramInt(e.index);
    if (e.kind === 'Unary' && e.op === '-') return -this.constOf(e.operand);
    this.fail('expected an integer constant', e.span);
  }
}
