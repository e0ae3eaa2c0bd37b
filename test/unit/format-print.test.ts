// print(@m, top, div), print(value), stacks, inet and buffers. Expected strings are
// stdout captured from bpftrace 0.17 running PRINT_PROGRAM (text and -f json).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { type MapDump, type Entry, type AvgState, createOutput, mapText, mapJson, log2Bucket, type BucketCounts } from '../../src/runtime/format';
import { type Value, int, str, tuple, buf, inet, stack, sym, inetNtop, valueText, valueJson, record, array, ptr, keyText } from '../../src/runtime/values';

/* PRINT_PROGRAM:
BEGIN {
  @c[1] = count(); @c[2] = count(); @c[2] = count(); @c[3] = count(); @c[3] = count(); @c[3] = count();
  @c[-1] = count();
  @sm[10] = sum(100); @sm[20] = sum(250); @sm[30] = sum(7);
  @hh["a"] = hist(10); @hh["b"] = hist(100); @hh["b"] = hist(100); @hh["c"] = hist(1);
  @st[1] = stats(10); @st[2] = stats(4); @st[3] = stats(100);
  @av[1] = avg(10); @av[2] = avg(4); @av[3] = avg(100);
  @lh = lhist(50, 0, 100, 10); @lh = lhist(50, 0, 100, 10); @lh = lhist(50, 0, 100, 10);
  print(@c, 2);
  print(@sm, 0, 10);
  print(@hh, 2);
  print(@hh, 0, 2);
  print(@st, 1);
  print(@av, 1, 3);
  print(@lh, 0, 2);
  print(5); print("str"); print((1, "a", (2, "b")));
  print(-3);
  @b = buf("A\x01", 2);
  @ks[kstack] = count();
  @us[ustack(3)] = count();
  @usp[ustack(perf, 2)] = count();
  @in = ntop(2, 0x0100007f);
  @in6 = ntop(10, pton("fe80::1:2"));
  @in6b = ntop(pton("::1"));
  exit();
}
*/

const PRINT_TEXT = "Attaching 1 probe...\n" +
  "@c[2]: 2\n" +
  "@c[3]: 3\n" +
  "@sm[30]: 0\n" +
  "@sm[10]: 10\n" +
  "@sm[20]: 25\n" +
  "@hh[c]: \n" +
  "[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
  "\n" +
  "@hh[b]: \n" +
  "[64, 128)              2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
  "\n" +
  "@hh[a]: \n" +
  "[8, 16)                0 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
  "\n" +
  "@hh[c]: \n" +
  "[1]                    0 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
  "\n" +
  "@hh[b]: \n" +
  "[64, 128)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
  "\n" +
  "@st[2]: { .count = 1, .average = 4, .total = 4 }\n" +
  "@st[1]: { .count = 1, .average = 10, .total = 10 }\n" +
  "@st[3]: { .count = 1, .average = 100, .total = 100 }\n" +
  "\n" +
  "@av[3]: 33\n" +
  "\n" +
  "@lh: \n" +
  "[50, 60)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n" +
  "\n" +
  "5\n" +
  "str\n" +
  "(1, a, (2, b))\n" +
  "-3\n" +
  "";
const PRINT_JSON = "{\"type\": \"attached_probes\", \"count\": 1, \"data\": {\"probes\": 1}}\n" +
  "{\"type\": \"map\", \"data\": {\"@c\": {\"2\": 2, \"3\": 3}}}\n" +
  "{\"type\": \"map\", \"data\": {\"@sm\": {\"30\": 0, \"10\": 10, \"20\": 25}}}\n" +
  "{\"type\": \"hist\", \"data\": {\"@hh\": {\"c\": [{\"min\": 1, \"max\": 1, \"count\": 1}], \"b\": [{\"min\": 64, \"max\": 127, \"count\": 2}]}}}\n" +
  "{\"type\": \"hist\", \"data\": {\"@hh\": {\"a\": [{\"min\": 8, \"max\": 15, \"count\": 0}], \"c\": [{\"min\": 1, \"max\": 1, \"count\": 0}], \"b\": [{\"min\": 64, \"max\": 127, \"count\": 1}]}}}\n" +
  "{\"type\": \"stats\", \"data\": {\"@st\": {\"2\": {\"count\": 1, \"average\": 4, \"total\": 4}, \"1\": {\"count\": 1, \"average\": 10, \"total\": 10}, \"3\": {\"count\": 1, \"average\": 100, \"total\": 100}}}}\n" +
  "{\"type\": \"stats\", \"data\": {\"@av\": {\"3\": 33}}}\n" +
  "{\"type\": \"hist\", \"data\": {\"@lh\": [{\"min\": 50, \"max\": 59, \"count\": 3}]}}\n" +
  "{\"type\": \"value\", \"data\": 5}\n" +
  "{\"type\": \"value\", \"data\": \"str\"}\n" +
  "{\"type\": \"value\", \"data\": [1,\"a\",[2,\"b\"]]}\n" +
  "{\"type\": \"value\", \"data\": -3}\n" +
  "";
const EXIT_B = "@b: A\\x01\n";
const EXIT_INET = "@in: 127.0.0.1\n@in6: fe80::1:2\n@in6b: ::1\n";
const EXIT_KS = "@ks[\n    _einittext+1015210945\n    __bpf_prog_test_run_raw_tp+106\n    bpf_prog_test_run_raw_tp+279\n    __sys_bpf+2593\n    __x64_sys_bpf+29\n    do_syscall_64+113\n    entry_SYSCALL_64_after_hwframe+118\n]: 1\n";
const EXIT_US = "@us[\n    syscall+25\n    0x7ffc1d85b7a8\n    0x5585f4c5fa60\n]: 1\n@usp[\n\t7f372171f829 syscall+25 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n\t7ffc1d85b7a8 0x7ffc1d85b7a8 ([unknown])\n]: 1\n";

const e = <V>(key: Value[], value: V): Entry<V> => ({ key, value });
function hist(vals: number[]): BucketCounts {
  const c: bigint[] = [];
  for (const v of vals) { const i = log2Bucket(v); c[i] = (c[i] ?? 0n) + 1n; }
  return c;
}
const one = (v: number): AvgState => ({ count: 1n, total: BigInt(v) });

function maps() {
  const c: MapDump = { name: '@c', keyed: true, kind: 'count', entries: [e([int(3)], 3n), e([int(1)], 1n), e([int(2)], 2n)] };
  const sm: MapDump = { name: '@sm', keyed: true, kind: 'sum', signed: true, entries: [e([int(10)], 100n), e([int(20)], 250n), e([int(30)], 7n)] };
  // hist maps with equal totals are ordered by key bytes first ("a" < "c").
  const hh: MapDump = { name: '@hh', keyed: true, kind: 'hist', entries: [e([str('c')], hist([1])), e([str('b')], hist([100, 100])), e([str('a')], hist([10]))] };
  const hh2: MapDump = { ...hh, entries: hh.entries.slice(0, 2) };
  const st: MapDump = { name: '@st', keyed: true, kind: 'stats', entries: [e([int(1)], one(10)), e([int(2)], one(4)), e([int(3)], one(100))] };
  const av: MapDump = { name: '@av', keyed: true, kind: 'avg', entries: [e([int(1)], one(10)), e([int(2)], one(4)), e([int(3)], one(100))] };
  const lh: MapDump = { name: '@lh', keyed: false, kind: 'lhist', min: 0, max: 100, step: 10, entries: [e([], [0n, 0n, 0n, 0n, 0n, 0n, 3n])] };
  return { c, sm, hh, hh2, st, av, lh };
}

function run(mode: 'text' | 'json'): string {
  const out = createOutput(mode);
  const m = maps();
  // At the time of print(@hh, 2) the map held only "c" and "b".
  return out.attachedProbes(1) + out.map(m.c, { top: 2 }) + out.map(m.sm, { div: 10 }) + out.map(m.hh2, { top: 2 }) +
    out.map(m.hh, { div: 2 }) + out.map(m.st, { top: 1 }) + out.map(m.av, { top: 1, div: 3 }) + out.map(m.lh, { div: 2 }) +
    out.value(int(5)) + out.value(str('str')) + out.value(tuple([int(1), str('a'), tuple([int(2), str('b')])])) + out.value(int(-3));
}

test('print() with top and div, and print(value), text', () => {
  assert.equal(run('text'), PRINT_TEXT);
});

test('print() with top and div, and print(value), json', () => {
  assert.equal(run('json'), PRINT_JSON);
});

test('buffers, inet and stacks as keys (text)', () => {
  assert.equal(mapText({ name: '@b', keyed: false, kind: 'value', entries: [e([], buf([0x41, 0x01]))] }), EXIT_B);
  const inets: MapDump[] = [
    { name: '@in', keyed: false, kind: 'value', entries: [e([], inet([127, 0, 0, 1]))] },
    { name: '@in6', keyed: false, kind: 'value', entries: [e([], inet([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]))] },
    { name: '@in6b', keyed: false, kind: 'value', entries: [e([], inet([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))] },
  ];
  assert.equal(createOutput('text').maps(inets), EXIT_INET);
  const kframes = EXIT_KS.split('\n').slice(1, -2).map((l) => l.trim());
  assert.equal(mapText({ name: '@ks', keyed: true, kind: 'count', entries: [e([stack(kframes)], 1n)] }), EXIT_KS);
  const us = stack(['syscall+25', '0x7ffc1d85b7a8', '0x5585f4c5fa60']);
  const usp = stack(['syscall+25 (/usr/lib/x86_64-linux-gnu/libc.so.6)', '0x7ffc1d85b7a8 ([unknown])'], 'perf', [0x7f372171f829n, 0x7ffc1d85b7a8n]);
  assert.equal(mapText({ name: '@us', keyed: true, kind: 'count', entries: [e([us], 1n)] }) +
    mapText({ name: '@usp', keyed: true, kind: 'count', entries: [e([usp], 1n)] }), EXIT_US);
});

test('buffers, inet and stacks as keys (json)', () => {
  assert.equal(mapJson({ name: '@b', keyed: false, kind: 'value', entries: [e([], buf([0x41, 0x01]))] }),
    '{"type": "map", "data": {"@b": "A\\\\x01"}}\n');
  assert.equal(mapJson({ name: '@in6', keyed: false, kind: 'value', entries: [e([], inet([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]))] }),
    '{"type": "map", "data": {"@in6": "fe80::1:2"}}\n');
  const us = stack(['syscall+25', '0x7ffed045e2d8', '0x560209d58a60']);
  assert.equal(mapJson({ name: '@us', keyed: true, kind: 'count', entries: [e([us], 1n)] }),
    '{"type": "map", "data": {"@us": {"\\n    syscall+25\\n    0x7ffed045e2d8\\n    0x560209d58a60\\n": 1}}}\n');
  const usp = stack(['syscall+25 (/usr/lib/x86_64-linux-gnu/libc.so.6)', '0x7ffed045e2d8 ([unknown])'], 'perf', [0x7fb2e311f829n, 0x7ffed045e2d8n]);
  assert.equal(mapJson({ name: '@usp', keyed: true, kind: 'count', entries: [e([usp], 1n)] }),
    '{"type": "map", "data": {"@usp": {"\\n\\t7fb2e311f829 syscall+25 (/usr/lib/x86_64-linux-gnu/libc.so.6)\\n\\t7ffed045e2d8 0x7ffed045e2d8 ([unknown])\\n": 1}}}\n');
});

test('stack values are indented by 8 and not separated by extra newlines', () => {
  const m: MapDump = { name: '@k', keyed: true, kind: 'value', entries: [e([int(2)], stack(['b+1'])), e([int(1)], stack(['a+1', 'a+2']))] };
  // bpftrace joins stack values with nothing, then ends the map with a newline: a blank line.
  assert.equal(mapText(m), '@k[1]: \n        a+1\n        a+2\n@k[2]: \n        b+1\n\n');
});

test('inet_ntop like glibc', () => {
  const v6 = (w: number[]) => inetNtop(Uint8Array.from(w.flatMap((x) => [x >> 8, x & 0xff])));
  assert.equal(v6([0, 0, 0, 0, 0, 0, 0, 0]), '::');
  assert.equal(v6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]), '::ffff:1.2.3.4');
  assert.equal(v6([0, 0, 0, 0, 0, 0, 0x0102, 0x0304]), '::1.2.3.4');
  assert.equal(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1');
  assert.equal(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
  assert.equal(v6([1, 0, 0, 0, 0, 0, 0, 0]), '1::');
});

test('records, arrays, symbols and pointers', () => {
  const r = record([['a', int(1)], ['b', str('x')]]);
  assert.equal(valueText(r), '{ .a = 1, .b = x }');
  assert.equal(keyText(r), '{ .a = 1, .b = x }');
  assert.equal(valueJson(r), '{"a": 1, "b": "x"}');
  assert.equal(valueText(array([int(1), int(2)])), '[1,2]');
  assert.equal(valueJson(tuple([int(1), str('a"b')])), '[1,"a\\"b"]');
  assert.equal(valueJson(sym('vfs_read', 'ksym')), '"vfs_read"');
  assert.equal(keyText(ptr(0xffff8880n)), '0xffff8880');
  assert.equal(valueText(ptr(255)), '0xff'); // bpftrace 0.23+ prints pointer values in hex too (0.17: 255)
});
