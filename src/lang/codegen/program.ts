/**
 * Whole programs: the prologues (the syscall filter of merged raw_syscalls
 * programs, process capture), the `probe` value, finalisation into
 * instructions with a source map and callback functions, and the synthetic
 * start-time program of `elapsed`.
 */
import { Asm, AsmError, FP, Helper, R0, R1, R2, R3, R6, type Insn, PseudoLd, type Reg } from '../../ebpf/asm';
import type { Span } from '../ast';
import type { ProgramSpec } from '../artifact';
import type { Lowering } from '../feature';
import type { InstanceTypes } from '../semantic';
import type { Target } from '../../target/target';
import type { Shared } from './resources';
import { StmtGen } from './statements';
import { STACK_LIMIT } from './frame';
import { some, walk } from '../visit';
import { memSize } from '../types';
import { rewriteVirtual } from './spill';

/** x86 thread_info.status flag of a task inside a 32-bit syscall. */
const TS_COMPAT = 0x0002;

/** Offset of task_struct.thread_info.status (thread_info is embedded in task_struct on x86-64), from BTF; undefined when unknown. */
function compatStatusOffset(target: Target): number | undefined {
  if (target.arch.name !== 'x86_64') return undefined;
  try {
    const btf = target.btf();
    const id = btf.find('task_struct', 'struct');
    return id === undefined ? undefined : btf.memberOffset(id, 'thread_info.status');
  } catch {
    return undefined; // no BTF: compat syscalls are not filtered (32-bit processes are rare)
  }
}

/** Whether a probe records user addresses that are symbolized later (ustack, usym, func in user probes). */
function recordsUserAddresses(probe: InstanceTypes['probe'], userCtx: boolean): boolean {
  return some([probe.predicate, probe.body], (o) => (o.kind === 'Builtin' || o.kind === 'Call') && (o.name === 'ustack' || o.name === 'usym' || (o.name === 'func' && userCtx)));
}

/** Generates one program; builtins' lowerings see it as a Lowering. */
export class Gen extends StmtGen implements Lowering {
  protected get lower(): Lowering {
    return this;
  }

  /** FP slot holding this event's index into probeNames, for programs serving several syscalls (see syscall-merge.ts). */
  protected probeSlot: number | undefined;

  /**
   * Prologue of a merged raw_syscalls program: look the syscall id up in a
   * table of the selected syscalls (value: probe name index + 1) and return
   * early for the others.
   */
  protected syscallFilter(nrs: number[]): void {
    const size = Math.max(...nrs) + 1;
    const initial = nrs.map((nr, i) => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(nr);
      const value = Buffer.alloc(4);
      value.writeUInt32LE(this.probeNameIndex + i + 1);
      return { key: key.toString('hex'), value: value.toString('hex') };
    });
    const map = this.shared.addMap({ name: `sysnr_${this.shared.maps.length}`.slice(0, 15), kind: 'array', keySize: 4, valueSize: 4, maxEntries: size, initial });
    this.probeSlot = this.alloc(8);
    const compat = compatStatusOffset(this.target);
    if (compat !== undefined) {
      // 32-bit (ia32) syscalls have other numbers; the per-syscall tracepoints ignore them, so must we:
      // skip when current->thread_info.status has TS_COMPAT
      this.a.st('dw', FP, this.probeSlot, 0);
      this.a.call(Helper.get_current_task);
      this.a.mov64(R3, R0);
      this.a.add64(R3, compat);
      this.a.mov64(R1, FP);
      this.a.add64(R1, this.probeSlot);
      this.a.mov64(R2, 4);
      this.callRead(Helper.probe_read_kernel);
      this.a.ldx('w', R1, FP, this.probeSlot);
      this.a.and64(R1, TS_COMPAT);
      this.a.jne(R1, 0, this.exitLabel);
    }
    this.a.ldx('dw', R1, this.ctx, 8);
    // unsigned compare: also rejects negative ids
    this.a.jge(R1, size, this.exitLabel);
    this.a.stx('dw', FP, this.probeSlot, R1);
    this.lookup(map, { base: FP, off: this.probeSlot });
    this.a.jeq(R0, 0, this.exitLabel);
    this.a.ldx('w', R1, R0, 0);
    this.a.jeq(R1, 0, this.exitLabel);
    this.a.sub64(R1, 1);
    this.a.stx('dw', FP, this.probeSlot, R1);
  }

  /** r = index of this event's probe name (a constant unless the program serves several points). */
  probeIndexValue(r: Reg, span: Span | null = null): void {
    if (this.probeSlot !== undefined && this.inCallback) this.fail('probe cannot be used inside a for ($kv : @map) loop of a wildcard syscall probe; assign it to a map first', span);
    if (this.inst.ctx.probeFromCookie) {
      this.a.mov64(R1, this.ctx);
      this.a.call(Helper.get_attach_cookie);
      this.a.mov64(r, R0);
      return;
    }
    if (this.probeSlot !== undefined) this.a.ldx('dw', r, FP, this.probeSlot);
    else this.a.mov64(r, this.probeNameIndex);
  }

  /** Resolves labels; a jump too far for BPF's 16-bit offsets is the program's size, said in one sentence. */
  private resolve(): Insn[] {
    try {
      return this.a.resolve();
    } catch (e) {
      if (!(e instanceof AsmError)) throw e;
      this.fail(`this probe's program is too large for BPF: a jump spans more than 32,767 instructions (${e.message}); split the probe or shorten its expressions`, this.inst.probe.span);
    }
  }

  /** Gives the virtual registers of a program that ran out of r7–r9 their stack slots (spill.ts). */
  private spillVirtual(insns: Insn[]): ReturnType<typeof rewriteVirtual> {
    try {
      return rewriteVirtual(insns, this.frameHigh, [0, ...this.subprogStart.values()], STACK_LIMIT);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      if (e.message === 'jump') this.fail("this probe's program is too large for BPF: a jump spans more than 32,767 instructions once its expressions' temporaries are spilled; split the probe or shorten its expressions", this.inst.probe.span);
      this.fail(`this probe needs more than ${STACK_LIMIT} bytes of BPF stack for its expressions' temporaries; split its expressions into variables`, this.inst.probe.span);
    }
  }

  /** Generates the whole program. */
  program(): { insns: Insn[]; sourceMap: (Span | null)[]; functions?: { insn: number; name: string }[] } {
    this.a.mov64(R6, R1);
    const p = this.inst.probe;
    // After exit() no probe the kernel fires runs its action (4 instruction slots; none when the script has
    // no exit()). Those user space runs (BEGIN, END) do not test it: every BEGIN runs, as in bpftrace, and
    // END runs because of the exit.
    if (this.shared.exitFlagIndex >= 0 && !this.inst.ctx.fromUserSpace) {
      this.ldMapValue(R1, this.shared.exitFlagIndex, 0);
      this.a.ldx('w', R1, R1, 0);
      this.a.jne(R1, 0, this.exitLabel);
    }
    if (this.inst.ctx.syscalls) this.syscallFilter(this.inst.ctx.syscalls.nrs);
    // Scratch variables are allocated lazily; allocating them first keeps them below temporaries.
    for (const name of this.inst.vars.keys()) this.varSlot(name, null);
    // variables a for-map body shares start at 0: the body copies them in whatever path led there
    const shared = new Set<string>();
    walk([p.body], (n) => {
      if (n.kind === 'ForMapStmt') for (const v of this.capturedVars(n)) shared.add(v);
    });
    for (const v of shared) this.zero({ base: FP, off: this.varSlot(v, null) }, memSize(this.inst.vars.get(v)!));
    if (p.predicate) {
      this.tag(p.predicate.span);
      this.cond(p.predicate, this.exitLabel);
    }
    if (recordsUserAddresses(p, this.inst.ctx.user)) this.announceProcess();
    this.lastOfAction = p.body.stmts[p.body.stmts.length - 1];
    this.stmt(p.body);
    this.a.label(this.exitLabel);
    this.a.setTag(undefined);
    this.a.mov64(R0, 0);
    this.a.exit();
    // Callbacks may queue more callbacks (nested loops): drain until none is left.
    for (let i = 0; i < this.subprogs.length; i++) {
      const sp = this.subprogs[i];
      this.subprogStart.set(sp.label, this.a.length);
      this.a.label(sp.label);
      sp.emit();
    }
    let insns = this.resolve();
    let at = (old: number) => old;
    let origin = (i: number) => i;
    const spilled = this.spillVirtual(insns);
    if (spilled) {
      insns = spilled.insns;
      at = spilled.at;
      origin = (i) => spilled.origin[i];
    }
    for (const f of this.funcRefs) {
      const start = this.subprogStart.get(f.label);
      if (start === undefined) this.fail(`internal: callback ${f.label} was not emitted`, null);
      insns[at(f.at)] = { ...insns[at(f.at)], imm: at(start) - at(f.at) - 1 };
    }
    for (const [label, start] of this.subprogStart) this.subprogStart.set(label, at(start));
    const sourceMap = insns.map((_, i) => {
      const t = this.a.tags.get(origin(i));
      return t === undefined ? null : this.spans[t];
    });
    // Saving the context costs an instruction that programs which never read r6 do not
    // need. Nothing jumps to the first instruction and every jump is relative, so
    // dropping it moves only absolute positions: the callbacks' starts.
    const skip = insns.slice(1).some((i) => i.dst === R6.n || i.src === R6.n) ? 0 : 1;
    if (skip) {
      insns.shift();
      sourceMap.shift();
    }
    if (!this.subprogs.length) return { insns, sourceMap };
    const functions = [{ insn: 0, name: 'main' }, ...this.subprogs.map((sp) => ({ insn: (this.subprogStart.get(sp.label) as number) - skip, name: sp.label.replace(/^\./, '') }))];
    return { insns, sourceMap, functions };
  }
}

/** Builds the program that records the start time for `elapsed`. */
export function startTimeProgram(shared: Shared): ProgramSpec {
  const a = new Asm();
  a.call(Helper.ktime_get_ns);
  a.mov64(R6, R0);
  a.st('w', FP, -8, 0);
  a.ldImm64(R1, shared.start(), PseudoLd.MAP_FD);
  a.mov64(R2, FP);
  a.add64(R2, -8);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.stx('dw', R0, 0, R6);
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  const insns = a.resolve();
  return { name: 'start_time', type: 'raw_tracepoint', attach: [{ kind: 'begin' }], insns, sourceMap: insns.map(() => null), probeIndex: -1 };
}
