/**
 * Statements and loops: assignments, if/while/unroll/for, break/continue/
 * return, and the callback subprograms of for ($kv : @map) and len(@map).
 */
import { FP, Helper, R0, R1, R2, R3, R4, R6, PseudoLd, type Reg } from '../../ebpf/asm';
import type { Block, Expr, MapRef, Node, Span, Stmt } from '../ast';
import { functionDef } from '../builtins';
import { NONE, isScalar, memSize, type Type } from '../types';
import { TEMPS } from './frame';
import { EventGen } from './events';
import { walk } from '../visit';

/** Names of the $variables referenced under `node`, skipping the subtree `skip`. */
function varNames(node: Node, skip?: Node): Set<string> {
  const out = new Set<string>();
  walk([node], (o) => {
    if (o === skip) return false;
    if (o.kind === 'Variable') out.add(o.name);
  });
  return out;
}

/**
 * Names of the $variables that code under `node` may change: assigned (=, op=, ++, --),
 * declared, looped over, or whose address is taken. A for-map body copies back only these.
 */
function writtenVarNames(node: Node): Set<string> {
  const out = new Set<string>();
  walk([node], (o) => {
    if ((o.kind === 'AssignStmt' || o.kind === 'IncDec') && o.target.kind === 'Variable') out.add(o.target.name);
    else if ((o.kind === 'VarDeclStmt' || o.kind === 'ForRangeStmt' || o.kind === 'ForMapStmt')) out.add(o.variable.name);
    else if (o.kind === 'Unary' && o.op === '&' && o.operand.kind === 'Variable') out.add(o.operand.name);
  });
  return out;
}

export abstract class StmtGen extends EventGen {
  /** $var = value, the variable's stack slot given: integers are narrowed to its type. */
  protected storeVar(slot: number, value: Expr, vt: Type): void {
    if (isScalar(vt)) {
      const r = this.scalar(value);
      this.normalize(r, vt);
      this.a.stx('dw', FP, slot, r);
      this.release1(r);
    } else this.storeInto(value, { base: FP, off: slot }, vt);
  }

  stmt(s: Stmt): void {
    if (s.kind !== 'Block') this.tag(s.span);
    const mark = this.frameMark;
    switch (s.kind) {
      case 'Block':
        for (const x of s.stmts) this.stmt(x);
        break;
      case 'ExprStmt': {
        const e = s.expr;
        const def = e.kind === 'Call' ? functionDef(e.name) : undefined;
        if (e.kind === 'Call' && def?.stmt) {
          def.stmt(this.lower, e);
          if (def.endsAction && s !== this.lastOfAction) this.jumpTo(this.exitLabel);
          break;
        }
        const t = this.type(e);
        if (e.kind === 'Ternary' && t.kind === 'none') {
          // `c ? printf(..) : printf(..)`: a statement in each branch, as if/else
          const branch = (x: Expr): Block => ({ kind: 'Block', stmts: [{ kind: 'ExprStmt', expr: x, span: x.span }], span: x.span });
          this.stmt({ kind: 'IfStmt', cond: e.cond, then: branch(e.then), otherwise: branch(e.otherwise), span: e.span });
          break;
        }
        if (isScalar(t)) this.release1(this.scalar(e));
        else if (t.kind !== 'none') this.dropLoc(this.addr(e));
        break;
      }
      case 'AssignStmt': {
        const tg = s.target;
        if (tg.kind === 'MapRef') {
          this.mapAssign(s, tg);
          break;
        }
        const vt = this.inst.vars.get(tg.name) ?? NONE;
        const vt2 = this.type(s.value);
        if (vt2.kind === 'none' && !s.op) {
          // statement-like call assigned to a variable (checked earlier); run it for effect
          const asStmt = s.value.kind === 'Call' ? functionDef(s.value.name)?.stmt : undefined;
          if (s.value.kind === 'Call' && asStmt) asStmt(this.lower, s.value);
          break;
        }
        const slot = this.varSlot(tg.name, tg.span);
        if (s.op) {
          const cur = this.temp(s.span);
          this.a.ldx('dw', cur, FP, slot);
          const val = this.scalar(s.value);
          this.applyOp(s.op, cur, val);
          this.normalize(cur, vt);
          this.a.stx('dw', FP, slot, cur);
          this.release1(val);
          this.release1(cur);
          break;
        }
        // `$s = $s` of a string or tuple would copy the buffer onto itself: nothing to do.
        if (!isScalar(vt) && s.value.kind === 'Variable' && s.value.name === tg.name) break;
        this.storeVar(slot, s.value, vt);
        break;
      }
      case 'VarDeclStmt': {
        const vt = this.inst.vars.get(s.variable.name) ?? NONE;
        const slot = this.varSlot(s.variable.name, s.variable.span);
        if (!s.value) this.zero({ base: FP, off: slot }, memSize(vt));
        else this.storeVar(slot, s.value, vt);
        break;
      }
      case 'IfStmt': {
        const els = this.a.newLabel('else'), end = this.a.newLabel('fi');
        this.cond(s.cond, els);
        this.release(mark);
        this.stmt(s.then);
        if (s.otherwise) this.a.ja(end);
        this.a.label(els);
        if (s.otherwise) this.stmt(s.otherwise);
        this.a.label(end);
        break;
      }
      case 'UnrollStmt': {
        const n = Number(this.constOf(s.count));
        for (let i = 0; i < n; i++) this.stmt(s.body);
        break;
      }
      case 'WhileStmt': {
        const top = this.a.newLabel('while'), out = this.a.newLabel('wend');
        this.a.label(top);
        this.cond(s.cond, out);
        this.release(mark);
        this.loops.push({ brk: out, cont: top });
        this.stmt(s.body);
        this.loops.pop();
        this.a.ja(top);
        this.a.label(out);
        break;
      }
      case 'ForRangeStmt': {
        const slot = this.varSlot(s.variable.name, s.variable.span);
        const endSlot = this.alloc(8);
        const r = this.scalar(s.start);
        this.a.stx('dw', FP, slot, r);
        this.release1(r);
        const e = this.scalar(s.end);
        this.a.stx('dw', FP, endSlot, e);
        this.release1(e);
        const top = this.a.newLabel('for'), next = this.a.newLabel('fnext'), out = this.a.newLabel('fend');
        this.a.label(top);
        this.a.ldx('dw', R1, FP, slot);
        this.a.ldx('dw', R2, FP, endSlot);
        this.a.jsge(R1, R2, out);
        this.loops.push({ brk: out, cont: next });
        const inner = this.frameMark;
        this.stmt(s.body);
        this.release(inner);
        this.loops.pop();
        this.a.label(next);
        this.a.ldx('dw', R1, FP, slot);
        this.a.add64(R1, 1);
        this.a.stx('dw', FP, slot, R1);
        this.a.ja(top);
        this.a.label(out);
        // the end slot must outlive the loop body's temporaries only
        this.release(mark);
        return;
      }
      case 'ForMapStmt':
        this.forMap(s);
        break;
      case 'ReturnStmt':
        this.jumpTo(this.exitLabel);
        break;
      case 'JumpStmt': {
        const l = this.loops[this.loops.length - 1];
        if (!l) this.fail(`'${s.jump}' outside of a loop`, s.span);
        this.jumpTo(s.jump === 'break' ? l.brk : l.cont);
        break;
      }
    }
    if (s.kind !== 'Block') this.release(mark);
  }

  /** The action's last top-level statement: an exit() there falls through to the end, no jump needed. */
  protected lastOfAction: Stmt | undefined;

  /** True while generating a callback subprogram (its stack frame is not the main program's). */
  protected inCallback = false;

  /** Labels that some jump targets (the verifier rejects unreachable blocks, so unused ones are not emitted). */
  protected jumpedTo = new Set<string>();

  protected jumpTo(label: string): void {
    this.jumpedTo.add(label);
    this.a.ja(label);
  }

  /**
   * r1..r4 for bpf_for_each_map_elem: map, callback, callback ctx (pointer to a stack slot
   * holding the probe ctx), flags. Returns that slot's frame offset (0 without one).
   */
  protected forEachCall(mapIndex: number, label: string, passCtx: boolean): number {
    let ctxSlot = 0;
    if (passCtx) {
      ctxSlot = this.alloc(8);
      this.a.stx('dw', FP, ctxSlot, this.ctx);
    }
    this.ldMap(R1, mapIndex);
    this.funcRefs.push({ at: this.a.length, label });
    this.a.ldImm64(R2, 0, PseudoLd.FUNC);
    if (passCtx) {
      this.a.mov64(R3, FP);
      this.a.add64(R3, ctxSlot);
    } else this.a.mov64(R3, 0);
    this.a.mov64(R4, 0);
    this.a.call(Helper.for_each_map_elem);
    return ctxSlot;
  }

  /** The variables a for ($kv : @map) body shares with the code around it. */
  protected capturedVars(s: Extract<Stmt, { kind: 'ForMapStmt' }>): string[] {
    const inner = varNames(s.body);
    inner.delete(s.variable.name);
    const outer = varNames(this.inst.probe, s.body);
    return [...inner].filter((v) => outer.has(v) && this.inst.vars.has(v));
  }

  /** len(@map): bpf_for_each_map_elem with a callback that visits everything; r0 is the count. */
  mapLength(m: MapRef, span: Span): Reg {
    const { index } = this.shared.userMap(`@${m.name}`);
    const label = this.a.newLabel('len_cb');
    this.subprogs.push({ label, emit: () => {
      this.a.mov64(R0, 0);
      this.a.exit();
    } });
    this.forEachCall(index, label, false);
    const r = this.temp(span);
    this.a.mov64(r, R0);
    return r;
  }

  /**
   * for ($kv : @map) { body }: the body becomes a callback subprogram with its
   * own stack frame; $kv is (key, value) copied from the kernel's pointers.
   * Variables of the enclosing code it uses are copied into its frame from the
   * caller's (the callback ctx points into the caller's stack, which the
   * verifier lets a callback read and write) and back after each element.
   */
  protected forMap(s: Extract<Stmt, { kind: 'ForMapStmt' }>): void {
    const { index, info } = this.shared.userMap(`@${s.map.name}`);
    if (info.agg.kind !== 'scalar') this.fail('internal: the checker lets for iterate only plain-value maps', s.map.span);
    const captured = this.capturedVars(s);
    // the verifier refuses the copy when the caller is itself a callback (a nested for loop)
    if (captured.length && this.inCallback) {
      this.fail(`$${captured[0]} is used both inside and outside this for loop, which is nested in another: a nested for ($kv : @map) body cannot share variables with the code around it`, s.span);
    }
    let ctxSlot = 0;
    const kvType = this.inst.vars.get(s.variable.name);
    if (!kvType || kvType.kind !== 'tuple') this.fail('internal: for-loop variable is not a tuple', s.span);
    const label = this.a.newLabel('for_cb');
    this.subprogs.push({ label, emit: () => {
      // fresh frame, registers and variables for the callback
      const saved = { frame: this.frame, vars: this.vars, free: this.free, vfree: this.vfree, loops: this.loops, exit: this.exitLabel, inCallback: this.inCallback };
      this.inCallback = true;
      this.frame = 0;
      this.vars = new Map();
      this.free = [...TEMPS];
      this.vfree = [];
      this.loops = [];
      const stop = this.a.newLabel('for_stop'), next = this.a.newLabel('for_next');
      this.exitLabel = stop;
      // the callback ctx (r4) points at the caller's ctx slot: the caller's variables lie at fixed distances from it
      const callerCtx = this.alloc(8);
      this.a.stx('dw', FP, callerCtx, R4);
      const written = writtenVarNames(s.body);
      const shared = captured.map((v) => {
        const there = saved.vars.get(v);
        if (there === undefined) this.fail(`internal: $${v} has no slot in the code around this for loop`, s.span);
        return { here: this.varSlot(v, s.span), there: there - ctxSlot, size: memSize(this.inst.vars.get(v)!), written: written.has(v) };
      });
      // in: every shared variable; out, after each element: only those the body may change
      const exchange = (inward: boolean) => {
        const moved = inward ? shared : shared.filter((x) => x.written);
        if (!moved.length) return;
        this.a.ldx('dw', R1, FP, callerCtx);
        for (const x of moved) {
          if (inward) this.copy({ base: FP, off: x.here }, { base: R1, off: x.there }, x.size);
          else this.copy({ base: R1, off: x.there }, { base: FP, off: x.here }, x.size);
        }
      };
      exchange(true);
      const slot = this.varSlot(s.variable.name, s.variable.span);
      const kvLoc = { base: FP, off: slot };
      this.zeroPadding(kvLoc, kvType);
      const keySize = info.key ? memSize(info.key) : 8;
      this.copy({ base: FP, off: slot + kvType.offsets[0] }, { base: R2, off: 0 }, Math.min(keySize, memSize(kvType.fields[0])));
      this.copy({ base: FP, off: slot + kvType.offsets[1] }, { base: R3, off: 0 }, Math.min(memSize(info.value), memSize(kvType.fields[1])));
      this.a.ldx('dw', R6, R4, 0);
      this.loops.push({ brk: stop, cont: next });
      this.stmt(s.body);
      const last = s.body.stmts[s.body.stmts.length - 1];
      const fallsThrough = !last || (last.kind !== 'JumpStmt' && last.kind !== 'ReturnStmt');
      this.a.label(next);
      if (fallsThrough || this.jumpedTo.has(next)) {
        exchange(false);
        this.a.mov64(R0, 0);
        this.a.exit();
      }
      this.a.label(stop);
      if (this.jumpedTo.has(stop)) {
        exchange(false);
        this.a.mov64(R0, 1);
        this.a.exit();
      }
      this.frame = saved.frame;
      this.vars = saved.vars;
      this.free = saved.free;
      this.vfree = saved.vfree;
      this.loops = saved.loops;
      this.exitLabel = saved.exit;
      this.inCallback = saved.inCallback;
    } });
    ctxSlot = this.forEachCall(index, label, true);
  }
}
