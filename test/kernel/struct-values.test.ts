/**
 * Structs and arrays held by value, end to end (issues 19/20): a uprobe on
 * test/fixtures/pointers.c's tsbpf_point (whose struct and array hold values
 * derived from the number the test sends) copies the struct and the array out
 * of the process, stores them in variables and maps, uses them as keys and
 * tuple fields, indexes the copies and prints them whole, text and JSON.
 * The expected text is bpftrace 0.26's form (its runtime tests struct/array).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

// the fixture's struct point without its `next` pointer (an address the test cannot know), and its int32 vals[4]
const DEFS = 'struct pt { int x; int y; long z; char name[8]; } struct V { int v[4]; } struct W { int m[2][2]; }';

kernelTest('struct values: a uprobe copies a struct and an array by value into variables, maps, keys and tuples', async () => {
  const bin = buildFixture('pointers');
  const script = `${DEFS}
    uprobe:${bin}:tsbpf_point {
      $s = *(struct pt *)arg0;
      @s[$s.x] = $s;
      @k[$s, 1] = $s.x;
      $v = ((struct V *)arg1)->v;
      @v[$s.x] = $v;
      @m = ((struct W *)arg1)->m;
      $m = @m;
      @t = ($s.x, $v);
      printf("S %d %d %s %d %d %d\\n", $s.y, $s.z / 1000000007, $s.name, $v[3], @v[$s.x][1], $m[1][0]);
      print($s);
      print($v);
    }`;
  const r = await runTsbpf(['-c', bin, '-e', script], { input: 'point 5\npoint 7\n' });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.split('\n');
  assert.deepEqual(out.filter((l) => /^(S |\{|\[)/.test(l)), [
    'S -15 5 pt5 8 6 7', '{ .x = 5, .y = -15, .z = 5000000035, .name = pt5 }', '[5,6,7,8]',
    'S -21 7 pt7 10 8 9', '{ .x = 7, .y = -21, .z = 7000000049, .name = pt7 }', '[7,8,9,10]',
  ], r.stdout);
  assert.deepEqual(out.filter((l) => l.startsWith('@')), [
    '@k[{ .x = 5, .y = -15, .z = 5000000035, .name = pt5 }, 1]: 5',
    '@k[{ .x = 7, .y = -21, .z = 7000000049, .name = pt7 }, 1]: 7',
    '@m: [[7,8],[9,10]]',
    '@s[5]: { .x = 5, .y = -15, .z = 5000000035, .name = pt5 }',
    '@s[7]: { .x = 7, .y = -21, .z = 7000000049, .name = pt7 }',
    '@t: (7, [7,8,9,10])',
    '@v[5]: [5,6,7,8]',
    '@v[7]: [7,8,9,10]',
  ], r.stdout);
});

kernelTest('struct values: print() of a struct and a struct map value in JSON output', async () => {
  const bin = buildFixture('pointers');
  const r = await runTsbpf(['-f', 'json', '-c', bin, '-e', `${DEFS} uprobe:${bin}:tsbpf_point { @p = *(struct pt *)arg0; print(*(struct pt *)arg0); print(((struct W *)arg1)->m); }`], { input: 'point 3\n' });
  assert.equal(r.code, 0, r.stderr);
  const recs = r.stdout.split('\n').filter((l) => l.startsWith('{"type": "value"') || l.startsWith('{"type": "map"'));
  assert.deepEqual(recs, [
    '{"type": "value", "data": {"x": 3, "y": -9, "z": 3000000021, "name": "pt3"}}',
    '{"type": "value", "data": [[3,4],[5,6]]}',
    '{"type": "map", "data": {"@p": {"x": 3, "y": -9, "z": 3000000021, "name": "pt3"}}}',
  ], r.stdout);
});
