import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { BpfMap, u32, u64, numPossibleCpus, sumU64 } from '../../src/ebpf/maps';
import { MapType, UpdateFlags, listIds } from '../../src/sys/bpf';
import { SyscallError } from '../../src/sys/errno';
import { possibleCpus, parseCpuList } from '../../src/sys/perf';
import * as fs from 'node:fs';

kernelTest('hash map: update, lookup, flags, delete, keys', () => {
  const m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64, name: 'test_hash' });
  try {
    assert.equal(m.lookup(1), undefined);
    m.update(1, u64(10));
    m.update(u32(2), u64(20));
    assert.equal(m.lookup(1)!.readBigUInt64LE(0), 10n);
    assert.throws(() => m.update(1, u64(11), UpdateFlags.NOEXIST), (e: unknown) => e instanceof SyscallError && e.code === 'EEXIST');
    assert.throws(() => m.update(3, u64(30), UpdateFlags.EXIST), (e: unknown) => e instanceof SyscallError && e.code === 'ENOENT');
    assert.deepEqual([...m.keys()].map((k) => k.readUInt32LE(0)).sort(), [1, 2]);
    assert.equal(m.delete(1), true);
    assert.equal(m.delete(1), false);
    assert.deepEqual([...m.keys()].map((k) => k.readUInt32LE(0)), [2]);
    assert.throws(() => m.update(u64(1), u64(1)), TypeError, 'key size is checked');
    const info = m.info();
    assert.equal(info.name, 'test_hash');
    assert.equal(info.type, MapType.HASH);
    assert.equal(info.keySize, 4);
    assert.ok(listIds('map').includes(info.id));
  } finally {
    m.close();
  }
});

kernelTest('entries(): batched lookup returns exactly what was written (1000 keys, several batches)', () => {
  const m = BpfMap.create({ type: 'hash', keySize: 8, valueSize: 16, maxEntries: 2048 });
  try {
    const want = new Map<bigint, bigint>();
    for (let i = 0; i < 1000; i++) {
      const k = BigInt(i) * 7919n + 3n;
      const v = Buffer.alloc(16);
      v.writeBigUInt64LE(k * 2n, 0);
      v.writeBigUInt64LE(k * 3n, 8);
      m.update(u64(k), v);
      want.set(k, k * 2n);
    }
    const got = m.entries();
    assert.equal(got.length, 1000);
    assert.equal(m.lastIteration, 'batch');
    for (const [k, v] of got) {
      const key = k.readBigUInt64LE(0);
      assert.equal(v.readBigUInt64LE(0), want.get(key));
      assert.equal(v.readBigUInt64LE(8), key * 3n);
    }
    m.clear();
    assert.equal(m.entries().length, 0);
  } finally {
    m.close();
  }
});

kernelTest('entries(): maps without batch support fall back to key-by-key iteration', () => {
  // Stack trace maps reject batch lookups; an empty one iterates to nothing.
  const m = BpfMap.create({ type: 'stack_trace', keySize: 4, valueSize: 8 * 127, maxEntries: 16 });
  try {
    assert.deepEqual(m.entries(), []);
    assert.equal(m.lastIteration, 'keys');
  } finally {
    m.close();
  }
});

kernelTest('array map: every index exists, zero-initialised; clear zeroes', () => {
  const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 8 });
  try {
    assert.equal(m.entries().length, 8);
    m.update(3, u32(33));
    assert.equal(m.lookup(3)!.readUInt32LE(0), 33);
    assert.equal(m.lookup(8), undefined);
    m.clear();
    assert.equal(m.lookup(3)!.readUInt32LE(0), 0);
  } finally {
    m.close();
  }
});

kernelTest('per-CPU hash: one value per possible CPU (value size rounded to 8), summed', () => {
  const n = numPossibleCpus();
  assert.equal(n, possibleCpus().length);
  assert.equal(n, parseCpuList(fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8')).length);
  const m = BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 4, maxEntries: 8 });
  try {
    assert.equal(m.valueBufferSize, 8 * n);
    m.updatePerCpu(1, Array.from({ length: n }, (_, i) => u32(100 + i)));
    const vals = m.lookupPerCpu(1)!;
    assert.equal(vals.length, n);
    vals.forEach((v, i) => assert.equal(v.readUInt32LE(0), 100 + i));
    const e = m.entriesPerCpu();
    assert.equal(e.length, 1);
    assert.equal(e[0][1].length, n);
  } finally {
    m.close();
  }
  const a = BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 2 });
  try {
    a.updatePerCpu(0, Array.from({ length: n }, () => u64(5)));
    assert.equal(sumU64(a.lookupPerCpu(0)!), BigInt(5 * n));
  } finally {
    a.close();
  }
});

kernelTest('LRU hash evicts instead of failing when full', () => {
  const m = BpfMap.create({ type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: 16 });
  try {
    for (let i = 0; i < 200; i++) m.update(i, u32(i));
    const n = m.entries().length;
    assert.ok(n > 0 && n <= 16 * numPossibleCpus(), `${n} entries kept`);
    assert.equal(m.lookup(199)!.readUInt32LE(0), 199, 'the newest entry survives');
  } finally {
    m.close();
  }
  const h = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
  try {
    for (let i = 0; i < 4; i++) h.update(i, u32(i));
    assert.throws(() => h.update(99, u32(1)), (e: unknown) => e instanceof SyscallError && e.code === 'E2BIG');
  } finally {
    h.close();
  }
});

kernelTest('ring buffer, perf event array and stack trace maps can be created; fromId reopens a map', () => {
  const rb = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 64 * 1024, name: 'rb' });
  const pa = BpfMap.create({ type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: numPossibleCpus() });
  const st = BpfMap.create({ type: 'stack_trace', keySize: 4, valueSize: 8 * 127, maxEntries: 128 });
  try {
    assert.equal(rb.info().type, MapType.RINGBUF);
    assert.equal(pa.info().type, MapType.PERF_EVENT_ARRAY);
    const again = BpfMap.fromId(st.info().id);
    try {
      assert.equal(again.type, MapType.STACK_TRACE);
      assert.equal(again.valueSize, 8 * 127);
      assert.equal(again.maxEntries, 128);
    } finally {
      again.close();
    }
  } finally {
    rb.close();
    pa.close();
    st.close();
  }
});

kernelTest('bad map parameters fail with a SyscallError naming the command', () => {
  assert.throws(() => BpfMap.create({ type: 'hash', keySize: 0, valueSize: 8, maxEntries: 1, name: 'bad' }), (e: unknown) => {
    assert.ok(e instanceof SyscallError);
    assert.match(e.message, /^bpf\(BPF_MAP_CREATE\) \(map 'bad'\): invalid argument \(EINVAL\)/);
    return true;
  });
});
