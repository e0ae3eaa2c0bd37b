/**
 * Builtin variables and functions, as tables of hooks: a type rule (run by the
 * semantic pass) and lowerings (run by the code generator):
 *   scalar(g, e) → a temp register holding the value (scalar types),
 *   store(g, e, dst, size) → writes the value at dst (memory types),
 *   stmt(g, e) → code for a call used as a statement (printf, exit, ...).
 * Adding a builtin touches only this file.
 */
import type { Builtin, Call, Expr, Span } from './ast';
import type { EventSpec } from './artifact';
import { btfPointer, type Checker, type Type } from './semantic';
import type { Gen, Loc } from './codegen';
import { FP, Helper, R0, R1, R2, R3, R4, R5, type Reg } from '../ebpf/asm';
import { regOffset, type Arch } from '../arch';

const U64: Type = { kind: 'int', size: 8, signed: false };
const I64: Type = { kind: 'int', size: 8, signed: true };
const NONE: Type = { kind: 'none' };

export interface BuiltinVar {
  check(c: Checker, e: Builtin): Type;
  scalar?(g: Gen, e: Builtin): Reg;
  store?(g: Gen, e: Builtin, dst: Loc, size: number): void;
}

export interface FunctionDef {
  minArgs: number;
  maxArgs: number;
  /** Needs --unsafe. */
  unsafe?: boolean;
  check(c: Checker, e: Call): Type;
  scalar?(g: Gen, e: Call): Reg;
  store?(g: Gen, e: Call, dst: Loc, size: number): void;
  stmt?(g: Gen, e: Call): void;
}

/** Calls a helper with no arguments and returns r0 in a temp. */
function helperValue(g: Gen, id: number, span: Span): Reg {
  const r = g.temp(span);
  g.a.call(id);
  g.a.mov64(r, R0);
  return r;
}

function regsOnly(c: Checker, e: { span: Span }, name: string): boolean {
  if (!c.ctx.regs) {
    c.error(`${name} is not available in ${c.ctx.provider} probes`, e.span);
    return false;
  }
  return true;
}

function requireStrings(c: Checker, args: Expr[], what: string): void {
  for (const a of args) {
    const t = c.type(a);
    if (t.kind !== 'string' && t.kind !== 'none') c.error(`${what}, got ${t.kind}`, a.span);
  }
}

/**
 * The frame of the builtins that scan strings byte by byte (strncmp, strcontains,
 * strlen): `scan` gets a result temp and each string's address and buffer size,
 * and the stack the strings took is given back after it.
 */
function scanStrings(g: Gen, e: Call, strings: Expr[], scan: (r: Reg, s: (Loc & { size: number })[]) => void): Reg {
  const r = g.temp(e.span);
  const mark = g.frameMark;
  const locs = strings.map((x) => g.addr(x));
  scan(r, locs.map((loc, i) => {
    const t = g.type(strings[i]);
    return { ...loc, size: t.kind === 'string' ? t.size : 0 };
  }));
  for (const loc of locs) g.dropLoc(loc);
  g.release(mark);
  return r;
}

/** r = 1 when `test` jumps to `yes`; 0 when it jumps to `no` or falls through. */
function flag(g: Gen, r: Reg, test: (yes: string, no: string) => void): void {
  const yes = g.a.newLabel('yes'), no = g.a.newLabel('no');
  g.a.mov64(r, 0);
  test(yes, no);
  g.a.ja(no);
  g.a.label(yes);
  g.a.mov64(r, 1);
  g.a.label(no);
}

/** The target's architecture (struct pt_regs layout, argument registers). */
const archOf = (g: Gen): Arch => g.shared.opts.target.arch;

const intVar = (emit: (g: Gen, e: Builtin) => Reg, t: Type = U64): BuiltinVar => ({ check: () => t, scalar: emit });

export const BUILTIN_VARS: Record<string, BuiltinVar> = {
  pid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_pid_tgid, e.span);
    g.a.rsh64(r, 32);
    return r;
  }),
  tid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_pid_tgid, e.span);
    g.a.mov32(r, r);
    return r;
  }),
  uid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_uid_gid, e.span);
    g.a.mov32(r, r);
    return r;
  }),
  gid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_uid_gid, e.span);
    g.a.rsh64(r, 32);
    return r;
  }),
  nsecs: intVar((g, e) => helperValue(g, Helper.ktime_get_ns, e.span)),
  elapsed: intVar((g, e) => {
    const r = helperValue(g, Helper.ktime_get_ns, e.span);
    const slot = g.alloc(8);
    g.a.st('w', FP, slot, 0);
    g.ldMap(R1, g.shared.start());
    g.a.mov64(R2, FP);
    g.a.add64(R2, slot);
    g.a.call(Helper.map_lookup_elem);
    const none = g.a.newLabel('nostart');
    g.a.jeq(R0, 0, none);
    g.a.ldx('dw', R1, R0, 0);
    g.a.sub64(r, R1);
    g.a.label(none);
    return r;
  }),
  cpu: intVar((g, e) => helperValue(g, Helper.get_smp_processor_id, e.span)),
  rand: intVar((g, e) => helperValue(g, Helper.get_prandom_u32, e.span)),
  cgroup: intVar((g, e) => helperValue(g, Helper.get_current_cgroup_id, e.span)),
  // typed as struct task_struct * when the kernel has BTF, so curtask->pid works
  curtask: { check: (c) => btfPointer(c.opts.target, 'task_struct'), scalar: (g, e) => helperValue(g, Helper.get_current_task, e.span) },
  jiffies: intVar((g, e) => helperValue(g, Helper.jiffies64, e.span)),
  comm: {
    check: () => ({ kind: 'string', size: 16 }),
    store(g, _e, dst, size) {
      // before 6.x the helper copied with strscpy (no padding): bytes after the NUL kept stack garbage, splitting map keys
      g.zero(dst, 16);
      g.lea(R1, dst);
      g.a.mov64(R2, 16);
      g.a.call(Helper.get_current_comm);
      if (size > 16) g.zero({ base: dst.base, off: dst.off + 16 }, size - 16);
    },
  },
  username: {
    check: () => ({ kind: 'username' }),
    scalar(g, e) {
      const r = helperValue(g, Helper.get_current_uid_gid, e.span);
      g.a.mov32(r, r);
      return r;
    },
  },
  probe: {
    check: (c, e) => {
      if (!c.ctx.perPoint && !c.firstPass) {
        // the compile driver splits probes that use `probe` into one program per attach point
      }
      void e;
      return { kind: 'probe' };
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      g.probeIndexValue(r, e.span);
      return r;
    },
  },
  func: {
    check(c, e) {
      if (!regsOnly(c, e, 'func') && c.ctx.provider !== 'fentry' && c.ctx.provider !== 'fexit') return NONE;
      return c.ctx.user ? { kind: 'usym' } : { kind: 'ksym' };
    },
    scalar(g, e) {
      // kernel probes: bpf_get_func_ip gives the traced function even in kretprobes (it reads ctx)
      g.a.mov64(R1, g.ctx);
      return helperValue(g, Helper.get_func_ip, e.span);
    },
    store(g, e, dst) {
      const c = g.inst.ctx;
      if (c.retprobe) {
        g.a.mov64(R1, g.ctx);
        g.a.call(Helper.get_func_ip);
      } else g.a.ldx('dw', R0, g.ctx, regOffset(archOf(g), archOf(g).ipReg));
      g.a.stx('dw', dst.base, dst.off, R0);
      g.a.call(Helper.get_current_pid_tgid);
      g.a.rsh64(R0, 32);
      g.a.stx('dw', dst.base, dst.off + 8, R0);
      void e;
    },
  },
  retval: {
    check(c, e) {
      if (!c.ctx.retprobe || (!c.ctx.regs && c.ctx.provider !== 'fexit')) c.error('retval is only available in kretprobe, uretprobe and fexit probes', e.span);
      return I64;
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      const off = g.inst.ctx.retvalOffset;
      // fexit: the return value follows the arguments in the context; k/uretprobes: pt_regs->ax
      g.a.ldx('dw', r, g.ctx, off ?? regOffset(archOf(g), archOf(g).retReg));
      return r;
    },
  },
  // argN (the name is normalized to 'argN' before lookup)
  argN: {
    check(c, e) {
      const n = Number(e.name.slice(3));
      if (c.ctx.tracepoint) c.error(`${e.name} is not available in tracepoints: use args.FIELD`, e.span);
      else if (c.ctx.retprobe && c.ctx.regs) c.error(`${e.name} is not available in return probes`, e.span);
      else if (c.ctx.usdtArgs && n >= c.ctx.usdtArgs.length) c.error(`this usdt probe has ${c.ctx.usdtArgs.length} arguments`, e.span);
      else if (!c.ctx.regs && !c.ctx.u64Args) c.error(`${e.name} is not available in ${c.ctx.provider} probes`, e.span);
      else if (c.ctx.regs && !c.ctx.usdtArgs && n >= c.opts.target.arch.argRegs.length) c.error(`${e.name}: only arg0..arg5 are available`, e.span);
      else if (c.ctx.provider === 'profile' || c.ctx.provider === 'interval' || c.ctx.provider === 'software' || c.ctx.provider === 'hardware') {
        c.error(`${e.name} is not available in ${c.ctx.provider} probes`, e.span);
      }
      if (c.ctx.usdtArgs && c.ctx.usdtArgs[n]) {
        const a = c.ctx.usdtArgs[n];
        return { kind: 'int', size: 8, signed: a.signed };
      }
      return U64;
    },
    scalar: (g, e) => g.argScalar(Number(e.name.slice(3)), e.span),
  },
  sargN: {
    check(c, e) {
      if (!regsOnly(c, e, e.name)) return NONE;
      return U64;
    },
    scalar(g, e) {
      const n = Number(e.name.slice(4));
      const slot = g.alloc(8);
      g.a.st('dw', FP, slot, 0);
      g.a.ldx('dw', R3, g.ctx, regOffset(archOf(g), archOf(g).spReg));
      g.a.add64(R3, 8 * (n + 1));
      g.a.mov64(R1, FP);
      g.a.add64(R1, slot);
      g.a.mov64(R2, 8);
      g.a.call(g.inst.ctx.user ? Helper.probe_read_user : Helper.probe_read_kernel);
      const r = g.temp(e.span);
      g.a.ldx('dw', r, FP, slot);
      return r;
    },
  },
  args: {
    check(c, e) {
      if (!c.ctx.tracepoint) return c.error(`args is only available in tracepoint, fentry and fexit probes`, e.span);
      return { kind: 'ctx' };
    },
  },
  kstack: {
    // every program type has a kernel stack (bpf_get_stackid takes any ctx)
    check: () => ({ kind: 'kstack', mode: 'bpftrace', limit: 127 }),
    scalar: (g, e) => stackId(g, false, e.span),
  },
  ustack: {
    check: () => ({ kind: 'ustack', mode: 'bpftrace', limit: 127 }),
    store: (g, e, dst) => ustackStore(g, dst, e.span),
  },
};

function stackId(g: Gen, user: boolean, span: Span): Reg {
  const r = g.temp(span);
  g.a.mov64(R1, g.ctx);
  g.ldMap(R2, g.shared.stacks());
  g.a.mov64(R3, user ? 1 << 8 : 0);
  g.a.call(Helper.get_stackid);
  g.a.mov64(r, R0);
  return r;
}

function ustackStore(g: Gen, dst: Loc, span: Span): void {
  storeWithPid(g, dst, stackId(g, true, span));
}

/**
 * Stores {r, pid} and frees r: user addresses and stacks mean something only
 * in their process's address space, so user space needs the pid to symbolize them.
 */
function storeWithPid(g: Gen, dst: Loc, r: Reg): void {
  g.a.stx('dw', dst.base, dst.off, r);
  g.release1(r);
  g.a.call(Helper.get_current_pid_tgid);
  g.a.rsh64(R0, 32);
  g.a.stx('dw', dst.base, dst.off + 8, R0);
}

// ---- printf format checking -------------------------------------------------

interface FormatSpec {
  conv: string;
  text: string;
}

/** Parses a printf format into conversions; throws a message for invalid ones. */
export function parseFormat(fmt: string): FormatSpec[] {
  const out: FormatSpec[] = [];
  const re = /%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|z|j|t)?([a-zA-Z%])/g;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(fmt))) {
    const between = fmt.slice(last, m.index);
    if (between.includes('%')) throw new Error(`invalid format specifier near '${between.slice(between.indexOf('%'))}'`);
    last = re.lastIndex;
    if (m[5] === '%') continue;
    if (!'diuxXocsp'.includes(m[5]) && m[5] !== 'r') throw new Error(`invalid format specifier '%${m[5]}'`);
    if (m[2] === '*' || m[3] === '*') throw new Error(`'*' width or precision is not supported`);
    out.push({ conv: m[5], text: m[0] });
  }
  if (fmt.slice(last).includes('%')) throw new Error(`incomplete format specifier at the end`);
  return out;
}

function checkFormatArgs(c: Checker, e: Call, what: string): string | undefined {
  const f = e.args[0];
  if (!f || f.kind !== 'StringLit') {
    c.error(`${what}: the first argument must be a string literal format`, (f ?? e).span);
    return undefined;
  }
  let specs: FormatSpec[];
  try {
    specs = parseFormat(f.value);
  } catch (err) {
    c.error(`${what}: ${(err as Error).message}`, f.span);
    return undefined;
  }
  const args = e.args.slice(1);
  args.forEach((a) => c.type(a));
  if (specs.length !== args.length) {
    const span = specs.length < args.length ? args[specs.length].span : e.span;
    c.error(`${what}: ${specs.length} format specifier${specs.length === 1 ? '' : 's'} but ${args.length} argument${args.length === 1 ? '' : 's'}`, span);
    return undefined;
  }
  specs.forEach((s, i) => {
    const t = c.exprs.get(args[i]) ?? NONE;
    if (t.kind === 'none') return;
    if ('diuxXoc'.includes(s.conv) && t.kind !== 'int') {
      if (!(t.kind === 'username' || t.kind === 'probe' || t.kind === 'ksym' || t.kind === 'usym' || t.kind === 'kstack' || t.kind === 'ustack' || t.kind === 'timestamp' || t.kind === 'inet')) {
        c.error(`${what}: ${s.text} expects an integer, got ${t.kind}`, args[i].span);
      }
    }
    if (s.conv === 'p' && t.kind !== 'int') c.error(`${what}: %p expects an integer, got ${t.kind}`, args[i].span);
    if (s.conv === 'r' && t.kind !== 'buffer') c.error(`${what}: %r expects a buf(), got ${t.kind}`, args[i].span);
    if (t.kind === 'ctx' || t.kind === 'array') c.error(`${what}: cannot print ${t.kind}`, args[i].span);
  });
  return f.value;
}

/** A statement-only call that sends a formatted record (printf, system, cat). */
function formatted(kind: 'printf' | 'system' | 'cat', unsafe = false): FunctionDef {
  return {
    minArgs: 1,
    maxArgs: 65,
    unsafe,
    check(c, e) {
      checkFormatArgs(c, e, `${kind}()`);
      return NONE;
    },
    stmt(g, e) {
      const f = e.args[0];
      const fmt = f.kind === 'StringLit' ? f.value : '';
      const args = e.args.slice(1);
      const layout = g.layoutFields(args);
      const id = g.shared.addEvent({ kind, format: fmt, fields: layout.fields });
      g.emitEvent(id, layout.size, (rec) => g.writeFields(rec, args, layout), e.span);
    },
  };
}

function eventOnly(make: (g: Gen, e: Call) => EventSpec, check: (c: Checker, e: Call) => void, min: number, max: number): FunctionDef {
  return {
    minArgs: min,
    maxArgs: max,
    check(c, e) {
      check(c, e);
      return NONE;
    },
    stmt(g, e) {
      const id = g.shared.addEvent(make(g, e));
      g.emitEvent(id, 8, () => {}, e.span);
    },
  };
}

function strArgLen(c: Checker, e: Expr | undefined, dflt: number): number {
  if (!e) return dflt;
  const v = c.requireConst(e, 'length');
  if (v < 1n) {
    c.error('length must be positive', e.span);
    return dflt;
  }
  return Math.min(Number(v), dflt);
}


/** Reads a C string from a pointer into dst (size bytes, zero-padded). */
function readStr(g: Gen, ptr: Reg, dst: Loc, size: number, len: Reg | null): void {
  g.zero(dst, size);
  g.lea(R1, dst);
  if (len) {
    // runtime length: clamp to [0, size - 1], plus one for the NUL the helper writes
    const ok = g.a.newLabel('lenok');
    g.a.mov64(R2, len);
    g.a.jle(R2, size - 1, ok);
    g.a.mov64(R2, size - 1);
    g.a.label(ok);
    g.a.add64(R2, 1);
  } else g.a.mov64(R2, size);
  g.a.mov64(R3, ptr);
  g.a.call(g.inst.ctx.user ? Helper.probe_read_user_str : Helper.probe_read_str);
}

function stackCheck(kind: 'kstack' | 'ustack') {
  return (c: Checker, e: Call): Type => {
    let mode: 'bpftrace' | 'perf' | 'raw' = 'bpftrace';
    let limit = 127;
    for (const a of e.args) {
      if (a.kind === 'Identifier' || a.kind === 'Builtin') {
        if (a.name === 'bpftrace' || a.name === 'perf' || a.name === 'raw') mode = a.name;
        else c.error(`${kind}: unknown mode '${a.name}' (use bpftrace, perf or raw)`, a.span);
      } else {
        const v = c.requireConst(a, `${kind} limit`);
        if (v < 1n || v > 1024n) c.error(`${kind} limit must be between 1 and 1024`, a.span);
        limit = Math.min(Number(v), 127);
      }
    }
    return { kind, mode, limit };
  };
}

function mapArgKeys(e: Call): Expr[] | null {
  const m = e.args[0];
  if (m && m.kind === 'MapRef' && m.keys) return m.keys;
  return e.args.length > 1 ? e.args.slice(1) : null;
}

export const FUNCTIONS: Record<string, FunctionDef> = {
  printf: formatted('printf'),
  system: formatted('system', true),
  cat: formatted('cat'),
  print: {
    minArgs: 1,
    maxArgs: 3,
    check(c, e) {
      const a = e.args[0];
      if (a.kind === 'MapRef' && !a.keys) {
        c.mapArg(a, 'print');
        for (const x of e.args.slice(1)) c.requireConst(x, 'print() top/div');
      } else {
        if (e.args.length > 1) c.error('print() of a value takes one argument', e.args[1].span);
        const t = c.type(a);
        if (t.kind === 'ctx' || t.kind === 'array') c.error(`cannot print ${t.kind}`, a.span);
      }
      return NONE;
    },
    stmt(g, e) {
      const a = e.args[0];
      if (a.kind === 'MapRef' && !a.keys) {
        const um = g.shared.userMapNumber(`@${a.name}`);
        const top = e.args[1] ? Number(g.constOf(e.args[1])) : 0;
        const div = e.args[2] ? Number(g.constOf(e.args[2])) : 1;
        const id = g.shared.addEvent({ kind: 'printMap', userMap: um, top, div });
        g.emitEvent(id, 8, () => {}, e.span);
        return;
      }
      const layout = g.layoutFields([a]);
      const id = g.shared.addEvent({ kind: 'printValue', field: layout.fields[0] });
      g.emitEvent(id, layout.size, (rec) => g.writeFields(rec, [a], layout), e.span);
    },
  },
  clear: eventOnly((g, e) => ({ kind: 'clear', userMap: g.shared.userMapNumber(`@${(e.args[0] as { name: string }).name}`) }), (c, e) => void c.mapArg(e.args[0], 'clear'), 1, 1),
  zero: eventOnly((g, e) => ({ kind: 'zero', userMap: g.shared.userMapNumber(`@${(e.args[0] as { name: string }).name}`) }), (c, e) => void c.mapArg(e.args[0], 'zero'), 1, 1),
  time: {
    minArgs: 0,
    maxArgs: 1,
    check(c, e) {
      if (e.args[0] && e.args[0].kind !== 'StringLit') c.error('time(): the format must be a string literal', e.args[0].span);
      return NONE;
    },
    stmt(g, e) {
      const f = e.args[0];
      const id = g.shared.addEvent({ kind: 'time', format: f && f.kind === 'StringLit' ? f.value : null });
      g.emitEvent(id, 8, () => {}, e.span);
    },
  },
  exit: {
    minArgs: 0,
    maxArgs: 1,
    check(c, e) {
      if (e.args[0]) c.int(e.args[0], 'exit code');
      return NONE;
    },
    stmt(g, e) {
      const code = e.args[0];
      const id = g.shared.addEvent({ kind: 'exit', code: code ? { offset: 8, type: { kind: 'int', size: 8, signed: true } } : null });
      g.emitEvent(id, code ? 16 : 8, (rec) => {
        if (code) g.storeInto(code, { base: rec, off: 8 }, I64);
      }, e.span);
    },
  },
  join: {
    minArgs: 1,
    maxArgs: 2,
    check(c, e) {
      c.int(e.args[0], 'join() argument');
      if (e.args[1] && e.args[1].kind !== 'StringLit') c.error('join(): the separator must be a string literal', e.args[1].span);
      return NONE;
    },
    stmt(g, e) {
      const maxArgs = 16, argSize = 64;
      const sepArg = e.args[1];
      const sep = sepArg && sepArg.kind === 'StringLit' ? sepArg.value : ' ';
      const id = g.shared.addEvent({ kind: 'join', field: { offset: 8, type: { kind: 'string', size: maxArgs * argSize } }, separator: sep, maxArgs, argSize });
      const argv = g.scalar(e.args[0]);
      g.emitEvent(id, 8 + maxArgs * argSize, (rec) => {
        const done = g.a.newLabel('jdone');
        const slot = g.alloc(8);
        g.a.stx('dw', FP, slot, argv);
        for (let i = 0; i < maxArgs; i++) {
          const off = 8 + i * argSize;
          g.a.st('b', rec, off, 0);
          // pointer = argv[i]
          g.a.mov64(R1, FP);
          g.a.add64(R1, slot - 8 * 0);
          g.a.ldx('dw', R3, FP, slot);
          g.a.jeq(R3, 0, done);
          g.a.mov64(R1, FP);
          const pslot = g.alloc(8);
          g.a.add64(R1, pslot);
          g.a.mov64(R2, 8);
          g.a.add64(R3, 0);
          g.a.call(g.inst.ctx.user ? Helper.probe_read_user : Helper.probe_read_kernel);
          g.a.ldx('dw', R3, FP, pslot);
          g.a.jeq(R3, 0, done);
          g.a.mov64(R1, rec);
          g.a.add64(R1, off);
          g.a.mov64(R2, argSize);
          g.a.call(g.inst.ctx.user ? Helper.probe_read_user_str : Helper.probe_read_str);
          g.a.ldx('dw', R3, FP, slot);
          g.a.add64(R3, 8);
          g.a.stx('dw', FP, slot, R3);
        }
        g.a.label(done);
        // unused slots stay empty strings
        void rec;
      }, e.span);
      g.release1(argv);
    },
  },
  str: {
    minArgs: 1,
    maxArgs: 2,
    check(c, e) {
      const t = c.type(e.args[0]);
      if (t.kind === 'string') {
        // str(string, n): the first n characters, like str(ptr, n)
        const v = e.args[1] ? c.constInt(e.args[1]) : undefined;
        if (e.args[1] && v === undefined) c.int(e.args[1], 'str() length');
        return v !== undefined ? { kind: 'string', size: Math.max(1, Math.min(Number(v) + 1, t.size)) } : t;
      }
      if (t.kind !== 'int' && t.kind !== 'none') c.error(`str() needs a pointer, got ${t.kind}`, e.args[0].span);
      if (e.args[1]) {
        const lt = c.int(e.args[1], 'str() length');
        const v = c.constInt(e.args[1]);
        if (v !== undefined) return { kind: 'string', size: Math.max(1, Math.min(Number(v) + 1, c.opts.strlen)) };
        void lt;
      }
      return { kind: 'string', size: c.opts.strlen };
    },
    store(g, e, dst, size) {
      const t = g.type(e.args[0]);
      if (t.kind === 'string') {
        const own = g.type(e);
        const n = own.kind === 'string' ? Math.min(own.size, size) : size;
        g.storeInto(e.args[0], dst, { kind: 'string', size: n });
        g.a.st('b', dst.base, dst.off + n - 1, 0);
        if (size > n) g.zero({ base: dst.base, off: dst.off + n }, size - n);
        return;
      }
      const own = g.type(e);
      const n = own.kind === 'string' ? Math.min(own.size, size) : size;
      const p = g.scalar(e.args[0]);
      const len = e.args[1] && g.type(e).kind === 'string' && !(e.args[1].kind === 'IntegerLit') ? g.scalar(e.args[1]) : null;
      if (size > n) g.zero({ base: dst.base, off: dst.off + n }, size - n);
      readStr(g, p, dst, n, len);
      g.release1(p);
      if (len) g.release1(len);
    },
  },
  buf: {
    minArgs: 1,
    maxArgs: 2,
    check(c, e) {
      c.int(e.args[0], 'buf() pointer');
      const n = e.args[1] ? c.constInt(e.args[1]) : undefined;
      if (e.args[1]) c.int(e.args[1], 'buf() length');
      if (e.args[1] && n === undefined) return { kind: 'buffer', size: c.opts.strlen };
      return { kind: 'buffer', size: Math.max(1, Math.min(Number(n ?? BigInt(c.opts.strlen)), 1024)) };
    },
    store(g, e, dst, size) {
      const own = g.type(e);
      const cap = own.kind === 'buffer' ? own.size : size - 4;
      const p = g.scalar(e.args[0]);
      const len = e.args[1] ? g.scalar(e.args[1]) : null;
      g.zero(dst, size);
      if (len) {
        const ok = g.a.newLabel('bufok');
        g.a.jle(len, cap, ok);
        g.a.mov64(len, cap);
        g.a.label(ok);
        g.a.stx('w', dst.base, dst.off, len);
        g.a.mov64(R2, len);
      } else {
        g.a.st('w', dst.base, dst.off, cap);
        g.a.mov64(R2, cap);
      }
      g.lea(R1, { base: dst.base, off: dst.off + 4 });
      g.a.mov64(R3, p);
      g.a.call(g.inst.ctx.user ? Helper.probe_read_user : Helper.probe_read_kernel);
      g.release1(p);
      if (len) g.release1(len);
    },
  },
  ksym: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      c.int(e.args[0], 'ksym() address');
      return { kind: 'ksym' };
    },
    scalar: (g, e) => g.scalar(e.args[0]),
  },
  usym: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      c.int(e.args[0], 'usym() address');
      return { kind: 'usym' };
    },
    store: (g, e, dst) => storeWithPid(g, dst, g.scalar(e.args[0])),
  },
  kaddr: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const a = e.args[0];
      if (a.kind !== 'StringLit') return c.error('kaddr(): the symbol must be a string literal', a.span);
      if (c.opts.target.kernelSymbolAddress(a.value) === undefined) c.error(`kaddr(): unknown kernel symbol '${a.value}'`, a.span);
      return U64;
    },
    scalar(g, e) {
      const a = e.args[0];
      const r = g.temp(e.span);
      g.a.ldImm64(r, a.kind === 'StringLit' ? (g.shared.opts.target.kernelSymbolAddress(a.value) ?? 0n) : 0n);
      return r;
    },
  },
  ntop: {
    minArgs: 1,
    maxArgs: 2,
    check(c, e) {
      for (const a of e.args) {
        const t = c.type(a);
        if (t.kind !== 'int' && t.kind !== 'string' && t.kind !== 'none') c.error(`ntop(): unsupported argument ${t.kind}`, a.span);
      }
      return { kind: 'inet' };
    },
    store(g, e, dst, size) {
      // layout: u32 family, then 16 address bytes (IPv4 in the first 4)
      g.zero(dst, size);
      const addrExpr = e.args[e.args.length - 1];
      const at = g.type(addrExpr);
      if (e.args.length === 2) {
        const fam = g.scalar(e.args[0]);
        g.a.stx('w', dst.base, dst.off, fam);
        g.release1(fam);
      } else g.a.st('w', dst.base, dst.off, at.kind === 'string' && at.size >= 16 ? 10 : 2);
      if (at.kind === 'int') {
        const v = g.scalar(addrExpr);
        g.a.stx('w', dst.base, dst.off + 4, v);
        g.release1(v);
      } else {
        const src = g.addr(addrExpr);
        g.copy({ base: dst.base, off: dst.off + 4 }, src, Math.min(16, at.kind === 'string' ? at.size : 16));
        g.dropLoc(src);
      }
    },
  },
  strncmp: {
    minArgs: 3,
    maxArgs: 3,
    check(c, e) {
      requireStrings(c, e.args.slice(0, 2), 'strncmp() needs strings');
      c.requireConst(e.args[2], 'strncmp() length');
      return U64;
    },
    scalar(g, e) {
      // bpftrace: 0 when the first n bytes are equal, 1 otherwise
      return scanStrings(g, e, e.args.slice(0, 2), (r, [a, b]) => {
        const n = Number(g.constOf(e.args[2]));
        const la = a.size, lb = b.size;
        flag(g, r, (differ, end) => {
          for (let i = 0; i < n; i++) {
            if (i >= la || i >= lb) {
              // past one buffer: equal only if the other has ended too
              if (i < la) {
                g.a.ldx('b', R0, a.base, a.off + i);
                g.a.jne(R0, 0, differ);
              } else if (i < lb) {
                g.a.ldx('b', R0, b.base, b.off + i);
                g.a.jne(R0, 0, differ);
              }
              break;
            }
            g.a.ldx('b', R0, a.base, a.off + i);
            g.a.ldx('b', R1, b.base, b.off + i);
            g.a.jne(R0, R1, differ);
            g.a.jeq(R0, 0, end);
          }
        });
      });
    },
  },
  strcontains: {
    minArgs: 2,
    maxArgs: 2,
    check(c, e) {
      requireStrings(c, e.args, 'strcontains() needs strings');
      const needle = e.args[1];
      if (needle.kind !== 'StringLit') c.error('strcontains(): the needle must be a string literal', needle.span);
      return U64;
    },
    scalar(g, e) {
      return scanStrings(g, e, e.args.slice(0, 1), (r, [h]) => {
        const hs = h.size;
        const needle = Buffer.from((e.args[1] as { value: string }).value);
        flag(g, r, (found, end) => {
          if (needle.length === 0) g.a.ja(found);
          for (let i = 0; i + needle.length <= hs - 1 && needle.length > 0; i++) {
            const next = g.a.newLabel('scnext');
            for (let j = 0; j < needle.length; j++) {
              g.a.ldx('b', R0, h.base, h.off + i + j);
              g.a.jne(R0, needle[j], next);
            }
            g.a.ja(found);
            g.a.label(next);
            // the haystack ended: stop searching
            g.a.ldx('b', R0, h.base, h.off + i);
            g.a.jeq(R0, 0, end);
          }
        });
      });
    },
  },
  strlen: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      requireStrings(c, e.args, 'strlen() needs a string');
      return U64;
    },
    scalar(g, e) {
      return scanStrings(g, e, e.args, (r, [s]) => {
        const end = g.a.newLabel('slend');
        g.a.mov64(r, 0);
        for (let i = 0; i < s.size; i++) {
          g.a.ldx('b', R0, s.base, s.off + i);
          g.a.jeq(R0, 0, end);
          g.a.mov64(r, i + 1);
        }
        g.a.label(end);
      });
    },
  },
  sizeof: {
    minArgs: 1,
    maxArgs: 1,
    check: () => U64,
    scalar(g, e) {
      const r = g.temp(e.span);
      const t = g.type(e.args[0]);
      g.a.mov64(r, t.kind === 'int' ? t.size : 8);
      return r;
    },
  },
  signal: {
    minArgs: 1,
    maxArgs: 1,
    unsafe: true,
    check(c, e) {
      const a = e.args[0];
      if (a.kind === 'StringLit') {
        if (signalNumber(a.value) === undefined) c.error(`signal(): unknown signal '${a.value}'`, a.span);
      } else c.int(a, 'signal number');
      return NONE;
    },
    stmt(g, e) {
      const a = e.args[0];
      if (a.kind === 'StringLit') g.a.mov64(R1, signalNumber(a.value) ?? 0);
      else {
        const r = g.scalar(a);
        g.a.mov64(R1, r);
        g.release1(r);
      }
      g.a.call(Helper.send_signal);
    },
  },
  kstack: {
    minArgs: 0,
    maxArgs: 2,
    check: stackCheck('kstack'),
    scalar: (g, e) => stackId(g, false, e.span),
  },
  ustack: {
    minArgs: 0,
    maxArgs: 2,
    check: stackCheck('ustack'),
    store: (g, e, dst) => ustackStore(g, dst, e.span),
  },
  reg: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const a = e.args[0];
      if (!regsOnly(c, e, 'reg()')) return NONE;
      if (a.kind !== 'StringLit' || c.opts.target.arch.ptRegs[a.value] === undefined) {
        return c.error(`reg(): expected a register name in quotes (${Object.keys(c.opts.target.arch.ptRegs).join(', ')})`, a.span);
      }
      return U64;
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      g.a.ldx('dw', r, g.ctx, regOffset(archOf(g), (e.args[0] as { value: string }).value));
      return r;
    },
  },
  strftime: {
    minArgs: 2,
    maxArgs: 2,
    check(c, e) {
      const f = e.args[0];
      c.int(e.args[1], 'strftime() time');
      if (f.kind !== 'StringLit') return c.error('strftime(): the format must be a string literal', f.span);
      return { kind: 'timestamp', format: f.value };
    },
    scalar: (g, e) => g.scalar(e.args[1]),
  },
  nsecs: {
    minArgs: 0,
    maxArgs: 1,
    check(c, e) {
      const a = e.args[0];
      if (a && !(a.kind === 'Identifier' || a.kind === 'Builtin') ) c.error('nsecs(): expected boot, monotonic or tai', a.span);
      return U64;
    },
    scalar(g, e) {
      const a = e.args[0];
      const mode = a && (a.kind === 'Identifier' || a.kind === 'Builtin') ? a.name : 'monotonic';
      return helperValue(g, mode === 'boot' ? Helper.ktime_get_boot_ns : mode === 'tai' ? Helper.ktime_get_tai_ns : Helper.ktime_get_ns, e.span);
    },
  },
  delete: {
    minArgs: 1,
    maxArgs: 3,
    check(c, e) {
      const m = c.mapArg(e.args[0], 'delete');
      const keys = mapArgKeys(e);
      if (m && (m.key === null) !== (keys === null)) c.error(m.key ? `delete(): ${m.name} needs a key` : `delete(): ${m.name} has no keys`, e.span);
      if (keys) keys.forEach((k) => c.type(k));
      return NONE;
    },
    stmt(g, e) {
      g.mapDelete(e.args[0] as Extract<Expr, { kind: 'MapRef' }>, mapArgKeys(e));
    },
  },
  has_key: {
    minArgs: 2,
    maxArgs: 3,
    check(c, e) {
      const m = c.mapArg(e.args[0], 'has_key');
      if (m && !m.key) c.error(`has_key(): ${m.name} has no keys`, e.args[0].span);
      e.args.slice(1).forEach((k) => c.type(k));
      return U64;
    },
    scalar: (g, e) => g.mapHasKey(e.args[0] as Extract<Expr, { kind: 'MapRef' }>, e.args.slice(1), e.span),
  },
  len: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      c.mapArg(e.args[0], 'len');
      return I64;
    },
    scalar: (g, e) => g.mapLength(e.args[0] as Extract<Expr, { kind: 'MapRef' }>, e.span),
  },
  // aggregations: typed and lowered by the map assignment itself
  count: { minArgs: 0, maxArgs: 0, check: () => NONE },
  sum: { minArgs: 1, maxArgs: 1, check: () => NONE },
  avg: { minArgs: 1, maxArgs: 1, check: () => NONE },
  min: { minArgs: 1, maxArgs: 1, check: () => NONE },
  max: { minArgs: 1, maxArgs: 1, check: () => NONE },
  stats: { minArgs: 1, maxArgs: 1, check: () => NONE },
  hist: { minArgs: 1, maxArgs: 2, check: () => NONE },
  lhist: { minArgs: 4, maxArgs: 4, check: () => NONE },
};

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20,
};

function signalNumber(name: string): number | undefined {
  const n = name.toUpperCase();
  return SIGNALS[n] ?? SIGNALS[`SIG${n}`];
}

export function functionNames(): string[] {
  return Object.keys(FUNCTIONS);
}

export { R4, R5 };
