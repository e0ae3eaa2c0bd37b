/**
 * Tracepoints (a record laid out by the tracefs format: `args.FIELD`) and raw
 * tracepoints (the tracepoint's own u64 arguments: arg0..argN).
 */
import { CompileError } from '../diagnostics';
import { UnknownTracepointError, type TracepointFormat } from '../../sys/tracefs';
import { isGlob } from '../../ebpf/elf';
import { attachRawTracepoint, attachTracepoint } from '../../ebpf/attach';
import { baseCtx, err, hintNames, provider, unreachable } from './provider';

export const tracepointProvider = provider({
  name: 'tracepoint',
  aliases: ['t'],
  listing: 'default',
  list(req) {
    const out: string[] = [];
    for (const tp of req.target.tracepoints('*', '*')) {
      const name = `tracepoint:${tp.category}:${tp.event}`;
      if (!req.matches(name)) continue;
      out.push(name);
      if (req.verbose) {
        try {
          for (const f of req.target.tracepointFormat(tp.category, tp.event).fields) out.push(`    ${f.type} ${f.name}`);
        } catch {
          // format unreadable: list the name alone
        }
      }
    }
    return out;
  },
  attach: { tracepoint: (prog, s) => [attachTracepoint(prog, s.category, s.event)] },
  expand(ap, { target }) {
    if (ap.parts.length !== 2) throw err(ap, `tracepoint needs category and event: tracepoint:CATEGORY:EVENT`);
    const [cat, ev] = ap.parts;
    let names: { category: string; event: string }[];
    if (isGlob(cat) || isGlob(ev)) {
      names = target.tracepoints(cat, ev);
      if (!names.length) throw err(ap, `no tracepoints match '${cat}:${ev}'`);
    } else {
      names = [{ category: cat, event: ev }];
    }
    return names.map(({ category, event }) => {
      let fmt: TracepointFormat;
      try {
        fmt = target.tracepointFormat(category, event);
      } catch (e) {
        if (e instanceof UnknownTracepointError) {
          let cands: string[] = [];
          let what = `tracepoint not found: ${category}:${event}`;
          try {
            if (target.tracepointCategories().includes(category)) cands = target.tracepoints(category, '*').map((t) => t.event);
            else {
              cands = [...target.tracepointCategories()];
              what = `unknown tracepoint category: ${category}`;
              return unreachable(err(ap, what, hintNames(category, cands)));
            }
          } catch (inner) {
            if (inner instanceof CompileError) throw inner;
          }
          throw err(ap, what, hintNames(event, cands));
        }
        throw err(ap, `cannot read tracepoint ${category}:${event}: ${(e as Error).message}`);
      }
      const full = `tracepoint:${category}:${event}`;
      return {
        spec: { kind: 'tracepoint', category, event },
        ctx: { ...baseCtx('tracepoint', 'tracepoint', full), tracepoint: fmt, user: category === 'syscalls' },
        name: full,
      };
    });
  },
});

export const rawTracepointProvider = provider({
  name: 'rawtracepoint',
  aliases: ['rt'],
  // every tracepoint is also a raw tracepoint (its arguments before the record is built)
  listing: 'explicit',
  list(req) {
    const events = new Set(req.target.tracepoints('*', '*').map((t) => t.event));
    return [...events].sort().map((e) => `rawtracepoint:${e}`).filter((n) => req.matches(n));
  },
  attach: { raw_tracepoint: (prog, s) => [attachRawTracepoint(prog, s.event)] },
  expand(ap) {
    const event = ap.parts[ap.parts.length - 1];
    if (!event) throw err(ap, 'rawtracepoint needs an event name: rawtracepoint:EVENT');
    const full = `rawtracepoint:${event}`;
    return [{ spec: { kind: 'raw_tracepoint', event }, ctx: { ...baseCtx('rawtracepoint', 'raw_tracepoint', full), u64Args: true, funcArgs: true }, name: full }];
  },
});

