/**
 * tseries() values as bpftrace 0.24+ prints them: in text a sideways graph,
 * one row per interval (local wall-clock start, a 53-column lane with '*' at
 * the value, '.' at zero when the range spans it, the value or '-' when the
 * interval has none), framed by the minimum and maximum; in JSON a list of
 * {"interval_start": UTC time with nanoseconds, "value"} for the intervals
 * that have a value.
 *
 * @example
 * tseriesJson([{ start: 500000000n, value: 9n }]);
 * // '[{"interval_start": "1970-01-01 00:00:00.500000000", "value": 9}]'
 */
import type { TseriesPoint } from './maps';

const WIDTH = 53;
const PAD = 21;

/** The unit bpftrace shows sub-second times in for an interval of `ns` (0: seconds only). */
function fractionDigits(ns: bigint): number {
  if (ns >= 1000000000n) return 0;
  if (ns >= 1000000n) return 3;
  if (ns >= 1000n) return 6;
  return 9;
}

const two = (n: number): string => String(n).padStart(2, '0');

function localTime(ns: bigint, digits: number): string {
  const sec = ns / 1000000000n;
  const d = new Date(Number(sec) * 1000);
  let s = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  if (digits > 0) s += '.' + String((ns % 1000000000n) / 10n ** BigInt(9 - digits)).padStart(digits, '0');
  return s;
}

/** Pads with spaces to `n` bytes, as C++ setw does (μ counts twice). */
function padEndBytes(s: string, n: number): string {
  return s + ' '.repeat(Math.max(0, n - Buffer.byteLength(s)));
}

function frame(indent: number, min: bigint, max: bigint): string {
  return ' '.repeat(indent) + String(min).padEnd(PAD) + String(max).padStart(WIDTH - PAD) + '\n';
}

/** The text graph of one key's intervals, ending in '\n' ("<no data>" without one when empty). */
export function tseriesText(points: readonly TseriesPoint[], signed: boolean): string {
  if (points.length === 0) return '<no data>';
  const present = points.filter((p) => p.value !== null).map((p) => p.value as bigint);
  let min = present[0] ?? 0n, max = present[0] ?? 0n;
  for (const v of present) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === max) {
    // some room either side of a flat line, within the value type's range
    if (min > (signed ? -(1n << 63n) : 0n)) min -= 1n;
    if (max < (signed ? (1n << 63n) - 1n : (1n << 64n) - 1n)) max += 1n;
  }
  const n = points.length;
  const interval = (points[n - 1].start - points[0].start) / BigInt(n > 1 ? n - 1 : 1);
  const digits = fractionDigits(interval);
  const unit = ['', 'ms', 'μs', 'ns'][digits / 3];
  const fmt = 'hh:mm:ss' + (digits ? '.' + unit : '');
  const timeSize = 8 + (digits ? 1 + digits : 0);
  let out = frame(timeSize + 1, min, max);
  out += padEndBytes(fmt, timeSize + 1) + '|' + '_'.repeat(WIDTH - 2) + '|\n';
  const span = Number(max - min);
  const zero = min < 0n && max > 0n ? Math.trunc((WIDTH * Number(min)) / Number(min - max)) : 0;
  for (const p of points) {
    const lane = Array<string>(WIDTH).fill(' ');
    lane[0] = '|';
    lane[WIDTH - 1] = '|';
    if (zero > 0) lane[zero] = '.';
    out += localTime(p.start, digits) + ' ';
    if (p.value === null) {
      out += lane.join('') + ' -\n';
      continue;
    }
    const at = Math.trunc(((WIDTH - 1) * Number(p.value - min)) / span);
    lane[Math.max(0, Math.min(WIDTH - 1, at))] = '*';
    out += lane.join('') + ' ' + p.value + '\n';
  }
  out += ' '.repeat(timeSize) + ' v' + '_'.repeat(WIDTH - 2) + 'v\n';
  out += frame(timeSize + 1, min, max);
  return out;
}

function utcTime(ns: bigint): string {
  const d = new Date(Number(ns / 1000000000n) * 1000);
  const date = `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
  return `${date} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(ns % 1000000000n).padStart(9, '0')}`;
}

/** The JSON list of one key's intervals that have a value. */
export function tseriesJson(points: readonly TseriesPoint[]): string {
  const items = points.filter((p) => p.value !== null).map((p) => `{"interval_start": "${utcTime(p.start)}", "value": ${p.value}}`);
  return '[' + items.join(', ') + ']';
}
