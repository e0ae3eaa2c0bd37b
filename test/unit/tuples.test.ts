/**
 * Tuples laid out like C structs (issue 19), as bpftrace lays them out: the
 * layout the code generator writes and the runtime decodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOOL, INT64, sameLayout, tupleType, valueTypeOf, type Type } from '../../src/lang/types';

const int = (size: 1 | 2 | 4 | 8, signed = true): Type => ({ kind: 'int', size, signed });
const str = (size: number): Type => ({ kind: 'string', size });

test('tuple fields sit at their own alignment; the size is a multiple of the largest', () => {
  const t = tupleType([int(1), int(2), int(4)]);
  assert.ok(t.kind === 'tuple');
  assert.deepEqual([t.offsets, t.size], [[0, 2, 4], 8]);
  const s = tupleType([int(1), str(4)]);
  assert.ok(s.kind === 'tuple');
  assert.deepEqual([s.offsets, s.size], [[0, 1], 5]);
  const n = tupleType([int(1), tupleType([int(2), int(1)])]);
  assert.ok(n.kind === 'tuple');
  assert.deepEqual([n.offsets, n.size], [[0, 2], 6]);
  const m = tupleType([INT64, str(2), BOOL, int(4, false)]);
  assert.ok(m.kind === 'tuple');
  assert.deepEqual([m.offsets, m.size], [[0, 8, 10, 12], 16]);
});

test('the runtime decodes tuple integers at their width', () => {
  // int8 at 0, uint16 at 2, bool (one byte) at 4; two-byte alignment: 6 bytes
  assert.deepEqual(valueTypeOf(tupleType([int(1), int(2, false), BOOL])), { kind: 'tuple', size: 6, fields: [
    { offset: 0, type: { kind: 'int', size: 1, signed: true } },
    { offset: 2, type: { kind: 'int', size: 2, signed: false } },
    { offset: 4, type: { kind: 'bool' } },
  ] });
});

test('sameLayout: a widened field or string changes the layout', () => {
  assert.ok(sameLayout(tupleType([int(1), str(3)]), tupleType([int(1), str(3)])));
  assert.ok(!sameLayout(tupleType([int(1), str(3)]), tupleType([int(8), str(3)])));
  assert.ok(!sameLayout(tupleType([str(2), int(1)]), tupleType([str(7), int(1)])));
});
