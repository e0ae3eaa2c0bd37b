/**
 * String and buffer functions: str, buf, strncmp, strcontains, strlen.
 */
import { Helper, R0, R1, R2, R3, type Reg } from '../../ebpf/asm';
import type { Expr } from '../ast';
import type { FunctionDef, Loc, Lowering } from '../feature';
import { BOOL, UINT64 as U64 } from '../types';
import { flag, readStr, requireStrings, scanStrings } from './lower';

/** N when `e` is the positional parameter $N (not $#); string parameters are already strings. */
function paramArg(e: Expr): number | undefined {
  return e.kind === 'PositionalParam' && e.index > 0 ? e.index : undefined;
}

/** Instructions searchAny emits for a haystack of `hs` bytes and a needle of `ns`. */
function scanSize(hs: number, ns: number): number {
  return hs * (ns * 4 + 3);
}

/** Jumps within one search must fit BPF's 16-bit jump offsets. */
const MAX_SCAN = 30000;

/**
 * r = whether the string at `n` (a value, not a literal) occurs in the one at
 * `h`, each ending at its first NUL (or its buffer); an empty needle occurs
 * everywhere. Unrolled: at each start i, needle byte j is compared with
 * haystack byte i+j until the needle ends (found) or they differ (next start);
 * the search ends at the haystack's NUL.
 */
function searchAny(g: Lowering, r: Reg, h: Loc & { size: number }, n: Loc & { size: number }): void {
  flag(g, r, (found, end) => {
    for (let i = 0; i < h.size; i++) {
      const next = g.a.newLabel('scnext');
      for (let j = 0; j < n.size; j++) {
        g.a.ldx('b', R1, n.base, n.off + j);
        g.a.jeq(R1, 0, found);
        if (i + j >= h.size) {
          g.a.ja(next);
          break;
        }
        g.a.ldx('b', R0, h.base, h.off + i + j);
        g.a.jne(R0, R1, next);
      }
      g.a.ja(found);
      g.a.label(next);
      g.a.ldx('b', R0, h.base, h.off + i);
      g.a.jeq(R0, 0, end);
    }
  });
}

export const STRING_FUNCTIONS: Record<string, FunctionDef> = {
  str: {
    minArgs: 1,
    maxArgs: 2,
    check(c, e) {
      const t = c.type(e.args[0]);
      const param = t.kind === 'int' ? paramArg(e.args[0]) : undefined;
      if (param !== undefined) {
        // str($1) of a numeric parameter is the parameter's text, numeric or not (bpftrace): str(0775) is "0775"
        const text = Buffer.byteLength(c.opts.params[param - 1] ?? '') + 1;
        const v = e.args[1] ? c.requireConst(e.args[1], 'str() length') : undefined;
        return { kind: 'string', size: Math.max(1, Math.min(v !== undefined ? Number(v) + 1 : text, text)) };
      }
      if (t.kind === 'string') {
        // str(string, n): the first n characters, like str(ptr, n)
        const v = e.args[1] ? c.constInt(e.args[1]) : undefined;
        if (e.args[1] && v === undefined) c.int(e.args[1], 'str() length');
        return v !== undefined ? { kind: 'string', size: Math.max(1, Math.min(Number(v) + 1, t.size)) } : t;
      }
      if (t.kind !== 'int' && t.kind !== 'none') c.error(`str() needs a pointer, got ${t.kind}`, e.args[0].span);
      // bpftrace 0.26 (F60): str(p) keeps up to strlen characters and a cut one prints a trailer;
      // str(p, n) reads n bytes counting the NUL (n - 1 characters), at most strlen + 1
      const trailer = c.opts.strTrailer ?? '..';
      if (e.args[1]) {
        c.int(e.args[1], 'str() length');
        const v = c.constInt(e.args[1]);
        if (v !== undefined && v < 0n) c.error('str() cannot use a negative length', e.args[1].span);
        if (v !== undefined && v >= 0n && v < BigInt(c.opts.strlen)) return { kind: 'string', size: Math.max(1, Number(v) + 1), trailer };
      }
      return { kind: 'string', size: c.opts.strlen + 1, trailer };
    },
    store(g, e, dst, size) {
      const t = g.type(e.args[0]);
      const param = t.kind === 'int' ? paramArg(e.args[0]) : undefined;
      if (param !== undefined) {
        const own = g.type(e);
        const n = own.kind === 'string' ? Math.min(own.size, size) : size;
        const text: Expr = { kind: 'StringLit', value: g.paramStr(param), span: e.args[0].span };
        g.storeInto(text, dst, { kind: 'string', size: n });
        if (size > n) g.zero({ base: dst.base, off: dst.off + n }, size - n);
        return;
      }
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
      const lit = e.args[1]?.kind === 'IntegerLit' ? e.args[1].value : undefined;
      const len = e.args[1] && lit === undefined ? g.scalar(e.args[1]) : null;
      if (size > n) g.zero({ base: dst.base, off: dst.off + n }, size - n);
      readStr(g, p, dst, n, len, lit !== undefined ? Math.max(0, Math.min(Number(lit), n)) : n);
      g.release1(p);
      if (len) g.release1(len);
    },
  },
  buf: {
    minArgs: 1,
    maxArgs: 2,
    check(c, e) {
      const src = c.type(e.args[0]);
      if (src.kind === 'string') {
        // the bytes of a string value (bpftrace 0.26): at most its size, NUL included when asked for
        const n = e.args[1] ? c.constInt(e.args[1]) : undefined;
        if (e.args[1] && n === undefined) return c.error('buf() of a string needs a constant length', e.args[1].span);
        return { kind: 'buffer', size: Math.max(1, Math.min(Number(n ?? BigInt(src.size)), src.size, 1024)) };
      }
      c.int(e.args[0], 'buf() pointer');
      const n = e.args[1] ? c.constInt(e.args[1]) : undefined;
      if (e.args[1]) c.int(e.args[1], 'buf() length');
      if (e.args[1] && n === undefined) return { kind: 'buffer', size: c.opts.strlen };
      return { kind: 'buffer', size: Math.max(1, Math.min(Number(n ?? BigInt(c.opts.strlen)), 1024)) };
    },
    store(g, e, dst, size) {
      const own = g.type(e);
      const cap = own.kind === 'buffer' ? own.size : size - 4;
      if (g.type(e.args[0]).kind === 'string') {
        const mark = g.frameMark;
        const from = g.addr(e.args[0]);
        g.zero(dst, size);
        g.a.st('w', dst.base, dst.off, cap);
        g.copy({ base: dst.base, off: dst.off + 4 }, from, cap);
        g.dropLoc(from);
        g.release(mark);
        return;
      }
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
      g.callRead(g.probe.user ? Helper.probe_read_user : Helper.probe_read_kernel);
      g.release1(p);
      if (len) g.release1(len);
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
      const [h, n] = e.args.map((a) => c.type(a));
      if (e.args[1].kind !== 'StringLit' && h.kind === 'string' && n.kind === 'string' && scanSize(h.size, n.size) > MAX_SCAN) {
        c.error(`strcontains(): searching a string[${n.size}] in a string[${h.size}] takes too many instructions; shorten them with str(s, n)`, e.span);
      }
      return BOOL;
    },
    scalar(g, e) {
      if (e.args[1].kind !== 'StringLit') return scanStrings(g, e, e.args, (r, [h, n]) => searchAny(g, r, h, n));
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
};
