/**
 * Per-interval counts without clearing the map: reading a map and then
 * deleting its keys loses every increment made in between (the kernel keeps
 * counting), so interval tools that must not lose counts keep the map
 * cumulative and print what each key gained since the last report.
 */
import type { MapDump } from '../../runtime/format/maps';
import type { Value } from '../../runtime/values';
import { keyString } from './text';

export interface Delta {
  key: readonly Value[];
  /** What the key gained since the previous report (its first report: all of it). */
  value: bigint;
}

export class CountDeltas {
  private readonly last = new Map<string, bigint>();

  /** The keys of a count/sum map that changed since the previous call, with their gains. */
  next(m: MapDump | undefined): Delta[] {
    const out: Delta[] = [];
    if (!m || (m.kind !== 'count' && m.kind !== 'sum')) return out;
    for (const e of m.entries) {
      const k = keyString(e.key);
      const gained = e.value - (this.last.get(k) ?? 0n);
      this.last.set(k, e.value);
      if (gained !== 0n) out.push({ key: e.key, value: gained });
    }
    return out;
  }
}
