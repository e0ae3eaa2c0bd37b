/**
 * exit() raises a flag in the kernel that every probe the kernel fires tests
 * first (codegen/program.ts), so a 1 ms interval or a busy tracepoint cannot
 * run its action again before user space reads the exit record. Scripts
 * without exit() pay nothing; BEGIN and END, run by user space, never test it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/compile';
import { PseudoLd } from '../../src/ebpf/asm';
import { unitTarget } from '../helpers/target';

const build = (text: string) => compile({ name: 't.bt', text }, { target: unitTarget() });
const flagOf = (a: ReturnType<typeof build>): number => a.maps.findIndex((m) => m.name === 'exiting');
/** Whether the program's first instructions read the flag and leave when it is set. */
function testsFlag(insns: { code: number; src: number; imm: number }[], flag: number): boolean {
  return insns.slice(0, 6).some((i) => i.code === 0x18 && i.src === PseudoLd.MAP_VALUE && i.imm === flag);
}

test('exit flag: every kernel-fired probe tests it first, wherever the exit() is', () => {
  const a = build('i:ms:1 { @a = count(); } tracepoint:syscalls:sys_enter_getppid { @b = count(); if (@b > 3) { exit(); } } BEGIN { @c = 1 } END { @d = 1 }');
  const flag = flagOf(a);
  assert.ok(flag >= 0, 'the exiting map exists');
  assert.deepEqual({ kind: a.maps[flag].kind, maxEntries: a.maps[flag].maxEntries }, { kind: 'array', maxEntries: 1 });
  for (const p of a.programs) {
    const once = p.attach.every((s) => s.kind === 'begin' || s.kind === 'end');
    assert.equal(testsFlag(p.insns, flag), !once, `${p.name}: ${once ? 'BEGIN/END must not' : 'must'} test the flag`);
  }
});

test('exit flag: exit() stores 1 into it after reserving its record; macros count as exit() users', () => {
  const a = build('macro stop() { exit(); } i:ms:1 { stop(); }');
  const flag = flagOf(a);
  assert.ok(flag >= 0);
  const insns = a.programs[0].insns;
  const reserve = insns.findIndex((i) => i.code === 0x85 && i.imm === 131);
  const store = insns.findIndex((i, k) => k > 0 && insns[k - 1].code === 0 && i.code === 0x62 && i.imm === 1);
  assert.ok(reserve >= 0 && store > reserve, 'the flag is raised after ringbuf_reserve succeeded');
  assert.equal(insns[store - 2].src, PseudoLd.MAP_VALUE);
  assert.equal(insns[store - 2].imm, flag);
});

test('exit flag: a script without exit() has no flag and no test (4 instruction slots saved per event)', () => {
  const without = build('i:ms:1 { @ = count(); }');
  const withExit = build('i:ms:1 { @ = count(); } i:s:100 { exit(); }');
  assert.equal(flagOf(without), -1);
  assert.equal(withExit.programs[0].insns.length - without.programs[0].insns.length, 4);
});
