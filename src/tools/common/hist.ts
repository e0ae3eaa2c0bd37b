/**
 * bcc / libbpf-tools histogram printing (`print_log2_hist`, `print_linear_hist`)
 * and the conversion from bpftrace `hist()` buckets to bcc's log2 slots.
 *
 * bcc slot i holds values in [2^i, 2^(i+1) - 1]; slot 0 holds 0 and 1 (its
 * label is "0 -> 1"). bpftrace's hist() index is 0 for negatives, 1 for 0,
 * 2 for 1 and floor(log2 v) + 2 above, so slot = max(index - 2, 0).
 *
 * @example
 *   log2HistText([0n, 0n, 3n], 'usecs');
 *   // "     usecs               : count    distribution\n         0 -> 1 ..."
 */
import type { BucketCounts } from '../../runtime/format/hist';

/** bcc log2 slots (index = slot) from a bpftrace hist() (k = 0) bucket array. */
export function slotsFromHist(counts: BucketCounts): bigint[] {
  const slots: bigint[] = [];
  counts.forEach((c, idx) => {
    if (c === undefined || c === 0n) return;
    const slot = Math.max(idx - 2, 0);
    while (slots.length <= slot) slots.push(0n);
    slots[slot] += c;
  });
  return slots;
}

/** libbpf-tools print_stars: `width` columns, '+' appended when val exceeds max. */
export function stars(val: bigint, max: bigint, width: number): string {
  if (max <= 0n) return ' '.repeat(width);
  const v = val < max ? val : max;
  const n = Number((v * BigInt(width)) / max);
  return '*'.repeat(n) + ' '.repeat(width - n) + (val > max ? '+' : '');
}

/**
 * libbpf-tools print_log2_hist. Empty string when every slot is zero (the
 * C version prints nothing then either). Wide layout once slots pass 32.
 */
export function log2HistText(slots: readonly bigint[], valType: string, style: 'libbpf-tools' | 'bcc' = 'libbpf-tools'): string {
  let idxMax = -1;
  let valMax = 0n;
  slots.forEach((v, i) => {
    if (v > 0n) idxMax = i;
    if (v > valMax) valMax = v;
  });
  if (idxMax < 0) return '';
  const narrow = idxMax <= 32;
  const out: string[] = [];
  // bcc's Python printer puts five spaces after "count", libbpf-tools' C printer four.
  out.push(`${' '.repeat(narrow ? 5 : 15)}${valType.padEnd(narrow ? 19 : 29)} : count${style === 'bcc' ? '     ' : '    '}distribution`);
  const width = narrow ? 10 : 20;
  const starsMax = narrow ? 40 : 20;
  for (let i = 0; i <= idxMax; i++) {
    let low = (1n << BigInt(i + 1)) >> 1n;
    const high = (1n << BigInt(i + 1)) - 1n;
    if (low === high) low -= 1n;
    const val = slots[i] ?? 0n;
    out.push(`${low.toString().padStart(width)} -> ${high.toString().padEnd(width)} : ${val.toString().padEnd(8)} |${stars(val, valMax, starsMax)}|`);
  }
  return out.join('\n') + '\n';
}

/** libbpf-tools print_linear_hist: only the rows from the first to the last non-empty slot, empty rows skipped. */
export function linearHistText(slots: readonly bigint[], valType: string, base: number, step: number): string {
  let idxMin = -1;
  let idxMax = -1;
  let valMax = 0n;
  slots.forEach((v, i) => {
    if (v > 0n) {
      idxMax = i;
      if (idxMin < 0) idxMin = i;
    }
    if (v > valMax) valMax = v;
  });
  if (idxMax < 0) return '';
  const out: string[] = [`     ${valType.padEnd(13)} : count     distribution`];
  for (let i = idxMin; i <= idxMax; i++) {
    const val = slots[i] ?? 0n;
    if (val === 0n) continue;
    out.push(`        ${String(base + i * step).padEnd(10)} : ${val.toString().padEnd(8)} |${stars(val, valMax, 40)}|`);
  }
  return out.join('\n') + '\n';
}

/** HH:MM:SS in local time, as the tools' -T / interval headers print it. */
export function clockTime(d: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
