/**
 * The aggregations (`@m[k] = count()`, sum, min, max, avg, stats, hist,
 * lhist): one definition each, read by every stage: the checker (type rule),
 * the map layout (per-CPU value bytes, extra key bytes), the code generator
 * (first value and in-place update, through AggLowering) and the runtime
 * (the per-CPU reduction into what the printer takes).
 *
 * Values live in per-CPU maps: each CPU updates its own slot without
 * atomics, and user space combines the slots when it reads the map. Keyed
 * ones are per-CPU hashes; key-less ones (`@ = count()`) a one-entry per-CPU
 * array when the aggregation allows it (`keylessArray`): the kernel inlines
 * that lookup (no helper call) and there is nothing to insert (issue 17).
 */
import { FP, R0, R1, R2, type JmpCond, type Reg } from '../ebpf/asm';
import type { Call, Expr } from './ast';
import type { Aggregation, KeylessLayout, TseriesFn } from './artifact';
import type { AggLowering, Loc, TypeRules } from './feature';
import { INT64, UINT64, memSize, tupleType, type Type, type ValueType } from './types';
import type { MapDump, TseriesPoint } from '../runtime/format/maps';
import { histBucketCount, linearBucketCount } from '../runtime/format/hist';

type AggKind = Exclude<Aggregation['kind'], 'scalar'>;
type AggOf<K extends AggKind> = Extract<Aggregation, { kind: K }>;

/** A map's kernel layout as an aggregation's lowering sees it. */
export interface AggMap {
  /** Index of the kernel map. */
  index: number;
  key: Type | null;
  value: Type;
  /** Set when the map is a key-less aggregation in a per-CPU array (see KeylessArray). */
  keylessArray?: KeylessLayout;
}

/**
 * How a key-less aggregation lives in a one-entry per-CPU array, whose value
 * always exists and starts zeroed (so an in-place update must read a zeroed
 * value as "this CPU has not run it yet"): 'plain' when an untouched slot
 * reads right as it is (count: 0 either way); 'flagged' when a u64 after the
 * value says that the CPU ran it, which is what "the map has the entry"
 * means for the printer (`sum(0)` that ran prints `@: 0`, one that never ran
 * prints nothing, as with a hash).
 */
export type KeylessArray = 'plain' | 'flagged';

/** One map entry as read from the kernel: key bytes and the value of each CPU. */
export type RawEntry = readonly [Buffer, readonly Buffer[]];

export interface AggregationDef<K extends AggKind = AggKind> {
  minArgs: number;
  maxArgs: number;
  /** Types the arguments (arity is checked already); returns the aggregation and the type of its value. */
  check(c: TypeRules, call: Call): { agg: AggOf<K>; value: Type };
  /** What the checker assumes after a wrong number of arguments (reported already). */
  fallback: { agg: AggOf<K>; value: Type };
  /** Whether a probe can read `@m[k]` (a plain integer per key after the per-CPU sum); avg/stats/hist cannot. */
  readable: boolean;
  /** Bytes of one CPU's value. */
  valueSize(value: Type): number;
  /** Bytes appended to the key (the bucket index of hist/lhist). */
  keyExtra: number;
  /** Whether, without keys, the value can live in a one-entry per-CPU array; undefined: a hash (hist/lhist: the bucket is in the key). */
  keylessArray?: KeylessArray;
  /** hist/lhist: the number of bucket indexes, the entries of the key-less map's per-CPU array (one per index). */
  keylessBuckets?(agg: AggOf<K>): number;
  /** Emits `@m[key] = agg(args)`; `key` builds the key (with keyExtra bytes after it). */
  lower(g: AggLowering, m: AggMap, call: Call, agg: AggOf<K>, key: (extra: number) => Loc): void;
  /** Combines the CPUs' values of every entry (`div`: print()'s divisor, 1 when none). */
  reduce(agg: AggOf<K>, value: ValueType, raw: readonly RawEntry[], entry: EntryContext): MapDump;
}

/** What a reduction needs of the map besides its entries. */
export interface EntryContext {
  name: string;
  keyed: boolean;
  div: bigint;
  keyOf(k: Buffer): import('../runtime/values').Value[];
}

function sumCpus(vs: readonly Buffer[], signed: boolean): bigint {
  let s = 0n;
  for (const v of vs) s += signed ? v.readBigInt64LE(0) : v.readBigUInt64LE(0);
  return signed ? BigInt.asIntN(64, s) : BigInt.asUintN(64, s);
}

const intValue = (t: Type): Type => ({ kind: 'int', size: 8, signed: t.kind === 'int' ? t.signed : true });

/** count/sum: add in place; an absent entry counts as 0. */
function addLowering(g: AggLowering, m: AggMap, val: Reg | null, key: Loc): void {
  const add = (acc: Reg): void => {
    if (val) g.a.add64(acc, val);
    else g.a.add64(acc, 1);
  };
  g.updateOrInsert(m.index, key, () => {
    g.a.ldx('dw', R1, R0, 0);
    add(R1);
    g.a.stx('dw', R0, 0, R1);
  }, () => {
    // the first value is 0 + val (or 1): stored as it is
    const slot = g.alloc(8);
    if (val) g.a.stx('dw', FP, slot, val);
    else g.a.st('dw', FP, slot, 1);
    return slot;
  });
}

const count: AggregationDef<'count'> = {
  minArgs: 0,
  maxArgs: 0,
  check: () => ({ agg: { kind: 'count' }, value: UINT64 }),
  fallback: { agg: { kind: 'count' }, value: UINT64 },
  readable: true,
  valueSize: (v) => Math.max(8, memSize(v)),
  keyExtra: 0,
  keylessArray: 'plain',
  lower(g, m, _call, _agg, key) {
    addLowering(g, m, null, key(0));
  },
  reduce(_agg, _value, raw, e) {
    // A key-less count() keeps its one array entry even at 0 (the exporter shows a counter at 0 before any
    // event and after clear()); the printer at exit leaves it out (format/maps.ts withoutZeroCount).
    const entries = raw.map(([k, vs]) => ({ key: e.keyOf(k), value: sumCpus(vs, false) / e.div }));
    return { name: e.name, keyed: e.keyed, kind: 'count', signed: false, entries };
  },
};

const sum: AggregationDef<'sum'> = {
  minArgs: 1,
  maxArgs: 1,
  check(c, call) {
    const t = c.int(call.args[0], 'sum() argument');
    return { agg: { kind: 'sum' }, value: intValue(t) };
  },
  fallback: { agg: { kind: 'sum' }, value: INT64 },
  readable: true,
  valueSize: (v) => Math.max(8, memSize(v)),
  keyExtra: 0,
  keylessArray: 'flagged',
  lower(g, m, call, _agg, key) {
    const val = g.scalar(call.args[0]);
    addLowering(g, m, val, key(0));
    g.release1(val);
  },
  reduce(_agg, value, raw, e) {
    const signed = value.kind !== 'int' || value.signed;
    return { name: e.name, keyed: e.keyed, kind: 'sum', signed, entries: raw.map(([k, vs]) => ({ key: e.keyOf(k), value: sumCpus(vs, signed) / e.div })) };
  },
};

/**
 * min/max: the value is 16 bytes, s64 value then u64 "set" flag (non-zero once
 * this CPU saw the key): CPUs that never saw the key must not win as zero. An
 * entry another CPU inserted is zeroed on this one (a per-CPU hash inserts
 * zeros for the other CPUs), as is an array's, so the update in place checks
 * the flag before comparing.
 */
function extreme<K extends 'min' | 'max'>(kind: K): AggregationDef<K> {
  return {
    minArgs: 1,
    maxArgs: 1,
    check(c, call) {
      const t = c.int(call.args[0], `${kind}() argument`);
      return { agg: { kind } as AggOf<K>, value: intValue(t) };
    },
    fallback: { agg: { kind } as AggOf<K>, value: INT64 },
    readable: true,
    valueSize: () => 16,
    keyExtra: 0,
    keylessArray: 'flagged',
    lower(g, m, call, _agg, key) {
      const val = g.scalar(call.args[0]);
      const k = key(0);
      const signed = m.value.kind === 'int' && m.value.signed;
      const keep: JmpCond = kind === 'min' ? (signed ? 'JSLE' : 'JLE') : signed ? 'JSGE' : 'JGE';
      g.updateOrInsert(m.index, k, (done) => {
        const store = g.a.newLabel('extreme');
        g.a.ldx('dw', R1, R0, 8);
        g.a.jeq(R1, 0, store);
        g.a.ldx('dw', R1, R0, 0);
        g.a.jcond(keep, R1, val, done);
        g.a.label(store);
        g.a.stx('dw', R0, 0, val);
        g.a.st('dw', R0, 8, 1);
      }, () => g.firstValueAndCount(val));
      g.release1(val);
    },
    reduce(_agg, _value, raw, e) {
      const entries = raw.map(([k, vs]) => {
        let best: bigint | undefined;
        for (const v of vs) {
          if (v.length >= 16 && v.readBigUInt64LE(8) === 0n) continue;
          const x = v.readBigInt64LE(0);
          if (best === undefined || (kind === 'min' ? x < best : x > best)) best = x;
        }
        return { key: e.keyOf(k), value: (best ?? 0n) / e.div };
      });
      return { name: e.name, keyed: e.keyed, kind, signed: true, entries };
    },
  };
}

/** avg/stats: the value is s64 sum then u64 count (16 bytes). */
function averaging<K extends 'avg' | 'stats'>(kind: K): AggregationDef<K> {
  return {
    minArgs: 1,
    maxArgs: 1,
    check(c, call) {
      c.int(call.args[0], `${kind}() argument`);
      return { agg: { kind } as AggOf<K>, value: tupleType([INT64, UINT64]) };
    },
    fallback: { agg: { kind } as AggOf<K>, value: tupleType([INT64, UINT64]) },
    readable: false,
    valueSize: (v) => Math.max(8, memSize(v)),
    keyExtra: 0,
    keylessArray: 'flagged',
    lower(g, m, call, _agg, key) {
      const val = g.scalar(call.args[0]);
      const k = key(0);
      g.updateOrInsert(m.index, k, () => {
        g.a.ldx('dw', R1, R0, 0);
        g.a.add64(R1, val);
        g.a.stx('dw', R0, 0, R1);
        g.a.ldx('dw', R1, R0, 8);
        g.a.add64(R1, 1);
        g.a.stx('dw', R0, 8, R1);
      }, () => g.firstValueAndCount(val));
      g.release1(val);
    },
    reduce(_agg, _value, raw, e) {
      const entries = raw.map(([k, vs]) => {
        let total = 0n;
        let n = 0n;
        for (const v of vs) {
          total += v.readBigInt64LE(0);
          n += v.readBigUInt64LE(8);
        }
        return { key: e.keyOf(k), value: { total: total / e.div, count: n } };
      });
      return { name: e.name, keyed: e.keyed, kind, entries };
    },
  };
}

/**
 * hist/lhist: the bucket index is appended to the key; the value counts.
 * Key-less, the map is a per-CPU array indexed by the bucket (each index
 * flagged as for 'flagged'): an inlined lookup, no insert (issue 17).
 */
function bucketed<K extends 'hist' | 'lhist'>(
  bucket: (g: AggLowering, v: Reg, agg: AggOf<K>) => void, buckets: (agg: AggOf<K>) => number,
): Omit<AggregationDef<K>, 'minArgs' | 'maxArgs' | 'check' | 'fallback'> {
  const inPlace = (g: AggLowering): void => {
    g.a.ldx('dw', R1, R0, 0);
    g.a.add64(R1, 1);
    g.a.stx('dw', R0, 0, R1);
  };
  return {
    readable: false,
    valueSize: (v) => Math.max(8, memSize(v)),
    keyExtra: 8,
    keylessArray: 'flagged',
    keylessBuckets: buckets,
    lower(g, m, call, agg, key) {
      const val = g.scalar(call.args[0]);
      bucket(g, val, agg);
      if (m.keylessArray) {
        // the index is in range by construction; the kernel's inlined lookup bounds-checks it anyway
        const slot = g.alloc(4);
        g.a.stx('w', FP, slot, val);
        g.release1(val);
        g.updateOrInsert(m.index, { base: FP, off: slot }, () => inPlace(g), () => {
          throw new Error('internal: a per-CPU array has nothing to insert');
        });
        return;
      }
      const keySize = m.key ? memSize(m.key) : 8;
      const k = key(8);
      if ((k.off + keySize) % 8 === 0) {
        g.a.stx('dw', FP, k.off + keySize, val);
      } else {
        // Keys such as string[2] leave the bucket unaligned, and the verifier rejects
        // misaligned 8-byte stack stores: store it byte by byte (little endian).
        for (let b = 0; b < 8; b++) {
          g.a.stx('b', FP, k.off + keySize + b, val);
          if (b < 7) g.a.rsh64(val, 8);
        }
      }
      g.release1(val);
      g.updateOrInsert(m.index, k, () => inPlace(g), () => {
        const slot = g.alloc(8);
        g.a.st('dw', FP, slot, 1);
        return slot;
      });
    },
    reduce(agg, _value, raw, e) {
      // Keys carry the bucket index in their last 8 bytes: group by the rest.
      const groups = new Map<string, { key: Buffer; counts: bigint[] }>();
      for (const [k, vs] of raw) {
        const prefix = k.subarray(0, k.length - 8);
        const b = Number(k.readBigUInt64LE(k.length - 8));
        const id = prefix.toString('hex');
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { key: Buffer.from(prefix), counts: [] }));
        g.counts[b] = (g.counts[b] ?? 0n) + sumCpus(vs, false) / e.div;
      }
      const entries = [...groups.values()].map((g) => ({ key: e.keyOf(g.key), value: g.counts }));
      const a = agg as Aggregation;
      if (a.kind === 'hist') return { name: e.name, keyed: e.keyed, kind: 'hist', bits: a.bits, entries };
      if (a.kind !== 'lhist') throw new Error(`internal: ${a.kind} is not bucketed`);
      return { name: e.name, keyed: e.keyed, kind: 'lhist', min: Number(a.min), max: Number(a.max), step: Number(a.step), entries };
    },
  };
}

const hist: AggregationDef<'hist'> = {
  minArgs: 1,
  maxArgs: 2,
  check(c, call) {
    let bits = 0;
    c.int(call.args[0], 'hist() argument');
    if (call.args.length === 2) {
      const b = c.requireConst(call.args[1], 'hist() bits');
      if (b < 0n || b > 5n) c.error('hist() bits must be between 0 and 5', call.args[1].span);
      bits = Number(b);
    }
    return { agg: { kind: 'hist', bits }, value: UINT64 };
  },
  fallback: { agg: { kind: 'hist', bits: 0 }, value: UINT64 },
  ...bucketed<'hist'>((g, v, agg) => g.log2Bucket(v, agg.bits), (agg) => histBucketCount(agg.bits)),
};

const lhist: AggregationDef<'lhist'> = {
  minArgs: 4,
  maxArgs: 4,
  check(c, call) {
    c.int(call.args[0], 'lhist() value');
    const min = c.requireConst(call.args[1], 'lhist() min');
    const max = c.requireConst(call.args[2], 'lhist() max');
    const step = c.requireConst(call.args[3], 'lhist() step');
    if (min < 0n) c.error('lhist() min must be non-negative', call.args[1].span);
    if (max <= min) c.error('lhist() max must be greater than min', call.args[2].span);
    if (step <= 0n) c.error('lhist() step must be positive', call.args[3].span);
    else if ((max - min) / step > 1000n) c.error('lhist() has too many buckets (more than 1000)', call.span);
    return { agg: { kind: 'lhist', min, max, step }, value: UINT64 };
  },
  fallback: { agg: { kind: 'lhist', min: 0n, max: 0n, step: 1n }, value: UINT64 },
  ...bucketed<'lhist'>((g, v, agg) => g.linearBucket(v, agg.min, agg.max, agg.step),
    (agg) => linearBucketCount(Number(agg.min), Number(agg.max), Number(agg.step))),
};

const TSERIES_FNS: readonly TseriesFn[] = ['avg', 'max', 'min', 'sum'];

/**
 * The clock tseries() reads, typed and lowered as a hidden expression of its
 * call: nsecs(tai) (bpftrace 0.24 uses boot time plus the TAI offset, the same
 * clock), or, when BPFTRACE_DUMMY_TS_MAP=@name is set (bpftrace's hook for its
 * runtime tests), the value of that key-less map, so a script can drive time.
 */
const tseriesClock = new WeakMap<Call, Expr>();
function clockOf(call: Call): Expr {
  let e = tseriesClock.get(call);
  if (!e) {
    const dummy = process.env.BPFTRACE_DUMMY_TS_MAP;
    const span = call.span;
    e = dummy && /^@\w*$/.test(dummy)
      ? { kind: 'MapRef', name: dummy.slice(1), keys: null, span }
      : { kind: 'Call', name: 'nsecs', args: [{ kind: 'Identifier', name: 'tai', span }], span };
    tseriesClock.set(call, e);
  }
  return e;
}

/** Value bytes of one CPU's tseries slot: value, meta, epoch. */
const TS_VALUE = 0, TS_META = 8, TS_EPOCH = 16;

/**
 * One key's slots reduced across CPUs as bpftrace does: only CPU values of the
 * newest epoch in a slot count; a slot no CPU wrote reads as epoch 0, value 0.
 */
function reduceSlot(vs: readonly Buffer[], fn: TseriesFn, signed: boolean): [bigint, bigint] {
  const wrap = (x: bigint): bigint => (signed ? BigInt.asIntN(64, x) : BigInt.asUintN(64, x));
  const byEpoch = new Map<bigint, { val: bigint; meta: bigint }>();
  let latest = 0n;
  for (const v of vs) {
    const epoch = v.readBigUInt64LE(TS_EPOCH);
    if (epoch === 0n) continue;
    const val = signed ? v.readBigInt64LE(TS_VALUE) : v.readBigUInt64LE(TS_VALUE);
    const meta = signed ? v.readBigInt64LE(TS_META) : v.readBigUInt64LE(TS_META);
    if (epoch > latest) latest = epoch;
    const cur = byEpoch.get(epoch);
    if (!cur) {
      byEpoch.set(epoch, { val, meta });
      continue;
    }
    if (fn === 'last') {
      if (meta > cur.meta) Object.assign(cur, { val, meta });
    } else if (fn === 'avg') {
      cur.val = wrap(cur.val + val);
      cur.meta = wrap(cur.meta + meta);
    } else if (fn === 'sum') cur.val = wrap(cur.val + val);
    else cur.val = fn === 'min' ? (val < cur.val ? val : cur.val) : val > cur.val ? val : cur.val;
  }
  const best = byEpoch.get(latest);
  if (!best) return [0n, 0n];
  return [latest, fn === 'avg' && best.meta !== 0n ? best.val / best.meta : best.val];
}

const tseries: AggregationDef<'tseries'> = {
  minArgs: 3,
  maxArgs: 4,
  check(c, call) {
    const t = c.int(call.args[0], 'tseries() value');
    const interval = c.requireConst(call.args[1], 'tseries() interval');
    const n = c.requireConst(call.args[2], 'tseries() number of intervals');
    if (interval <= 0n) c.error('tseries() interval must be positive', call.args[1].span);
    if (n <= 0n || n > 1000000n) c.error('tseries() number of intervals must be between 1 and 1000000', call.args[2].span);
    let fn: TseriesFn = 'last';
    const a = call.args[3];
    if (a) {
      if (a.kind !== 'StringLit' || !(TSERIES_FNS as readonly string[]).includes(a.value)) {
        c.error('tseries() aggregation must be one of "avg", "max", "min" or "sum"', a.span);
      } else fn = a.value as TseriesFn;
    }
    c.int(clockOf(call), 'tseries() clock');
    return { agg: { kind: 'tseries', intervalNs: interval, intervals: n, fn }, value: intValue(t) };
  },
  fallback: { agg: { kind: 'tseries', intervalNs: 1n, intervals: 1n, fn: 'last' }, value: INT64 },
  readable: false,
  valueSize: () => 24,
  keyExtra: 8,
  lower(g, m, call, agg, key) {
    const val = g.scalar(call.args[0]);
    const now = g.scalar(clockOf(call));
    const nowSlot = g.alloc(8), epochSlot = g.alloc(8);
    g.a.stx('dw', FP, nowSlot, now);
    g.a.movConst(R1, agg.intervalNs);
    g.a.div64(now, R1);
    g.a.stx('dw', FP, epochSlot, now);
    g.a.movConst(R1, agg.intervals);
    g.a.mod64(now, R1);
    const keySize = m.key ? memSize(m.key) : 8;
    const k = key(8);
    storeU64(g, k.off + keySize, now);
    g.release1(now);
    const signed = m.value.kind === 'int' && m.value.signed;
    g.updateOrInsert(m.index, k, () => {
      if (agg.fn !== 'last') {
        // a slot last written in an older epoch starts over
        const same = g.a.newLabel('tsame');
        g.a.ldx('dw', R1, R0, TS_EPOCH);
        g.a.ldx('dw', R2, FP, epochSlot);
        g.a.jcond('JEQ', R1, R2, same);
        g.a.st('dw', R0, TS_VALUE, 0);
        g.a.st('dw', R0, TS_META, 0);
        g.a.label(same);
      }
      switch (agg.fn) {
        case 'last':
          g.a.stx('dw', R0, TS_VALUE, val);
          g.a.ldx('dw', R1, FP, nowSlot);
          g.a.stx('dw', R0, TS_META, R1);
          break;
        case 'avg': case 'sum':
          if (agg.fn === 'avg') {
            g.a.ldx('dw', R1, R0, TS_META);
            g.a.add64(R1, 1);
            g.a.stx('dw', R0, TS_META, R1);
          }
          g.a.ldx('dw', R1, R0, TS_VALUE);
          g.a.add64(R1, val);
          g.a.stx('dw', R0, TS_VALUE, R1);
          break;
        case 'min': case 'max': {
          const store = g.a.newLabel('tstore'), set = g.a.newLabel('tset');
          const keep: JmpCond = agg.fn === 'min' ? (signed ? 'JSLE' : 'JLE') : signed ? 'JSGE' : 'JGE';
          g.a.ldx('dw', R1, R0, TS_META);
          g.a.jeq(R1, 0, store);
          g.a.ldx('dw', R1, R0, TS_VALUE);
          g.a.jcond(keep, R1, val, set);
          g.a.label(store);
          g.a.stx('dw', R0, TS_VALUE, val);
          g.a.label(set);
          g.a.st('dw', R0, TS_META, 1);
          break;
        }
      }
      g.a.ldx('dw', R1, FP, epochSlot);
      g.a.stx('dw', R0, TS_EPOCH, R1);
    }, () => {
      const slot = g.alloc(24);
      g.a.stx('dw', FP, slot + TS_VALUE, val);
      if (agg.fn === 'last') {
        g.a.ldx('dw', R1, FP, nowSlot);
        g.a.stx('dw', FP, slot + TS_META, R1);
      } else g.a.st('dw', FP, slot + TS_META, agg.fn === 'sum' ? 0 : 1);
      g.a.ldx('dw', R1, FP, epochSlot);
      g.a.stx('dw', FP, slot + TS_EPOCH, R1);
      return slot;
    });
    g.release1(val);
  },
  reduce(agg, value, raw, e) {
    const signed = value.kind !== 'int' || value.signed;
    // Group the slots by key (the key bytes without the slot index); the first slot seen for an epoch wins.
    const groups = new Map<string, { key: Buffer; byEpoch: Map<bigint, bigint> }>();
    for (const [k, vs] of raw) {
      const prefix = k.subarray(0, k.length - 8);
      const id = prefix.toString('hex');
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key: Buffer.from(prefix), byEpoch: new Map() }));
      const [epoch, v] = reduceSlot(vs, agg.fn, signed);
      if (!g.byEpoch.has(epoch)) g.byEpoch.set(epoch, v / e.div);
    }
    // Every key shows the same window: the last `intervals` epochs up to the newest of any key
    // (u64 arithmetic as bpftrace: when all is epoch 0 the window is empty).
    let last = 0n;
    for (const g of groups.values()) for (const ep of g.byEpoch.keys()) if (ep > last) last = ep;
    if (groups.size === 0) last = 0xffffffffffffffffn;
    const first = BigInt.asUintN(64, last - agg.intervals + 1n);
    const entries = [...groups.values()]
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .map((g) => {
        // a key's series starts at its own first epoch inside the window
        let start = last;
        for (const ep of g.byEpoch.keys()) if (ep >= first && ep < start) start = ep;
        const points: TseriesPoint[] = [];
        for (let ep = start; ep <= last && ep >= first; ep++) {
          points.push({ start: ep * agg.intervalNs, value: g.byEpoch.get(ep) ?? null });
        }
        return { key: e.keyOf(g.key), value: points };
      });
    return { name: e.name, keyed: e.keyed, kind: 'tseries', signed, entries };
  },
};

/** Stores a u64 at FP+off, byte by byte when the offset is not 8-aligned (the verifier rejects misaligned stores); clobbers r. */
function storeU64(g: AggLowering, off: number, r: Reg): void {
  if (off % 8 === 0) {
    g.a.stx('dw', FP, off, r);
    return;
  }
  for (let b = 0; b < 8; b++) {
    g.a.stx('b', FP, off + b, r);
    if (b < 7) g.a.rsh64(r, 8);
  }
}

/** Every aggregation by the function name it is written as; a kind without a definition is a tsc error. */
export const AGGREGATIONS: { readonly [K in AggKind]: AggregationDef<K> } = {
  count,
  sum,
  min: extreme('min'),
  max: extreme('max'),
  avg: averaging('avg'),
  stats: averaging('stats'),
  hist,
  lhist,
  tseries,
};

/** The definition of aggregation `name` (a call written `@m = name(...)`), or undefined. */
export function aggregationDef(name: string): AggregationDef | undefined {
  return Object.prototype.hasOwnProperty.call(AGGREGATIONS, name) ? (AGGREGATIONS[name as AggKind] as unknown as AggregationDef) : undefined;
}
