/**
 * Map printing: what bpftrace prints at exit and for `print(@m, top, div)`,
 * in text and in `-f json`.
 *
 * The glue reads the map, reduces per-CPU values, decodes keys into `Value[]`
 * (empty for a map without keys) and hands a `MapDump` to `mapText`/`mapJson`.
 * Entries may come in kernel iteration order: ordering is done here, with
 * bpftrace 0.17's rules:
 * - count/sum/min/max/int maps: by value, ascending (signed if the value type is);
 * - avg/stats maps: by average (total / count), ascending;
 * - hist/lhist maps: by the sum of all bucket counts, ascending;
 * - other maps (strings, tuples, stacks... as values): by key, integers
 *   unsigned, strings bytewise, first key component first.
 * Ties keep key-byte order (hist/avg/stats) or input order (the rest).
 * `top` keeps the last `top` entries after sorting; `div` divides printed values.
 *
 * @example
 * mapText({ name: '@x', keyed: true, kind: 'count',
 *   entries: [{ key: [str('a')], value: 3n }] }); // "@x[a]: 3\n"
 */
import {
  type Value, compareKeyBytes, compareKeys, jsonEscape, keyText, valueJson, valueText,
} from '../values';
import { histJson, histText, lhistJson, lhistText, type BucketCounts } from './hist';
import { tseriesJson, tseriesText } from './tseries';

export interface Entry<V> { readonly key: readonly Value[]; readonly value: V }

/** Running count and total of an avg()/stats() aggregation (summed over CPUs). */
export interface AvgState { readonly count: bigint; readonly total: bigint }

interface Common {
  /** `@name` including the '@' (just '@' for the anonymous map). */
  readonly name: string;
  /** Whether the map has keys (`@m[k]`), even if it currently has no entries. */
  readonly keyed: boolean;
}

/** count()/sum()/min()/max(), or a plain integer assigned to a map. */
export interface ScalarMap extends Common {
  readonly kind: 'count' | 'sum' | 'min' | 'max' | 'int';
  /** Value signedness (sum/int of signed values, min/max). Count is unsigned. */
  readonly signed?: boolean;
  readonly entries: ReadonlyArray<Entry<bigint>>;
}
/** A map holding non-aggregate values: strings, tuples, stacks, symbols, buffers... */
export interface ValueMap extends Common {
  readonly kind: 'value';
  readonly entries: ReadonlyArray<Entry<Value>>;
}
export interface AvgMap extends Common {
  readonly kind: 'avg' | 'stats';
  readonly entries: ReadonlyArray<Entry<AvgState>>;
}
export interface HistMap extends Common {
  readonly kind: 'hist';
  /** The `bits` argument of `hist(v, bits)`; 0 for plain `hist(v)`. */
  readonly bits?: number;
  /** Counts indexed by bucket (see hist.ts for the index scheme). */
  readonly entries: ReadonlyArray<Entry<BucketCounts>>;
}
export interface LhistMap extends Common {
  readonly kind: 'lhist';
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly entries: ReadonlyArray<Entry<BucketCounts>>;
}

/** One interval of a tseries(): its start (ns since the epoch, wall clock) and value (null: nothing written then). */
export interface TseriesPoint { readonly start: bigint; readonly value: bigint | null }
export interface TseriesMap extends Common {
  readonly kind: 'tseries';
  /** Whether the values are signed (a flat line of unsigned 0s is not framed from -1). */
  readonly signed: boolean;
  /** Each key's intervals, oldest first (the aggregation has ordered the keys). */
  readonly entries: ReadonlyArray<Entry<readonly TseriesPoint[]>>;
}

export type MapDump = ScalarMap | ValueMap | AvgMap | HistMap | LhistMap | TseriesMap;

/**
 * What print(@m) shows for a key-less map with no value yet, as bpftrace 0.26
 * does: the zero of its value (`@: 0`, `@: { .count = 0, .average = 0, .total = 0 }`;
 * `zero` is the decoded zero of a non-integer value). hist, lhist and tseries
 * print as they are; the maps printed at exit are never filled in.
 */
export function withEmptyScalar(m: MapDump, zero: () => Value): MapDump {
  if (m.keyed || m.entries.length > 0) return m;
  switch (m.kind) {
    case 'count': case 'sum': case 'min': case 'max': case 'int':
      return { ...m, entries: [{ key: [], value: 0n }] };
    case 'avg': case 'stats':
      return { ...m, entries: [{ key: [], value: { count: 0n, total: 0n } }] };
    case 'value':
      return { ...m, entries: [{ key: [], value: zero() }] };
    default:
      return m;
  }
}

/**
 * What the maps printed at exit show of a key-less count(), as bpftrace 0.26: nothing when it never ran
 * or was cleared (0.17-0.23 printed `@: 0`). Its per-CPU array always holds the one entry, so a zero
 * count is taken for none here, for the exit printer only: print(@), the exporter and tools read the 0.
 */
export function withoutZeroCount(m: MapDump): MapDump {
  if (m.keyed || m.kind !== 'count' || m.entries.some((e) => e.value !== 0n)) return m;
  return { ...m, entries: [] };
}

/** Options of `print(@m, top, div)`; 0 means "not given" as in bpftrace. */
export interface PrintOptions { readonly top?: number; readonly div?: number }

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function average(s: AvgState): bigint {
  return s.count === 0n ? 0n : s.total / s.count;
}

function sumCounts(c: BucketCounts): bigint {
  let s = 0n;
  for (const x of c) s += x ?? 0n;
  return s;
}

function stableSort<T>(xs: readonly T[], cmp: (a: T, b: T) => number): T[] {
  return xs.map((x, i) => [x, i] as const).sort((a, b) => cmp(a[0], b[0]) || a[1] - b[1]).map((p) => p[0]);
}

/** Entries in bpftrace's print order (before `top` is applied). */
export function sortEntries(m: MapDump): ReadonlyArray<Entry<unknown>> {
  switch (m.kind) {
    case 'count': case 'sum': case 'min': case 'max': case 'int':
      return stableSort(m.entries, (a, b) => cmpBig(a.value, b.value));
    case 'value':
      return stableSort(m.entries, (a, b) => compareKeys(a.key, b.key));
    case 'avg': case 'stats': {
      const byKey = stableSort(m.entries, (a, b) => compareKeyBytes(a.key, b.key));
      return stableSort(byKey, (a, b) => cmpBig(average(a.value), average(b.value)));
    }
    case 'hist': case 'lhist': {
      const byKey = stableSort(m.entries, (a, b) => compareKeyBytes(a.key, b.key));
      return stableSort(byKey, (a, b) => cmpBig(sumCounts(a.value), sumCounts(b.value)));
    }
    case 'tseries':
      return m.entries;
  }
}

function applyTop<T>(xs: readonly T[], top: number): readonly T[] {
  return top > 0 && xs.length > top ? xs.slice(xs.length - top) : xs;
}

function keyString(m: MapDump, key: readonly Value[]): string {
  return m.keyed ? m.name + '[' + key.map((k) => keyText(k)).join(', ') + ']' : m.name;
}

function jsonKey(key: readonly Value[]): string {
  // enum keys as numbers: bpftrace's JSON does not symbolize enums
  return '"' + jsonEscape(key.map((k) => keyText(k, false)).join(',')) + '"';
}

/** True when a map of values ends each value in '\n' (stacks), so entries are not separated by another. */
function selfTerminated(m: MapDump): boolean {
  return m.kind === 'value' && m.entries.length > 0 && m.entries.every((e) => e.value.kind === 'stack');
}

/**
 * A map in bpftrace's text format, exactly as written to stdout, including the
 * trailing newline(s): scalar maps end with '\n'; hist/lhist maps and avg/stats
 * maps are followed by a blank line, as bpftrace does.
 */
export function mapText(m: MapDump, opts: PrintOptions = {}): string {
  const top = opts.top ?? 0;
  const div = BigInt(opts.div && opts.div > 0 ? opts.div : 1);
  switch (m.kind) {
    case 'count': case 'sum': case 'min': case 'max': case 'int': case 'value': {
      const rows = applyTop(sortEntries(m), top).map((e) => {
        const v = m.kind === 'value' ? valueDiv(e.value as Value, div) : ((e.value as bigint) / div).toString();
        return keyString(m, e.key) + ': ' + v;
      });
      return rows.join(selfTerminated(m) ? '' : '\n') + '\n';
    }
    case 'avg': case 'stats': {
      const sorted = sortEntries(m) as ReadonlyArray<Entry<AvgState>>;
      // bpftrace ignores top and div for stats() maps (it warns at compile time); 0.26 prints the three as a record.
      const rows = (m.kind === 'avg' ? applyTop(sorted, top) : sorted).map((e) => {
        const avg = average(e.value);
        const v = m.kind === 'avg' ? (avg / div).toString()
          : `{ .count = ${e.value.count}, .average = ${avg}, .total = ${e.value.total} }`;
        return keyString(m, e.key) + ': ' + v;
      });
      return rows.join('\n') + '\n\n';
    }
    case 'hist': case 'lhist': {
      const sorted = applyTop(sortEntries(m) as ReadonlyArray<Entry<BucketCounts>>, top);
      const rows = sorted.map((e) => keyString(m, e.key) + ': \n' + (m.kind === 'hist'
        ? histText(e.value, m.bits ?? 0, div)
        : lhistText(e.value, m.min, m.max, m.step)));
      return rows.join('\n') + '\n';
    }
    case 'tseries':
      // bpftrace ignores top and div for tseries maps
      return m.entries.map((e) => (m.keyed ? keyString(m, e.key) : m.name) + ':\n' + tseriesText(e.value, m.signed) + '\n').join('');
  }
}

function valueDiv(v: Value, div: bigint): string {
  return v.kind === 'int' && !v.bool && div !== 1n ? (v.value / div).toString() : valueText(v);
}

/**
 * A map as one line of bpftrace's NDJSON (`-f json`), with its '\n', or ''
 * for an empty map (bpftrace prints nothing then). Types: "map" for scalar and
 * value maps, "hist" for hist/lhist, "stats" for avg and stats.
 */
export function mapJson(m: MapDump, opts: PrintOptions = {}): string {
  if (m.entries.length === 0) return '';
  const top = opts.top ?? 0;
  const div = BigInt(opts.div && opts.div > 0 ? opts.div : 1);
  let type: string;
  let items: string[];
  switch (m.kind) {
    case 'count': case 'sum': case 'min': case 'max': case 'int': case 'value':
      type = 'map';
      items = applyTop(sortEntries(m), top).map((e) => pair(m, e.key, m.kind === 'value'
        ? (e.value as Value).kind === 'int' && !(e.value as { bool?: boolean }).bool ? ((e.value as { value: bigint }).value / div).toString() : valueJson(e.value as Value)
        : ((e.value as bigint) / div).toString()));
      break;
    case 'avg': case 'stats': {
      type = 'stats';
      const sorted = sortEntries(m) as ReadonlyArray<Entry<AvgState>>;
      items = (m.kind === 'avg' ? applyTop(sorted, top) : sorted).map((e) => {
        const avg = average(e.value);
        return pair(m, e.key, m.kind === 'avg' ? (avg / div).toString()
          : `{"count": ${e.value.count}, "average": ${avg}, "total": ${e.value.total}}`);
      });
      break;
    }
    case 'hist': case 'lhist':
      type = 'hist';
      items = applyTop(sortEntries(m) as ReadonlyArray<Entry<BucketCounts>>, top).map((e) => pair(m, e.key,
        m.kind === 'hist' ? histJson(e.value, m.bits ?? 0, div) : lhistJson(e.value, m.min, m.max, m.step)));
      break;
    case 'tseries':
      type = 'tseries';
      items = m.entries.map((e) => pair(m, e.key, tseriesJson(e.value)));
      break;
  }
  const body = m.keyed ? '{' + items.join(', ') + '}' : items.join(', ');
  return `{"type": "${type}", "data": {"${jsonEscape(m.name)}": ${body}}}\n`;
}

function pair(m: MapDump, key: readonly Value[], value: string): string {
  return m.keyed ? jsonKey(key) + ': ' + value : value;
}

/** Several maps as bpftrace prints them at exit (sorted by name), in text. */
export function mapsText(maps: readonly MapDump[]): string {
  return byName(maps).map((m) => mapText(m)).join('');
}

/** Several maps as bpftrace prints them at exit (sorted by name), in JSON. */
export function mapsJson(maps: readonly MapDump[]): string {
  return byName(maps).map((m) => mapJson(m)).join('');
}

function byName(maps: readonly MapDump[]): MapDump[] {
  return [...maps].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `print(value)` of a non-map value, text: the value and a newline. */
export function printValueText(v: Value): string {
  return valueText(v) + '\n';
}

/** `print(value)` of a non-map value, JSON. */
export function printValueJson(v: Value): string {
  return `{"type": "value", "data": ${valueJson(v)}}\n`;
}
