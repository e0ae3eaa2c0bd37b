/**
 * Structs, unions and arrays held by value (issues 19/20; F: print of whole
 * structs): C layouts of script definitions (nested and anonymous members,
 * multi-dimensional arrays, bitfields, packed), the layout the runtime
 * prints by, and bpftrace's text and JSON forms. The kernel test
 * (test/kernel/struct-values.test.ts) reads them from a fixture process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { CTypes } from '../../src/lang/ctypes';
import type { TypeDef } from '../../src/lang/ast';
import { decodeValue } from '../../src/runtime/decode';
import { keyText, valueJson, valueText } from '../../src/runtime/values';
import { unitTarget } from '../helpers/target';

const src = (text: string) => ({ name: 't.bt', text });

function def(tag: 'struct' | 'union', name: string, body: string, after = ''): TypeDef {
  return { kind: 'TypeDef', tag, name, body: `${tag} ${name} { ${body} }${after}`, span: { line: 1, col: 1, endLine: 1, endCol: 1 } } as unknown as TypeDef;
}

const noResolver = {} as Parameters<typeof decodeValue>[3];

test('script records: nested anonymous structs, multi-dimensional arrays, bitfields, packed', () => {
  const c = new CTypes([
    def('struct', 'Foo', 'struct { int m[1] } y; struct { int n } a;'),
    def('struct', 'B', 'int y[2][3]; char c;'),
    def('struct', 'bits', 'unsigned long long x_0:1; unsigned long long x_1:1; unsigned long long x_2:2;'),
    def('struct', 'packed', 'int x; char y; int z;', ' __attribute__((packed))'),
    def('struct', 'plain', 'int x; /* a comment; with a semicolon */ char y; int z;'),
    def('struct', 'anon', 'int a; union { int b; short c; }; int d;'),
  ], () => null);
  const rec = (n: string) => c.named(`struct ${n}`, 0)!;
  assert.equal(c.sizeOf(rec('Foo')), 8);
  assert.equal(c.offsetOf(rec('Foo') as never, 'a.n'), 4);
  assert.equal(c.sizeOf(rec('B')), 28);
  const y = c.member(rec('B') as never, 'y');
  assert.deepEqual(typeof y !== 'string' && y.type, { kind: 'array', elem: { kind: 'array', elem: { kind: 'int', size: 4, signed: true }, length: 3 }, length: 2 });
  assert.equal(c.sizeOf(rec('bits')), 8);
  assert.deepEqual(c.member(rec('bits') as never, 'x_2'), { offset: 0, type: { kind: 'int', size: 8, signed: false }, bits: 2, bitShift: 2 });
  assert.equal(c.sizeOf(rec('packed')), 9);
  assert.equal(c.sizeOf(rec('plain')), 12);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((m) => (c.member(rec('anon') as never, m) as { offset: number }).offset), [0, 4, 4, 8]);
  assert.equal(c.sizeOf(rec('anon')), 12);
});

test('a struct value prints as bpftrace prints it: text, map key and JSON', () => {
  const c = new CTypes([def('struct', 'Foo', 'struct { int m[2] } y; struct { int n } a; char s[4]; unsigned char b : 3; int *p;')], () => null);
  const layout = c.layoutOf(c.named('struct Foo', 0)!);
  const b = Buffer.alloc(32);
  b.writeInt32LE(2, 0);
  b.writeInt32LE(-5, 4);
  b.writeInt32LE(3, 8);
  b.write('ab', 12);
  b[16] = 0xfd; // b = low 3 bits = 5
  b.writeBigUInt64LE(0x1000n, 24);
  const v = decodeValue(b, 0, layout, noResolver);
  assert.equal(valueText(v), '{ .y = { .m = [2,-5] }, .a = { .n = 3 }, .s = ab, .b = 5, .p = 0x1000 }');
  assert.equal(keyText(v), '{ .y = { .m = [2,-5] }, .a = { .n = 3 }, .s = ab, .b = 5, .p = 0x1000 }');
  assert.equal(valueJson(v), '{"y": {"m": [2,-5]}, "a": {"n": 3}, "s": "ab", "b": 5, "p": 4096}');
});

test('structs and arrays by value type as cdata in variables, maps, keys and tuples', () => {
  const a = compile(src('struct A { int x[4]; int y[2][2]; } BEGIN { $a = (struct A *)0; @v = *$a; @k[$a->x, 1] = 0; @t = (1, $a->y); $c = $a->x; @e = $c[2] + @v.y[1][0]; print($a->y); }'), { target: unitTarget() });
  const m = (n: string) => a.userMaps.find((x) => x.name === n)!;
  assert.deepEqual(m('@v').value, {
    kind: 'record', size: 32, fields: [
      { name: 'x', offset: 0, type: { kind: 'carray', size: 16, elem: { kind: 'int', size: 4, signed: true }, elemSize: 4, length: 4 } },
      { name: 'y', offset: 16, type: { kind: 'carray', size: 16, elem: { kind: 'carray', size: 8, elem: { kind: 'int', size: 4, signed: true }, elemSize: 4, length: 2 }, elemSize: 8, length: 2 } },
    ],
  });
  assert.equal(m('@k').key?.kind, 'tuple');
  assert.equal(m('@t').value.kind, 'tuple');
});

test('a constant index out of a struct array is refused with bpftrace\'s message', () => {
  assert.throws(() => compile(src('struct A { int x[4]; } BEGIN { $a = (struct A *)0; $x = $a.x[5]; }'), { target: unitTarget() }),
    (e: unknown) => e instanceof CompileError && /the index 5 is out of bounds for array of size 4/.test(e.message));
});
