/**
 * Maps as Prometheus metrics: a decoded map (the runtime's MapDump) becomes
 * one metric family, rendered in the Prometheus text exposition format 0.0.4
 * or OpenMetrics 1.0.0.
 *
 * | aggregation           | metric type | samples                                      |
 * |-----------------------|-------------|----------------------------------------------|
 * | count(), sum()        | counter     | `NAME_total`                                 |
 * | hist(), lhist()       | histogram   | `NAME_bucket{le}` (cumulative), `_sum`, `_count` |
 * | avg(), stats()        | summary     | `NAME_sum`, `NAME_count` (no quantiles)      |
 * | min(), max(), values  | gauge       | `NAME`                                       |
 *
 * Map keys become labels; `le` is the largest value a bucket holds (hist()
 * buckets hold integers: `[4, 8)` is `le="7"`), so the bounds are exact.
 * A clear()/zero() in the script drops the values to zero, which Prometheus
 * reads as a counter reset (rate() and increase() stay right).
 *
 * @example
 *   const f = familyFromMap(dump, { name: 'sys_calls', help: '...', labels: ['comm'] }, { seriesLimit: 1000 });
 *   renderFamilies([f.family], 'text');
 */
import type { MapDump } from '../runtime/format/maps';
import { histBound } from '../runtime/format/hist';
import { keyText, type Value } from '../runtime/values';

export type ExpositionFormat = 'text' | 'openmetrics';
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

/** One metric family, its samples already rendered (they are the same in both formats). */
export interface MetricFamily {
  /** Without `_total` for counters. */
  name: string;
  type: MetricType;
  help: string;
  /** Sample lines without the trailing newline: `name_total{a="b"} 3`. */
  lines: string[];
}

export interface MetricMeta {
  /** Base metric name (a counter gets `_total` appended). */
  name: string;
  help: string;
  /** Label names, one per key component. */
  labels: readonly string[];
  /** Per key component: how its value becomes a label value, when not as labelValue() does (device names). */
  labelValues?: ReadonlyArray<((v: Value) => string) | undefined>;
  /** Extra labels on every series (e.g. none, or an instance name the config adds). */
  constLabels?: ReadonlyArray<readonly [string, string]>;
}

export interface ConvertOptions {
  /** At most this many series (label sets) per metric; the rest are dropped and counted. */
  seriesLimit: number;
}

export interface Converted {
  family: MetricFamily | undefined;
  /** Series left out because of the limit. */
  dropped: number;
}

/** A label value escaped for the exposition formats (backslash, double quote, newline). */
export function escapeLabelValue(s: string): string {
  return s.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** A string as a valid metric or label name: anything outside [a-zA-Z0-9_] becomes `_`, a leading digit gets a `_`. */
export function sanitizeName(s: string): string {
  const t = s.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(t) ? `_${t}` : t;
}

/** Distinct names: a repeated one gets its position (`ret`, `ret_2`). */
export function distinctNames(names: readonly string[]): string[] {
  return names.map((n, i) => (names.indexOf(n) === i ? n : `${n}_${i + 1}`));
}

/** A map key component as a label value. */
export function labelValue(v: Value): string {
  switch (v.kind) {
    case 'str': return v.value;
    case 'sym': return v.text;
    case 'stack': return v.frames.join(';'); // folded, as flame graph input
    default: return keyText(v);
  }
}

function labelSet(meta: MetricMeta, key: readonly Value[]): string {
  let s = '';
  for (const [n, v] of meta.constLabels ?? []) s += `${s ? ',' : ''}${n}="${escapeLabelValue(v)}"`;
  const n = Math.min(meta.labels.length, key.length);
  for (let i = 0; i < n; i++) {
    const text = (meta.labelValues?.[i] ?? labelValue)(key[i]);
    s += `${s ? ',' : ''}${meta.labels[i]}="${escapeLabelValue(text)}"`;
  }
  return s;
}

function braces(labels: string): string {
  return labels ? `{${labels}}` : '';
}

function withLabel(labels: string, extra: string): string {
  return `{${labels ? `${labels},` : ''}${extra}}`;
}

/** Keeps the first `limit` entries in label order (the same ones every scrape), or all of them. */
function limitSeries<T extends { labels: string }>(rows: T[], limit: number): { kept: T[]; dropped: number } {
  if (rows.length <= limit) return { kept: rows, dropped: 0 };
  rows.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
  return { kept: rows.slice(0, limit), dropped: rows.length - limit };
}

/** Largest value bucket `index` holds, or undefined for lhist's open-ended top bucket. */
function bucketUpper(d: Extract<MapDump, { kind: 'hist' | 'lhist' }>, index: number): bigint | undefined {
  if (d.kind === 'hist') return index === 0 ? -1n : histBound(index, d.bits ?? 0) - 1n;
  const buckets = Math.trunc((d.max - d.min) / d.step);
  if (index > buckets) return undefined;
  return BigInt(d.min) + BigInt(index) * BigInt(d.step) - 1n;
}

/**
 * One map as a metric family. `sums` is the companion sum map of a histogram
 * (instrument.ts), matched by key; undefined leaves `_sum` out. Maps of
 * non-numeric values (strings, stacks as values) have no metric: undefined.
 */
export function familyFromMap(d: MapDump, meta: MetricMeta, opts: ConvertOptions, sums?: MapDump): Converted {
  const rowsOf = <V>(entries: ReadonlyArray<{ key: readonly Value[]; value: V }>) =>
    entries.map((e) => ({ labels: labelSet(meta, e.key), value: e.value }));
  const name = meta.name;
  const lines: string[] = [];
  switch (d.kind) {
    case 'count':
    case 'sum':
    case 'min':
    case 'max':
    case 'int': {
      const counter = d.kind === 'count' || d.kind === 'sum';
      const base = counter ? name.replace(/_total$/, '') : name;
      const { kept, dropped } = limitSeries(rowsOf(d.entries), opts.seriesLimit);
      const sample = counter ? `${base}_total` : base;
      for (const r of kept) lines.push(`${sample}${braces(r.labels)} ${r.value}`);
      return { family: { name: base, type: counter ? 'counter' : 'gauge', help: meta.help, lines }, dropped };
    }
    case 'avg':
    case 'stats': {
      const { kept, dropped } = limitSeries(rowsOf(d.entries), opts.seriesLimit);
      for (const r of kept) {
        lines.push(`${name}_sum${braces(r.labels)} ${r.value.total}`);
        lines.push(`${name}_count${braces(r.labels)} ${r.value.count}`);
      }
      return { family: { name, type: 'summary', help: meta.help, lines }, dropped };
    }
    case 'hist':
    case 'lhist': {
      const sumByLabels = new Map<string, bigint>();
      if (sums && (sums.kind === 'sum' || sums.kind === 'count')) {
        for (const e of sums.entries) sumByLabels.set(labelSet(meta, e.key), e.value);
      }
      const { kept, dropped } = limitSeries(rowsOf(d.entries), opts.seriesLimit);
      // one bucket set for the whole family, so `sum by (le)` across series adds like with like
      let lo = Infinity, hi = -1;
      for (const r of kept) {
        r.value.forEach((c, i) => {
          if (!c || bucketUpper(d, i) === undefined) return;
          lo = Math.min(lo, i);
          hi = Math.max(hi, i);
        });
      }
      if (lo > 1) lo = 1; // from the 0 (or lhist's min) bucket up, not from the first one used
      for (const r of kept) {
        let cum = 0n;
        let total = 0n;
        for (const c of r.value) total += c ?? 0n;
        for (let i = 0; i <= hi; i++) {
          cum += r.value[i] ?? 0n;
          if (i < lo) continue;
          const le = bucketUpper(d, i);
          if (le !== undefined) lines.push(`${name}_bucket${withLabel(r.labels, `le="${le}"`)} ${cum}`);
        }
        lines.push(`${name}_bucket${withLabel(r.labels, 'le="+Inf"')} ${total}`);
        const sum = sumByLabels.get(r.labels);
        if (sums) lines.push(`${name}_sum${braces(r.labels)} ${sum ?? 0n}`);
        lines.push(`${name}_count${braces(r.labels)} ${total}`);
      }
      return { family: { name, type: 'histogram', help: meta.help, lines }, dropped };
    }
    case 'value':
    case 'tseries': // a series of intervals is not one sample
      return { family: undefined, dropped: 0 };
  }
}

function escapeHelp(s: string, format: ExpositionFormat): string {
  return s.replace(format === 'openmetrics' ? /[\\\n"]/g : /[\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function contentType(format: ExpositionFormat): string {
  return format === 'openmetrics' ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8';
}

/** The format a scraper's Accept header asks for: OpenMetrics when it names it, else the text format. */
export function negotiate(accept: string | undefined): ExpositionFormat {
  return accept && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'text';
}

/** Families as one exposition. */
export function renderFamilies(families: readonly MetricFamily[], format: ExpositionFormat): string {
  const parts: string[] = [];
  for (const f of families) {
    // the text format names a counter's family after its samples (`x_total`); OpenMetrics without the suffix
    const typeName = f.type === 'counter' && format === 'text' ? `${f.name}_total` : f.name;
    parts.push(`# HELP ${typeName} ${escapeHelp(f.help, format)}\n# TYPE ${typeName} ${f.type}\n`);
    if (f.lines.length) parts.push(f.lines.join('\n'), '\n');
  }
  if (format === 'openmetrics') parts.push('# EOF\n');
  return parts.join('');
}
