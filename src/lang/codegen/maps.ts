/**
 * Maps and aggregations: keys, reads, plain and read-modify-write updates,
 * count/sum/min/max/avg/stats/hist/lhist, delete and has_key.
 */
import { FP, Helper, R0, R1, R2, R3, R4, type Reg } from '../../ebpf/asm';
import type { Expr, MapRef, Span, Stmt } from '../ast';
import type { Loc } from '../feature';
import type { MapInfo } from '../semantic';
import { NONE, memSize, storedType, tupleType, type Type } from '../types';
import { ExprGen } from './expr';
import { AGGREGATIONS, type AggregationDef } from '../aggregations';

export abstract class MapGen extends ExprGen {
  /** Stores the value of @m[k] at dst (zero when absent), in the layout of `target`. */
  protected mapValueInto(e: MapRef, dst: Loc, target: Type): void {
    const tsize = memSize(target);
    const { index, info } = this.shared.userMap(`@${e.name}`);
    const mark = this.frameMark;
    const key = this.mapKey(e, info, 0);
    this.lookup(index, key);
    const none = this.a.newLabel('nov'), end = this.a.newLabel('mvend');
    this.a.jeq(R0, 0, none);
    const p = this.temp(e.span);
    this.a.mov64(p, R0);
    this.copyValue(dst, target, { base: p, off: 0 }, info.value);
    this.release1(p);
    this.a.ja(end);
    this.a.label(none);
    this.zero(dst, tsize);
    this.a.label(end);
    this.release(mark);
  }

  /** Builds the key of a map reference on the stack (with `extra` bytes after it for a hist bucket). */
  mapKey(m: MapRef, info: MapInfo, extra: number): Loc {
    const size = (info.key ? memSize(info.key) : 8) + extra;
    const off = this.alloc(size, m.span);
    const loc = { base: FP, off };
    if (!info.key || !m.keys) {
      this.a.st('dw', FP, off, 0);
      return loc;
    }
    if (m.keys.length === 1) {
      this.storeInto(m.keys[0], loc, info.key);
      return loc;
    }
    const kt = info.key.kind === 'tuple' ? info.key : tupleType(m.keys.map((k) => storedType(this.type(k))));
    if (kt.kind !== 'tuple') this.fail('internal: tuple key expected', m.span);
    this.zeroPadding(loc, kt);
    m.keys.forEach((k, i) => this.storeInto(k, { base: FP, off: off + kt.offsets[i] }, kt.fields[i]));
    return loc;
  }

  protected mapReadScalar(m: MapRef): Reg {
    const { index, info } = this.shared.userMap(`@${m.name}`);
    const mark = this.frameMark;
    const r = this.temp(m.span);
    const key = this.mapKey(m, info, 0);
    this.lookup(index, key);
    this.a.mov64(r, 0);
    const none = this.a.newLabel('mnone');
    this.a.jeq(R0, 0, none);
    this.a.ldx('dw', r, R0, 0);
    this.a.label(none);
    this.release(mark);
    return r;
  }

  /** `x++` / `++x` as a value: the update as its statement form, then the old or new value. */
  protected incDec(e: Extract<Expr, { kind: 'IncDec' }>): Reg {
    const delta = (e.assign.op === '+' ? 1 : -1) * (this.inst.facts.scaleBy.get(e.assign.value) ?? 1); // a pointer steps by its pointee's size
    const tg = e.target;
    if (tg.kind === 'Variable') {
      const slot = this.varSlot(tg.name, tg.span);
      const r = this.temp(e.span);
      this.a.ldx('dw', r, FP, slot);
      this.a.mov64(R0, r);
      this.a.add64(R0, delta);
      this.normalize(R0, this.inst.vars.get(tg.name) ?? NONE);
      this.a.stx('dw', FP, slot, R0);
      if (e.prefix) this.a.mov64(r, R0);
      return r;
    }
    // lookup; present → old value, update in place; absent → old value 0, insert delta
    const { index, info } = this.shared.userMap(`@${tg.name}`);
    const mark = this.frameMark;
    const r = this.temp(e.span);
    const key = this.mapKey(tg, info, 0);
    this.updateOrInsert(index, key, () => {
      this.a.ldx('dw', r, R0, 0);
      this.a.mov64(R1, r);
      this.a.add64(R1, delta);
      this.a.stx('dw', R0, 0, R1);
    }, () => {
      this.a.mov64(r, 0);
      const slot = this.alloc(8);
      this.a.st('dw', FP, slot, delta);
      return slot;
    });
    this.release(mark);
    if (e.prefix) this.a.add64(r, delta);
    return r;
  }

  /** `@m[k] = v`, `@m[k] op= v`, and aggregations. */
  protected mapAssign(s: Extract<Stmt, { kind: 'AssignStmt' }>, m: MapRef): void {
    const { index, info } = this.shared.userMap(`@${m.name}`);
    const v = s.value;
    const agg = info.agg;
    if (agg.kind === 'scalar' && !s.op) {
      const valOff = this.alloc(memSize(info.value), v.span);
      this.storeInto(v, { base: FP, off: valOff }, info.value);
      const key = this.mapKey(m, info, 0);
      this.update(index, key, { base: FP, off: valOff });
      return;
    }
    if (agg.kind === 'scalar') {
      // `@m[k] op= v`: read-modify-write: lookup; existing → in place; absent → insert
      const val = this.scalar(v);
      const key = this.mapKey(m, info, 0);
      this.updateOrInsert(index, key, () => {
        this.a.ldx('dw', R1, R0, 0);
        this.applyOp(s.op ?? '+', R1, val);
        this.a.stx('dw', R0, 0, R1);
      }, () => {
        // An absent entry counts as 0, so the first value is `0 op val`.
        const slot = this.alloc(8);
        this.a.mov64(R1, 0);
        this.applyOp(s.op ?? '+', R1, val);
        this.a.stx('dw', FP, slot, R1);
        return slot;
      });
      this.release1(val);
      return;
    }
    if (v.kind !== 'Call') this.fail('internal: aggregation without call', v.span);
    // count(), sum(), hist(), ...: the aggregation's own lowering (lang/aggregations.ts)
    const def = AGGREGATIONS[agg.kind] as AggregationDef;
    def.lower(this, { index, key: info.key, value: info.value, keylessArray: this.shared.keylessArray(index) }, v, agg, (extra) => this.mapKey(m, info, extra));
  }

  /**
   * The map update every aggregation shares: when the key is present, `inPlace`
   * changes the value R0 points at (it may jump to `done` to leave it as is);
   * when absent, `first` writes the first value on the stack and returns its
   * offset, and that is inserted. Updating in place through the looked-up
   * pointer costs no second map operation on the hot path.
   */
  updateOrInsert(index: number, key: Loc, inPlace: (done: string) => void, first: () => number): void {
    this.lookup(index, key);
    const array = this.shared.keylessArray(index);
    if (array) {
      // A one-entry per-CPU array: the value always exists (zeroed until this CPU runs the
      // update), so there is nothing to insert; the verifier still wants the null check.
      const done = this.a.newLabel('done');
      this.a.jeq(R0, 0, done);
      if (array.presentAt !== undefined) this.a.st('dw', R0, array.presentAt, 1);
      inPlace(done);
      this.a.label(done);
      return;
    }
    const absent = this.a.newLabel('absent'), done = this.a.newLabel('done');
    this.a.jeq(R0, 0, absent);
    inPlace(done);
    this.a.ja(done);
    this.a.label(absent);
    const slot = first();
    this.update(index, key, { base: FP, off: slot });
    this.a.label(done);
  }

  /** The first {value, count} pair of min/max/avg/stats on the stack; returns its offset. */
  firstValueAndCount(val: Reg): number {
    const slot = this.alloc(16);
    this.a.stx('dw', FP, slot, val);
    this.a.st('dw', FP, slot + 8, 1);
    return slot;
  }

  /** R0 = map_lookup_elem(map, key): a pointer to the value, or 0. */
  lookup(index: number, key: Loc): void {
    this.ldMap(R1, index);
    this.lea(R2, key);
    this.a.call(Helper.map_lookup_elem);
  }

  protected applyOp(op: string, acc: Reg, val: Reg | null): void {
    if (!val) {
      this.a.add64(acc, 1);
      return;
    }
    switch (op) {
      case '+': this.a.add64(acc, val); break;
      case '-': this.a.sub64(acc, val); break;
      case '*': this.a.mul64(acc, val); break;
      case '/': this.a.div64(acc, val); break;
      case '%': this.a.mod64(acc, val); break;
      case '&': this.a.and64(acc, val); break;
      case '|': this.a.or64(acc, val); break;
      case '^': this.a.xor64(acc, val); break;
      case '<<': this.a.lsh64(acc, val); break;
      case '>>': this.a.rsh64(acc, val); break;
      default: this.fail(`operator ${op}= not supported`, null);
    }
  }

  /**
   * Stores val under key in user map `mapIndex`. A failed update (the map
   * holds max_map_keys entries: E2BIG; or ENOMEM) is counted for that map,
   * and user space reports the count. The key is dead after the update, so
   * its first bytes hold the counter's index.
   */
  update(mapIndex: number, key: Loc, val: Loc): void {
    this.ldMap(R1, mapIndex);
    this.lea(R2, key);
    this.lea(R3, val);
    this.a.mov64(R4, 0);
    this.a.call(Helper.map_update_elem);
    const ok = this.a.newLabel('updated');
    this.a.jsge(R0, 0, ok);
    this.a.st('w', key.base, key.off, this.shared.userMapOf(mapIndex));
    this.lookup(this.shared.mapErrors(), key);
    this.a.jeq(R0, 0, ok);
    this.a.ldx('dw', R1, R0, 0);
    this.a.add64(R1, 1);
    this.a.stx('dw', R0, 0, R1);
    this.a.label(ok);
  }

  /** In place: v → hist(v, bits) bucket index (see runtime/format/hist.ts). */
  log2Bucket(v: Reg, bits: number): void {
    const neg = this.a.newLabel('hneg'), small = this.a.newLabel('hsmall'), end = this.a.newLabel('hend');
    const mask = (1 << bits) - 1;
    this.a.jslt(v, 0, neg);
    this.a.jle(v, mask, small);
    // l = floor(log2 v) by binary search into R1, value copy in R2; the first step
    // compares the shifted value (2^32 is no 32-bit immediate), the others compare
    // against 2^sh directly (one instruction fewer each)
    this.a.mov64(R2, v);
    this.a.mov64(R1, 0);
    for (const sh of [32, 16, 8, 4, 2, 1]) {
      const skip = this.a.newLabel('hl');
      if (sh === 32) {
        this.a.mov64(R3, R2);
        this.a.rsh64(R3, sh);
        this.a.jeq(R3, 0, skip);
        this.a.mov64(R2, R3);
      } else {
        this.a.jlt(R2, 1 << sh, skip);
        if (sh > 1) this.a.rsh64(R2, sh); // the last step's shifted value is not read
      }
      this.a.add64(R1, sh);
      this.a.label(skip);
    }
    if (bits === 0) {
      // index = l + 2 (the general form below with k = 0)
      this.a.mov64(v, R1);
      this.a.add64(v, 2);
    } else {
      // x = (v >> (l - k)) & mask; index = ((l - k + 1) << k) + x + 1
      this.a.sub64(R1, bits);
      this.a.rsh64(v, R1);
      this.a.and64(v, mask);
      this.a.add64(R1, 1);
      this.a.lsh64(R1, bits);
      this.a.add64(v, R1);
      this.a.add64(v, 1);
    }
    this.a.ja(end);
    this.a.label(small);
    this.a.add64(v, 1);
    this.a.ja(end);
    this.a.label(neg);
    this.a.mov64(v, 0);
    this.a.label(end);
  }

  linearBucket(v: Reg, min: bigint, max: bigint, step: bigint): void {
    const below = this.a.newLabel('lbelow'), above = this.a.newLabel('labove'), end = this.a.newLabel('lend');
    this.a.movConst(R1, min);
    this.a.jslt(v, R1, below);
    this.a.movConst(R1, max);
    this.a.jsgt(v, R1, above);
    this.a.movConst(R1, min);
    this.a.sub64(v, R1);
    this.a.movConst(R1, step);
    this.a.div64(v, R1);
    this.a.add64(v, 1);
    this.a.ja(end);
    this.a.label(below);
    this.a.mov64(v, 0);
    this.a.ja(end);
    this.a.label(above);
    this.a.movConst(v, 1n + (max - min) / step);
    this.a.label(end);
  }

  /** delete(@m[k]) */
  mapDelete(m: MapRef, keyExprs: Expr[] | null): void {
    const { index, info } = this.shared.userMap(`@${m.name}`);
    if (info.agg.kind === 'hist' || info.agg.kind === 'lhist') this.fail(`delete() of single ${info.agg.kind} entries is not supported; use clear()`, m.span);
    const ref: MapRef = keyExprs ? { ...m, keys: keyExprs } : m;
    const key = this.mapKey(ref, info, 0);
    this.ldMap(R1, index);
    this.lea(R2, key);
    this.a.call(Helper.map_delete_elem);
  }

  /** r = (lookup(@m[k]) != NULL) */
  mapHasKey(m: MapRef, keyExprs: Expr[], span: Span): Reg {
    const { index, info } = this.shared.userMap(`@${m.name}`);
    const r = this.temp(span);
    const mark = this.frameMark;
    const key = this.mapKey({ ...m, keys: keyExprs }, info, 0);
    this.lookup(index, key);
    this.a.mov64(r, 1);
    const yes = this.a.newLabel('has');
    this.a.jne(R0, 0, yes);
    this.a.mov64(r, 0);
    this.a.label(yes);
    this.release(mark);
    return r;
  }
}
