/**
 * Map printing as bpftrace 0.26 does it, where 0.17 differed (btrt basic.clear
 * count-map, stdlib.delete count-map, call.print_empty_scalar_map,
 * print_empty_scalar_stats_map, call.stats, builtin.begin probe).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';

const lines = async (prog: string): Promise<string[]> => {
  const r = await runTsbpf(['-e', prog]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Attached'));
};

kernelTest('0.26 printing: a cleared or deleted key-less count prints nothing at exit; print() of a never-set scalar prints its zero', async () => {
  assert.deepEqual(await lines('begin { @ = count(); @a[1] = count(); clear(@); clear(@a); }'), []);
  assert.deepEqual(await lines('begin { @ = count(); @a[1] = count(); delete(@); delete(@a, 1); }'), []);
  assert.deepEqual(await lines('begin { print(@); } end { @ = 1 }'), ['@: 0', '@: 1']);
  assert.deepEqual(await lines('begin { print(@); } end { @ = count() }'), ['@: 0', '@: 1']);
  assert.deepEqual(await lines('begin { print(@); } end { @ = stats(1) }'), ['@: { .count = 0, .average = 0, .total = 0 }', '@: { .count = 1, .average = 1, .total = 1 }']);
  // a keyed map without entries prints nothing, at print() and at exit
  assert.deepEqual(await lines('begin { print(@k); } end { @k[1] = count(); delete(@k, 1); }'), []);
});

kernelTest('0.26 printing: stats() as a record, negative values kept', async () => {
  assert.deepEqual(await lines('begin { @=stats(-10); @=stats(-5); @=stats(5); @k["a"] = stats(4); exit() }'),
    ['@: { .count = 3, .average = -3, .total = -10 }', '@k[a]: { .count = 1, .average = 4, .total = 4 }']);
});

kernelTest('probe in begin/end names them as written: begin-end (0.26), BEGIN-END (0.17 scripts)', async () => {
  assert.deepEqual(await lines('begin { printf("%s", probe); } end { printf("-%s\\n", probe); }'), ['begin-end']);
  assert.deepEqual(await lines('BEGIN { printf("%s", probe); } END { printf("-%s\\n", probe); }'), ['BEGIN-END']);
});
