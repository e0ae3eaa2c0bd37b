import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ElfFile } from '../../src/ebpf/elf';
import {
  readUsdtProbes, parseUsdtArg, parseUsdtArgs, listUsdt, findUsdtProbes, ptRegsSlot, ptRegsNames,
  PT_REGS_X86_64, UsdtArgError, UsdtProbeNotFoundError, usdtProbeFunction,
} from '../../src/ebpf/usdt';
import { buildFixture } from '../helpers/fixtures';

interface RefNote { provider: string; name: string; pc: number; base: number; sema: number; args: string }

/** What `readelf -n` prints for .note.stapsdt. */
function readelfNotes(file: string): RefNote[] {
  const text = execFileSync('readelf', ['-n', file], { encoding: 'utf8' });
  const out: RefNote[] = [];
  const re = /Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)\n\s+Arguments: ?(.*)/g;
  for (const m of text.matchAll(re)) {
    out.push({ provider: m[1], name: m[2], pc: parseInt(m[3], 16), base: parseInt(m[4], 16), sema: parseInt(m[5], 16), args: m[6] });
  }
  return out;
}

test('USDT probes, addresses, semaphores and arguments match readelf -n', () => {
  const fx = buildFixture('usdt_target');
  const ref = readelfNotes(fx);
  const ours = readUsdtProbes(fx);
  assert.equal(ref.length, 4);
  assert.deepEqual(
    ours.map((p) => ({ provider: p.provider, name: p.name, pc: p.pc, base: p.base, sema: p.semaphore, args: p.argString })),
    ref,
  );
  const byName = new Map(ours.map((p) => [p.name, p]));
  assert.deepEqual([...byName.keys()].sort(), ['greet', 'loop', 'probe_boottime', 'raw_forms']);
  for (const p of ours) assert.equal(p.argError, undefined, p.name);
  assert.equal(byName.get('probe_boottime')!.args!.length, 3);
  assert.equal(byName.get('greet')!.args!.length, 2);
  assert.equal(byName.get('loop')!.args!.length, 4);
  assert.equal(byName.get('raw_forms')!.args!.length, 5);
  // Semaphores: three probes have one, raw_forms (hand-written note) none.
  assert.equal(byName.get('raw_forms')!.semaphore, 0);
  assert.equal(byName.get('raw_forms')!.semaphoreOffset, 0);
});

test('probe and semaphore file offsets', () => {
  const fx = buildFixture('usdt_target');
  const elf = ElfFile.open(fx);
  const probes = elf.section('.probes')!;
  const base = elf.section('.stapsdt.base')!;
  for (const p of readUsdtProbes(fx)) {
    assert.equal(p.base, base.addr, 'not prelinked: note base equals the section address');
    assert.equal(p.address, p.pc);
    // The probe site is the nop sdt.h plants (x86-64 0x90, AArch64 0xd503201f).
    const nop = elf.machine === 183 ? elf.readAt(p.fileOffset, 4).readUInt32LE(0) === 0xd503201f : elf.readAt(p.fileOffset, 1)[0] === 0x90;
    assert.ok(nop, `${p.name} at 0x${p.fileOffset.toString(16)}`);
    assert.equal(usdtProbeFunction(p)?.name, p.name === 'raw_forms' ? 'raw_forms' : 'fire');
    if (p.semaphore) {
      // Semaphores live in .probes; the ref_ctr offset is their position in the file.
      assert.ok(p.semaphore >= probes.addr && p.semaphore < probes.addr + probes.size);
      assert.equal(p.semaphoreOffset, p.semaphore - probes.addr + probes.offset);
      assert.equal(elf.readAt(p.semaphoreOffset, 2).readUInt16LE(0), 0, 'semaphore starts at zero');
    }
  }
  const sym = elf.symbol('app_greet_semaphore')!;
  const greet = readUsdtProbes(fx).find((p) => p.name === 'greet')!;
  assert.equal(greet.semaphore, sym.value);
});

test('argument specs of the fixture parse to the expected typed form', () => {
  const fx = buildFixture('usdt_target');
  const raw = readUsdtProbes(fx).find((p) => p.name === 'raw_forms')!.args!;
  const [a1, a2, a3, a4, a5] = raw;
  if (ElfFile.open(fx).machine === 183) {
    // AArch64's note: 8@[x0, 16] -4@[x2, 4] 8@x0 -2@-3 1@w1
    const form = (a: (typeof raw)[number]) =>
      a.kind === 'mem' ? ['mem', a.base?.reg, a.disp, a.size, a.signed] : a.kind === 'reg' ? ['reg', a.reg.reg, a.reg.size, a.size] : a.kind === 'const' ? ['const', a.value, a.size, a.signed] : [a.kind];
    assert.deepEqual(raw.map(form), [['mem', 'x0', 16n, 8, false], ['mem', 'x2', 4n, 4, true], ['reg', 'x0', 8, 8], ['const', -3n, 2, true], ['reg', 'x1', 4, 1]]);
    return;
  }
  assert.equal(a1.kind, 'mem');
  if (a1.kind === 'mem') {
    assert.equal(a1.base?.reg, 'rax');
    assert.equal(a1.index?.reg, 'rdx');
    assert.equal(a1.scale, 8);
    assert.equal(a1.disp, 0n);
    assert.equal(a1.size, 8);
    assert.equal(a1.signed, false);
  }
  assert.equal(a2.kind, 'rip');
  if (a2.kind === 'rip') {
    assert.equal(a2.symbol, 'counter_pair');
    assert.equal(a2.disp, 4n);
    assert.equal(a2.symbolValue, ElfFile.open(fx).symbol('counter_pair')!.value);
    assert.equal(a2.size, 4);
    assert.equal(a2.signed, true);
  }
  assert.deepEqual([a3.kind, a3.size], ['reg', 8]);
  assert.deepEqual(a4.kind === 'const' && [a4.value, a4.size, a4.signed], [-3n, 2, true]);
  assert.deepEqual(a5.kind === 'reg' && [a5.reg.reg, a5.reg.offset, a5.reg.size, a5.size], ['rdx', 96, 1, 1]);
});

test('parseUsdtArg forms', () => {
  const r = parseUsdtArg('-8@%rax');
  assert.deepEqual(r.kind === 'reg' && [r.size, r.signed, r.reg.offset], [8, true, 80]);
  const m = parseUsdtArg('8@-16(%rbp)');
  assert.deepEqual(m.kind === 'mem' && [m.size, m.signed, m.base?.reg, m.index, m.disp], [8, false, 'rbp', undefined, -16n]);
  const c = parseUsdtArg('4@$5');
  assert.deepEqual(c.kind === 'const' && [c.size, c.value], [4, 5n]);
  const e = parseUsdtArg('-4@%edi');
  assert.deepEqual(e.kind === 'reg' && [e.size, e.signed, e.reg.reg, e.reg.offset, e.reg.size], [4, true, 'rdi', 112, 4]);
  const x = parseUsdtArg('8@(%rax,%rdx,8)');
  assert.deepEqual(x.kind === 'mem' && [x.base?.reg, x.index?.reg, x.scale], ['rax', 'rdx', 8]);
  const noBase = parseUsdtArg('-2@0x10(,%rcx,2)');
  assert.deepEqual(noBase.kind === 'mem' && [noBase.base, noBase.index?.reg, noBase.scale, noBase.disp], [undefined, 'rcx', 2, 16n]);
  const rip = parseUsdtArg('8@foo-8(%rip)');
  assert.deepEqual(rip.kind === 'rip' && [rip.symbol, rip.disp], ['foo', -8n]);
  const ripNum = parseUsdtArg('4@0x20(%rip)');
  assert.deepEqual(ripNum.kind === 'rip' && [ripNum.symbol, ripNum.disp], [undefined, 32n]);
  const old = parseUsdtArg('%esi');
  assert.deepEqual(old.kind === 'reg' && [old.size, old.signed], [4, false]);
  const ah = parseUsdtArg('1@%ah');
  assert.deepEqual(ah.kind === 'reg' && [ah.reg.offset, ah.reg.size], [81, 1]);
  assert.equal(parseUsdtArgs('  -4@%edi  8@%rsi ').length, 2);
  assert.deepEqual(parseUsdtArgs(''), []);
  for (const bad of ['3@%rax', '8@%xyz', '8@(%rax,%rdx,3)', '8@foo', '8@$abc']) assert.throws(() => parseUsdtArg(bad), UsdtArgError, bad);
});

test('pt_regs register map covers every alias', () => {
  const expect: Record<string, [string, number, number]> = {
    rax: ['rax', 80, 8], eax: ['rax', 80, 4], ax: ['rax', 80, 2], al: ['rax', 80, 1],
    rbx: ['rbx', 40, 8], ebx: ['rbx', 40, 4], bl: ['rbx', 40, 1],
    rcx: ['rcx', 88, 8], ecx: ['rcx', 88, 4], rdx: ['rdx', 96, 8], dl: ['rdx', 96, 1],
    rsi: ['rsi', 104, 8], esi: ['rsi', 104, 4], si: ['rsi', 104, 2], sil: ['rsi', 104, 1],
    rdi: ['rdi', 112, 8], edi: ['rdi', 112, 4], dil: ['rdi', 112, 1],
    rbp: ['rbp', 32, 8], ebp: ['rbp', 32, 4], rsp: ['rsp', 152, 8], esp: ['rsp', 152, 4],
    r8: ['r8', 72, 8], r8d: ['r8', 72, 4], r8w: ['r8', 72, 2], r8b: ['r8', 72, 1],
    r9: ['r9', 64, 8], r10: ['r10', 56, 8], r11d: ['r11', 48, 4], r12: ['r12', 24, 8],
    r13w: ['r13', 16, 2], r14: ['r14', 8, 8], r15b: ['r15', 0, 1], rip: ['rip', 128, 8],
  };
  for (const [alias, [reg, off, size]] of Object.entries(expect)) {
    const s = ptRegsSlot(`%${alias}`);
    assert.deepEqual(s && [s.reg, s.offset, s.size], [reg, off, size], alias);
  }
  assert.equal(ptRegsSlot('xmm0'), undefined);
  assert.ok(ptRegsNames().length > 60);
  // Every 64-bit slot is 8-aligned inside a 168-byte struct.
  for (const off of Object.values(PT_REGS_X86_64)) assert.ok(off % 8 === 0 && off < 168);
});

test('listing matches tplist/bpftrace style and globs select probes', () => {
  const fx = buildFixture('usdt_target');
  const refOrder = readelfNotes(fx).map((n) => `${n.provider}:${n.name}`);
  assert.deepEqual(listUsdt(fx), refOrder.map((k) => `usdt:${fx}:${k}`));
  assert.deepEqual(listUsdt(fx, 'tplist'), refOrder.map((k) => `${fx} ${k}`));
  assert.equal(findUsdtProbes(fx, 'app', '*').length, 4);
  assert.deepEqual(findUsdtProbes(fx, 'app', 'g*').map((p) => p.name), ['greet']);
  assert.deepEqual(findUsdtProbes(fx, '', 'probe_boottime').map((p) => p.name), ['probe_boottime']);
  assert.deepEqual(findUsdtProbes(fx, 'nope', '*'), []);
  assert.throws(() => findUsdtProbes(fx, 'app', 'missing'), UsdtProbeNotFoundError);
  assert.deepEqual(readUsdtProbes('/bin/true'), []);
});
