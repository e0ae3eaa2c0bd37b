/**
 * Builtin functions that send records to user space: printf, system, cat,
 * print, clear, zero, time, exit, join.
 */
import { FP, Helper, R1, R2, R3 } from '../../ebpf/asm';
import type { Call } from '../ast';
import type { EventSpec } from '../artifact';
import type { FunctionDef, Lowering, TypeRules } from '../feature';
import { INT64 as I64, NONE } from '../types';

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

function checkFormatArgs(c: TypeRules, e: Call, what: string): string | undefined {
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
    const t = c.typeOf(args[i]);
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

function eventOnly(make: (g: Lowering, e: Call) => EventSpec, check: (c: TypeRules, e: Call) => void, min: number, max: number): FunctionDef {
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

export const OUTPUT_FUNCTIONS: Record<string, FunctionDef> = {
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
          g.a.call(g.probe.user ? Helper.probe_read_user : Helper.probe_read_kernel);
          g.a.ldx('dw', R3, FP, pslot);
          g.a.jeq(R3, 0, done);
          g.a.mov64(R1, rec);
          g.a.add64(R1, off);
          g.a.mov64(R2, argSize);
          g.a.call(g.probe.user ? Helper.probe_read_user_str : Helper.probe_read_str);
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
};
