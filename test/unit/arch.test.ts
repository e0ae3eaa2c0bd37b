/**
 * The architecture descriptions (src/arch): the arm64 one's tables, USDT
 * operands read by the probed binary's ELF machine, and the compiler using the
 * description it is given (registers, stack arguments, syscall wrapper names).
 * The kernel side (pt_regs from BTF, counts) is test/kernel/arch-smoke.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCHES, archOfElfMachine, argOffsets } from '../../src/arch';
import { ARM64 } from '../../src/arch/arm64';
import { X86_64 } from '../../src/arch/x86_64';
import type { ElfFile } from '../../src/ebpf/elf';
import { parseUsdtArg, UsdtArgError } from '../../src/ebpf/usdt';
import { tracepointAlternative } from '../../src/lang/kernel-alternatives';
import { syscallTable } from '../../src/target/kernel';
import { syscallName } from '../../src/tools/common/syscalls';

test('arch: one description per architecture, found by Node arch, kernel name and ELF machine', () => {
  assert.deepEqual(ARCHES.map((a) => [a.name, a.nodeArch, a.elfMachine]), [['x86_64', 'x64', 62], ['aarch64', 'arm64', 183]]);
  assert.equal(archOfElfMachine(183), ARM64);
  assert.equal(archOfElfMachine(62), X86_64);
  assert.equal(archOfElfMachine(40), undefined); // EM_ARM: 32-bit, not described
});

test('arch arm64: pt_regs offsets, AAPCS64 argument registers x0..x7, stack arguments at sp', () => {
  assert.deepEqual(argOffsets(ARM64), [0, 8, 16, 24, 32, 40, 48, 56]);
  assert.equal(ARM64.ptRegs.x30, 240);
  assert.deepEqual([ARM64.ptRegs.sp, ARM64.ptRegs.pc, ARM64.ptRegs.pstate], [248, 256, 264]);
  assert.equal(ARM64.ptRegs[ARM64.retReg], 0);
  assert.deepEqual([ARM64.stackArgSlot, X86_64.stackArgSlot], [0, 1]);
  for (const off of Object.values(ARM64.ptRegs)) assert.ok(off % 8 === 0 && off < ARM64.ptRegsSize);
});

test('arch arm64: the generic syscall numbers (no open or stat), tracepoint names, shared numbers from 424 on', () => {
  const t = syscallTable(ARM64, () => {
    throw new Error('no header');
  });
  const want: Record<string, number> = {
    io_setup: 0, getcwd: 17, openat: 56, close: 57, read: 63, write: 64, newfstatat: 79, newfstat: 80, exit_group: 94,
    umount: 39, sendfile64: 71, fadvise64_64: 223, getpid: 172, getppid: 173, newuname: 160, clone: 220, execve: 221,
    mmap: 222, bpf: 280, clone3: 435, setxattrat: 463, file_setattr: 469,
  };
  for (const [name, nr] of Object.entries(want)) assert.equal(t.get(name), nr, name);
  for (const gone of ['open', 'stat', 'fork', 'access', 'pipe', 'select', 'newstat', 'arch_prctl']) assert.equal(t.has(gone), false, gone);
  assert.equal(ARM64.syscalls[42], '-'); // nfsservctl: sys_ni_syscall
  assert.equal(ARM64.syscalls.slice(244, 260).every((s) => s === '-'), true); // arch-specific range, unused on arm64
  for (let nr = 424; nr < Math.min(ARM64.syscalls.length, X86_64.syscalls.length); nr++) assert.equal(ARM64.syscalls[nr], X86_64.syscalls[nr], `nr ${nr}`);
});

test('arch arm64: numbers appended after the table come from the UAPI header', () => {
  const header = '#define __NR_fstat 80\n#define __NR_newsyscall_for_test 470\n';
  const t = syscallTable(ARM64, (p) => (p === ARM64.uapiSyscallHeaders[0] ? header : ''));
  assert.equal(t.get('newsyscall_for_test'), 470);
  assert.equal(t.get('newfstat'), 80);
});

test('usdt arm64: operands are parsed by the binary\'s ELF machine (x0, w1, sp, [reg, off], constants)', () => {
  const aarch64 = { machine: 183, symbol: () => undefined } as unknown as ElfFile;
  const r = parseUsdtArg('-4@x0', aarch64);
  assert.deepEqual([r.kind, r.size, r.signed, r.kind === 'reg' && r.reg.offset], ['reg', 4, true, 0]);
  const w = parseUsdtArg('4@w19', aarch64);
  assert.deepEqual([w.kind, w.kind === 'reg' && w.reg.offset, w.kind === 'reg' && w.reg.size], ['reg', 152, 4]);
  const m = parseUsdtArg('8@[sp, 8]', aarch64);
  assert.deepEqual([m.kind, m.kind === 'mem' && m.base?.offset, m.kind === 'mem' && m.disp], ['mem', 248, 8n]);
  const h = parseUsdtArg('-4@[x29, #-12]', aarch64);
  assert.deepEqual([h.kind, h.kind === 'mem' && h.base?.offset, h.kind === 'mem' && h.disp], ['mem', 232, -12n]);
  const z = parseUsdtArg('8@[x0]', aarch64);
  assert.deepEqual([z.kind, z.kind === 'mem' && z.disp], ['mem', 0n]);
  const c = parseUsdtArg('-4@-5', aarch64);
  assert.deepEqual([c.kind, c.kind === 'const' && c.value], ['const', -5n]);
  const old = parseUsdtArg('x3', aarch64);
  assert.deepEqual([old.kind, old.size], ['reg', 8]);
  for (const bad of ['8@x31', '8@%rax', '8@[x0, x1]', '8@(%rax)', '3@x0']) assert.throws(() => parseUsdtArg(bad, aarch64), UsdtArgError, bad);
  // the same text in an x86-64 binary is read as AT&T
  assert.throws(() => parseUsdtArg('8@x0'), UsdtArgError);
});

test('arch arm64: the kprobe-less hint maps __arm64_sys_* wrappers to their syscall tracepoints', () => {
  assert.equal(tracepointAlternative('__arm64_sys_openat', false, ARM64), 'tracepoint:syscalls:sys_enter_openat observes openat(2) calls');
  assert.match(tracepointAlternative('__x64_sys_openat', false, ARM64), /^no tracepoint observes __x64_sys_openat\(\)/);
});

test('tools: syscall names by number are the UAPI names (libbpf-tools\'), from the header or else the arch table', () => {
  // the running machine's numbering: fstat is the UAPI name of the tracepoint table's newfstat
  const nr = process.arch === 'arm64' ? { getppid: 173, fstat: 80 } : { getppid: 110, fstat: 5 };
  assert.equal(syscallName(nr.getppid), 'getppid');
  assert.equal(syscallName(nr.fstat), 'fstat');
  assert.equal(syscallName(100000), '[unknown: 100000]');
});
