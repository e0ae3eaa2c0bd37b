/**
 * Pointer types in the compiler (issue 19; F78, F79, F79b, S35): C layouts of
 * structs written in the script, pointee types from casts and tracepoint
 * formats, the helper chosen by address space, scaled arithmetic, hex
 * printing. The kernel tests (test/kernel/lang-pointers.test.ts) run them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, dumpCodegen } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { CTypes, CTypeError } from '../../src/lang/ctypes';
import type { TypeDef } from '../../src/lang/ast';
import { unitTarget } from '../helpers/target';

const src = (text: string) => ({ name: 't.bt', text });

function def(tag: 'struct' | 'union', name: string, body: string): TypeDef {
  return { kind: 'TypeDef', tag, name, body: `${tag} ${name} { ${body} }`, span: { line: 1, col: 1, endLine: 1, endCol: 1 } } as unknown as TypeDef;
}

test('script structs are laid out with the x86-64 ABI rules', () => {
  const defs = [
    def('struct', 'point', 'int x; int y; long z; char name[8]; struct point *next;'),
    def('struct', 'mixed', 'char a; short b; char c, *d; struct point p[2]; unsigned char e;'),
    def('union', 'u', 'char c[3]; int i; short s;'),
    def('struct', 'outer', 'char c; struct point p;'),
    def('struct', 'bits', 'int a : 3;'),
  ];
  const c = new CTypes(defs, () => null);
  const point = c.named('struct point', 0);
  assert.ok(point && point.kind === 'record');
  assert.equal(c.sizeOf(point), 32);
  assert.deepEqual(['x', 'y', 'z', 'name', 'next'].map((m) => (c.member(point, m) as { offset: number }).offset), [0, 4, 8, 16, 24]);
  const next = c.member(point, 'next');
  assert.ok(typeof next !== 'string');
  assert.deepEqual(next.type, { kind: 'ptr', to: { kind: 'record', tag: 'struct', name: 'point' } });
  const mixed = c.named('struct mixed', 0);
  assert.ok(mixed && mixed.kind === 'record');
  // a@0 b@2 c@4 d@8 p@16 (2 x 32) e@80, size 88
  assert.deepEqual(['a', 'b', 'c', 'd', 'p', 'e'].map((m) => (c.member(mixed, m) as { offset: number }).offset), [0, 2, 4, 8, 16, 80]);
  assert.equal(c.sizeOf(mixed), 88);
  const outer = c.named('struct outer', 0);
  assert.ok(outer && outer.kind === 'record');
  assert.equal(c.offsetOf(outer, 'p.z'), 16);
  const u = c.named('union u', 0);
  assert.ok(u);
  assert.equal(c.sizeOf(u), 4);
  assert.equal(c.member(point, 'nope'), "struct point has no member 'nope'");
  const bits = c.named('struct bits', 0);
  assert.ok(bits && bits.kind === 'record');
  assert.deepEqual(c.member(bits, 'a'), { offset: 0, type: { kind: 'int', size: 4, signed: true }, bits: 3, bitShift: 0 });
  assert.equal(c.sizeOf(bits), 4);
  assert.deepEqual(c.named('const char', 2), { kind: 'ptr', to: { kind: 'ptr', to: { kind: 'int', size: 1, signed: true } } });
  assert.equal(c.named('no_such_type', 1), undefined);
});

test('a pointer map value is typed pointer (printed in hex) and ++ steps by the pointee size', () => {
  const a = compile(src('BEGIN { @ = (int32 *)0x32; @++; $s = (struct s *)0; @x = $s++; } struct s { long a; char b[24]; }'), { target: unitTarget() });
  assert.deepEqual(a.userMaps.find((m) => m.name === '@')?.value, { kind: 'int', size: 8, signed: false, pointer: true });
  const code = dumpCodegen(a);
  assert.match(code, /r\d \*= 4\n/); // the statement @++ is @ += 1: the 1 counts elements
  assert.match(code, /r0 \+= 32\n/); // the expression $s++ steps by sizeof(struct s)
});

test('pointer arithmetic multiplies the integer operand by the element size; [] reads at p + i * size', () => {
  const a = compile(src('BEGIN { $p = (int64 *)0x1000; $i = 3; @a = $p + $i; @b = $p[$i]; }'), { target: unitTarget() });
  const code = dumpCodegen(a);
  assert.equal(code.match(/\*= 8\n/g)?.length, 2, code); // once for p + i, once for p[i]
  assert.match(code, /call bpf_probe_read_kernel#113/);
});

test('tracepoint pointer fields carry their pointee; syscall arguments are read from user memory', () => {
  const a = compile(src('tracepoint:syscalls:sys_enter_nanosleep { @ = args.rqtp->tv_nsec; @c = (*args.rqtp).tv_sec; }'), { target: unitTarget() });
  const code = dumpCodegen(a);
  assert.match(code, /call bpf_probe_read_user#112/);
  assert.doesNotMatch(code, /probe_read_kernel/);
  // curtask is a kernel pointer, whatever the probe: a cast of it stays one
  const k = compile(src('tracepoint:syscalls:sys_enter_getppid { @ = ((struct task_struct *)curtask)->pid; }'), { target: unitTarget() });
  assert.match(dumpCodegen(k), /call bpf_probe_read_kernel#113/);
});

test('pointer misuse is one sentence at the expression', () => {
  const cases: [string, RegExp][] = [
    ['BEGIN { @ = *1; }', /^cannot dereference int64: it is not a pointer$/],
    ['BEGIN { @ = *(void *)1; }', /^cannot dereference void \*$/],
    ['BEGIN { @ = (int8 *)1 + (int8 *)2; }', /cannot be used on two pointers/],
    ['BEGIN { $x = 1; @ = &$x; }', /cannot take the address of this expression/],
    ['BEGIN { @ = ((struct q *)0)->b; } struct q { int a; }', /^struct q has no member 'b'$/],
    ['BEGIN { @ = (struct q *)0 - (int8 *)0; } struct q { int a; }', /two pointers/],
  ];
  for (const [text, msg] of cases) {
    let err: unknown;
    try {
      compile(src(text), { target: unitTarget() });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof CompileError, text);
    assert.match(err.diagnostics[0].message, msg, text);
  }
});

test('an integer cast to a pointer in a syscall tracepoint points into kernel memory (only the arguments are user pointers)', () => {
  const a = compile(src('tracepoint:syscalls:sys_enter_getppid { $t = (uint64)curtask; @ = ((struct task_struct *)$t)->pid; }'), { target: unitTarget() });
  assert.match(dumpCodegen(a), /call bpf_probe_read_kernel#113/);
  assert.doesNotMatch(dumpCodegen(a), /probe_read_user/);
});
