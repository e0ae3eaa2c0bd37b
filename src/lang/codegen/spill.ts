/**
 * Virtual registers: what the generator hands out once r7–r9 are all held
 * (frame.ts temp()), so no expression runs out of registers. Each virtual
 * register lives in its own 8-byte stack slot; after labels are resolved,
 * every instruction naming one is rewritten to borrow a physical temp
 * register for that one instruction:
 *
 *   save P; load P ← slot(v) (unless the instruction only writes v);
 *   the instruction with v → P;
 *   store slot(v) ← P (if it writes v); restore P
 *
 * P is one of r7–r9 that the instruction does not name itself; r0–r5 are
 * never touched, so arguments being set up for a helper call survive. A
 * conditional jump restores P on both of its paths. Spills and fills are
 * 8-byte and 8-aligned, so the verifier keeps pointer and scalar types.
 * Functions that use this start by zeroing r7–r9: a register saved before
 * anything wrote it would be an uninitialized read. Programs without
 * virtual registers are returned unchanged.
 */
import { Class, JmpOp, Mode, AluOp, AtomicOp, isLdImm64, type Insn } from '../../ebpf/asm/insn';

/** Register numbers from here on are virtual (hardware has r0–r10). */
export const VREG_BASE = 16;

const BORROW = [7, 8, 9];

const isV = (n: number) => n >= VREG_BASE;

/** Which registers an instruction reads and writes (virtual ones only matter). */
function access(i: Insn): { reads: number[]; writes: number[] } {
  const cls = i.code & 7;
  const x = (i.code & 0x08) !== 0;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const op = i.code & 0xf0;
      if (op === AluOp.MOV) return { reads: x ? [i.src] : [], writes: [i.dst] };
      if (op === AluOp.NEG || op === AluOp.END) return { reads: [i.dst], writes: [i.dst] };
      return { reads: x ? [i.dst, i.src] : [i.dst], writes: [i.dst] };
    }
    case Class.LDX:
      return { reads: [i.src], writes: [i.dst] };
    case Class.LD:
      return { reads: [], writes: [i.dst] };
    case Class.ST:
      return { reads: [i.dst], writes: [] };
    case Class.STX:
      if ((i.code & 0xe0) === Mode.ATOMIC && (i.imm & AtomicOp.FETCH)) return { reads: [i.dst, i.src], writes: [i.src] };
      return { reads: [i.dst, i.src], writes: [] };
    case Class.JMP:
    case Class.JMP32: {
      const op = i.code & 0xf0;
      if (op === JmpOp.JA || op === JmpOp.CALL || op === JmpOp.EXIT) return { reads: [], writes: [] };
      return { reads: x ? [i.dst, i.src] : [i.dst], writes: [] };
    }
    default:
      return { reads: [], writes: [] };
  }
}

const stx = (off: number, reg: number): Insn => ({ code: Class.STX | Mode.MEM | 0x18, dst: 10, src: reg, off, imm: 0 });
const ldx = (reg: number, off: number): Insn => ({ code: Class.LDX | Mode.MEM | 0x18, dst: reg, src: 10, off, imm: 0 });
const zero = (reg: number): Insn => ({ code: Class.ALU64 | AluOp.MOV, dst: reg, src: 0, off: 0, imm: 0 });
const ja = (off: number): Insn => ({ code: Class.JMP | JmpOp.JA, dst: 0, src: 0, off, imm: 0 });

const isJump = (i: Insn) => {
  const cls = i.code & 7;
  const op = i.code & 0xf0;
  return (cls === Class.JMP || cls === Class.JMP32) && op !== JmpOp.CALL && op !== JmpOp.EXIT;
};
const isLocalCall = (i: Insn) => i.code === (Class.JMP | JmpOp.CALL) && i.src === 1;

export interface SpillResult {
  insns: Insn[];
  /** New index of each old instruction's first slot (its expansion included). */
  at: (old: number) => number;
  /** Old instruction each new one came from (for source maps). */
  origin: number[];
}

/**
 * Rewrites virtual registers into borrowed ones. `frameBottom` is the deepest
 * stack offset the generator used (a positive byte count); the slots go below it.
 * `starts` are the old indices where functions begin (0 and the callbacks).
 * Returns null when there is nothing to rewrite; throws RangeError when the
 * stack or a jump no longer fits (the caller words it).
 */
export function rewriteVirtual(insns: Insn[], frameBottom: number, starts: number[], stackLimit: number): SpillResult | null {
  let maxV = -1;
  for (const i of insns) {
    if (isV(i.dst) && !(i.code === 0 && i.src === 0)) maxV = Math.max(maxV, i.dst);
    if (isV(i.src) && (i.code & 7) !== Class.LD) maxV = Math.max(maxV, i.src);
  }
  if (maxV < 0) return null;
  const base = align8(frameBottom);
  const saveSlot = (p: number) => -(base + 8 * (BORROW.indexOf(p) + 1));
  const vSlot = (v: number) => -(base + 8 * (BORROW.length + 1 + v - VREG_BASE));
  if (-vSlot(maxV) > stackLimit) throw new RangeError('stack');

  // Per old instruction: head (function prologue, not a jump target), pre, the instruction(s), post.
  type Piece = { insn: Insn; target?: number; origin: number };
  const out: Piece[] = [];
  const first: number[] = new Array(insns.length + 1);
  const entry: number[] = new Array(insns.length + 1);
  const startSet = new Set(starts);
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k];
    first[k] = out.length;
    // zeroing goes after `mov r6, r1` in main (program.ts may drop that first instruction), at the top of callbacks
    if (startSet.has(k) && k !== 0) for (const p of BORROW) out.push({ insn: zero(p), origin: k });
    if (k === 1 && startSet.has(0)) for (const p of BORROW) out.push({ insn: zero(p), origin: k });
    entry[k] = out.length;
    if (isLdImm64(i)) {
      // two slots; only the first names a register
      if (isV(i.dst)) {
        const p = BORROW[0];
        out.push({ insn: stx(saveSlot(p), p), origin: k });
        out.push({ insn: { ...i, dst: p }, origin: k });
        out.push({ insn: insns[k + 1], origin: k });
        out.push({ insn: stx(vSlot(i.dst), p), origin: k });
        out.push({ insn: ldx(p, saveSlot(p)), origin: k });
      } else {
        out.push({ insn: i, origin: k }, { insn: insns[k + 1], origin: k });
      }
      first[k + 1] = entry[k + 1] = out.length - 1;
      k++;
      continue;
    }
    const jumpTarget = isJump(i) || isLocalCall(i) ? k + i.off + 1 : undefined;
    const localCallTarget = isLocalCall(i) ? k + i.imm + 1 : undefined;
    const { reads, writes } = access(i);
    const virt = [...new Set([...reads, ...writes].filter(isV))];
    if (!virt.length) {
      out.push({ insn: i, target: localCallTarget ?? jumpTarget, origin: k });
      continue;
    }
    const named = new Set([...reads, ...writes]);
    const free = BORROW.filter((p) => !named.has(p));
    const as = new Map(virt.map((v, n) => [v, free[n]]));
    const pre: Insn[] = [], post: Insn[] = [], restore: Insn[] = [];
    for (const [v, p] of as) {
      pre.push(stx(saveSlot(p), p));
      if (reads.includes(v)) pre.push(ldx(p, vSlot(v)));
      if (writes.includes(v)) post.push(stx(vSlot(v), p));
      restore.push(ldx(p, saveSlot(p)));
    }
    const r = (n: number) => as.get(n) ?? n;
    const j = { ...i, dst: r(i.dst), src: (i.code & 0x08) || (i.code & 7) === Class.LDX || (i.code & 7) === Class.STX ? r(i.src) : i.src };
    for (const x of pre) out.push({ insn: x, origin: k });
    if (jumpTarget !== undefined) {
      // jcond P.. → +2; restore; ja next; restore; ja target
      out.push({ insn: { ...j, off: restore.length + 1 }, origin: k });
      for (const x of restore) out.push({ insn: x, origin: k });
      out.push({ insn: ja(restore.length + 1), origin: k });
      for (const x of restore) out.push({ insn: x, origin: k });
      out.push({ insn: ja(0), target: jumpTarget, origin: k });
      continue;
    }
    out.push({ insn: j, origin: k });
    for (const x of [...post, ...restore]) out.push({ insn: x, origin: k });
  }
  first[insns.length] = entry[insns.length] = out.length;
  const result = out.map((p, n) => {
    if (p.target === undefined) return p.insn;
    if (isLocalCall(p.insn)) return { ...p.insn, imm: first[p.target] - n - 1 };
    const off = entry[p.target] - n - 1;
    if (off < -0x8000 || off > 0x7fff) throw new RangeError('jump');
    return { ...p.insn, off };
  });
  return { insns: result, at: (old) => first[old], origin: out.map((p) => p.origin) };
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
