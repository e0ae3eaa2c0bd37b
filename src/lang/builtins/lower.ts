/**
 * Lowering pieces several builtins share: helper calls, stack ids, string
 * scans, reads of kernel or user memory, and small lookup tables.
 */
import { Helper, R0, R1, R2, R3, type Reg } from '../../ebpf/asm';
import type { Call, Expr, Span } from '../ast';
import type { Loc, Lowering, TypeRules } from '../feature';
import type { Type } from '../types';

/** Calls a helper with no arguments and returns r0 in a temp. */
export function helperValue(g: Lowering, id: number, span: Span): Reg {
  const r = g.temp(span);
  g.a.call(id);
  g.a.mov64(r, R0);
  return r;
}

export function regsOnly(c: TypeRules, e: { span: Span }, name: string): boolean {
  if (!c.ctx.regs) {
    c.error(`${name} is not available in ${c.ctx.provider} probes`, e.span);
    return false;
  }
  return true;
}

export function requireStrings(c: TypeRules, args: Expr[], what: string): void {
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
export function scanStrings(g: Lowering, e: Call, strings: Expr[], scan: (r: Reg, s: (Loc & { size: number })[]) => void): Reg {
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
export function flag(g: Lowering, r: Reg, test: (yes: string, no: string) => void): void {
  const yes = g.a.newLabel('yes'), no = g.a.newLabel('no');
  g.a.mov64(r, 0);
  test(yes, no);
  g.a.ja(no);
  g.a.label(yes);
  g.a.mov64(r, 1);
  g.a.label(no);
}

export function stackId(g: Lowering, user: boolean, span: Span): Reg {
  const r = g.temp(span);
  g.a.mov64(R1, g.ctx);
  g.ldMap(R2, g.shared.stacks());
  g.a.mov64(R3, user ? 1 << 8 : 0);
  g.a.call(Helper.get_stackid);
  g.a.mov64(r, R0);
  return r;
}

export function ustackStore(g: Lowering, dst: Loc, span: Span): void {
  storeWithPid(g, dst, stackId(g, true, span));
}

/**
 * Stores {r, pid} and frees r: user addresses and stacks mean something only
 * in their process's address space, so user space needs the pid to symbolize them.
 */
export function storeWithPid(g: Lowering, dst: Loc, r: Reg): void {
  g.a.stx('dw', dst.base, dst.off, r);
  g.release1(r);
  g.a.call(Helper.get_current_pid_tgid);
  g.a.rsh64(R0, 32);
  g.a.stx('dw', dst.base, dst.off + 8, R0);
}

// ---- printf format checking -------------------------------------------------

export function strArgLen(c: TypeRules, e: Expr | undefined, dflt: number): number {
  if (!e) return dflt;
  const v = c.requireConst(e, 'length');
  if (v < 1n) {
    c.error('length must be positive', e.span);
    return dflt;
  }
  return Math.min(Number(v), dflt);
}

/**
 * Reads a C string from a pointer into dst (size bytes, zero-padded): at most
 * `len` bytes when given (a run-time length, the NUL counted as in bpftrace
 * 0.26's str(p, n)), else `readSize`, never more than `size`.
 */
export function readStr(g: Lowering, ptr: Reg, dst: Loc, size: number, len: Reg | null, readSize = size): void {
  g.zero(dst, size);
  g.lea(R1, dst);
  if (len) {
    const ok = g.a.newLabel('lenok');
    g.a.mov64(R2, len);
    g.a.jle(R2, size, ok);
    g.a.mov64(R2, size);
    g.a.label(ok);
  } else g.a.mov64(R2, readSize);
  g.a.mov64(R3, ptr);
  g.callRead(g.probe.user ? Helper.probe_read_user_str : Helper.probe_read_str);
}

/** The stack mode a bare kstack/ustack prints in: config stack_mode (or BPFTRACE_STACK_MODE), else bpftrace. */
export function defaultStackMode(c: TypeRules, kind: 'kstack' | 'ustack', span: Span): 'bpftrace' | 'perf' | 'raw' {
  const m = c.opts.config?.stack_mode ?? 'bpftrace';
  if (m === 'build_id') {
    c.error(`${kind}: the build_id stack mode is not supported by tsbpf (use bpftrace, perf or raw)`, span);
    return 'bpftrace';
  }
  return m as 'bpftrace' | 'perf' | 'raw';
}

export function stackCheck(kind: 'kstack' | 'ustack') {
  return (c: TypeRules, e: Call): Type => {
    let mode: 'bpftrace' | 'perf' | 'raw' | undefined;
    let limit = 127;
    for (const a of e.args) {
      if (a.kind === 'Identifier' || a.kind === 'Builtin') {
        if (a.name === 'bpftrace' || a.name === 'perf' || a.name === 'raw') mode = a.name;
        else if (a.name === 'build_id') c.error(`${kind}: the build_id stack mode is not supported by tsbpf (use bpftrace, perf or raw)`, a.span);
        else c.error(`${kind}: unknown mode '${a.name}' (use bpftrace, perf or raw)`, a.span);
      } else {
        const v = c.requireConst(a, `${kind} limit`);
        if (v < 1n || v > 1024n) c.error(`${kind} limit must be between 1 and 1024`, a.span);
        limit = Math.min(Number(v), 127);
      }
    }
    return { kind, mode: mode ?? defaultStackMode(c, kind, e.span), limit };
  };
}

export function mapArgKeys(e: Call): Expr[] | null {
  const m = e.args[0];
  if (m && m.kind === 'MapRef' && m.keys) return m.keys;
  return e.args.length > 1 ? e.args.slice(1) : null;
}

export const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20,
};

export function signalNumber(name: string): number | undefined {
  const n = name.toUpperCase();
  return SIGNALS[n] ?? SIGNALS[`SIG${n}`];
}
