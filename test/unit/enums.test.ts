/**
 * Enums (issues 19/20, bpftrace 0.26's enum symbolization): enums written in
 * the script (values as C gives them), their enumerators as constants of
 * the enum's type, casts to an enum, and the runtime printing an enum value
 * as its enumerator's name in text (print, map keys and values, printf %s)
 * but as its number in JSON and printf %d. The kernel test
 * (test/kernel/lang-enums.test.ts) runs them and reads a kernel enum field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, compileDetailed } from '../../src/lang/compile';
import { parse } from '../../src/lang/parser';
import { scriptEnums } from '../../src/lang/enums';
import type { ValueType } from '../../src/lang/types';
import { decodeValue } from '../../src/runtime/decode';
import { keyText, valueJson, valueText } from '../../src/runtime/values';
import { formatPrintf, parseFormat } from '../../src/runtime/format/printf';
import { mapJson, mapText } from '../../src/runtime/format/maps';
import { unitTarget } from '../helpers/target';

const src = (text: string) => ({ name: 't.bt', text });
const build = (text: string) => compile(src(text), { target: unitTarget() });
const noResolver = {} as Parameters<typeof decodeValue>[3];

test('script enums: values as C gives them (implicit +1, constant expressions, earlier enumerators, aliases)', () => {
  const p = parse(src('enum Foo { A, B = 5, C, D = (B << 2) | 1, E = -1, F = 0x10 + C, G = B }; enum { X = 7, }; BEGIN { }'));
  const e = scriptEnums(p.typeDefs);
  const vals = Object.fromEntries([...e.enumerators].map(([n, v]) => [n, v.value]));
  assert.deepEqual(vals, { A: 0n, B: 5n, C: 6n, D: 21n, E: -1n, F: 22n, G: 5n, X: 7n });
  const foo = e.byName.get('Foo')!;
  assert.equal(foo.names['5'], 'B', 'an alias does not rename its value');
  assert.equal(foo.names['18446744073709551615'], 'E');
  assert.equal(e.enumerators.get('X')!.info.name, '(anonymous 1)');
});

test('a script enum that cannot be read is one sentence at its definition', () => {
  for (const [text, msg] of [
    ['enum Foo { A = 1 << }; BEGIN { }', /enum Foo: the value of A is not a constant expression/],
    ['enum Foo { A = NOPE }; BEGIN { }', /'NOPE' is not an earlier enumerator/],
    ['enum Foo { A }; enum Bar { A }; BEGIN { }', /enumerator A is defined twice/],
    ['enum Foo { A B }; BEGIN { }', /expected ',' after A/],
  ] as const) {
    assert.throws(() => build(text), (err: Error) => msg.test(err.message), text);
  }
});

test('enumerators type as their enum; arithmetic, and mixing with plain integers, makes plain integers', () => {
  const a = build('enum Foo { ONE = 1, TWO }; BEGIN { @v = ONE; @k[TWO] = 1; @t = (ONE, TWO); @a = ONE + 1; @m[ONE + 1] = 1; @m[ONE] = 2; $c = (enum Foo)1; @c = $c; }');
  const um = (n: string) => a.userMaps.find((m) => m.name === n)!;
  const en = (v: ValueType | null) => (v?.kind === 'int' ? v.enum?.name : undefined);
  assert.equal(en(um('@v').value), 'Foo');
  const v = um('@v').value;
  assert.deepEqual(v.kind === 'int' && v.enum?.names, { 1: 'ONE', 2: 'TWO' });
  assert.equal(en(um('@k').key), 'Foo');
  const t = um('@t').value;
  assert.deepEqual(t.kind === 'tuple' && t.fields.map((f) => en(f.type)), ['Foo', 'Foo']);
  assert.equal(en(um('@a').value), undefined);
  assert.equal(en(um('@m').key), undefined, 'a key first a plain integer stays one');
  assert.equal(en(um('@c').value), 'Foo');
});

test('casts to an enum: a constant must be one of its values; an unknown enum is refused', () => {
  assert.throws(() => build('enum Foo { ONE = 1 }; BEGIN { @ = (enum Foo)2; }'), /enum Foo has no enumerator of value 2/);
  assert.throws(() => build('BEGIN { @ = (enum NoSuchEnumX)2; }'), /unknown enum: NoSuchEnumX/);
  build('enum Foo { ONE = 1 }; BEGIN { $x = 2; @ = (enum Foo)$x; }');
});

test('printf: an enum value takes %s (its name) and %d (its number); a plain integer still refuses %s', () => {
  build('enum Foo { ONE = 1 }; BEGIN { $o = ONE; printf("%d %s %-5s\\n", ONE, ONE, $o); }');
  assert.throws(() => build('enum Foo { ONE = 1 }; BEGIN { printf("%s\\n", ONE + 1); }'), /%s specifier expects a value of type string \(integer supplied\)/);
});

test('sizeof of an enumerator is 8 (bpftrace: its 64-bit value); identifiers move their checked value', () => {
  const r = compileDetailed(src('enum Foo { ONE = 1, TWO = 1 << 40 }; BEGIN { @s = sizeof(ONE); @t = TWO; }'), { target: unitTarget() });
  const facts = r.semantic.instances[0].facts;
  assert.deepEqual([...facts.sizeof.values()], [8]);
  assert.deepEqual([...facts.constants.values()], [1n << 40n]);
  assert.throws(() => build('BEGIN { @s = sizeof(NoSuchThingX); }'), /unknown type: NoSuchThingX/);
});

test('the runtime prints enum values by name in text, by number in JSON; unknown values as numbers', () => {
  const t: ValueType = { kind: 'int', size: 8, signed: false, enum: { name: 'Foo', names: { 1: 'ONE', 99999: 'OTHER' } } };
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(99999n);
  const v = decodeValue(b, 0, t, noResolver);
  assert.equal(valueText(v), 'OTHER');
  assert.equal(keyText(v), 'OTHER');
  assert.equal(valueJson(v), '99999');
  assert.equal(formatPrintf(parseFormat('%d %s|%-7s|%7s'), [v, v, v, v]), '99999 OTHER|OTHER  |  OTHER');
  b.writeBigUInt64LE(100n);
  const u = decodeValue(b, 0, t, noResolver);
  assert.equal(valueText(u), '100');
  assert.equal(formatPrintf(parseFormat('%s'), [u]), '100');
  const m = { name: '@', keyed: true, kind: 'value' as const, entries: [{ key: [v], value: v }] };
  assert.equal(mapText(m), '@[OTHER]: OTHER\n');
  assert.equal(mapJson(m), '{"type": "map", "data": {"@": {"99999": 99999}}}\n');
});

test('delete() is a bool value (bpftrace 0.26) and still a statement', () => {
  const r = compileDetailed(src('BEGIN { @m[1] = 1; $x = delete(@m[1]); if (delete(@m, 2)) { } delete(@m[3]); @b = delete(@m[4]); }'), { target: unitTarget() });
  const x = r.semantic.instances[0].vars.get('x');
  assert.equal(x?.kind === 'int' && x.bool, true);
  const b = r.artifact.userMaps.find((m) => m.name === '@b')!;
  assert.deepEqual(b.value, { kind: 'bool' });
});
