/**
 * Histogram bucket math and histogram rendering (bpftrace `hist()` / `lhist()`).
 *
 * The bucket index math is the contract between the compiler (which computes
 * the index in eBPF and uses it as the last 8 bytes of the map key, as a u64)
 * and this printer (which turns indexes back into labels). Both must agree.
 *
 * ## hist(v) and hist(v, k): log2 buckets, k linear sub-buckets per power of 2
 *
 * With `N = 2^k` (k in 0..5, `hist(v)` is k = 0), for a signed 64-bit v:
 *
 * ```
 * index = 0                              if v < 0
 *       = v + 1                          if 0 <= v < N
 *       = ((l - k + 1) << k) + x + 1     otherwise, where
 *           l = floor(log2(v))           (position of the leftmost 1 bit)
 *           x = (v >> (l - k)) & (N - 1)  (the k bits after the leftmost 1)
 * ```
 *
 * For k = 0 that is: 0 for negatives, 1 for 0, 2 for 1, and `floor(log2 v) + 2`
 * for v >= 1; labels `(..., 0)`, `[0]`, `[1]`, `[2, 4)`, `[4, 8)`, ... `[512, 1K)`.
 * There are `((64 - k) << k) + 1` possible indexes (65 for k = 0).
 *
 * bpftrace 0.17's eBPF log2 only examined the low 32 bits' worth of shifts, so
 * every v >= 2^32 landed in `[2G, 4G)`; this scheme (that of later bpftrace)
 * is exact for the whole 64-bit range and identical below 2^32.
 *
 * ## lhist(v, min, max, step): linear buckets
 *
 * ```
 * index = 0                              if v < min       label (..., min)
 *       = 1 + (max - min) / step         if v > max       label [max, ...)
 *       = 1 + (v - min) / step           otherwise        label [min+(i-1)*step, min+i*step)
 * ```
 * (integer division). `buckets = (max - min) / step` in-range buckets are
 * indexes 1..buckets; index `buckets + 1` is `[max, ...)` (note v == max lands there).
 */

const ONE = 1n;

/** Index of `v` in a `hist(v)` (log2) histogram. See the module comment. */
export function log2Bucket(v: bigint | number): number {
  return histBitsBucket(v, 0);
}

/** Index of `v` in a `hist(v, k)` histogram (k linear sub-buckets bits per power of 2, 0..5). */
export function histBitsBucket(v: bigint | number, k: number): number {
  const n = BigInt.asIntN(64, BigInt(v));
  if (n < 0n) return 0;
  const mask = (ONE << BigInt(k)) - ONE;
  if (n <= mask) return Number(n) + 1;
  const l = n.toString(2).length - 1;
  const shift = BigInt(l - k);
  const x = (n >> shift) & mask;
  return Number(((BigInt(l - k) + ONE) << BigInt(k)) + x + ONE);
}

/** Number of distinct indexes a `hist(v, k)` histogram can have. */
export function histBucketCount(k: number): number {
  return ((64 - k) * (1 << k)) + 1;
}

/** Index of `v` in `lhist(v, min, max, step)`. See the module comment. */
export function linearBucket(v: bigint | number, min: bigint | number, max: bigint | number, step: bigint | number): number {
  const x = BigInt(v), lo = BigInt(min), hi = BigInt(max), st = BigInt(step);
  if (x < lo) return 0;
  if (x > hi) return Number(ONE + (hi - lo) / st);
  return Number(ONE + (x - lo) / st);
}

/** Number of indexes `lhist(v, min, max, step)` can produce: `(max - min) / step + 2`. */
export function linearBucketCount(min: number, max: number, step: number): number {
  return Math.trunc((max - min) / step) + 2;
}

/**
 * Lower bound of hist(k) bucket `index` (for index >= 1), i.e. the smallest value
 * landing there; the bucket covers [histBound(index - 1), histBound(index)).
 */
export function histBound(index: number, k: number): bigint {
  const n = 1 << k;
  if (index < n) return BigInt(index);
  const power = (index >> k) - 1;
  const interval = index & (n - 1);
  return (ONE << BigInt(power)) * BigInt(n + interval);
}

/** Inclusive value range of a hist(k) bucket; `min` is undefined for the negative bucket. */
export function histBucketRange(index: number, k: number): { min?: bigint; max: bigint } {
  if (index === 0) return { max: -1n };
  return { min: histBound(index - 1, k), max: histBound(index, k) - ONE };
}

function histLabel(index: number, k: number): string {
  if (index <= (2 << k)) return String(index);
  const n = 1 << k;
  let power = (index >> k) - 1;
  const interval = index & (n - 1);
  const decade = Math.floor(power / 10);
  power -= 10 * decade;
  const suffix = ['', 'K', 'M', 'G', 'T', 'P', 'E'][decade] ?? '';
  return ((ONE << BigInt(power)) * BigInt(n + interval)).toString() + suffix;
}

/** Text label of a hist(k) bucket: `(..., 0)`, `[0]`, `[1]`, `[2, 4)`, `[1K, 2K)`... */
export function histBucketLabel(index: number, k = 0): string {
  if (index === 0) return '(..., 0)';
  if (index <= (2 << k)) return `[${index - 1}]`;
  return `[${histLabel(index - 1, k)}, ${histLabel(index, k)})`;
}

/** lhist label number: 0, or a multiple of 1M/1K shown with a suffix (bpftrace 0.17 rule). */
function lhistNumber(x: number): string {
  const kilo = 1024, mega = 1048576;
  if (x === 0) return '0';
  if (x % mega === 0) return `${x / mega}M`;
  if (x % kilo === 0) return `${x / kilo}K`;
  return String(x);
}

/** Text label of an lhist bucket. */
export function linearBucketLabel(index: number, min: number, max: number, step: number): string {
  const buckets = Math.trunc((max - min) / step);
  if (index === 0) return `(..., ${lhistNumber(min)})`;
  if (index === buckets + 1) return `[${lhistNumber(max)}, ...)`;
  return `[${lhistNumber((index - 1) * step + min)}, ${lhistNumber(index * step + min)})`;
}

/** Counts per bucket index; missing or undefined entries are zero. */
export type BucketCounts = ReadonlyArray<bigint | undefined>;

const BAR_WIDTH = 52;

/** First and last index with a non-zero count, or undefined when all are zero. */
function usedRange(counts: BucketCounts, limit = counts.length): [number, number] | undefined {
  let first = -1, last = -1;
  for (let i = 0; i < Math.min(limit, counts.length); i++) {
    if ((counts[i] ?? 0n) > 0n) {
      if (first === -1) first = i;
      last = i;
    }
  }
  return first === -1 ? undefined : [first, last];
}

function maxCount(counts: BucketCounts): bigint {
  let m = 0n;
  for (const c of counts) if ((c ?? 0n) > m) m = c ?? 0n;
  return m;
}

/** One row: label padded to 16, count right-aligned in 8, bar of '@' in 52 columns (float math as bpftrace). */
function row(label: string, shown: bigint, raw: bigint, max: bigint): string {
  const f = Math.fround;
  const width = max === 0n ? 0 : Math.trunc(f(f(f(Number(raw)) / f(Number(max))) * BAR_WIDTH));
  return label.padEnd(16) + shown.toString().padStart(8) + ' |' + '@'.repeat(width).padEnd(BAR_WIDTH) + '|\n';
}

/**
 * A hist() histogram as bpftrace prints it: rows from the first to the last
 * non-zero bucket (zeros in between kept), each line ending in '\n'. Counts are
 * divided by `div` (print's third argument) but bars use the raw counts.
 * Returns '' for an empty histogram.
 */
export function histText(counts: BucketCounts, k = 0, div = 1n): string {
  const r = usedRange(counts);
  if (!r) return '';
  const max = maxCount(counts);
  let out = '';
  for (let i = r[0]; i <= r[1]; i++) {
    const c = counts[i] ?? 0n;
    out += row(histBucketLabel(i, k), c / div, c, max);
  }
  return out;
}

/** An lhist() histogram as bpftrace prints it (print's div does not apply to lhist in bpftrace). */
export function lhistText(counts: BucketCounts, min: number, max: number, step: number): string {
  const buckets = Math.trunc((max - min) / step);
  const r = usedRange(counts, buckets + 2);
  if (!r) return '';
  const top = maxCount(counts);
  let out = '';
  for (let i = r[0]; i <= r[1]; i++) {
    const c = counts[i] ?? 0n;
    out += row(linearBucketLabel(i, min, max, step), c, c, top);
  }
  return out;
}

/** hist() in bpftrace's JSON: `[{"min": 4, "max": 7, "count": 1}, ...]`; the negative bucket has only "max": -1. */
export function histJson(counts: BucketCounts, k = 0, div = 1n): string {
  const r = usedRange(counts);
  if (!r) return '[]';
  const items: string[] = [];
  for (let i = r[0]; i <= r[1]; i++) {
    const { min, max } = histBucketRange(i, k);
    const c = (counts[i] ?? 0n) / div;
    items.push(min === undefined ? `{"max": ${max}, "count": ${c}}` : `{"min": ${min}, "max": ${max}, "count": ${c}}`);
  }
  return '[' + items.join(', ') + ']';
}

/** lhist() in bpftrace's JSON; the below-range bucket has only "max", the above-range only "min". */
export function lhistJson(counts: BucketCounts, min: number, max: number, step: number): string {
  const buckets = Math.trunc((max - min) / step);
  const r = usedRange(counts, buckets + 2);
  if (!r) return '[]';
  const items: string[] = [];
  for (let i = r[0]; i <= r[1]; i++) {
    const c = counts[i] ?? 0n;
    if (i === 0) items.push(`{"max": ${min - 1}, "count": ${c}}`);
    else if (i === buckets + 1) items.push(`{"min": ${max}, "count": ${c}}`);
    else items.push(`{"min": ${(i - 1) * step + min}, "max": ${i * step + min - 1}, "count": ${c}}`);
  }
  return '[' + items.join(', ') + ']';
}
