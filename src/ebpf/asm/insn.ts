/**
 * eBPF instruction encoding (see the kernel's Documentation/bpf/standardization/
 * instruction-set.rst). One instruction is 8 bytes, little-endian:
 *   u8 opcode | u4 dst_reg, u4 src_reg | s16 off | s32 imm
 * A 64-bit immediate load (lddw) takes two slots; the second holds the high
 * 32 bits of the constant in its imm field.
 */

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

export const INSN_SIZE = 8;

/** Instruction classes (low 3 bits of the opcode). */
export const Class = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;

/** ALU operations (high 4 bits). */
export const AluOp = {
  ADD: 0x00, SUB: 0x10, MUL: 0x20, DIV: 0x30, OR: 0x40, AND: 0x50, LSH: 0x60, RSH: 0x70,
  NEG: 0x80, MOD: 0x90, XOR: 0xa0, MOV: 0xb0, ARSH: 0xc0, END: 0xd0,
} as const;

/** Jump operations (high 4 bits). */
export const JmpOp = {
  JA: 0x00, JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40, JNE: 0x50, JSGT: 0x60, JSGE: 0x70,
  CALL: 0x80, EXIT: 0x90, JLT: 0xa0, JLE: 0xb0, JSLT: 0xc0, JSLE: 0xd0,
} as const;

/** Operand source bit: K = immediate, X = register. */
export const Src = { K: 0x00, X: 0x08 } as const;

/** Memory access sizes. */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Memory modes. */
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;

/** Atomic operations (imm field of BPF_STX | BPF_ATOMIC). */
export const AtomicOp = { ADD: 0x00, OR: 0x40, AND: 0x50, XOR: 0xa0, FETCH: 0x01, XCHG: 0xe1, CMPXCHG: 0xf1 } as const;

/** src_reg values of lddw that tell the kernel how to interpret the constant. */
export const PseudoLd = { NONE: 0, MAP_FD: 1, MAP_VALUE: 2, BTF_ID: 3, FUNC: 4, MAP_IDX: 5, MAP_IDX_VALUE: 6 } as const;

/** src_reg values of call. */
export const PseudoCall = { HELPER: 0, CALL: 1, KFUNC_CALL: 2 } as const;

export type MemSize = 'b' | 'h' | 'w' | 'dw';

export const memSizeCode: Record<MemSize, number> = { b: Size.B, h: Size.H, w: Size.W, dw: Size.DW };
export const memSizeBytes: Record<MemSize, number> = { b: 1, h: 2, w: 4, dw: 8 };

export function opClass(code: number): number {
  return code & 0x07;
}

/** Encodes instructions into the byte layout the kernel expects. */
export function encode(insns: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * INSN_SIZE);
  insns.forEach((i, n) => {
    const o = n * INSN_SIZE;
    buf.writeUInt8(i.code & 0xff, o);
    buf.writeUInt8(((i.src & 0xf) << 4) | (i.dst & 0xf), o + 1);
    buf.writeInt16LE(i.off, o + 2);
    buf.writeInt32LE(i.imm | 0, o + 4);
  });
  return buf;
}

/** Decodes the kernel's byte layout back into instructions. */
export function decode(buf: Uint8Array): Insn[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o + INSN_SIZE <= b.length; o += INSN_SIZE) {
    const regs = b.readUInt8(o + 1);
    out.push({ code: b.readUInt8(o), dst: regs & 0xf, src: regs >> 4, off: b.readInt16LE(o + 2), imm: b.readInt32LE(o + 4) });
  }
  return out;
}

/** True for the first slot of a two-slot 64-bit immediate load. */
export function isLdImm64(i: Insn): boolean {
  return i.code === (Class.LD | Mode.IMM | Size.DW);
}
