/**
 * Dead-code removal at the instruction level. The kernel verifier rejects a
 * program with any instruction no path reaches ("unreachable insn N"), but
 * a compiler naturally emits some: statements after `return`, the branch a
 * constant condition never takes (strcontains with an empty needle, strncmp
 * with n <= 0). This pass keeps only the instructions reachable from the
 * entry and from every bpf-to-bpf call or callback target, and rewrites the
 * jump and call offsets across the gaps, carrying along a per-instruction
 * side table (the compiler's instruction -> source-span map) and the
 * function start offsets (BTF func_info).
 *
 * @example
 *   const { insns, kept, removed } = dropUnreachable(prog);
 *   // kept[i] is the old index of new instruction i; removed lists the old indices left out
 */
import { Class, isLdImm64, JmpOp, PseudoCall, PseudoLd, type Insn } from './insn';

export interface Pruned {
  insns: Insn[];
  /** Old index of each new instruction. */
  kept: number[];
  /** Old indices of the instructions left out (both slots of a dropped lddw). */
  removed: number[];
  /** New index of each old instruction that was kept (-1 for removed ones). */
  newIndex: Int32Array;
}

function isJump(i: Insn): boolean {
  const c = i.code & 0x07;
  return c === Class.JMP || c === Class.JMP32;
}

/** The targets (old indices) control can reach from instruction `n`, as [fallthrough..., jump...]. */
function successors(insns: readonly Insn[], n: number): number[] {
  const i = insns[n];
  if (isLdImm64(i)) {
    const out = [n + 2];
    if (i.src === PseudoLd.FUNC) out.push(n + 1 + i.imm); // a callback's address: its code is reachable
    return out;
  }
  if (!isJump(i)) return [n + 1];
  const op = i.code & 0xf0;
  if (op === JmpOp.EXIT) return [];
  if (op === JmpOp.CALL) return i.src === PseudoCall.CALL ? [n + 1, n + 1 + i.imm] : [n + 1];
  // JA in JMP32 class (gotol) carries its offset in imm
  if (op === JmpOp.JA) return [n + 1 + ((i.code & 0x07) === Class.JMP32 ? i.imm : i.off)];
  return [n + 1, n + 1 + i.off];
}

/** Keeps the reachable instructions of `insns` (entry 0, plus `entries`: e.g. function starts). */
export function dropUnreachable(insns: readonly Insn[], entries: readonly number[] = []): Pruned {
  const n = insns.length;
  const live = new Uint8Array(n);
  const work = [0, ...entries].filter((x) => x >= 0 && x < n);
  while (work.length) {
    const at = work.pop() as number;
    if (at < 0 || at >= n || live[at]) continue;
    live[at] = 1;
    if (isLdImm64(insns[at]) && at + 1 < n) live[at + 1] = 1;
    for (const s of successors(insns, at)) if (s >= 0 && s < n && !live[s]) work.push(s);
  }
  const newIndex = new Int32Array(n).fill(-1);
  const kept: number[] = [];
  const removed: number[] = [];
  for (let k = 0; k < n; k++) {
    if (live[k]) {
      newIndex[k] = kept.length;
      kept.push(k);
    } else removed.push(k);
  }
  if (removed.length === 0) return { insns: insns.map((i) => ({ ...i })), kept, removed, newIndex };
  // Rewrite relative offsets: target' - (self' + 1). A target is always live (it is a successor of a live insn).
  const rel = (from: number, to: number) => newIndex[to] - (newIndex[from] + 1);
  const out = kept.map((k) => ({ ...insns[k] }));
  kept.forEach((k, j) => {
    const i = insns[k];
    const o = out[j];
    if (isLdImm64(i)) {
      if (i.src === PseudoLd.FUNC) o.imm = rel(k, k + 1 + i.imm);
      return;
    }
    if (k > 0 && isLdImm64(insns[k - 1]) && live[k - 1]) return; // second slot of an lddw
    if (!isJump(i)) return;
    const op = i.code & 0xf0;
    if (op === JmpOp.EXIT) return;
    if (op === JmpOp.CALL) {
      if (i.src === PseudoCall.CALL) o.imm = rel(k, k + 1 + i.imm);
      return;
    }
    if (op === JmpOp.JA && (i.code & 0x07) === Class.JMP32) o.imm = rel(k, k + 1 + i.imm);
    else o.off = rel(k, k + 1 + i.off);
  });
  return { insns: out, kept, removed, newIndex };
}
