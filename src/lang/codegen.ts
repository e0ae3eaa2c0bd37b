/**
 * Code generation: one typed probe instance → eBPF instructions.
 *
 * Register convention: r6 holds the context for the whole program; r7–r9 are
 * expression temporaries (callee-saved, so they survive helper calls); r0–r5
 * are scratch within one lowering step and die at every call. Expressions
 * that need more temporaries than are free spill the left operand to the
 * stack (Sethi–Ullman order), so evaluation never runs out of registers.
 *
 * Stack: scratch variables get fixed slots for the whole program; memory
 * temporaries (keys, strings, values) are freed at the end of each statement.
 * Integers in memory are always 8 bytes.
 */
import {
  Asm, FP, Helper, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, type Insn, PseudoLd, type Reg, type JmpCond,
} from '../ebpf/asm';
import type { Call, Expr, MapRef, Span, Stmt } from './ast';
import type { EventSpec, FieldSpec, MapSpec, ProgramSpec, UserMapSpec } from './artifact';
import { CompileError } from './diagnostics';
import { BUILTIN_VARS, FUNCTIONS } from './builtins';
import {
  type InstanceTypes, type MapInfo, type Type, NONE, OFFSETOF_VALUES, BTF_FIELD_OFFSETS, align8, fieldType, isScalar, memSize, storedType, tupleType, valueTypeOf,
} from './semantic';
import { argOffsets } from '../arch';
import type { Target } from '../target/target';

const STACK_LIMIT = 512;

/** Resources shared by all programs of one script. */
export class Shared {
  readonly maps: MapSpec[] = [];
  readonly events: EventSpec[] = [];
  readonly userMaps: UserMapSpec[] = [];
  private readonly userMapIndex = new Map<string, number>();
  ringIndex = -1;
  lossIndex = -1;
  stackIndex = -1;
  startIndex = -1;
  readonly probeNames: string[] = [];

  constructor(
    readonly mapInfos: Map<string, MapInfo>,
    readonly opts: { strlen: number; maxMapKeys: number; ringSize: number; stackLimit: number; target: Target },
    readonly params: string[],
  ) {}

  addMap(spec: MapSpec): number {
    this.maps.push(spec);
    return this.maps.length - 1;
  }

  /** The user map's index into `maps`, creating it on first use. */
  userMap(name: string): { index: number; info: MapInfo } {
    const info = this.mapInfos.get(name);
    if (!info) throw new CompileError(`undefined map: ${name}`, null);
    let um = this.userMapIndex.get(name);
    if (um === undefined) {
      const agg = info.agg;
      const hist = agg.kind === 'hist' || agg.kind === 'lhist';
      const percpu = agg.kind !== 'scalar';
      let keySize = info.key ? memSize(info.key) : 8;
      if (hist) keySize += 8;
      const kname = `AT_${name.slice(1)}`.slice(0, 15);
      const index = this.addMap({
        name: kname,
        kind: percpu ? 'percpu_hash' : 'hash',
        keySize,
        // min/max: value plus a "set" flag, so CPUs that never saw the key do not count as 0
        valueSize: agg.kind === 'min' || agg.kind === 'max' ? 16 : Math.max(8, memSize(info.value)),
        maxEntries: this.opts.maxMapKeys,
      });
      // The key/value layouts name the stack map: create it before describing them.
      if (hasStack(info.key) || hasStack(info.value)) this.stacks();
      // hist/lhist keys carry the bucket index in 8 more bytes, which the runtime strips
      const key = info.key ? valueTypeOf(info.key, this.stackIndex) : null;
      this.userMaps.push({ name, map: index, key, multiKey: info.multiKey, value: valueTypeOf(info.value, this.stackIndex), aggregation: agg, percpu });
      um = this.userMaps.length - 1;
      this.userMapIndex.set(name, um);
    }
    return { index: this.userMaps[um].map, info };
  }

  userMapNumber(name: string): number {
    this.userMap(name);
    return this.userMapIndex.get(name) as number;
  }

  ring(): number {
    if (this.ringIndex < 0) this.ringIndex = this.addMap({ name: 'events', kind: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: this.opts.ringSize });
    return this.ringIndex;
  }

  loss(): number {
    if (this.lossIndex < 0) this.lossIndex = this.addMap({ name: 'lost', kind: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 });
    return this.lossIndex;
  }

  stacks(): number {
    if (this.stackIndex < 0) {
      this.stackIndex = this.addMap({ name: 'stacks', kind: 'stack_trace', keySize: 4, valueSize: 8 * this.opts.stackLimit, maxEntries: 4096 });
    }
    return this.stackIndex;
  }

  /** Array map (1 × u64) holding the script's start time for `elapsed`, written by a synthetic BEGIN program. */
  start(): number {
    if (this.startIndex < 0) this.startIndex = this.addMap({ name: 'start', kind: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
    return this.startIndex;
  }

  private seenIndex = -1;
  private captureEvent = -1;

  /** LRU set of pids already announced to userspace for symbol capture, and the event announcing one. */
  capture(): { map: number; event: number } {
    if (this.seenIndex < 0) {
      this.seenIndex = this.addMap({ name: 'seen_pids', kind: 'lru_hash', keySize: 4, valueSize: 1, maxEntries: 16384 });
      this.captureEvent = this.addEvent({ kind: 'capture', pid: { offset: 8, type: { kind: 'int', size: 4, signed: false } } });
    }
    return { map: this.seenIndex, event: this.captureEvent };
  }

  addEvent(e: EventSpec): number {
    this.events.push(e);
    return this.events.length - 1;
  }
}

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

/**
 * Visits every AST node object under `node` (arrays are walked through, spans
 * skipped); `enter` returns false to skip a node's children.
 */
function walkAst(node: unknown, enter: (n: { kind?: string; name?: string }) => boolean): void {
  const visit = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach(visit);
      return;
    }
    if (!enter(n as { kind?: string; name?: string })) return;
    for (const [k, v] of Object.entries(n)) if (k !== 'span') visit(v);
  };
  visit(node);
}

/** Names of the $variables referenced under `node`, skipping the subtree `skip`. */
function varNames(node: unknown, skip?: unknown): Set<string> {
  const out = new Set<string>();
  walkAst(node, (o) => {
    if (o === skip) return false;
    if (o.kind === 'Variable' && o.name) out.add(o.name);
    return true;
  });
  return out;
}

/** Whether a probe records user addresses that are symbolized later (ustack, usym, func in user probes). */
function recordsUserAddresses(probe: InstanceTypes['probe'], userCtx: boolean): boolean {
  let found = false;
  const enter = (o: { kind?: string; name?: string }): boolean => {
    if (found) return false;
    if ((o.kind === 'Builtin' || o.kind === 'Call') && (o.name === 'ustack' || o.name === 'usym' || (o.name === 'func' && userCtx))) found = true;
    return !found;
  };
  walkAst(probe.predicate, enter);
  walkAst(probe.body, enter);
  return found;
}

function hasStack(t: Type | null): boolean {
  if (!t) return false;
  if (t.kind === 'kstack' || t.kind === 'ustack') return true;
  return t.kind === 'tuple' && t.fields.some(hasStack);
}

/** A location in memory: base register (FP or a temp holding a pointer) plus offset. */
export interface Loc {
  base: Reg;
  off: number;
}

const TEMPS: readonly Reg[] = [R7, R8, R9];

const SIZE_NAME: Record<number, 'b' | 'h' | 'w' | 'dw'> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };

/** Widest access (8/4/2/1) that fits in `left` bytes and is aligned at both offsets (bases are 8-aligned). */
function chunk(left: number, a: number, b: number): number {
  for (const n of [8, 4, 2]) if (left >= n && ((a % n) + n) % n === 0 && ((b % n) + n) % n === 0) return n;
  return 1;
}

/** Generates one program. Builtins' lowering hooks receive it. */
export class Gen {
  readonly a = new Asm();
  private free: Reg[] = [...TEMPS];
  private frame = 0;
  private vars = new Map<string, number>();
  private loops: { brk: string; cont: string }[] = [];
  private exitLabel: string;
  /** Callback subprograms (for_each_map_elem), emitted after the main program. */
  private subprogs: { label: string; emit: () => void }[] = [];
  private funcRefs: { at: number; label: string }[] = [];
  private subprogStart = new Map<string, number>();
  readonly spans: Span[] = [];
  readonly ctx = R6;

  constructor(readonly inst: InstanceTypes, readonly shared: Shared, readonly probeNameIndex: number) {
    this.exitLabel = this.a.newLabel('exit');
  }

  // ---- resources ------------------------------------------------------------

  type(e: Expr): Type {
    return this.inst.exprs.get(e) ?? NONE;
  }

  fail(msg: string, span: Span | null): never {
    throw new CompileError(msg, span);
  }

  /** Allocates `size` bytes (8-aligned) of stack; returns the FP-relative offset. */
  alloc(size: number, span: Span | null = null): number {
    this.frame += align8(Math.max(size, 1));
    if (this.frame > STACK_LIMIT) {
      this.fail(`this probe needs more than ${STACK_LIMIT} bytes of BPF stack; use shorter strings (config = { strlen = N }) or fewer variables`, span);
    }
    return -this.frame;
  }

  get frameMark(): number {
    return this.frame;
  }

  release(mark: number): void {
    this.frame = mark;
  }

  temp(span: Span | null = null): Reg {
    const r = this.free.pop();
    if (!r) this.fail('expression too complex (out of registers)', span);
    return r;
  }

  release1(r: Reg): void {
    if (TEMPS.includes(r) && !this.free.includes(r)) this.free.push(r);
  }

  freeCount(): number {
    return this.free.length;
  }

  ldMap(dst: Reg, mapIndex: number): void {
    this.a.ldImm64(dst, mapIndex, PseudoLd.MAP_FD);
  }

  /** r<dst> = FP + off (a stack pointer). */
  lea(dst: Reg, loc: Loc): void {
    this.a.mov64(dst, loc.base);
    if (loc.off) this.a.add64(dst, loc.off);
  }

  zero(loc: Loc, size: number): void {
    for (let o = 0; o < size;) {
      const n = chunk(size - o, loc.off + o, loc.off + o);
      this.a.st(SIZE_NAME[n], loc.base, loc.off + o, 0);
      o += n;
    }
  }

  /** Copies bytes with the widest accesses both sides' alignment allows (the verifier rejects misaligned stack access). */
  copy(dst: Loc, src: Loc, size: number): void {
    for (let o = 0; o < size;) {
      const n = chunk(size - o, dst.off + o, src.off + o);
      this.a.ldx(SIZE_NAME[n], R0, src.base, src.off + o);
      this.a.stx(SIZE_NAME[n], dst.base, dst.off + o, R0);
      o += n;
    }
  }

  /** Stores constant bytes. */
  storeBytes(dst: Loc, bytes: Buffer): void {
    for (let o = 0; o < bytes.length;) {
      const n = chunk(Math.min(bytes.length - o, 4), dst.off + o, dst.off + o);
      const v = n === 4 ? bytes.readInt32LE(o) : n === 2 ? bytes.readInt16LE(o) : bytes.readInt8(o);
      this.a.st(SIZE_NAME[n], dst.base, dst.off + o, v);
      o += n;
    }
  }

  /** Narrows a 64-bit register to an integer type (truncate, then sign/zero-extend). */
  normalize(r: Reg, t: Type): void {
    if (t.kind !== 'int' || t.size === 8) return;
    const bits = t.size * 8;
    if (t.signed) {
      this.a.lsh64(r, 64 - bits);
      this.a.arsh64(r, 64 - bits);
    } else if (t.size === 4) {
      this.a.mov32(r, r);
    } else {
      this.a.and64(r, (1 << bits) - 1);
    }
  }

  // ---- expressions --------------------------------------------------------------

  /** Registers an expression needs (rough Sethi–Ullman number). */
  need(e: Expr): number {
    switch (e.kind) {
      case 'Binary':
        return Math.max(this.need(e.left), this.need(e.right) + 1);
      case 'Unary':
      case 'Cast':
        return this.need(e.operand);
      case 'Ternary':
        return Math.max(this.need(e.cond), this.need(e.then), this.need(e.otherwise));
      case 'Call':
        return e.args.reduce((m, x) => Math.max(m, this.need(x) + 1), 1);
      case 'Index':
        return Math.max(this.need(e.object), this.need(e.index) + 1);
      default:
        return 1;
    }
  }

  /** Evaluates a scalar expression into a fresh temporary register. */
  scalar(e: Expr): Reg {
    const t = this.type(e);
    switch (e.kind) {
      case 'IntegerLit': {
        const r = this.temp(e.span);
        this.a.movConst(r, e.value);
        return r;
      }
      case 'BoolLit': {
        const r = this.temp(e.span);
        this.a.mov64(r, e.value ? 1 : 0);
        return r;
      }
      case 'PositionalParam': {
        const r = this.temp(e.span);
        const v = e.index === 0 ? BigInt(this.paramsCount()) : this.paramInt(e.index);
        this.a.movConst(r, v);
        return r;
      }
      case 'Builtin': {
        const b = BUILTIN_VARS[e.name] ?? BUILTIN_VARS[e.name.replace(/\d+$/, 'N')];
        if (!b?.scalar) this.fail(`${e.name} cannot be used as a value here`, e.span);
        return b.scalar(this, e);
      }
      case 'Variable': {
        const r = this.temp(e.span);
        this.a.ldx('dw', r, FP, this.varSlot(e.name, e.span));
        return r;
      }
      case 'MapRef':
        return this.mapReadScalar(e);
      case 'Call': {
        const f = FUNCTIONS[e.name];
        if (!f?.scalar) this.fail(`${e.name}() cannot be used as a value`, e.span);
        return f.scalar(this, e);
      }
      case 'Binary':
        return this.binary(e);
      case 'Unary': {
        if (e.op === '!') return this.boolOf(e);
        const r = this.scalar(e.operand);
        if (e.op === '-') this.a.neg64(r);
        else if (e.op === '~') this.a.xor64(r, -1);
        return r;
      }
      case 'Ternary': {
        const els = this.a.newLabel('else'), end = this.a.newLabel('tend');
        const r = this.temp(e.span);
        this.cond(e.cond, els);
        const r1 = this.scalar(e.then);
        this.a.mov64(r, r1);
        this.release1(r1);
        this.a.ja(end);
        this.a.label(els);
        const r2 = this.scalar(e.otherwise);
        this.a.mov64(r, r2);
        this.release1(r2);
        this.a.label(end);
        return r;
      }
      case 'Cast': {
        const r = this.scalar(e.operand);
        this.normalize(r, t);
        return r;
      }
      case 'FieldAccess': {
        if (BTF_FIELD_OFFSETS.has(e)) return this.btfRead(e, t);
        return this.fieldScalar(e.object, e.field, e.span);
      }
      case 'IncDec':
        return this.incDec(e);
      case 'Offsetof': {
        const v = OFFSETOF_VALUES.get(e);
        if (v === undefined) this.fail('internal: offsetof() was not computed', e.span);
        const r = this.temp(e.span);
        this.a.mov64(r, v);
        return r;
      }
      case 'Index':
        return this.indexScalar(e);
      case 'TupleIndex': {
        const mark = this.frameMark;
        const loc = this.addr(e.object);
        const ot = this.type(e.object);
        const r = this.temp(e.span);
        if (ot.kind === 'tuple') this.a.ldx('dw', r, loc.base, loc.off + ot.offsets[e.index]);
        this.dropLoc(loc);
        this.release(Math.min(mark, this.frameMark));
        return r;
      }
      case 'Sizeof': {
        const r = this.temp(e.span);
        const op = e.operand;
        let n = 8;
        if (op.kind === 'TypeName') {
          const ct = this.inst.exprs.get(e);
          n = ct ? 8 : 8;
          const m = /^u?int(8|16|32|64)$/.exec(op.base);
          if (op.pointerDepth > 0) n = 8;
          else if (m) n = Number(m[1]) / 8;
          else if (op.base === 'char' || op.base === 'bool') n = 1;
          else if (op.base === 'short') n = 2;
          else if (op.base === 'int') n = 4;
          if (op.arrayLength !== null) n *= op.arrayLength;
        } else {
          const ot = this.type(op);
          n = ot.kind === 'int' ? ot.size : ot.kind === 'array' ? ot.field.size : memSize(ot);
        }
        this.a.mov64(r, n);
        return r;
      }
      default:
        this.fail(`${e.kind} cannot be used as a number`, e.span);
    }
  }

  /** Register holding the kernel address of a BTF member access (`ptr->a`, `ptr->emb.b`). */
  private btfAddr(e: Extract<Expr, { kind: 'FieldAccess' }>): Reg {
    const off = BTF_FIELD_OFFSETS.get(e) ?? 0;
    const ot = this.type(e.object);
    const base = ot.kind === 'int' && ot.embedded && e.object.kind === 'FieldAccess' ? this.btfAddr(e.object) : this.scalar(e.object);
    if (off) this.a.add64(base, off);
    return base;
  }

  /** Reads a scalar member of a kernel struct through bpf_probe_read_kernel (0 when unreadable). */
  private btfRead(e: Extract<Expr, { kind: 'FieldAccess' }>, t: Type): Reg {
    if (t.kind !== 'int') this.fail(`${e.field} is not a number`, e.span);
    if (t.embedded) this.fail(`${e.field} is a struct: access one of its members`, e.span);
    const r = this.btfAddr(e);
    const slot = this.alloc(8);
    this.a.st('dw', FP, slot, 0);
    this.a.mov64(R1, FP);
    this.a.add64(R1, slot);
    this.a.mov64(R2, t.size);
    this.a.mov64(R3, r);
    this.a.call(Helper.probe_read_kernel);
    this.a.ldx('dw', r, FP, slot);
    this.normalize(r, t);
    return r;
  }

  /** `x++` / `++x` as a value: the update as its statement form, then the old or new value. */
  private incDec(e: Extract<Expr, { kind: 'IncDec' }>): Reg {
    const delta = e.assign.op === '+' ? 1 : -1;
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

  private paramsCount(): number {
    return this.shared.params.length;
  }

  paramInt(i: number): bigint {
    const p = this.shared.params[i - 1];
    return p !== undefined && /^-?(0x[0-9a-f]+|\d+)$/i.test(p) ? BigInt(p) : 0n;
  }

  paramStr(i: number): string {
    return this.shared.params[i - 1] ?? '';
  }

  private boolOf(e: Expr): Reg {
    const r = this.temp(e.span);
    const f = this.a.newLabel('false');
    const end = this.a.newLabel('bend');
    // r is reserved before evaluating the condition so the condition's temps differ.
    this.cond(e, f);
    this.a.mov64(r, 1);
    this.a.ja(end);
    this.a.label(f);
    this.a.mov64(r, 0);
    this.a.label(end);
    return r;
  }

  private binary(e: Extract<Expr, { kind: 'Binary' }>): Reg {
    const op = e.op;
    if (['==', '!=', '<', '<=', '>', '>=', '&&', '||'].includes(op)) return this.boolOf(e);
    const t = this.type(e);
    const [l, r] = this.operands(e.left, e.right);
    switch (op) {
      case '+': this.a.add64(l, r); break;
      case '-': this.a.sub64(l, r); break;
      case '*': this.a.mul64(l, r); break;
      case '/': this.a.div64(l, r); break;
      case '%': this.a.mod64(l, r); break;
      case '&': this.a.and64(l, r); break;
      case '|': this.a.or64(l, r); break;
      case '^': this.a.xor64(l, r); break;
      case '<<': this.a.lsh64(l, r); break;
      case '>>': this.a.rsh64(l, r); break;
      default: this.fail(`operator ${op} not supported`, e.span);
    }
    this.release1(r);
    this.normalize(l, t);
    return l;
  }

  /** Evaluates two operands into registers, spilling the left one if the right one needs the registers. */
  operands(left: Expr, right: Expr): [Reg, Reg] {
    let l = this.scalar(left);
    if (this.need(right) > this.freeCount()) {
      const slot = this.alloc(8);
      this.a.stx('dw', FP, slot, l);
      this.release1(l);
      const r = this.scalar(right);
      l = this.temp(left.span);
      this.a.ldx('dw', l, FP, slot);
      return [l, r];
    }
    return [l, this.scalar(right)];
  }

  /** Jumps to `falseLabel` when `e` is false (zero), falls through otherwise. */
  cond(e: Expr, falseLabel: string): void {
    if (e.kind === 'Unary' && e.op === '!') {
      const t = this.a.newLabel('not');
      this.cond(e.operand, t);
      this.a.ja(falseLabel);
      this.a.label(t);
      return;
    }
    if (e.kind === 'Binary') {
      if (e.op === '&&') {
        this.cond(e.left, falseLabel);
        this.cond(e.right, falseLabel);
        return;
      }
      if (e.op === '||') {
        const t = this.a.newLabel('or');
        const f = this.a.newLabel('orf');
        this.cond(e.left, f);
        this.a.ja(t);
        this.a.label(f);
        this.cond(e.right, falseLabel);
        this.a.label(t);
        return;
      }
      const cmp = ['==', '!=', '<', '<=', '>', '>='];
      if (cmp.includes(e.op)) {
        const lt = this.type(e.left), rt = this.type(e.right);
        if (lt.kind === 'string' || rt.kind === 'string') {
          this.stringCompare(e.left, e.right, e.op === '==' ? falseLabel : null, e.op === '!=' ? falseLabel : null);
          return;
        }
        const signed = lt.kind === 'int' && rt.kind === 'int' && lt.signed && rt.signed;
        const neg: Record<string, JmpCond> = signed
          ? { '==': 'JNE', '!=': 'JEQ', '<': 'JSGE', '<=': 'JSGT', '>': 'JSLE', '>=': 'JSLT' }
          : { '==': 'JNE', '!=': 'JEQ', '<': 'JGE', '<=': 'JGT', '>': 'JLE', '>=': 'JLT' };
        const rc = e.right.kind === 'IntegerLit' && e.right.value >= -0x80000000n && e.right.value <= 0x7fffffffn ? Number(e.right.value) : undefined;
        if (rc !== undefined) {
          const l = this.scalar(e.left);
          this.a.jcond(neg[e.op], l, rc, falseLabel);
          this.release1(l);
          return;
        }
        const [l, r] = this.operands(e.left, e.right);
        this.a.jcond(neg[e.op], l, r, falseLabel);
        this.release1(l);
        this.release1(r);
        return;
      }
    }
    const r = this.scalar(e);
    this.a.jeq(r, 0, falseLabel);
    this.release1(r);
  }

  /**
   * Compares two strings up to their NUL: jumps to `ifDiffer` when they differ
   * and to `ifEqual` when equal (a null label falls through).
   */
  stringCompare(a: Expr, b: Expr, ifDiffer: string | null, ifEqual: string | null): void {
    const mark = this.frameMark;
    const differ = ifDiffer ?? this.a.newLabel('sdiff');
    const equal = ifEqual ?? this.a.newLabel('seq');
    if (b.kind !== 'StringLit' && a.kind === 'StringLit') [a, b] = [b, a];
    const la = this.addr(a);
    const sa = memSize(this.type(a));
    if (b.kind === 'StringLit' || (b.kind === 'PositionalParam' && this.type(b).kind === 'string')) {
      const bytes = Buffer.from(b.kind === 'StringLit' ? b.value : this.paramStr(b.index));
      const n = Math.min(bytes.length, sa);
      for (let i = 0; i < n; i++) {
        this.a.ldx('b', R0, la.base, la.off + i);
        this.a.jne(R0, bytes[i], differ);
      }
      if (bytes.length > sa) this.a.ja(differ);
      else if (bytes.length < sa) {
        this.a.ldx('b', R0, la.base, la.off + bytes.length);
        this.a.jne(R0, 0, differ);
      }
      this.a.ja(equal);
    } else {
      const lb = this.addr(b);
      const sb = memSize(this.type(b));
      const n = Math.min(sa, sb);
      for (let i = 0; i < n; i++) {
        this.a.ldx('b', R0, la.base, la.off + i);
        this.a.ldx('b', R1, lb.base, lb.off + i);
        this.a.jne(R0, R1, differ);
        this.a.jeq(R0, 0, equal);
      }
      if (sa !== sb) {
        const longer = sa > sb ? la : lb;
        this.a.ldx('b', R0, longer.base, longer.off + n);
        this.a.jne(R0, 0, differ);
      }
      this.a.ja(equal);
      this.dropLoc(lb);
    }
    if (!ifDiffer) this.a.label(differ);
    if (!ifEqual) this.a.label(equal);
    this.dropLoc(la);
    this.release(mark);
  }

  /** Frees the temp register of a location (FP-based locations need nothing). */
  dropLoc(l: Loc): void {
    if (l.base !== FP) this.release1(l.base);
  }

  /** Address of a memory-typed value; valid until the end of the statement. */
  addr(e: Expr): Loc {
    if (e.kind === 'Variable') return { base: FP, off: this.varSlot(e.name, e.span) };
    const t = this.type(e);
    const off = this.alloc(memSize(t), e.span);
    const loc = { base: FP, off };
    this.storeInto(e, loc, t);
    return loc;
  }

  /**
   * Writes the value of `e` at `dst` in the layout of `target` (which may be
   * wider than the value's own type: shorter strings are zero-padded).
   */
  storeInto(e: Expr, dst: Loc, target: Type): void {
    const t = this.type(e);
    if (isScalar(t)) {
      const r = this.scalar(e);
      this.a.stx('dw', dst.base, dst.off, r);
      this.release1(r);
      return;
    }
    const tsize = memSize(target);
    const vsize = memSize(t);
    switch (e.kind) {
      case 'StringLit':
      case 'PositionalParam': {
        const text = e.kind === 'StringLit' ? e.value : this.paramStr(e.index);
        const bytes = Buffer.alloc(tsize);
        Buffer.from(text).copy(bytes, 0, 0, Math.max(0, tsize - 1));
        this.storeBytes(dst, bytes);
        return;
      }
      case 'Tuple': {
        const tt = target.kind === 'tuple' ? target : t;
        if (tt.kind !== 'tuple') break;
        this.zeroPadding(dst, tt);
        e.elements.forEach((el, i) => this.storeInto(el, { base: dst.base, off: dst.off + tt.offsets[i] }, tt.fields[i]));
        return;
      }
      case 'Variable': {
        const src = { base: FP, off: this.varSlot(e.name, e.span) };
        this.copyValue(dst, target, src, t);
        return;
      }
      case 'Builtin': {
        const b = BUILTIN_VARS[e.name] ?? BUILTIN_VARS[e.name.replace(/\d+$/, 'N')];
        if (b?.store) {
          b.store(this, e, dst, tsize);
          return;
        }
        break;
      }
      case 'Call': {
        const f = FUNCTIONS[e.name];
        if (f?.store) {
          f.store(this, e, dst, tsize);
          return;
        }
        break;
      }
      case 'MapRef': {
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
        return;
      }
      case 'Ternary': {
        const els = this.a.newLabel('selse'), end = this.a.newLabel('send');
        this.cond(e.cond, els);
        this.storeInto(e.then, dst, target);
        this.a.ja(end);
        this.a.label(els);
        this.storeInto(e.otherwise, dst, target);
        this.a.label(end);
        return;
      }
      case 'TupleIndex': {
        const mark = this.frameMark;
        const ot = this.type(e.object);
        const src = this.addr(e.object);
        if (ot.kind === 'tuple') this.copyValue(dst, target, { base: src.base, off: src.off + ot.offsets[e.index] }, ot.fields[e.index]);
        this.dropLoc(src);
        this.release(mark);
        return;
      }
      case 'FieldAccess': {
        if (BTF_FIELD_OFFSETS.has(e) && t.kind === 'string') {
          // char array member of a kernel struct: read it as a string
          const addr = this.btfAddr(e);
          this.zero(dst, tsize);
          this.lea(R1, dst);
          this.a.mov64(R2, Math.min(tsize, t.size));
          this.a.mov64(R3, addr);
          this.release1(addr);
          this.a.call(Helper.probe_read_kernel_str);
          return;
        }
        if (this.type(e.object).kind === 'ctx') {
          this.ctxFieldStore(e.field, dst, tsize, e.span);
          return;
        }
        break;
      }
      default:
        break;
    }
    this.fail(`cannot produce a ${t.kind} value from ${e.kind}${vsize ? '' : ''}`, e.span);
  }

  /** Copies a stored value into a possibly wider slot (zero-padding strings, re-laying out tuples). */
  copyValue(dst: Loc, target: Type, src: Loc, t: Type): void {
    if (target.kind === 'tuple' && t.kind === 'tuple' && target.size !== t.size) {
      this.zeroPadding(dst, target);
      t.fields.forEach((f, i) => this.copyValue({ base: dst.base, off: dst.off + target.offsets[i] }, target.fields[i], { base: src.base, off: src.off + t.offsets[i] }, f));
      return;
    }
    const vs = memSize(t), ts = memSize(target);
    this.copy(dst, src, Math.min(vs, ts));
    if (ts > vs) this.zero({ base: dst.base, off: dst.off + vs }, ts - vs);
  }

  /** Zeroes the gaps between tuple fields (string fields are fully written by their stores). */
  zeroPadding(dst: Loc, t: Extract<Type, { kind: 'tuple' }>): void {
    t.fields.forEach((f, i) => {
      const end = t.offsets[i] + memSize(f);
      const next = i + 1 < t.fields.length ? t.offsets[i + 1] : t.size;
      if (next > end) this.zero({ base: dst.base, off: dst.off + end }, next - end);
    });
  }

  // ---- context access -----------------------------------------------------------

  private ctxField(name: string, span: Span) {
    const tp = this.inst.ctx.tracepoint;
    const f = tp?.fields.find((x) => x.name === name) ?? tp?.commonFields.find((x) => x.name === name);
    if (!f) this.fail(`no field '${name}'`, span);
    return f;
  }

  private fieldScalar(obj: Expr, field: string, span: Span): Reg {
    if (this.type(obj).kind !== 'ctx') this.fail('field access is only supported on args', span);
    const f = this.ctxField(field, span);
    const t = fieldType(f, this.shared.opts.strlen);
    const r = this.temp(span);
    if (t.kind !== 'int') this.fail(`field '${field}' is not a number`, span);
    this.loadCtxInt(r, f.offset, t.size, t.signed);
    return r;
  }

  loadCtxInt(r: Reg, off: number, size: number, signed: boolean): void {
    const sz = size === 1 ? 'b' : size === 2 ? 'h' : size === 4 ? 'w' : 'dw';
    this.a.ldx(sz, r, this.ctx, off);
    if (signed && size < 8) {
      this.a.lsh64(r, 64 - size * 8);
      this.a.arsh64(r, 64 - size * 8);
    }
  }

  private indexScalar(e: Extract<Expr, { kind: 'Index' }>): Reg {
    const ot = this.type(e.object);
    if (ot.kind !== 'array' || e.object.kind !== 'FieldAccess') this.fail('only arrays of args can be indexed', e.span);
    const et = ot.elem.kind === 'int' ? ot.elem : { kind: 'int' as const, size: 8 as const, signed: false };
    const c = e.index.kind === 'IntegerLit' ? Number(e.index.value) : undefined;
    const r = this.temp(e.span);
    if (c !== undefined) {
      this.loadCtxInt(r, ot.field.offset + c * ot.elemSize, et.size, et.signed);
      return r;
    }
    // Variable index: bounds-checked read through probe_read_kernel.
    const idx = this.scalar(e.index);
    const slot = this.alloc(8);
    this.a.st('dw', FP, slot, 0);
    const out = this.a.newLabel('oob');
    this.a.jge(idx, ot.length, out);
    this.a.mul64(idx, ot.elemSize);
    this.a.mov64(R3, this.ctx);
    this.a.add64(R3, ot.field.offset);
    this.a.add64(R3, idx);
    this.a.mov64(R1, FP);
    this.a.add64(R1, slot);
    this.a.mov64(R2, ot.elemSize);
    this.a.call(Helper.probe_read_kernel);
    this.a.label(out);
    this.release1(idx);
    this.a.ldx('dw', r, FP, slot);
    this.normalize(r, et);
    return r;
  }

  /** Stores a string field of a tracepoint record (char[N] or __data_loc char[]). */
  ctxFieldStore(field: string, dst: Loc, size: number, span: Span): void {
    const f = this.ctxField(field, span);
    this.zero(dst, size);
    this.lea(R1, dst);
    if (f.dataLoc) {
      this.a.ldx('w', R3, this.ctx, f.offset);
      this.a.mov64(R2, R3);
      this.a.rsh64(R2, 16);
      this.a.and64(R3, 0xffff);
      this.a.add64(R3, this.ctx);
      // bound the length by the slot so the verifier sees a constant limit; +1 for the NUL
      this.a.add64(R2, 1);
      const l = this.a.newLabel('dlok');
      this.a.jle(R2, size, l);
      this.a.mov64(R2, size);
      this.a.label(l);
      this.a.call(Helper.probe_read_kernel_str);
      return;
    }
    this.a.mov64(R2, Math.min(size, f.size));
    this.a.mov64(R3, this.ctx);
    this.a.add64(R3, f.offset);
    this.a.call(Helper.probe_read_kernel);
  }

  /** Reads argument N of the probe (pt_regs registers, u64 arg arrays, USDT specs). */
  argScalar(n: number, span: Span): Reg {
    const c = this.inst.ctx;
    const r = this.temp(span);
    if (c.usdtArgs) {
      const spec = c.usdtArgs[n];
      if (!spec) this.fail(`this usdt probe has ${c.usdtArgs.length} arguments, arg${n} does not exist`, span);
      this.usdtArg(r, spec);
      return r;
    }
    if (c.u64Args) {
      this.a.ldx('dw', r, this.ctx, n * 8);
      return r;
    }
    if (c.regs && (c.provider === 'kprobe' || c.provider === 'uprobe' || c.provider === 'kretprobe' || c.provider === 'uretprobe')) {
      if (n >= this.shared.opts.target.arch.argRegs.length) this.fail(`arg${n}: only arg0..arg5 are passed in registers`, span);
      this.a.ldx('dw', r, this.ctx, argOffsets(this.shared.opts.target.arch)[n]);
      return r;
    }
    this.fail(`arg${n} is not available in ${c.provider} probes${c.tracepoint ? ' (use args.FIELD)' : ''}`, span);
  }

  private usdtArg(r: Reg, spec: NonNullable<InstanceTypes['ctx']['usdtArgs']>[number]): void {
    const t = { kind: 'int' as const, size: spec.size as 1 | 2 | 4 | 8, signed: spec.signed };
    switch (spec.kind) {
      case 'const':
        this.a.movConst(r, spec.value);
        break;
      case 'reg':
        this.a.ldx('dw', r, this.ctx, spec.reg.offset - (spec.reg.offset % 8));
        if (spec.reg.offset % 8) this.a.rsh64(r, (spec.reg.offset % 8) * 8);
        break;
      case 'mem': {
        const slot = this.alloc(8);
        this.a.st('dw', FP, slot, 0);
        this.a.movConst(R3, spec.disp);
        if (spec.base) {
          this.a.ldx('dw', R0, this.ctx, spec.base.offset);
          this.a.add64(R3, R0);
        }
        if (spec.index) {
          this.a.ldx('dw', R0, this.ctx, spec.index.offset);
          if (spec.scale !== 1) this.a.mul64(R0, spec.scale);
          this.a.add64(R3, R0);
        }
        this.readUserInto(r, slot, spec.size);
        break;
      }
      case 'rip': {
        const site = this.inst.ctx.usdtAddress;
        if (spec.symbolValue === undefined || site === undefined) {
          this.fail(`usdt argument ${spec.spec}: symbol ${spec.symbol ?? '?'} is not in the file's symbol table`, null);
        }
        // The probe site's runtime address (bpf_get_func_ip) minus its link-time address is the
        // load bias of this mapping, which makes PIE and shared-library globals work per process.
        const slot = this.alloc(8);
        this.a.st('dw', FP, slot, 0);
        this.a.mov64(R1, this.ctx);
        this.a.call(Helper.get_func_ip);
        this.a.mov64(R3, R0);
        this.a.movConst(R0, BigInt(spec.symbolValue - site) + spec.disp);
        this.a.add64(R3, R0);
        this.readUserInto(r, slot, spec.size);
        break;
      }
    }
    this.normalize(r, t);
  }

  /** r = the `size` bytes at user address R3, read into the zeroed 8-byte stack `slot` first. */
  private readUserInto(r: Reg, slot: number, size: number): void {
    this.lea(R1, { base: FP, off: slot });
    this.a.mov64(R2, size);
    this.a.call(Helper.probe_read_user);
    this.a.ldx('dw', r, FP, slot);
  }

  // ---- maps -----------------------------------------------------------------

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

  private mapReadScalar(m: MapRef): Reg {
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

  /** `@m[k] = v`, `@m[k] op= v`, and aggregations. */
  private mapAssign(s: Extract<Stmt, { kind: 'AssignStmt' }>, m: MapRef): void {
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
    if (agg.kind === 'scalar' || agg.kind === 'count' || agg.kind === 'sum') {
      // read-modify-write: lookup; existing → in place; absent → insert
      let val: Reg | null = null;
      if (agg.kind === 'sum' || s.op) val = this.scalar(agg.kind === 'sum' && v.kind === 'Call' ? v.args[0] : v);
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
      if (val) this.release1(val);
      return;
    }
    if (v.kind !== 'Call') this.fail('internal: aggregation without call', v.span);
    if (agg.kind === 'min' || agg.kind === 'max') {
      const val = this.scalar(v.args[0]);
      const key = this.mapKey(m, info, 0);
      const signed = info.value.kind === 'int' && info.value.signed;
      const keep: JmpCond = agg.kind === 'min' ? (signed ? 'JSLE' : 'JLE') : signed ? 'JSGE' : 'JGE';
      this.updateOrInsert(index, key, (done) => {
        this.a.ldx('dw', R1, R0, 0);
        this.a.jcond(keep, R1, val, done);
        this.a.stx('dw', R0, 0, val);
      }, () => this.firstValueAndCount(val));
      this.release1(val);
      return;
    }
    if (agg.kind === 'avg' || agg.kind === 'stats') {
      const val = this.scalar(v.args[0]);
      const key = this.mapKey(m, info, 0);
      this.updateOrInsert(index, key, () => {
        this.a.ldx('dw', R1, R0, 0);
        this.a.add64(R1, val);
        this.a.stx('dw', R0, 0, R1);
        this.a.ldx('dw', R1, R0, 8);
        this.a.add64(R1, 1);
        this.a.stx('dw', R0, 8, R1);
      }, () => this.firstValueAndCount(val));
      this.release1(val);
      return;
    }
    // hist / lhist: the bucket index is appended to the key; the value counts.
    const val = this.scalar(v.args[0]);
    if (agg.kind === 'hist') this.log2Bucket(val, agg.bits);
    else if (agg.kind === 'lhist') this.linearBucket(val, agg.min, agg.max, agg.step);
    const keySize = info.key ? memSize(info.key) : 8;
    const key = this.mapKey(m, info, 8);
    if ((key.off + keySize) % 8 === 0) {
      this.a.stx('dw', FP, key.off + keySize, val);
    } else {
      // Keys such as string[2] leave the bucket unaligned, and the verifier rejects
      // misaligned 8-byte stack stores: store it byte by byte (little endian).
      for (let b = 0; b < 8; b++) {
        this.a.stx('b', FP, key.off + keySize + b, val);
        if (b < 7) this.a.rsh64(val, 8);
      }
    }
    this.release1(val);
    this.updateOrInsert(index, key, () => {
      this.a.ldx('dw', R1, R0, 0);
      this.a.add64(R1, 1);
      this.a.stx('dw', R0, 0, R1);
    }, () => {
      const slot = this.alloc(8);
      this.a.st('dw', FP, slot, 1);
      return slot;
    });
  }

  /**
   * The map update every aggregation shares: when the key is present, `inPlace`
   * changes the value R0 points at (it may jump to `done` to leave it as is);
   * when absent, `first` writes the first value on the stack and returns its
   * offset, and that is inserted. Updating in place through the looked-up
   * pointer costs no second map operation on the hot path.
   */
  private updateOrInsert(index: number, key: Loc, inPlace: (done: string) => void, first: () => number): void {
    this.lookup(index, key);
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
  private firstValueAndCount(val: Reg): number {
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

  private applyOp(op: string, acc: Reg, val: Reg | null): void {
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

  update(mapIndex: number, key: Loc, val: Loc): void {
    this.ldMap(R1, mapIndex);
    this.lea(R2, key);
    this.lea(R3, val);
    this.a.mov64(R4, 0);
    this.a.call(Helper.map_update_elem);
  }

  /** In place: v → hist(v, bits) bucket index (see runtime/format/hist.ts). */
  log2Bucket(v: Reg, bits: number): void {
    const neg = this.a.newLabel('hneg'), small = this.a.newLabel('hsmall'), end = this.a.newLabel('hend');
    const mask = (1 << bits) - 1;
    this.a.jslt(v, 0, neg);
    this.a.jle(v, mask, small);
    // l = floor(log2 v) by binary search into R1, value copy in R2
    this.a.mov64(R2, v);
    this.a.mov64(R1, 0);
    for (const sh of [32, 16, 8, 4, 2, 1]) {
      const skip = this.a.newLabel('hl');
      this.a.mov64(R3, R2);
      this.a.rsh64(R3, sh);
      this.a.jeq(R3, 0, skip);
      this.a.mov64(R2, R3);
      this.a.add64(R1, sh);
      this.a.label(skip);
    }
    // x = (v >> (l - k)) & mask; index = ((l - k + 1) << k) + x + 1
    this.a.sub64(R1, bits);
    this.a.rsh64(v, R1);
    this.a.and64(v, mask);
    this.a.add64(R1, 1);
    this.a.lsh64(R1, bits);
    this.a.add64(v, R1);
    this.a.add64(v, 1);
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

  // ---- events ---------------------------------------------------------------

  /**
   * Sends one record through the event ring buffer: reserve, write the id and
   * the fields (`write` gets the record pointer in a temp), submit. A failed
   * reserve bumps the loss counter instead.
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
    this.a.mov64(R1, rec);
    this.a.mov64(R2, 0);
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

  // ---- statements -------------------------------------------------------------

  varSlot(name: string, span: Span | null): number {
    let off = this.vars.get(name);
    if (off === undefined) {
      const t = this.inst.vars.get(name);
      if (!t) this.fail(`undefined variable: ${name}`, span);
      // variables live for the whole program: allocate below any statement temporaries
      off = this.alloc(memSize(t), span);
      this.vars.set(name, off);
    }
    return off;
  }

  private tag(span: Span): void {
    this.spans.push(span);
    this.a.setTag(this.spans.length - 1);
  }

  /** $var = value, the variable's stack slot given: integers are narrowed to its type. */
  private storeVar(slot: number, value: Expr, vt: Type): void {
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
        if (e.kind === 'Call' && FUNCTIONS[e.name]?.stmt) {
          (FUNCTIONS[e.name].stmt as NonNullable<(typeof FUNCTIONS)[string]['stmt']>)(this, e);
          break;
        }
        const t = this.type(e);
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
          if (s.value.kind === 'Call' && FUNCTIONS[s.value.name]?.stmt) {
            (FUNCTIONS[s.value.name].stmt as NonNullable<(typeof FUNCTIONS)[string]['stmt']>)(this, s.value);
          }
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

  constOf(e: Expr): bigint {
    if (e.kind === 'IntegerLit') return e.value;
    if (e.kind === 'PositionalParam') return this.paramInt(e.index);
    if (e.kind === 'Unary' && e.op === '-') return -this.constOf(e.operand);
    this.fail('expected an integer constant', e.span);
  }

  /** True while generating a callback subprogram (its stack frame is not the main program's). */
  private inCallback = false;

  /** Labels that some jump targets (the verifier rejects unreachable blocks, so unused ones are not emitted). */
  private jumpedTo = new Set<string>();

  private jumpTo(label: string): void {
    this.jumpedTo.add(label);
    this.a.ja(label);
  }

  /** r1..r4 for bpf_for_each_map_elem: map, callback, callback ctx (pointer to a stack slot holding the probe ctx), flags. */
  private forEachCall(mapIndex: number, label: string, passCtx: boolean): void {
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
   * Like bpftrace, scratch variables from outside the loop are not visible in it.
   */
  private forMap(s: Extract<Stmt, { kind: 'ForMapStmt' }>): void {
    const { index, info } = this.shared.userMap(`@${s.map.name}`);
    if (info.agg.kind !== 'scalar') {
      this.fail(`for over a ${info.agg.kind}() map is not supported: its values are per CPU (assign plain values, @m[k] = v, to iterate)`, s.map.span);
    }
    const inner = varNames(s.body);
    inner.delete(s.variable.name);
    const outer = varNames(this.inst.probe, s.body);
    for (const v of inner) {
      if (outer.has(v)) this.fail(`$${v} is used both inside and outside this for loop: variables from outside are not visible in a for ($kv : @map) body`, s.span);
    }
    const kvType = this.inst.vars.get(s.variable.name);
    if (!kvType || kvType.kind !== 'tuple') this.fail('internal: for-loop variable is not a tuple', s.span);
    const label = this.a.newLabel('for_cb');
    this.subprogs.push({ label, emit: () => {
      // fresh frame, registers and variables for the callback
      const saved = { frame: this.frame, vars: this.vars, free: this.free, loops: this.loops, exit: this.exitLabel, inCallback: this.inCallback };
      this.inCallback = true;
      this.frame = 0;
      this.vars = new Map();
      this.free = [...TEMPS];
      this.loops = [];
      const stop = this.a.newLabel('for_stop'), next = this.a.newLabel('for_next');
      this.exitLabel = stop;
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
        this.a.mov64(R0, 0);
        this.a.exit();
      }
      this.a.label(stop);
      if (this.jumpedTo.has(stop)) {
        this.a.mov64(R0, 1);
        this.a.exit();
      }
      this.frame = saved.frame;
      this.vars = saved.vars;
      this.free = saved.free;
      this.loops = saved.loops;
      this.exitLabel = saved.exit;
      this.inCallback = saved.inCallback;
    } });
    this.forEachCall(index, label, true);
  }

  /** FP slot holding this event's index into probeNames, for programs serving several syscalls (see syscall-merge.ts). */
  private probeSlot: number | undefined;

  /**
   * Prologue of a merged raw_syscalls program: look the syscall id up in a
   * table of the selected syscalls (value: probe name index + 1) and return
   * early for the others.
   */
  private syscallFilter(nrs: number[]): void {
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
    const compat = compatStatusOffset(this.shared.opts.target);
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
      this.a.call(Helper.probe_read_kernel);
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

  /**
   * First time this pid records user addresses: tell userspace (once per pid)
   * so it snapshots the process's mappings before it can exit.
   */
  private announceProcess(): void {
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

  /** Generates the whole program. */
  program(): { insns: Insn[]; sourceMap: (Span | null)[]; functions?: { insn: number; name: string }[] } {
    this.a.mov64(R6, R1);
    const p = this.inst.probe;
    if (this.inst.ctx.syscalls) this.syscallFilter(this.inst.ctx.syscalls.nrs);
    // Scratch variables are allocated lazily; allocating them first keeps them below temporaries.
    for (const name of this.inst.vars.keys()) this.varSlot(name, null);
    if (p.predicate) {
      this.tag(p.predicate.span);
      this.cond(p.predicate, this.exitLabel);
    }
    if (recordsUserAddresses(p, this.inst.ctx.user)) this.announceProcess();
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
    const insns = this.a.resolve();
    for (const f of this.funcRefs) {
      const start = this.subprogStart.get(f.label);
      if (start === undefined) this.fail(`internal: callback ${f.label} was not emitted`, null);
      insns[f.at] = { ...insns[f.at], imm: start - f.at - 1 };
    }
    const sourceMap = insns.map((_, i) => {
      const t = this.a.tags.get(i);
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

export { R5 };
