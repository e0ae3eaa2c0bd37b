/**
 * Pure parts of the dynamic-tracing compiler: the syscall number table, the
 * decision to merge syscall tracepoints, the kprobe → tracepoint advice, and
 * C struct layout for offsetof.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { syscallTable } from '../../src/target/kernel';
import { X86_64 } from '../../src/arch/x86_64';
import { mergeSyscallPoints } from '../../src/lang/syscall-merge';
import { tracepointAlternative } from '../../src/lang/kernel-alternatives';
import { offsetOf } from '../../src/lang/ctypes';
import { parse } from '../../src/lang/parser';
import type { ExpandedPoint } from '../../src/lang/probes';
import type { TracepointFormat } from '../../src/sys/tracefs';

const NUMBERS = syscallTable(X86_64, (p) => fs.readFileSync(p, 'utf8'));

test('syscall numbers: x86-64 ABI, tracepoint spellings (newstat, sendfile64, umount) and recent additions', () => {
  const n = NUMBERS;
  assert.equal(n.get('read'), 0);
  assert.equal(n.get('newstat'), 4);
  assert.equal(n.get('sendfile64'), 40);
  assert.equal(n.get('getppid'), 110);
  assert.equal(n.get('umount'), 166);
  assert.equal(n.get('openat'), 257);
  assert.equal(n.get('uretprobe'), 335);
  assert.equal(n.get('cachestat'), 451);
  assert.equal(n.get('file_setattr'), 469);
});

function point(event: string, fields: [string, string, number][]): ExpandedPoint {
  const fmt: TracepointFormat = {
    category: 'syscalls', event, id: 1, commonFields: [], printFmt: '',
    fields: [{ name: '__syscall_nr', type: 'int', offset: 8, size: 4, signed: true, dataLoc: false },
      ...fields.map(([name, type, offset]) => ({ name, type, offset, size: 8, signed: false, dataLoc: false }))],
  };
  const name = `tracepoint:syscalls:${event}`;
  return {
    spec: { kind: 'tracepoint', category: 'syscalls', event },
    ctx: { provider: 'tracepoint', progType: 'tracepoint', regs: false, u64Args: false, funcArgs: false, retprobe: false, user: true, probeName: name, perPoint: false, tracepoint: fmt },
    name,
  };
}

const READS = ['read', 'write', 'close', 'fsync', 'fdatasync', 'syncfs', 'fchdir', 'dup'].map((s) => point(`sys_enter_${s}`, [['fd', 'unsigned int', 16]]));

test('syscall merge: eight or more of one direction become one raw_syscalls instance with their numbers', () => {
  const probe = parse({ name: 't', text: 'tracepoint:syscalls:sys_enter_* { @[probe, args.fd] = count(); }' }).probes[0];
  const m = mergeSyscallPoints(READS, probe, { syscallNumbers: NUMBERS });
  assert.equal(m.rest.length, 0);
  assert.equal(m.instances.length, 1);
  assert.deepEqual(m.instances[0].spec, { kind: 'tracepoint', category: 'raw_syscalls', event: 'sys_enter', serves: 8 });
  assert.deepEqual(m.instances[0].ctx.syscalls?.nrs, [0, 1, 3, 74, 75, 306, 81, 32]);
  assert.ok(m.instances[0].ctx.tracepoint?.fields.some((f) => f.name === 'fd' && f.offset === 16));
  assert.ok(m.instances[0].ctx.tracepoint?.fields.some((f) => f.name === 'id' && f.size === 8));
});

test('syscall merge: fewer points, a field that differs, or merging disabled keep per-tracepoint programs', () => {
  const probe = (text: string) => parse({ name: 't', text }).probes[0];
  assert.equal(mergeSyscallPoints(READS.slice(0, 7), probe('t:syscalls:sys_enter_* { @ = count(); }'), { syscallNumbers: NUMBERS }).instances.length, 0);
  const mixed = [...READS.slice(0, 7), point('sys_enter_openat', [['dfd', 'int', 16], ['filename', 'const char *', 24]])];
  assert.equal(mergeSyscallPoints(mixed, probe('t:syscalls:sys_enter_* { @[args.fd] = count(); }'), { syscallNumbers: NUMBERS }).instances.length, 0);
  assert.equal(mergeSyscallPoints(mixed, probe('t:syscalls:sys_enter_* { @[args.id] = count(); }'), { syscallNumbers: NUMBERS }).instances.length, 1);
  assert.equal(mergeSyscallPoints(READS, probe('t:syscalls:sys_enter_* { print(args); }'), { syscallNumbers: NUMBERS }).instances.length, 0);
  assert.equal(mergeSyscallPoints(READS, probe('t:syscalls:sys_enter_* { @ = count(); }'), { disabled: true, syscallNumbers: NUMBERS }).instances.length, 0);
});

test('kprobe alternatives: one sentence naming a tracepoint, exit tracepoints for return probes', () => {
  assert.equal(tracepointAlternative('vfs_read', false, X86_64), 'tracepoint:syscalls:sys_enter_read observes read(2) calls');
  assert.equal(tracepointAlternative('vfs_read', true, X86_64), 'tracepoint:syscalls:sys_exit_read observes read(2) returns');
  assert.equal(tracepointAlternative('do_sys_openat2', false, X86_64), 'tracepoint:syscalls:sys_enter_openat observes openat(2) calls');
  assert.equal(tracepointAlternative('tcp_retransmit_skb', true, X86_64), 'tracepoint:tcp:tcp_retransmit_skb observes TCP retransmits');
  assert.equal(tracepointAlternative('__x64_sys_getppid', false, X86_64), 'tracepoint:syscalls:sys_enter_getppid observes getppid(2) calls');
  assert.match(tracepointAlternative('some_internal_helper', false, X86_64), /^no tracepoint observes some_internal_helper\(\) directly/);
});

test('offsetof layout of script structs: alignment, pointers, arrays, nesting, unions', () => {
  const defs = parse({ name: 't', text: 'struct A { char c; long l; } struct B { short s; struct A a; int *p[2]; char t[3]; int i; } union U { char c; long l; } BEGIN { }' }).typeDefs;
  assert.equal(offsetOf('struct', 'A', 'l', defs), 8);
  assert.equal(offsetOf('struct', 'B', 'a', defs), 8);
  assert.equal(offsetOf('struct', 'B', 'a.l', defs), 16);
  assert.equal(offsetOf('struct', 'B', 'p', defs), 24);
  assert.equal(offsetOf('struct', 'B', 't', defs), 40);
  assert.equal(offsetOf('struct', 'B', 'i', defs), 44);
  assert.equal(offsetOf('union', 'U', 'l', defs), 0);
  assert.throws(() => offsetOf('struct', 'A', 'nope', defs), /struct A has no member 'nope'/);
});
