/**
 * The checker for one probe instance: statements, assignments, and the
 * aggregations a map assignment introduces.
 */
import type { Call, Span, Stmt } from '../ast';
import type { Aggregation } from '../artifact';
import { functionDef } from '../builtins';
import {
  type Type, INT64, UINT64, isStorable, storedType, tupleType, typeName, unify,
} from '../types';
import { castType } from './shared';
import { aggregationDef, type AggregationDef } from '../aggregations';
import { ExprChecker } from './expressions';

export class Checker extends ExprChecker {
  // ---- statements -----------------------------------------------------------

  stmt(s: Stmt): void {
    switch (s.kind) {
      case 'Block':
        for (const x of s.stmts) this.stmt(x);
        return;
      case 'ExprStmt':
        this.type(s.expr);
        return;
      case 'AssignStmt':
        this.assign(s);
        return;
      case 'VarDeclStmt': {
        let t: Type | undefined = s.type ? castType(this.opts, s.type, this.space) : undefined;
        if (s.type && !t) this.error(`unsupported variable type: ${s.type.base}`, s.type.span);
        if (s.value) {
          const vt = this.valueType(s.value);
          t = t ?? storedType(vt);
        }
        this.setVar(s.variable.name, t ?? INT64, s.span);
        this.exprs.set(s.variable, this.vars.get(s.variable.name) ?? INT64);
        return;
      }
      case 'IfStmt':
        this.cond(s.cond);
        this.stmt(s.then);
        if (s.otherwise) this.stmt(s.otherwise);
        return;
      case 'UnrollStmt': {
        const n = this.requireConst(s.count, 'unroll count');
        if (n < 1n) this.error('unroll minimum value is 1', s.count.span);
        else if (n > 100n) this.error('unroll maximum value is 100', s.count.span);
        this.stmt(s.body);
        return;
      }
      case 'WhileStmt':
        this.cond(s.cond);
        this.loopDepth++;
        this.stmt(s.body);
        this.loopDepth--;
        return;
      case 'ForRangeStmt': {
        this.int(s.start, 'range start');
        this.int(s.end, 'range end');
        this.setVar(s.variable.name, INT64, s.variable.span);
        this.exprs.set(s.variable, INT64);
        this.loopDepth++;
        this.stmt(s.body);
        this.loopDepth--;
        return;
      }
      case 'ForMapStmt': {
        const m = this.mapArg(s.map, 'for');
        if (m) {
          // aggregations live in per-CPU maps: bpf_for_each_map_elem would see one CPU's share
          if (m.agg.kind !== 'scalar') {
            this.error(`for over a ${m.agg.kind}() map is not supported: its values are per CPU (assign plain values, @m[k] = v, to iterate)`, s.map.span);
          }
          const kv = tupleType([m.key ?? UINT64, m.value]);
          this.setVar(s.variable.name, kv, s.variable.span);
          this.exprs.set(s.variable, kv);
        } else if (this.firstPass) {
          this.setVar(s.variable.name, tupleType([UINT64, UINT64]), s.variable.span);
        }
        this.loopDepth++;
        this.stmt(s.body);
        this.loopDepth--;
        return;
      }
      case 'ReturnStmt':
        if (s.value) this.int(s.value, 'return value');
        return;
      case 'JumpStmt':
        if (this.loopDepth === 0) this.error(`'${s.jump}' outside of a loop`, s.span);
        return;
    }
  }

  setVar(name: string, t: Type, span: Span): void {
    const old = this.vars.get(name);
    if (!old) {
      this.vars.set(name, t);
      return;
    }
    const u = unify(old, t);
    if (!u) {
      this.error(`type mismatch for $${name}: assigning ${typeName(t)} to a variable of type ${typeName(old)}`, span);
      return;
    }
    this.vars.set(name, u);
  }

  protected assign(s: Extract<Stmt, { kind: 'AssignStmt' }>): void {
    const target = s.target;
    if (target.kind === 'Variable') {
      let t = s.op ? this.type(s.value) : this.valueType(s.value);
      if (s.op) {
        const cur = this.vars.get(target.name);
        if (!cur) {
          this.error(`undefined variable: $${target.name}`, target.span);
          return;
        }
        if (cur.kind !== 'int' || t.kind !== 'int') {
          if (t.kind !== 'none') this.error(`'${s.op}=' needs integers`, s.span);
          return;
        }
        t = { kind: 'int', size: 8, signed: cur.signed && t.signed };
        this.scaleStep(s.op, cur, s.value);
        this.exprs.set(target, cur);
        return;
      }
      if (t.kind === 'none') {
        if (!this.vars.has(target.name) && !this.firstPass && s.value.kind === 'Call' && (functionDef(s.value.name) || aggregationDef(s.value.name))) {
          this.error(`${s.value.name}() does not return a value`, s.value.span);
        }
        if (!this.vars.has(target.name)) this.vars.set(target.name, INT64);
        this.exprs.set(target, this.vars.get(target.name) ?? INT64);
        return;
      }
      if (!isStorable(t)) {
        this.error(`${typeName(t)} cannot be assigned to a variable`, s.value.span);
        return;
      }
      // Variables keep the declared width of their first value for ints (like bpftrace), strings widen.
      const old = this.vars.get(target.name);
      if (t.kind === 'int' && old) {
        if (old.kind !== 'int') this.error(`type mismatch for $${target.name}: assigning ${typeName(t)} to a variable of type ${typeName(old)}`, s.span);
      } else this.setVar(target.name, t, s.span);
      this.exprs.set(target, this.vars.get(target.name) ?? t);
      return;
    }
    // map assignment
    const kt = this.keyType(target);
    const name = `@${target.name}`;
    const v = s.value;
    let agg: Aggregation = { kind: 'scalar' };
    let vt: Type;
    const aggDef = v.kind === 'Call' && !s.op ? aggregationDef(v.name) : undefined;
    if (v.kind === 'Call' && aggDef) {
      const r = this.aggregation(v, aggDef);
      agg = r.agg;
      vt = r.value;
    } else if (s.op) {
      const t = this.type(v);
      if (t.kind !== 'int' && t.kind !== 'none') this.error(`'${s.op}=' needs an integer`, v.span);
      vt = { kind: 'int', size: 8, signed: t.kind === 'int' ? t.signed : true };
      const m = this.maps.get(name);
      if (m) vt = m.value;
      this.scaleStep(s.op, vt, v);
    } else {
      const t = this.valueType(v);
      if (t.kind === 'none') {
        if (!this.firstPass && v.kind === 'Call') this.error(`${v.name}() does not return a value`, v.span);
        return;
      }
      if (!isStorable(t)) {
        this.error(`${typeName(t)} cannot be stored in a map`, v.span);
        return;
      }
      vt = storedType(t);
    }
    const m = this.maps.get(name);
    if (!m) {
      this.maps.set(name, { name, key: kt, multiKey: (target.keys?.length ?? 0) > 1, value: vt, agg, span: target.span });
      this.exprs.set(target, vt);
      return;
    }
    this.checkKey(m, kt, target);
    if (m.key && kt) m.key = unify(m.key, kt) ?? m.key;
    if (m.agg.kind !== agg.kind && !(s.op && m.agg.kind === 'scalar')) {
      this.error(`${name} is used as ${m.agg.kind === 'scalar' ? 'a plain value' : `${m.agg.kind}()`} elsewhere; cannot assign ${agg.kind === 'scalar' ? 'a plain value' : `${agg.kind}()`}`, s.span);
      return;
    }
    if (agg.kind === 'lhist' && m.agg.kind === 'lhist' && (agg.min !== m.agg.min || agg.max !== m.agg.max || agg.step !== m.agg.step)) {
      this.error(`${name} is an lhist with different bounds elsewhere`, s.span);
    }
    if (agg.kind === 'hist' && m.agg.kind === 'hist' && agg.bits !== m.agg.bits) this.error(`${name} is a hist with different bits elsewhere`, s.span);
    const u = unify(m.value, vt);
    if (!u) {
      this.error(`type mismatch for ${name}: assigning ${typeName(vt)} where ${typeName(m.value)} is stored elsewhere`, s.span);
      return;
    }
    m.value = u;
    this.exprs.set(target, u);
  }

  /** `@m = agg(args)`: arity, then the aggregation's own type rule (lang/aggregations.ts). */
  private aggregation(c: Call, def: AggregationDef): { agg: Aggregation; value: Type } {
    const n = c.args.length;
    if (n < def.minArgs || n > def.maxArgs) {
      const lo = def.minArgs, hi = def.maxArgs;
      this.error(`${c.name}() takes ${lo === hi ? lo : `${lo} to ${hi}`} argument${hi === 1 ? '' : 's'}, got ${n}`, c.span);
      return def.fallback;
    }
    return def.check(this, c);
  }
}
