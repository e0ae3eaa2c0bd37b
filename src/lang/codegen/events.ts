/**
 * Events: records sent through the ring buffer (a failed reserve is counted
 * in the loss map), their field layout, and the once-per-pid announcement
 * that lets user space snapshot a process's mappings before it exits.
 */
import { FP, Helper, R0, R1, R2, R3, R4, type Reg } from '../../ebpf/asm';
import type { Expr, Span } from '../ast';
import type { FieldSpec } from '../artifact';
import { align8, memSize, storedType, valueTypeOf, type Type } from '../types';
import { MapGen } from './maps';

export abstract class EventGen extends MapGen {
  /**
   * Sends one record through the event ring buffer: reserve, write the id and
   * the fields (`write` gets the record pointer in a temp), submit. A failed
   * reserve bumps the loss counter instead. The submit flags come from the
   * ring_quiet array, read in place (no lookup): no wake-up while the reader
   * is draining on its timer anyway (issue 17: a wake-up costs microseconds).
   */
  emitEvent(id: number, size: number, write: (rec: Reg) => void, span: Span | null): void {
    const ring = this.shared.ring();
    const loss = this.shared.loss();
    const lost = this.a.newLabel('lost'), end = this.a.newLabel('evend');
    this.ldMap(R1, ring);
    this.a.mov64(R2, align8(size));
    this.a.mov64(R3, 0);
    this.a.call(Helper.ringbuf_reserve);
    this.a.jeq(R0, 0, lost);
    const rec = this.temp(span);
    this.a.mov64(rec, R0);
    this.a.st('dw', rec, 0, id);
    write(rec);
    this.ldMapValue(R2, this.shared.ringQuiet(), 0);
    this.a.ldx('dw', R2, R2, 0);
    this.a.mov64(R1, rec);
    this.a.call(Helper.ringbuf_submit);
    this.release1(rec);
    this.a.ja(end);
    this.a.label(lost);
    const slot = this.alloc(8);
    this.a.st('w', FP, slot, 0);
    this.lookup(loss, { base: FP, off: slot });
    this.a.jeq(R0, 0, end);
    this.a.ldx('dw', R1, R0, 0);
    this.a.add64(R1, 1);
    this.a.stx('dw', R0, 0, R1);
    this.a.label(end);
  }

  /** Lays out expressions as record fields after the 8-byte id; returns fields and total size. */
  layoutFields(args: Expr[]): { fields: FieldSpec[]; types: Type[]; size: number } {
    let off = 8;
    const fields: FieldSpec[] = [];
    const types: Type[] = [];
    for (const a of args) {
      const t = storedType(this.type(a));
      types.push(t);
      const stack = t.kind === 'kstack' || t.kind === 'ustack' ? this.shared.stacks() : -1;
      fields.push({ offset: off, type: valueTypeOf(t, stack) });
      off = align8(off + memSize(t));
    }
    return { fields, types, size: off };
  }

  /** Writes record fields laid out by layoutFields. */
  writeFields(rec: Reg, args: Expr[], layout: { fields: FieldSpec[]; types: Type[] }): void {
    args.forEach((a, i) => this.storeInto(a, { base: rec, off: layout.fields[i].offset }, layout.types[i]));
  }

  /**
   * First time this pid records user addresses: tell userspace (once per pid)
   * so it snapshots the process's mappings before it can exit.
   */
  protected announceProcess(): void {
    const { map, event } = this.shared.capture();
    const mark = this.frameMark;
    const key = this.alloc(8);
    const val = this.alloc(8);
    const skip = this.a.newLabel('seen');
    this.a.call(Helper.get_current_pid_tgid);
    this.a.rsh64(R0, 32);
    this.a.stx('dw', FP, key, R0);
    this.a.st('dw', FP, val, 1);
    this.ldMap(R1, map);
    this.a.mov64(R2, FP);
    this.a.add64(R2, key);
    this.a.mov64(R3, FP);
    this.a.add64(R3, val);
    this.a.mov64(R4, 1); // BPF_NOEXIST: succeeds only for a new pid
    this.a.call(Helper.map_update_elem);
    this.a.jne(R0, 0, skip);
    this.emitEvent(event, 16, (rec) => {
      this.a.ldx('w', R0, FP, key);
      this.a.stx('w', rec, 8, R0);
    }, null);
    this.a.label(skip);
    this.release(mark);
  }
}
