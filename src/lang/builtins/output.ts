/**
 * Builtin functions that send records to user space: printf, system, cat,
 * print, clear, zero, time, exit, join.
 */
import { FP, Helper, R0, R1, R2, R3 } from '../../ebpf/asm';
import type { Call } from '../ast';
import type { EventSpec } from '../artifact';
import type { FunctionDef, Lowering, TypeRules } from '../feature';
import { INT64 as I64, NONE, typeName, type Type } from '../types';
import { checkFormat, parseFormat, PrintfFormatError, type PrintfArgClass } from '../../runtime/format/printf';

/** How printf sees a value (bpftrace's classes: everything printed as text is a string). */
function printfClass(c: TypeRules, t: Type): PrintfArgClass | undefined {
  switch (t.kind) {
    case 'int':
      return 'integer';
    case 'buffer':
      return 'buffer';
    case 'tuple':
      return 'tuple';
    case 'named':
      return c.namedType(t.name).printfAs;
    case 'none':
    case 'ctx':
    case 'array':
      return undefined;
    default:
      return 'string';
  }
}

/** Checks a printf-style call against its format with the runtime's (bpftrace's) parser; returns the format. */
function checkFormatArgs(c: TypeRules, e: Call, what: string): string | undefined {
  const f = e.args[0];
  if (!f || f.kind !== 'StringLit') {
    c.error(`${what}: the first argument must be a string literal format`, (f ?? e).span);
    return undefined;
  }
  const args = e.args.slice(1);
  const parsed = parseFormat(f.value);
  const classes = args.map((a, i) => {
    const t = c.type(a);
    if (t.kind === 'ctx' || t.kind === 'array') c.error(`${what}: cannot print ${typeName(t)}`, a.span);
    // an enum value is both: %d prints its number, %s its enumerator's name (bpftrace 0.26)
    const expects = parsed.parts[i]?.spec.expects;
    if (t.kind === 'int' && t.enum && expects === 'string') return 'string';
    return printfClass(c, t);
  });
  // an argument whose type is unknown (already reported) is not checked again
  if (classes.some((k) => k === undefined)) return f.value;
  try {
    checkFormat(parsed, classes as PrintfArgClass[], kindOf(what));
  } catch (err) {
    if (!(err instanceof PrintfFormatError)) throw err;
    // point at the first argument too many, or the one of the wrong type; the call when arguments are missing
    const wrongType = parsed.parts.findIndex((p) => p.spec.offset === err.offset);
    const at = args.length > parsed.parts.length ? args[parsed.parts.length] : args.length === parsed.parts.length ? args[wrongType] : undefined;
    c.error(err.message, (at ?? e).span);
  }
  return f.value;
}

/** `printf()` → `printf` (the function name as bpftrace's messages say it). */
function kindOf(what: string): string {
  return what.replace(/\(\)$/, '');
}

/** A statement-only call that sends a formatted record (printf, system, cat; errorf/warnf: printf as a diagnostic). */
function formatted(kind: 'printf' | 'system' | 'cat', unsafe = false, severity?: 'ERROR' | 'WARNING'): FunctionDef {
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
      const s = e.span;
      const cols = s.endLine === s.line && s.endCol > s.col + 1 ? `${s.col}-${s.endCol}` : `${s.col}`;
      const id = g.shared.addEvent(kind === 'printf' && severity
        ? { kind, format: fmt, fields: layout.fields, diagnostic: { severity, line: s.line, cols } }
        : { kind, format: fmt, fields: layout.fields });
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
  errorf: formatted('printf', false, 'ERROR'),
  warnf: formatted('printf', false, 'WARNING'),
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
        const t = c.valueType(a);
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
    endsAction: true,
    check(c, e) {
      if (e.args[0]) c.int(e.args[0], 'exit code');
      return NONE;
    },
    stmt(g, e) {
      const code = e.args[0];
      const id = g.shared.addEvent({ kind: 'exit', code: code ? { offset: 8, type: { kind: 'int', size: 8, signed: true } } : null });
      g.emitEvent(id, code ? 16 : 8, (rec) => {
        if (code) g.storeInto(code, { base: rec, off: 8 }, I64);
        // Raised only once the record is reserved: a lost exit record leaves the probes running to try again.
        if (g.shared.exitFlagIndex >= 0) {
          g.a.ldMapValue(R1, g.shared.exitFlagIndex);
          g.a.st('w', R1, 0, 1);
        }
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
      // The thread id goes first: a tool matches the record to that thread's other events (tools/execsnoop.ts).
      const id = g.shared.addEvent({ kind: 'join', tid: { offset: 8, type: { kind: 'int', size: 4, signed: false } }, field: { offset: 16, type: { kind: 'string', size: maxArgs * argSize } }, separator: sep, maxArgs, argSize });
      const argv = g.scalar(e.args[0]);
      g.emitEvent(id, 16 + maxArgs * argSize, (rec) => {
        const done = g.a.newLabel('jdone');
        const slot = g.alloc(8);
        g.a.stx('dw', FP, slot, argv);
        g.a.call(Helper.get_current_pid_tgid);
        g.a.stx('dw', rec, 8, R0);
        for (let i = 0; i < maxArgs; i++) {
          const off = 16 + i * argSize;
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
          g.callRead(g.probe.user ? Helper.probe_read_user : Helper.probe_read_kernel);
          g.a.ldx('dw', R3, FP, pslot);
          g.a.jeq(R3, 0, done);
          g.a.mov64(R1, rec);
          g.a.add64(R1, off);
          g.a.mov64(R2, argSize);
          g.callRead(g.probe.user ? Helper.probe_read_user_str : Helper.probe_read_str);
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
