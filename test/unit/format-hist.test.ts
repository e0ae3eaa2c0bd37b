// Bucket index math (shared with the compiler) and histogram rendering.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  log2Bucket, histBitsBucket, histBucketCount, linearBucket, linearBucketCount, histBucketLabel,
  linearBucketLabel, histBucketRange, histText, histJson, lhistText, lhistJson, mapJson, type BucketCounts,
} from '../../src/runtime/format';

function counts(vals: Array<number | bigint>, idx: (v: number | bigint) => number): BucketCounts {
  const c: bigint[] = [];
  for (const v of vals) { const i = idx(v); c[i] = (c[i] ?? 0n) + 1n; }
  return c;
}

test('log2Bucket: 0 negative, 1 zero, floor(log2 v) + 2 above, across 64 bits', () => {
  assert.equal(log2Bucket(-1), 0);
  assert.equal(log2Bucket(-(2n ** 63n)), 0);
  assert.equal(log2Bucket(0), 1);
  assert.equal(log2Bucket(1), 2);
  assert.equal(log2Bucket(2), 3);
  assert.equal(log2Bucket(3), 3);
  assert.equal(log2Bucket(4), 4);
  assert.equal(log2Bucket(1023), 11);
  assert.equal(log2Bucket(1024), 12);
  assert.equal(log2Bucket(2n ** 32n - 1n), 33);
  assert.equal(log2Bucket(2n ** 63n - 1n), 64);
  // An unsigned value with the top bit set is negative as a signed 64-bit number, as in the kernel.
  assert.equal(log2Bucket(2n ** 64n - 1n), 0);
  assert.equal(histBucketCount(0), 65);
});

test('histBitsBucket: the example of bpftrace\'s log2 comment (225, k=2 -> 28) and exhaustive small ranges', () => {
  assert.equal(histBitsBucket(225, 2), 28);
  for (let k = 0; k <= 5; k++) {
    let prev = 0;
    for (let v = 0; v < 5000; v++) {
      const i = histBitsBucket(v, k);
      assert.ok(i === prev || i === prev + 1, `k=${k} v=${v}: indexes are contiguous`);
      const { min, max } = histBucketRange(i, k);
      assert.ok(min !== undefined && BigInt(v) >= min && BigInt(v) <= max, `k=${k} v=${v} in [${min}, ${max}]`);
      prev = i;
    }
    assert.ok(histBitsBucket(2n ** 63n - 1n, k) < histBucketCount(k));
    assert.equal(histBitsBucket(2n ** 63n - 1n, k), histBucketCount(k) - 1);
  }
});

test('hist(i, 3) for i in 0..1023 as JSON equals upstream bpftrace\'s runtime test output', () => {
  const vals = Array.from({ length: 1024 }, (_, i) => i);
  const m = { name: '@', keyed: false, kind: 'hist' as const, bits: 3, entries: [{ key: [], value: counts(vals, (v) => histBitsBucket(v, 3)) }] };
  assert.equal(mapJson(m), EXPECTED_HIST_K3 + '\n');
});

test('hist labels: K/M/G/T/P/E suffixes, single values, sub-buckets', () => {
  assert.equal(histBucketLabel(0), '(..., 0)');
  assert.equal(histBucketLabel(1), '[0]');
  assert.equal(histBucketLabel(2), '[1]');
  assert.equal(histBucketLabel(3), '[2, 4)');
  assert.equal(histBucketLabel(11), '[512, 1K)');
  assert.equal(histBucketLabel(12), '[1K, 2K)');
  assert.equal(histBucketLabel(22), '[1M, 2M)');
  assert.equal(histBucketLabel(33), '[2G, 4G)');
  assert.equal(histBucketLabel(51), '[512T, 1P)');
  assert.equal(histBucketLabel(64), '[4E, 8E)');
  // k = 2: indexes 1..8 hold single values 0..7, then 4 sub-buckets per power of two.
  assert.equal(histBucketLabel(histBitsBucket(7, 2), 2), '[7]');
  assert.equal(histBucketLabel(histBitsBucket(8, 2), 2), '[8, 10)');
  assert.equal(histBucketLabel(histBitsBucket(225, 2), 2), '[224, 256)');
  assert.equal(histBucketLabel(histBitsBucket(1100, 2), 2), '[1024, 1280)');
  assert.equal(histBucketLabel(histBitsBucket(1300, 2), 2), '[1280, 1536)');
});

test('hist text: trimmed to first..last non-zero bucket, 52-column bars in float math', () => {
  // Captured from bpftrace 0.17: @h = hist(3) x1, hist(20) x3, hist(0) x0.
  const c = counts([3, 20, 20, 20], log2Bucket);
  assert.equal(histText(c),
    '[2, 4)                 1 |@@@@@@@@@@@@@@@@@                                   |\n' +
    '[4, 8)                 0 |                                                    |\n' +
    '[8, 16)                0 |                                                    |\n' +
    '[16, 32)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n');
  assert.equal(histText([]), '');
  assert.equal(histJson([]), '[]');
});

test('lhist: bucket edges and labels', () => {
  assert.equal(linearBucket(-1, 0, 100, 10), 0);
  assert.equal(linearBucket(0, 0, 100, 10), 1);
  assert.equal(linearBucket(9, 0, 100, 10), 1);
  assert.equal(linearBucket(10, 0, 100, 10), 2);
  assert.equal(linearBucket(99, 0, 100, 10), 10);
  assert.equal(linearBucket(100, 0, 100, 10), 11);
  assert.equal(linearBucket(2n ** 62n, 0, 100, 10), 11);
  assert.equal(linearBucketCount(0, 100, 10), 12);
  assert.equal(linearBucketLabel(0, 0, 100, 10), '(..., 0)');
  assert.equal(linearBucketLabel(11, 0, 100, 10), '[100, ...)');
  assert.equal(linearBucketLabel(3, 0, 4096, 1024), '[2K, 3K)');
  assert.equal(linearBucketLabel(5, 0, 4194304, 1048576), '[4M, ...)');
  const c = counts([3, 60], (v) => linearBucket(v, 10, 50, 10));
  assert.equal(lhistText(c, 10, 50, 10),
    '(..., 10)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n' +
    '[10, 20)               0 |                                                    |\n' +
    '[20, 30)               0 |                                                    |\n' +
    '[30, 40)               0 |                                                    |\n' +
    '[40, 50)               0 |                                                    |\n' +
    '[50, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n');
  assert.equal(lhistJson(c, 10, 50, 10),
    '[{"max": 9, "count": 1}, {"min": 10, "max": 19, "count": 0}, {"min": 20, "max": 29, "count": 0}, ' +
    '{"min": 30, "max": 39, "count": 0}, {"min": 40, "max": 49, "count": 0}, {"min": 50, "count": 1}]');
});

const EXPECTED_HIST_K3 =
  '{"type": "hist", "data": {"@": [{"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 1}, {"min": 2, "max": 2, "count": 1}, {"min": 3, "max": 3, "count": 1}, {"min": 4, "max": 4, "count": 1}, {"min": 5, "max": 5, "count": 1}, {"min": 6, "max": 6, "count": 1}, {"min": 7, "max": 7, "count": 1}, {"min": 8, "max": 8, "count": 1}, {"min": 9, "max": 9, "count": 1}, {"min": 10, "max": 10, "count": 1}, {"min": 11, "max": 11, "count": 1}, {"min": 12, "max": 12, "count": 1}, {"min": 13, "max": 13, "count": 1}, {"min": 14, "max": 14, "count": 1}, {"min": 15, "max": 15, "count": 1}, {"min": 16, "max": 17, "count": 2}, {"min": 18, "max": 19, "count": 2}, {"min": 20, "max": 21, "count": 2}, {"min": 22, "max": 23, "count": 2}, {"min": 24, "max": 25, "count": 2}, {"min": 26, "max": 27, "count": 2}, {"min": 28, "max": 29, "count": 2}, {"min": 30, "max": 31, "count": 2}, {"min": 32, "max": 35, "count": 4}, {"min": 36, "max": 39, "count": 4}, {"min": 40, "max": 43, "count": 4}, {"min": 44, "max": 47, "count": 4}, {"min": 48, "max": 51, "count": 4}, {"min": 52, "max": 55, "count": 4}, {"min": 56, "max": 59, "count": 4}, {"min": 60, "max": 63, "count": 4}, {"min": 64, "max": 71, "count": 8}, {"min": 72, "max": 79, "count": 8}, {"min": 80, "max": 87, "count": 8}, {"min": 88, "max": 95, "count": 8}, {"min": 96, "max": 103, "count": 8}, {"min": 104, "max": 111, "count": 8}, {"min": 112, "max": 119, "count": 8}, {"min": 120, "max": 127, "count": 8}, {"min": 128, "max": 143, "count": 16}, {"min": 144, "max": 159, "count": 16}, {"min": 160, "max": 175, "count": 16}, {"min": 176, "max": 191, "count": 16}, {"min": 192, "max": 207, "count": 16}, {"min": 208, "max": 223, "count": 16}, {"min": 224, "max": 239, "count": 16}, {"min": 240, "max": 255, "count": 16}, {"min": 256, "max": 287, "count": 32}, {"min": 288, "max": 319, "count": 32}, {"min": 320, "max": 351, "count": 32}, {"min": 352, "max": 383, "count": 32}, {"min": 384, "max": 415, "count": 32}, {"min": 416, "max": 447, "count": 32}, {"min": 448, "max": 479, "count": 32}, {"min": 480, "max": 511, "count": 32}, {"min": 512, "max": 575, "count": 64}, {"min": 576, "max": 639, "count": 64}, {"min": 640, "max": 703, "count": 64}, {"min": 704, "max": 767, "count": 64}, {"min": 768, "max": 831, "count": 64}, {"min": 832, "max": 895, "count": 64}, {"min": 896, "max": 959, "count": 64}, {"min": 960, "max": 1023, "count": 64}]}}';
