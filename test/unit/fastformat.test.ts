// The fused record writer must print exactly what the general path
// (decodeValue + formatPrintf) prints, for every conversion and field type.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { FieldSpec, ValueType } from '../../src/lang/artifact';
import { decodeValue, type Resolver } from '../../src/runtime/decode';
import { compileRecordWriter, formatRecord, recordSize } from '../../src/runtime/fastformat';
import { formatPrintf, parseFormat } from '../../src/runtime/format/printf';
import { OutBuffer } from '../../src/runtime/outbuf';
import * as V from '../../src/runtime/values';

const resolver: Resolver = {
  stack: () => V.stack(['f+1']),
  ksym: (a) => `ksym_${a.toString(16)}`,
  usym: (_p, a) => `usym_${a.toString(16)}`,
  username: (u) => `user${u}`,
  probeName: (i) => `probe${i}`,
};

// Deterministic pseudo-random numbers (xorshift), so failures reproduce.
let seed = 0x2545f491;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

const EDGE = [0n, 1n, -1n, 127n, 128n, 255n, 256n, -128n, -129n, 32767n, 32768n, 65535n, -32768n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n - 1n,
  2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n), -(2n ** 53n) - 1n, -(2n ** 53n) + 1n, 2n ** 63n - 1n, -(2n ** 63n), 4294967301n];

function randomInt(): bigint {
  const r = rnd() % 4;
  if (r === 0) return EDGE[rnd() % EDGE.length];
  if (r === 1) return BigInt(rnd() % 1000) - 500n;
  return (BigInt(rnd()) << 32n) | BigInt(rnd());
}

/** A record: 8-byte id, then the fields, each written as the kernel would. */
function record(fields: readonly FieldSpec[], values: Array<bigint | string>, pad: number): { buf: Buffer; base: number } {
  const buf = Buffer.alloc(pad + recordSize(fields) + 8, 0xaa);
  buf.fill(0, pad, pad + recordSize(fields));
  fields.forEach((f, i) => {
    const at = pad + f.offset;
    const v = values[i];
    if (f.type.kind === 'int') {
      const n = BigInt.asUintN(f.type.size * 8, v as bigint);
      for (let k = 0; k < f.type.size; k++) buf[at + k] = Number((n >> BigInt(8 * k)) & 0xffn);
    } else if (f.type.kind === 'string') {
      buf.write(v as string, at, f.type.size, 'latin1');
    } else {
      buf.writeBigUInt64LE(BigInt.asUintN(64, v as bigint), at);
    }
  });
  return { buf, base: pad };
}

function check(fmt: string, fields: FieldSpec[], values: Array<bigint | string>): void {
  const parsed = parseFormat(fmt);
  const fast = compileRecordWriter(parsed, fields, resolver);
  assert.ok(fast, `no fast formatter for ${fmt}`);
  const { buf, base } = record(fields, values, 24);
  const expected = formatPrintf(parsed, fields.map((f) => decodeValue(buf.subarray(base, base + recordSize(fields)), f.offset, f.type, resolver)));
  assert.equal(formatRecord(fast, buf, base), expected, `${JSON.stringify(fmt)} with ${values.map(String).join(', ')} (${fields.map((f) => JSON.stringify(f.type)).join(' ')})`);
}

const INT_TYPES: ValueType[] = [1, 2, 4, 8].flatMap((size) => [true, false].map((signed) => ({ kind: 'int', size, signed }) as ValueType));
const CONVS = ['d', 'u', 'x', 'X', 'o', 'hhd', 'hd', 'ld', 'lld', 'hhu', 'hu', 'lu', 'lx', 'llX', 'lo', 'zu', 'jd', '5d', '-6u', '08x', '.3d', '.0d', '12.4lx', '-020ld', '08d'];

test('integers: every conversion and field width matches the general path', () => {
  for (const t of INT_TYPES) {
    for (const c of CONVS) {
      for (let k = 0; k < 60; k++) {
        check(`a%${c}b\n`, [{ offset: 8, type: t }], [randomInt()]);
      }
    }
  }
});

test('strings: plain, padded, truncated, full-length without NUL, latin1 bytes, empty', () => {
  const s16: FieldSpec = { offset: 8, type: { kind: 'string', size: 16 } };
  for (const fmt of ['%s\n', '[%-10s]', '[%10s]', '[%.3s]', '[%8.2s]']) {
    for (const v of ['', 'bash', 'exactly16bytes!!', 'caf\xe9', 'longer than sixteen bytes']) check(fmt, [s16], [v]);
  }
});

test('mixed formats, %% quirks and literal-only conversions', () => {
  const pid: FieldSpec = { offset: 8, type: { kind: 'int', size: 8, signed: false } };
  const comm: FieldSpec = { offset: 16, type: { kind: 'string', size: 16 } };
  const ret: FieldSpec = { offset: 32, type: { kind: 'int', size: 8, signed: true } };
  check('%d %s\n', [pid, comm], [1234n, 'loadgen']);
  check('%%d x %d %s %ld\n', [pid, pid, comm, ret], [3n, 4n, 'x', -5n]);
  check('100%% %d%%\n', [pid], [7n]);
  check('%s: %-8d|%lu|%x\n', [comm, pid, ret, ret], ['sh', 99n, -1n, -1n]);
  check('%d %d %d %d %s\n', [pid, pid, ret, ret, comm], [1n, 2n, -3n, 2n ** 40n, 'four']);
  check('no conversions\n', [], []);
});

test('other field types go through the general code', () => {
  const f: FieldSpec[] = [{ offset: 8, type: { kind: 'ksym' } }, { offset: 16, type: { kind: 'username' } }, { offset: 24, type: { kind: 'int', size: 8, signed: false } }];
  check('%s %s %c|%p\n', [...f, f[2]], [0xffffffff81000000n, 1000n, 65n, 65n]);
});

test('missing arguments: no fast formatter (the general path reports it per event)', () => {
  assert.equal(compileRecordWriter(parseFormat('%d %d\n'), [{ offset: 8, type: { kind: 'int', size: 8, signed: true } }], resolver), undefined);
});

test('OutBuffer: decimal and hex digits up to 2^53, C strings byte for byte, growth', () => {

  const o = new OutBuffer(4);
  const nums = [0, 9, 10, 99, 100, 101, 999, 1000, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 10 ** 15, 10 ** 15 - 1, 2 ** 53 - 1];
  for (let k = 0; k < 200; k++) nums.push(Math.floor((rnd() / 2 ** 32) * 2 ** (rnd() % 53)));
  let expected = '';
  for (const n of nums) {
    o.decimal(n);
    o.byte(32);
    o.hex(n, (n & 1) === 1);
    o.byte(10);
    const h = n.toString(16);
    expected += `${n} ${(n & 1) === 1 ? h.toUpperCase() : h}\n`;
  }
  const src = Buffer.from('a\xe9\xffz\0rest', 'latin1');
  o.cString(src, 0, src.length);
  o.cString(src, 5, 7);
  o.text('\u20ac');
  // the kernel's bytes pass through as they are (0xe9 0xff are not UTF-8 and stay single bytes)
  assert.deepEqual(o.take(), Buffer.concat([Buffer.from(expected), Buffer.from('a\xe9\xffzre', 'latin1'), Buffer.from('\u20ac')]));
  assert.equal(o.length, 0);
});
