/**
 * An eBPF assembler: methods append instructions, jumps name labels, and
 * `assemble()` resolves labels into pc-relative offsets.
 *
 * @example
 *   const a = new Asm();
 *   a.call(Helper.get_current_pid_tgid);
 *   a.rsh64(R0, 32);
 *   a.jne(R0, 1234, 'skip');
 *   a.mov64(R0, 1);
 *   a.label('skip');
 *   a.exit();
 *   const bytes = a.assemble();
 */
import {
  AluOp, AtomicOp, Class, type Insn, JmpOp, type MemSize, memSizeCode, Mode, PseudoCall, PseudoLd, Size, Src, encode,
} from './insn';
import { InternalError } from '../../errors';

/**
 * A register. Registers are objects, not numbers, so that a plain number
 * operand is always an immediate: `a.jeq(R0, 0, 'out')` compares r0 with 0.
 */
export interface Reg {
  readonly n: number;
}
const reg = (n: number): Reg => Object.freeze({ n });
export const R0 = reg(0), R1 = reg(1), R2 = reg(2), R3 = reg(3), R4 = reg(4), R5 = reg(5);
export const R6 = reg(6), R7 = reg(7), R8 = reg(8), R9 = reg(9), R10 = reg(10);
/** The read-only frame pointer. */
export const FP = R10;
/** All registers by number. */
export const REGS: readonly Reg[] = [R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10];

/** The second operand of ALU and jump instructions: a register or a 32-bit immediate. */
export type Operand = Reg | number;

export class AsmError extends InternalError {
  constructor(message: string) {
    super(message);
    this.name = 'AsmError';
  }
}

type AluName = keyof typeof AluOp;
export type JmpCond = 'JEQ' | 'JGT' | 'JGE' | 'JSET' | 'JNE' | 'JSGT' | 'JSGE' | 'JLT' | 'JLE' | 'JSLT' | 'JSLE';

interface Fixup {
  at: number;
  label: string;
  kind: 'jump' | 'call';
}

function checkImm32(v: number): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new AsmError(`immediate ${v} does not fit in 32 bits`);
  return v | 0;
}

function checkOff16(v: number): number {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new AsmError(`offset ${v} does not fit in 16 bits`);
  return v;
}

export class Asm {
  readonly insns: Insn[] = [];
  private labels = new Map<string, number>();
  private fixups: Fixup[] = [];
  /** Source annotations: instruction index → caller-supplied tag (e.g. a source span id). */
  readonly tags = new Map<number, number>();
  private currentTag: number | undefined;
  private labelCounter = 0;

  /** Number of instruction slots emitted so far. */
  get length(): number {
    return this.insns.length;
  }

  /** Tags subsequent instructions (e.g. with a source location id) until changed. */
  setTag(tag: number | undefined): void {
    this.currentTag = tag;
  }

  /** A fresh label name unique to this assembler. */
  newLabel(hint = 'L'): string {
    return `.${hint}${this.labelCounter++}`;
  }

  raw(i: Insn): this {
    if (this.currentTag !== undefined) this.tags.set(this.insns.length, this.currentTag);
    this.insns.push(i);
    return this;
  }

  label(name: string): this {
    if (this.labels.has(name)) throw new AsmError(`label '${name}' defined twice`);
    this.labels.set(name, this.insns.length);
    return this;
  }

  hasLabel(name: string): boolean {
    return this.labels.has(name);
  }

  // ---- ALU ---------------------------------------------------------------

  private alu(cls: number, op: AluName, dst: Reg, src: Operand, off = 0): this {
    if (typeof src === 'number') return this.raw({ code: cls | AluOp[op] | Src.K, dst: dst.n, src: 0, off, imm: checkImm32(src) });
    return this.raw({ code: cls | AluOp[op] | Src.X, dst: dst.n, src: src.n, off, imm: 0 });
  }

  /** ALU operations: `op(dst, src)`; `src` is a register or a 32-bit immediate (sign-extended for 64-bit ops). */
  mov64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'MOV', dst, src);
  add64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'ADD', dst, src);
  sub64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'SUB', dst, src);
  mul64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'MUL', dst, src);
  div64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'DIV', dst, src);
  mod64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'MOD', dst, src);
  or64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'OR', dst, src);
  and64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'AND', dst, src);
  xor64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'XOR', dst, src);
  lsh64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'LSH', dst, src);
  rsh64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'RSH', dst, src);
  arsh64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'ARSH', dst, src);
  neg64 = (dst: Reg) => this.raw({ code: Class.ALU64 | AluOp.NEG, dst: dst.n, src: 0, off: 0, imm: 0 });

  mov32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'MOV', dst, src);
  add32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'ADD', dst, src);
  sub32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'SUB', dst, src);
  mul32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'MUL', dst, src);
  div32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'DIV', dst, src);
  mod32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'MOD', dst, src);
  or32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'OR', dst, src);
  and32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'AND', dst, src);
  xor32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'XOR', dst, src);
  lsh32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'LSH', dst, src);
  rsh32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'RSH', dst, src);
  arsh32 = (dst: Reg, src: Operand) => this.alu(Class.ALU, 'ARSH', dst, src);
  neg32 = (dst: Reg) => this.raw({ code: Class.ALU | AluOp.NEG, dst: dst.n, src: 0, off: 0, imm: 0 });

  /** Signed division/modulo (ISA v4, kernel 6.6+): off = 1 selects the signed form. */
  sdiv64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'DIV', dst, src, 1);
  smod64 = (dst: Reg, src: Operand) => this.alu(Class.ALU64, 'MOD', dst, src, 1);
  /** Sign-extending move (ISA v4): bits = 8, 16 or 32. */
  movsx64 = (dst: Reg, src: Reg, bits: 8 | 16 | 32) => this.raw({ code: Class.ALU64 | AluOp.MOV | Src.X, dst: dst.n, src: src.n, off: bits, imm: 0 });

  /** Byte swap to big-endian (be) or little-endian (le) of the low `bits` bits. */
  endian(dst: Reg, to: 'be' | 'le', bits: 16 | 32 | 64): this {
    return this.raw({ code: Class.ALU | AluOp.END | (to === 'be' ? Src.X : Src.K), dst: dst.n, src: 0, off: 0, imm: bits });
  }

  // ---- constants and maps -------------------------------------------------

  /** dst = 64-bit constant (two instruction slots). */
  ldImm64(dst: Reg, value: bigint | number, pseudo: number = PseudoLd.NONE): this {
    const v = BigInt.asUintN(64, BigInt(value));
    const lo = Number(v & 0xffffffffn) | 0;
    const hi = Number(v >> 32n) | 0;
    this.raw({ code: Class.LD | Mode.IMM | Size.DW, dst: dst.n, src: pseudo, off: 0, imm: lo });
    this.insns.push({ code: 0, dst: 0, src: 0, off: 0, imm: hi });
    return this;
  }

  /** dst = pointer to the map with this fd (the kernel rewrites the fd). */
  ldMapFd(dst: Reg, fd: number): this {
    return this.ldImm64(dst, fd, PseudoLd.MAP_FD);
  }

  /** dst = pointer to byte `offset` of the value of the array map with this fd (key 0). */
  ldMapValue(dst: Reg, fd: number, offset = 0): this {
    return this.ldImm64(dst, (BigInt(offset) << 32n) | BigInt(fd), PseudoLd.MAP_VALUE);
  }

  /** Loads a constant of any size: a short mov when it fits in a sign-extended imm32. */
  movConst(dst: Reg, value: bigint | number): this {
    const v = BigInt.asIntN(64, BigInt(value));
    if (v >= -0x80000000n && v <= 0x7fffffffn) return this.mov64(dst, Number(v));
    return this.ldImm64(dst, v);
  }

  // ---- memory ------------------------------------------------------------

  /** dst = *(size *)(src + off) */
  ldx(size: MemSize, dst: Reg, src: Reg, off: number): this {
    return this.raw({ code: Class.LDX | Mode.MEM | memSizeCode[size], dst: dst.n, src: src.n, off: checkOff16(off), imm: 0 });
  }

  /** dst = *(signed size *)(src + off), sign-extended (ISA v4). */
  ldxsx(size: Exclude<MemSize, 'dw'>, dst: Reg, src: Reg, off: number): this {
    return this.raw({ code: Class.LDX | Mode.MEMSX | memSizeCode[size], dst: dst.n, src: src.n, off: checkOff16(off), imm: 0 });
  }

  /** *(size *)(dst + off) = src */
  stx(size: MemSize, dst: Reg, off: number, src: Reg): this {
    return this.raw({ code: Class.STX | Mode.MEM | memSizeCode[size], dst: dst.n, src: src.n, off: checkOff16(off), imm: 0 });
  }

  /** *(size *)(dst + off) = imm */
  st(size: MemSize, dst: Reg, off: number, value: number): this {
    return this.raw({ code: Class.ST | Mode.MEM | memSizeCode[size], dst: dst.n, src: 0, off: checkOff16(off), imm: checkImm32(value) });
  }

  /** Atomic read-modify-write: lock *(size *)(dst + off) op= src (size 'w' or 'dw'). */
  atomic(size: 'w' | 'dw', op: number, dst: Reg, off: number, src: Reg): this {
    return this.raw({ code: Class.STX | Mode.ATOMIC | memSizeCode[size], dst: dst.n, src: src.n, off: checkOff16(off), imm: op });
  }

  /** lock *(size *)(dst + off) += src */
  atomicAdd(size: 'w' | 'dw', dst: Reg, off: number, src: Reg): this {
    return this.atomic(size, AtomicOp.ADD, dst, off, src);
  }

  // ---- control flow ------------------------------------------------------

  private jmp(cls: number, op: JmpCond | 'JA', dst: Reg, src: Operand, label: string): this {
    this.fixups.push({ at: this.insns.length, label, kind: 'jump' });
    if (typeof src === 'number') return this.raw({ code: cls | JmpOp[op] | Src.K, dst: dst.n, src: 0, off: 0, imm: checkImm32(src) });
    return this.raw({ code: cls | JmpOp[op] | Src.X, dst: dst.n, src: src.n, off: 0, imm: 0 });
  }

  ja(label: string): this {
    return this.jmp(Class.JMP, 'JA', R0, 0, label);
  }

  /** Conditional jumps: `jeq(dst, src, label)`; `src` is a register or an immediate. */
  jeq = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JEQ', d, s, l);
  jne = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JNE', d, s, l);
  jgt = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JGT', d, s, l);
  jge = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JGE', d, s, l);
  jlt = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JLT', d, s, l);
  jle = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JLE', d, s, l);
  jsgt = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JSGT', d, s, l);
  jsge = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JSGE', d, s, l);
  jslt = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JSLT', d, s, l);
  jsle = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JSLE', d, s, l);
  jset = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP, 'JSET', d, s, l);
  /** 32-bit compare forms (compare the low 32 bits only). */
  jeq32 = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP32, 'JEQ', d, s, l);
  jne32 = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP32, 'JNE', d, s, l);
  jgt32 = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP32, 'JGT', d, s, l);
  jlt32 = (d: Reg, s: Operand, l: string) => this.jmp(Class.JMP32, 'JLT', d, s, l);

  /** Generic conditional jump by operator name (used by code generators). */
  jcond(op: JmpCond, dst: Reg, src: Operand, label: string, wide = true): this {
    return this.jmp(wide ? Class.JMP : Class.JMP32, op, dst, src, label);
  }

  /** Calls a helper by id. */
  call(helperId: number): this {
    return this.raw({ code: Class.JMP | JmpOp.CALL, dst: 0, src: PseudoCall.HELPER, off: 0, imm: helperId });
  }

  /** Calls a BPF-to-BPF subprogram starting at `label`. */
  callLocal(label: string): this {
    this.fixups.push({ at: this.insns.length, label, kind: 'call' });
    return this.raw({ code: Class.JMP | JmpOp.CALL, dst: 0, src: PseudoCall.CALL, off: 0, imm: 0 });
  }

  exit(): this {
    return this.raw({ code: Class.JMP | JmpOp.EXIT, dst: 0, src: 0, off: 0, imm: 0 });
  }

  // ---- output ------------------------------------------------------------

  /** Resolves labels and returns the instructions. */
  resolve(): Insn[] {
    const out = this.insns.map((i) => ({ ...i }));
    for (const f of this.fixups) {
      const target = this.labels.get(f.label);
      if (target === undefined) throw new AsmError(`undefined label '${f.label}'`);
      const rel = target - f.at - 1;
      if (f.kind === 'call') out[f.at].imm = rel;
      else out[f.at].off = checkOff16(rel);
    }
    return out;
  }

  /** Resolves labels and encodes to the kernel's byte layout. */
  assemble(): Buffer {
    return encode(this.resolve());
  }
}

export { AtomicOp, PseudoLd, Size };
