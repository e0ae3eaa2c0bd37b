/**
 * Records (S27, bpftrace 0.25+): `(a=1, b="x")` is a tuple whose fields have
 * names; `$r.a` reads a field by name; it prints `{ .a = 1, .b = x }` and is a
 * JSON object; a record assigned to a record variable with the same names in
 * another order goes field by field by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpression } from '../../src/lang/parser';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { INT64, tupleType, unify, valueTypeOf, type Type } from '../../src/lang/types';
import { unitTarget } from '../helpers/target';

const src = (text: string) => ({ name: 't.bt', text });
const str = (size: number): Type => ({ kind: 'string', size });

function errorOf(text: string): string {
  try {
    compile(src(text), { target: unitTarget() });
  } catch (e) {
    if (e instanceof CompileError) return e.diagnostics.map((d) => d.message).join('\n');
    throw e;
  }
  assert.fail(`expected a CompileError for ${text}`);
}

test('records parse as tuples with names; `==` is still a comparison inside a tuple', () => {
  const e = parseExpression(src('(a=1, b="x", c=(2, 3))'));
  assert.ok(e.kind === 'Tuple');
  assert.deepEqual(e.names, ['a', 'b', 'c']);
  assert.equal(e.elements.length, 3);
  const one = parseExpression(src('(a=1)'));
  assert.ok(one.kind === 'Tuple' && one.names?.length === 1);
  const cmp = parseExpression(src('(a==1, 2)'));
  assert.ok(cmp.kind === 'Tuple' && cmp.names === undefined);
  assert.throws(() => parseExpression(src('(a=1, 2)')), /record field name/);
  assert.throws(() => parseExpression(src('(a=1, a=2)')), /duplicate record field name: a/);
});

test('a record decodes as a struct value: named fields at C offsets', () => {
  const t = tupleType([INT64, str(3)], ['a', 'b']);
  assert.deepEqual(valueTypeOf(t), { kind: 'record', size: 16, fields: [
    { name: 'a', offset: 0, type: { kind: 'int', size: 8, signed: true } },
    { name: 'b', offset: 8, type: { kind: 'string', size: 3 } },
  ] });
});

test('records with the same names unify in the first one\'s order; other names do not', () => {
  const ab = tupleType([INT64, str(3)], ['a', 'b']);
  const ba = tupleType([str(5), INT64], ['b', 'a']);
  const u = unify(ab, ba);
  assert.ok(u?.kind === 'tuple');
  assert.deepEqual(u.names, ['a', 'b']);
  assert.deepEqual(u.fields, [INT64, str(5)]);
  assert.equal(unify(ab, tupleType([INT64, str(3)], ['a', 'c'])), undefined);
  assert.equal(unify(ab, tupleType([INT64, str(3)])), undefined);
});

test('record fields by name: map values, keys and nested records compile; a missing name is one error with a hint', () => {
  const a = compile(src('BEGIN { $r = (a=1, b=(x=2, y="s")); @v = $r; @k[$r] = $r.b.x; printf("%d %s\\n", $r.a, $r.b.y); }'), { target: unitTarget() });
  const v = a.userMaps.find((m) => m.name === '@v')!;
  assert.equal(v.value.kind, 'record');
  const k = a.userMaps.find((m) => m.name === '@k')!;
  assert.equal(k.key?.kind, 'record');
  assert.match(errorOf('BEGIN { $r = (abc=1); print($r.abd); }'), /record has no field named 'abd'/);
  assert.match(errorOf('BEGIN { $r = (a=1); $r = (b=1); }'), /./);
});
