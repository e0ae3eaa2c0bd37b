/**
 * Reading what the probe was given: tracepoint fields (`args.x`, arrays,
 * strings), probe arguments (registers, u64 argument arrays, USDT argument
 * specs) and members of kernel structs through BTF-typed pointers.
 */
import { FP, Helper, R0, R1, R2, R3, type Reg } from '../../ebpf/asm';
import type { Expr, Span } from '../ast';
import type { Loc } from '../feature';
import { fieldType, type InstanceTypes } from '../semantic';
import { argOffsets, regOffset } from '../../arch';
import type { AddrSpace, Type } from '../types';
import { FrameGen } from './frame';

export abstract class ContextGen extends FrameGen {
  /** Evaluates a scalar expression into a fresh temp (expr.ts). */
  abstract scalar(e: Expr): Reg;
  /** Address of a memory-typed value (expr.ts). */
  abstract addr(e: Expr): Loc;
  abstract dropLoc(l: Loc): void;
  /** Evaluates two operands into registers, spilling as needed (expr.ts). */
  abstract operands(left: Expr, right: Expr): [Reg, Reg];

  protected ctxField(name: string, span: Span) {
    const tp = this.inst.ctx.tracepoint;
    const f = tp?.fields.find((x) => x.name === name) ?? tp?.commonFields.find((x) => x.name === name);
    if (!f) this.fail(`no field '${name}'`, span);
    return f;
  }

  protected fieldScalar(obj: Expr, field: string, span: Span): Reg {
    if (this.type(obj).kind !== 'ctx') this.fail('field access is only supported on args', span);
    const f = this.ctxField(field, span);
    const t = fieldType(f, this.shared.opts.strlen);
    const r = this.temp(span);
    if (t.kind !== 'int') this.fail(`field '${field}' is not a number`, span);
    this.loadCtxInt(r, f.offset, t.size, t.signed);
    return r;
  }

  loadCtxInt(r: Reg, off: number, size: number, signed: boolean): void {
    const sz = size === 1 ? 'b' : size === 2 ? 'h' : size === 4 ? 'w' : 'dw';
    this.a.ldx(sz, r, this.ctx, off);
    if (signed && size < 8) {
      this.a.lsh64(r, 64 - size * 8);
      this.a.arsh64(r, 64 - size * 8);
    }
  }

  protected indexScalar(e: Extract<Expr, { kind: 'Index' }>): Reg {
    const ot = this.type(e.object);
    if (ot.kind !== 'array' || e.object.kind !== 'FieldAccess') this.fail('only arrays of args can be indexed', e.span);
    const et = ot.elem.kind === 'int' ? ot.elem : { kind: 'int' as const, size: 8 as const, signed: false };
    const c = e.index.kind === 'IntegerLit' ? Number(e.index.value) : undefined;
    const r = this.temp(e.span);
    if (c !== undefined) {
      this.loadCtxInt(r, ot.field.offset + c * ot.elemSize, et.size, et.signed);
      return r;
    }
    // Variable index: bounds-checked read through probe_read_kernel.
    const idx = this.scalar(e.index);
    const slot = this.alloc(8);
    this.a.st('dw', FP, slot, 0);
    const out = this.a.newLabel('oob');
    this.a.jge(idx, ot.length, out);
    this.a.mul64(idx, ot.elemSize);
    this.a.mov64(R3, this.ctx);
    this.a.add64(R3, ot.field.offset);
    this.a.add64(R3, idx);
    this.a.mov64(R1, FP);
    this.a.add64(R1, slot);
    this.a.mov64(R2, ot.elemSize);
    this.callRead(Helper.probe_read_kernel);
    this.a.label(out);
    this.release1(idx);
    this.a.ldx('dw', r, FP, slot);
    this.normalize(r, et);
    return r;
  }

  /** Stores a string field of a tracepoint record (char[N] or __data_loc char[]). */
  ctxFieldStore(field: string, dst: Loc, size: number, span: Span): void {
    const f = this.ctxField(field, span);
    this.zero(dst, size);
    this.lea(R1, dst);
    if (f.dataLoc) {
      this.a.ldx('w', R3, this.ctx, f.offset);
      this.a.mov64(R2, R3);
      this.a.rsh64(R2, 16);
      this.a.and64(R3, 0xffff);
      this.a.add64(R3, this.ctx);
      // bound the length by the slot so the verifier sees a constant limit; +1 for the NUL
      this.a.add64(R2, 1);
      const l = this.a.newLabel('dlok');
      this.a.jle(R2, size, l);
      this.a.mov64(R2, size);
      this.a.label(l);
      this.callRead(Helper.probe_read_kernel_str);
      return;
    }
    this.a.mov64(R2, Math.min(size, f.size));
    this.a.mov64(R3, this.ctx);
    this.a.add64(R3, f.offset);
    this.callRead(Helper.probe_read_kernel);
  }

  /** Reads argument N of the probe (pt_regs registers, u64 arg arrays, USDT specs). */
  argScalar(n: number, span: Span): Reg {
    const c = this.inst.ctx;
    const r = this.temp(span);
    if (c.usdtArgs) {
      const spec = c.usdtArgs[n];
      if (!spec) this.fail(`this usdt probe has ${c.usdtArgs.length} arguments, arg${n} does not exist`, span);
      this.usdtArg(r, spec);
      return r;
    }
    if (c.u64Args) {
      this.a.ldx('dw', r, this.ctx, n * 8);
      return r;
    }
    if (c.regs && c.funcArgs) {
      if (n >= this.target.arch.argRegs.length) this.fail(`arg${n}: only arg0..arg${this.target.arch.argRegs.length - 1} are passed in registers`, span);
      this.a.ldx('dw', r, this.ctx, argOffsets(this.target.arch)[n]);
      return r;
    }
    this.fail(`arg${n} is not available in ${c.provider} probes${c.tracepoint ? ' (use args.FIELD)' : ''}`, span);
  }

  protected usdtArg(r: Reg, spec: NonNullable<InstanceTypes['ctx']['usdtArgs']>[number]): void {
    const t = { kind: 'int' as const, size: spec.size as 1 | 2 | 4 | 8, signed: spec.signed };
    switch (spec.kind) {
      case 'const':
        this.a.movConst(r, spec.value);
        break;
      case 'reg':
        this.a.ldx('dw', r, this.ctx, spec.reg.offset - (spec.reg.offset % 8));
        if (spec.reg.offset % 8) this.a.rsh64(r, (spec.reg.offset % 8) * 8);
        break;
      case 'mem': {
        const slot = this.alloc(8);
        this.a.st('dw', FP, slot, 0);
        this.a.movConst(R3, spec.disp);
        if (spec.base) {
          this.a.ldx('dw', R0, this.ctx, spec.base.offset);
          this.a.add64(R3, R0);
        }
        if (spec.index) {
          this.a.ldx('dw', R0, this.ctx, spec.index.offset);
          if (spec.scale !== 1) this.a.mul64(R0, spec.scale);
          this.a.add64(R3, R0);
        }
        this.readUserInto(r, slot, spec.size);
        break;
      }
      case 'rip': {
        const site = this.inst.ctx.usdtAddress;
        if (spec.symbolValue === undefined || site === undefined) {
          this.fail(`usdt argument ${spec.spec}: symbol ${spec.symbol ?? '?'} is not in the file's symbol table`, null);
        }
        // The probe site's runtime address minus its link-time address is the load bias of this
        // mapping, which makes PIE and shared-library globals work per process. The runtime address
        // is the instruction pointer in the uprobe's registers (the kernel sets it to the breakpoint's
        // address before the handlers run), not bpf_get_func_ip: that gives uprobes their address
        // only from 6.4 on, and 0 before (on 6.1 every rip-relative argument read 0).
        const slot = this.alloc(8);
        this.a.st('dw', FP, slot, 0);
        this.a.ldx('dw', R3, this.ctx, regOffset(this.target.arch, this.target.arch.ipReg));
        this.a.movConst(R0, BigInt(spec.symbolValue - site) + spec.disp);
        this.a.add64(R3, R0);
        this.readUserInto(r, slot, spec.size);
        break;
      }
    }
    this.normalize(r, t);
  }

  /** r = the `size` bytes at user address R3, read into the zeroed 8-byte stack `slot` first. */
  protected readUserInto(r: Reg, slot: number, size: number): void {
    this.lea(R1, { base: FP, off: slot });
    this.a.mov64(R2, size);
    this.callRead(Helper.probe_read_user);
    this.a.ldx('dw', r, FP, slot);
  }

  /** The helper that reads memory of `space` (a string up to its NUL with `str`). */
  protected readHelper(space: AddrSpace, str = false): number {
    if (space === 'user') return str ? Helper.probe_read_user_str : Helper.probe_read_user;
    return str ? Helper.probe_read_kernel_str : Helper.probe_read_kernel;
  }

  /** The address space of the memory an access reads: its object's (a pointer's or an in-memory record's). */
  protected spaceOf(e: Expr): AddrSpace {
    const t = this.type(e);
    return t.kind === 'int' && t.ptr ? t.ptr.space : 'kernel';
  }

  /**
   * Register holding the address of a member (`p->a`, `curtask->se.vruntime`):
   * the object's value (a pointer, or the address of a record held in memory) plus the member's offset.
   */
  protected memberAddr(e: Extract<Expr, { kind: 'FieldAccess' }>): Reg {
    const off = this.inst.facts.memberOffsets.get(e) ?? 0;
    const base = this.objectBase(e.object);
    if (off) this.a.add64(base, off);
    return base;
  }

  /**
   * Register holding the address an access starts from: a pointer's value, or
   * for a struct/array held by value (a variable, a map value, a tuple field)
   * the address of its bytes (copied to the stack unless it is a variable).
   */
  protected objectBase(obj: Expr): Reg {
    if (this.type(obj).kind !== 'cdata') return this.scalar(obj);
    const loc = this.addr(obj);
    const r = this.temp(obj.span);
    this.lea(r, loc);
    this.dropLoc(loc);
    return r;
  }

  /** Register holding the address of `p[i]`: p plus i times the element's size. */
  protected elementAddr(e: Extract<Expr, { kind: 'Index' }>): Reg {
    const scale = this.inst.facts.scaleBy.get(e.index) ?? 1;
    if (this.type(e.object).kind === 'cdata') {
      // an array held by value: its copy's address plus the scaled index
      const base = this.objectBase(e.object);
      const idx = this.scalar(e.index);
      this.a.add64(base, idx);
      this.release1(idx);
      return base;
    }
    if (e.index.kind === 'IntegerLit') {
      const base = this.scalar(e.object);
      const off = e.index.value * BigInt(scale);
      if (off >= -0x80000000n && off <= 0x7fffffffn) {
        if (off) this.a.add64(base, Number(off));
        return base;
      }
      this.release1(base);
    }
    const [base, idx] = this.operands(e.object, e.index); // scalar() scaled the index
    this.a.add64(base, idx);
    this.release1(idx);
    return base;
  }

  /**
   * The value of type `t` at the address in `addr` (memory of `space`), in
   * `addr`: an integer or pointer read with bpf_probe_read_* (0 when
   * unreadable); a record or array held in memory is its address already.
   */
  protected readAt(addr: Reg, t: Type, space: AddrSpace, what: string, span: Span): Reg {
    if (t.kind !== 'int') this.fail(`${what} is not a number`, span);
    if (t.embedded) return addr;
    const slot = this.alloc(8);
    this.a.st('dw', FP, slot, 0);
    this.a.mov64(R1, FP);
    this.a.add64(R1, slot);
    this.a.mov64(R2, t.size);
    this.a.mov64(R3, addr);
    this.callRead(this.readHelper(space));
    this.a.ldx('dw', addr, FP, slot);
    this.normalize(addr, t);
    return addr;
  }

  /**
   * A char array in memory (at `addr`, released here; `length` bytes) copied
   * into a string slot at `dst` zero-padded to `slotSize`: the bytes as they
   * are, since a full array has no NUL of its own (a script struct's string
   * type has room for one after them; a BTF one's is the array's own length).
   */
  protected readStringAt(addr: Reg, dst: Loc, slotSize: number, length: number, space: AddrSpace): void {
    this.zero(dst, slotSize);
    this.lea(R1, dst);
    this.a.mov64(R2, Math.max(1, Math.min(slotSize, length)));
    this.a.mov64(R3, addr);
    this.release1(addr);
    this.callRead(this.readHelper(space, false));
  }

  /** Register holding the address an access names, for `&x` (a member, an element, a pointee). */
  protected addressOf(e: Expr, span: Span): Reg {
    if (e.kind === 'FieldAccess') return this.memberAddr(e);
    if (e.kind === 'Index') return this.elementAddr(e);
    if (e.kind === 'Unary' && e.op === '*') return this.scalar(e.operand);
    this.fail('cannot take the address of this expression', span);
  }

  /** `p->a`, `*p`, `p[i]` as a value. */
  protected memoryRead(e: Extract<Expr, { kind: 'FieldAccess' | 'Index' | 'Unary' }>): Reg {
    const obj = e.kind === 'FieldAccess' || e.kind === 'Index' ? e.object : e.operand;
    const addr = e.kind === 'Unary' ? this.scalar(e.operand) : this.addressOf(e, e.span);
    const what = e.kind === 'FieldAccess' ? e.field : e.kind === 'Index' ? 'the element' : 'the pointee';
    return this.readAt(addr, this.type(e), this.spaceOf(obj), what, e.span);
  }
}
