/**
 * Records (S27): named tuples built in BPF, read by name, printed and stored
 * in maps as bpftrace 0.26 prints them (its runtime tests record.* and
 * json-output.record give the expected text).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';

const lines = (s: string) => s.split('\n').filter((l) => l !== '' && !l.startsWith('Attach'));

kernelTest('lang records: fields by name, nested records, print, map keys and values, assignment by name', async () => {
  const r = await runTsbpf(['-e', `BEGIN { $v = 99; $t = (a=-3, b=(int8)1, c="str", d=(5, 6), e=(x=$v, y=2));
    printf("%d %d %s %d %d %d\\n", $t.a, $t.b, $t.c, $t.d.0, $t.e.x, $t.e.y); print($t);
    $o = (foo=1, bar="x"); $o = (bar="yy", foo=2); print($o);
    @k[$o] = $t.e; @n = count(); exit(); }`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), [
    '-3 1 str 5 99 2',
    '{ .a = -3, .b = 1, .c = str, .d = (5, 6), .e = { .x = 99, .y = 2 } }',
    '{ .foo = 2, .bar = yy }',
    '@k[{ .foo = 2, .bar = yy }]: { .x = 99, .y = 2 }',
    '@n: 1',
  ]);
});

kernelTest('lang records: -f json prints a record as an object', async () => {
  const r = await runTsbpf(['-f', 'json', '-e', 'BEGIN { @a = (a=0, c="s\\"q", d=(5, 6), e=(x=1)); exit(); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes('{"type": "map", "data": {"@a": {"a": 0, "c": "s\\"q", "d": [5,6], "e": {"x": 1}}}}'), r.stdout);
});
