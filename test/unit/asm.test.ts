import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Asm, R0, R1, R2, R6, R10, Helper, decode, disassemble, AtomicOp } from '../../src/ebpf/asm';

test('encodes instructions in the kernel layout', () => {
  const a = new Asm();
  a.mov64(R6, R1); // bf 16 0000 00000000
  a.mov64(R0, 1); // b7 00 0000 01000000 — a plain number is an immediate, never a register
  a.exit();
  assert.equal(a.assemble().toString('hex'), 'bf16000000000000' + 'b700000001000000' + '9500000000000000');
});

test('resolves forward and backward labels', () => {
  const a = new Asm();
  a.label('top');
  a.jeq(R0, 0, 'out'); // 0
  a.add64(R0, -1); // 1
  a.ja('top'); // 2
  a.label('out');
  a.exit(); // 3
  const i = a.resolve();
  assert.equal(i[0].off, 2);
  assert.equal(i[0].imm, 0);
  assert.equal(i[2].off, -3);
  assert.equal(i[1].imm, -1);
});

test('64-bit immediates take two slots', () => {
  const a = new Asm();
  a.ldImm64(R1, 0x1122334455667788n);
  a.exit();
  const i = decode(a.assemble());
  assert.equal(i.length, 3);
  assert.equal(i[0].code, 0x18);
  assert.equal(i[0].imm >>> 0, 0x55667788);
  assert.equal(i[1].imm >>> 0, 0x11223344);
});

test('undefined labels and oversize immediates are errors', () => {
  const a = new Asm();
  a.ja('nowhere');
  assert.throws(() => a.assemble(), /undefined label 'nowhere'/);
  assert.throws(() => new Asm().mov64(R0, 2 ** 33), /does not fit/);
});

test('disassembles like bpftool', () => {
  const a = new Asm();
  a.mov64(R6, R1);
  a.call(Helper.get_current_pid_tgid);
  a.rsh64(R0, 32);
  a.stx('w', R10, -4, R0);
  a.ldMapFd(R1, 7);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.jne(R0, 0, 'x');
  a.label('x');
  a.ldx('w', R1, R6, 8);
  a.atomic('dw', AtomicOp.ADD, R0, 0, R1);
  a.mov32(R0, R1);
  a.st('w', R10, -8, 0);
  a.exit();
  assert.deepEqual(disassemble(a.assemble()), [
    '   0: (bf) r6 = r1',
    '   1: (85) call bpf_get_current_pid_tgid#14',
    '   2: (77) r0 >>= 32',
    '   3: (63) *(u32 *)(r10 -4) = r0',
    '   4: (18) r1 = map[fd:7]',
    '   6: (bf) r2 = r10',
    '   7: (07) r2 += -4',
    '   8: (55) if r0 != 0x0 goto pc+0',
    '   9: (61) r1 = *(u32 *)(r6 +8)',
    '  10: (db) lock *(u64 *)(r0 +0) += r1',
    '  11: (bc) w0 = w1',
    '  12: (62) *(u32 *)(r10 -8) = 0',
    '  13: (95) exit',
  ]);
});
