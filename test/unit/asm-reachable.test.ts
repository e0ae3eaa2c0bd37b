// Dead-code removal (ebpf/asm/reachable.ts): what no path reaches goes, every
// jump, call and callback offset still lands on the same instruction.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { dropUnreachable, isLdImm64, type Insn } from '../../src/ebpf/asm';

const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });
const MOV = (dst: number, imm: number) => I(0xb7, dst, 0, 0, imm);
const EXIT = I(0x95);
const JA = (off: number) => I(0x05, 0, 0, off);
const JEQ = (dst: number, imm: number, off: number) => I(0x15, dst, 0, off, imm);
const LDDW = (dst: number, src: number, imm: number): Insn[] => [I(0x18, dst, src, 0, imm), I(0, 0, 0, 0, 0)];
const CALL_SUB = (imm: number) => I(0x85, 0, 1, 0, imm);

/** Where control goes from each instruction, as (old index) targets, to compare before and after. */
function targetOf(insns: readonly Insn[], n: number): number | undefined {
  const i = insns[n];
  if (isLdImm64(i) && i.src === 4) return n + 1 + i.imm;
  if ((i.code & 7) !== 5) return undefined;
  const op = i.code & 0xf0;
  if (op === 0x90) return undefined;
  if (op === 0x80) return i.src === 1 ? n + 1 + i.imm : undefined;
  return n + 1 + i.off;
}

test('code after exit is dropped and nothing else changes', () => {
  const p = [MOV(0, 0), EXIT, MOV(1, 1), MOV(2, 2), EXIT];
  const r = dropUnreachable(p);
  assert.deepEqual(r.kept, [0, 1]);
  assert.deepEqual(r.removed, [2, 3, 4]);
  assert.deepEqual(r.insns, [MOV(0, 0), EXIT]);
  assert.deepEqual(dropUnreachable([MOV(0, 0), EXIT]).removed, []);
});

test('jumps over removed code are shortened; their targets stay the same instructions', () => {
  // 0: if r1 == 0 goto 5; 1: ja 3 (-> 5); 2-4 dead; 5: r0 = 0; 6: lddw (2 slots) 8: exit
  const p = [JEQ(1, 0, 4), JA(3), MOV(3, 3), MOV(4, 4), EXIT, MOV(0, 0), ...LDDW(2, 1, 7), EXIT];
  const r = dropUnreachable(p);
  assert.deepEqual(r.removed, [2, 3, 4]);
  for (let j = 0; j < r.insns.length; j++) {
    const oldT = targetOf(p, r.kept[j]);
    const newT = targetOf(r.insns, j);
    assert.equal(newT === undefined ? undefined : r.kept[newT], oldT, `insn ${j}`);
  }
  assert.deepEqual(r.insns[3], I(0x18, 2, 1, 0, 7)); // lddw kept whole
});

test('bpf-to-bpf calls, callbacks (ld_imm64 FUNC) and extra entries keep their code; offsets follow', () => {
  // main: 0 call +4 (-> 5); 1 lddw func (-> 9); 3 exit; 4 dead; 5 sub: r0=1; 6 exit; 7,8 dead; 9 cb: r0=0; 10 exit; 11 entry-only: exit
  const p = [CALL_SUB(4), ...LDDW(2, 4, 7), EXIT, MOV(9, 9), MOV(0, 1), EXIT, MOV(8, 8), MOV(8, 8), MOV(0, 0), EXIT, EXIT];
  const r = dropUnreachable(p, [11]);
  assert.deepEqual(r.removed, [4, 7, 8]);
  for (let j = 0; j < r.insns.length; j++) {
    const oldT = targetOf(p, r.kept[j]);
    const newT = targetOf(r.insns, j);
    assert.equal(newT === undefined ? undefined : r.kept[newT], oldT, `insn ${j}`);
  }
  assert.equal(r.newIndex[11], r.insns.length - 1);
  assert.equal(r.newIndex[4], -1);
});
