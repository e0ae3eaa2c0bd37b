// tseries() (F29, O07): the checker's rules, the per-CPU reduction and the text/JSON formats. No kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { AGGREGATIONS } from '../../src/lang/aggregations';
import { tseriesJson, tseriesText } from '../../src/runtime/format/tseries';
import { mapJson, mapText, type MapDump } from '../../src/runtime/format/maps';
import { unitTarget } from '../helpers/target';
import { str, uint } from '../../src/runtime/values';

function errorOf(text: string): string {
  try {
    compile({ name: 'stdin', text }, { target: unitTarget() });
  } catch (e) {
    assert.ok(e instanceof CompileError, String(e));
    return e.format();
  }
  assert.fail(`compiled without error: ${text}`);
}

test('tseries: checks its arguments', () => {
  compile({ name: 'stdin', text: 'BEGIN { @a = tseries(1, 100ms, 5); @b[1] = tseries(-1, 1s, 2, "avg"); }' }, { target: unitTarget() });
  assert.match(errorOf('BEGIN { @a = tseries(1, 1s, 5, "median"); }'), /aggregation must be one of "avg", "max", "min" or "sum"/);
  assert.match(errorOf('BEGIN { $i = 2; @a = tseries(1, $i, 5); }'), /tseries\(\) interval/);
  assert.match(errorOf('BEGIN { @a = tseries(1, 1s, 0); }'), /number of intervals must be between 1/);
  assert.match(errorOf('BEGIN { @a = tseries(1, 1s); }'), /tseries/);
  assert.match(errorOf('BEGIN { @a = tseries(1, 1s, 2); $x = @a; }'), /cannot be read/);
});

/** One CPU's slot: value, meta, epoch. */
function slot(val: bigint, meta: bigint, epoch: bigint): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigInt64LE(val, 0);
  b.writeBigUInt64LE(meta, 8);
  b.writeBigUInt64LE(epoch, 16);
  return b;
}
const key = (bucket: number): Buffer => { const b = Buffer.alloc(16); b.writeBigUInt64LE(7n, 0); b.writeBigUInt64LE(BigInt(bucket), 8); return b; };
const ctx = { name: '@a', keyed: true, div: 1n, keyOf: (k: Buffer) => [uint(k.readBigUInt64LE(0))] };
const INT = { kind: 'int', size: 8, signed: true } as const;

test('tseries reduce: the newest epoch of a slot wins; CPUs combine by the function; epoch 0 reads as 0', () => {
  const agg = (fn: 'last' | 'avg' | 'max' | 'min' | 'sum') => ({ kind: 'tseries', intervalNs: 100n, intervals: 3n, fn }) as const;
  const raw = [
    [key(0), [slot(4n, 10n, 3n), slot(9n, 20n, 3n), slot(1n, 30n, 0n)]], // epoch 3 on two CPUs
    [key(1), [slot(6n, 2n, 1n), slot(8n, 1n, 4n)]], // a stale epoch 1 on CPU 0 loses to epoch 4
  ] as const;
  const pts = (fn: 'last' | 'avg' | 'max' | 'min' | 'sum') => {
    const d = AGGREGATIONS.tseries.reduce(agg(fn), INT, raw as never, ctx) as Extract<MapDump, { kind: 'tseries' }>;
    return d.entries[0].value.map((p) => [p.start, p.value]);
  };
  assert.deepEqual(pts('last'), [[300n, 9n], [400n, 8n]]); // window is epochs 2..4; the key starts at 3
  assert.deepEqual(pts('sum'), [[300n, 13n], [400n, 8n]]);
  assert.deepEqual(pts('max'), [[300n, 9n], [400n, 8n]]);
  assert.deepEqual(pts('min'), [[300n, 4n], [400n, 8n]]);
  assert.deepEqual(pts('avg'), [[300n, 0n], [400n, 8n]]); // (4+9)/(10+20)
  const zeroed = AGGREGATIONS.tseries.reduce(agg('avg'), INT, [[key(0), [slot(0n, 0n, 0n)]]] as never, ctx) as Extract<MapDump, { kind: 'tseries' }>;
  assert.deepEqual(zeroed.entries[0].value, []); // zero(): all epoch 0, an empty window as in bpftrace
});

test('tseries text: bpftrace\'s graph, zero line, gaps and the unit of the interval', () => {
  const text = tseriesText([{ start: 100_000_000n, value: -5n }, { start: 200_000_000n, value: 5n }, { start: 300_000_000n, value: null }], true);
  const local = (ms: number) => { const d = new Date(ms); return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':'); };
  const lines = text.split('\n');
  assert.equal(lines[0], ' '.repeat(13) + '-5'.padEnd(21) + '5'.padStart(32));
  assert.equal(lines[1], 'hh:mm:ss.ms  |' + '_'.repeat(51) + '|');
  assert.equal(lines[2], `${local(100)}.100 *${' '.repeat(25)}.${' '.repeat(25)}| -5`);
  assert.equal(lines[3], `${local(200)}.200 |${' '.repeat(25)}.${' '.repeat(25)}* 5`);
  assert.equal(lines[4], `${local(300)}.300 |${' '.repeat(25)}.${' '.repeat(25)}| -`);
  assert.equal(lines[5], ' '.repeat(13) + 'v' + '_'.repeat(51) + 'v');
  // a flat unsigned 0 is not framed from -1
  assert.match(tseriesText([{ start: 0n, value: 0n }, { start: 1_000_000_000n, value: 0n }], false), /^ {9}0 {51}1\nhh:mm:ss \|/);
  assert.equal(tseriesText([], true), '<no data>');
});

test('tseries JSON: UTC starts to the nanosecond, gaps left out, keyed maps by key', () => {
  assert.equal(tseriesJson([{ start: 500_000_000n, value: 9n }, { start: 600_000_000n, value: null }]),
    '[{"interval_start": "1970-01-01 00:00:00.500000000", "value": 9}]');
  const m: MapDump = { name: '@a', keyed: true, kind: 'tseries', signed: true, entries: [{ key: [str('one')], value: [{ start: 1n, value: 4n }] }] };
  assert.deepEqual(JSON.parse(mapJson(m)), { type: 'tseries', data: { '@a': { one: [{ interval_start: '1970-01-01 00:00:00.000000001', value: 4 }] } } });
  assert.match(mapText(m), /^@a\[one\]:\n/);
});
