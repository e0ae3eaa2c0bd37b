/**
 * Tracepoints (a record laid out by the tracefs format: `args.FIELD`) and raw
 * tracepoints (the tracepoint's own u64 arguments: arg0..argN).
 */
import { CompileError } from '../diagnostics';
import * as fs from 'node:fs';
import { globToRegExp, UnknownTracepointError, type TracepointField, type TracepointFormat } from '../../sys/tracefs';
import { optionalBtf, type KernelBtf, type Target } from '../../target/target';
import { isGlob } from '../../ebpf/elf';
import { attachRawTracepoint, attachTracepoint } from '../../ebpf/attach';
import { baseCtx, err, hintNames, provider, unreachable, type ExpandedPoint } from './provider';

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
          let what = `No matches for tracepoint ${category}:${event}.`;
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

/**
 * A raw tracepoint's arguments from kernel BTF: the typedef btf_trace_EVENT
 * is `void (*)(void *__data, ARGS...)` (types only); the names are those of
 * the __bpf_trace_CLASS function the kernel generates for the event's class
 * (__bpf_trace_EVENT when the event is its own class, else among the
 * functions whose parameter types are the same those whose class name shares
 * the longest prefix with the event's — sched_wakeup_template for
 * sched_waking; arg0.. when they still disagree).
 */
function rawTracepointParams(btf: KernelBtf, event: string): { name: string; type: number }[] | undefined {
  const own = btf.find(`__bpf_trace_${event}`, 'func');
  if (own !== undefined) return btf.funcParams(own).params.slice(1);
  const td = btf.find(`btf_trace_${event}`, 'typedef');
  if (td === undefined) return undefined;
  const ptr = btf.type(btf.resolve(td));
  const proto = ptr.kind === 'ptr' ? btf.type(btf.resolve(ptr.type)) : undefined;
  if (!proto || proto.kind !== 'func_proto') return undefined;
  const types = proto.params.slice(1).map((p) => p.type);
  let best = -1;
  let names = new Set<string>();
  let named: { name: string; type: number }[] | undefined;
  for (const { cls, params: ps } of classesBySignature(btf).get(types.join(',')) ?? []) {
    let common = 0;
    while (common < cls.length && cls[common] === event[common]) common++;
    if (common < best) continue;
    if (common > best) {
      best = common;
      names = new Set();
    }
    names.add(ps.map((p) => p.name).join(','));
    named = ps;
  }
  return named && names.size === 1 ? named : types.map((type, i) => ({ name: `arg${i}`, type }));
}

const classCache = new WeakMap<KernelBtf, Map<string, { cls: string; params: { name: string; type: number }[] }[]>>();

/** The __bpf_trace_CLASS functions by their parameter types after __data (built once per BTF). */
function classesBySignature(btf: KernelBtf): Map<string, { cls: string; params: { name: string; type: number }[] }[]> {
  let m = classCache.get(btf);
  if (!m) {
    m = new Map();
    for (const f of btf.findPrefix('__bpf_trace_', 'func')) {
      const params = btf.funcParams(f).params.slice(1);
      const key = params.map((p) => p.type).join(',');
      const list = m.get(key) ?? [];
      list.push({ cls: btf.type(f).name.slice('__bpf_trace_'.length), params });
      m.set(key, list);
    }
    classCache.set(btf, m);
  }
  return m;
}

/** `args` of a raw tracepoint: its arguments as u64 slots of the context, typed from BTF; or why there are none. */
function rawTracepointArgs(target: Target, event: string): TracepointFormat | string {
  const btf = optionalBtf(target);
  if (!btf) return 'args of raw tracepoints need kernel BTF (/sys/kernel/btf/vmlinux)';
  const params = rawTracepointParams(btf, event);
  if (!params) return `the kernel's BTF does not describe raw tracepoint ${event} (no btf_trace_${event})`;
  const fields: TracepointField[] = params.map((p, i) => {
    const rid = btf.resolve(p.type);
    const t = btf.type(rid);
    const scalar = t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64';
    const size = scalar ? btf.sizeOf(rid) : 8;
    return {
      name: p.name, type: btf.typeName(p.type), offset: 8 * i, size: [1, 2, 4, 8].includes(size) ? size : 8,
      signed: scalar && t.signed && !(t.kind === 'int' && t.bool), dataLoc: false, btfType: { id: p.type },
    };
  });
  return { category: 'rawtracepoint', event, id: 0, commonFields: [], fields, printFmt: '' };
}

/** Whether `module` (a name or a wildcard) names vmlinux or a loaded module with BTF. */
function moduleLoaded(module: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync('/sys/kernel/btf');
  } catch {
    names = [];
  }
  if (!names.includes('vmlinux')) names.push('vmlinux');
  const re = globToRegExp(module);
  return names.some((n) => re.test(n));
}

/**
 * Raw tracepoints: the kernel's real tracepoints, each with a btf_trace_EVENT
 * typedef in BTF (the syscalls category's events are not among them: they
 * are made from raw_syscalls' sys_enter/sys_exit); without BTF, tracefs'
 * events but those.
 */
function rawEvents(target: Target): string[] {
  const btf = optionalBtf(target);
  const fromBtf = btf ? btf.findPrefix('btf_trace_', 'typedef').map((id) => btf.typeName(id).slice('btf_trace_'.length)) : [];
  const names = fromBtf.length ? fromBtf : target.tracepoints('*', '*').filter((t) => t.category !== 'syscalls').map((t) => t.event);
  return [...new Set(names)].sort();
}

export const rawTracepointProvider = provider({
  name: 'rawtracepoint',
  aliases: ['rt'],
  // every tracepoint is also a raw tracepoint (its arguments before the record is built); bpftrace lists them with -l
  listing: 'default',
  list(req) {
    const names = rawEvents(req.target).filter((e) => req.matches(`rawtracepoint:${e}`));
    const btf = req.verbose ? optionalBtf(req.target) : null;
    return names.flatMap((e) => [`rawtracepoint:${e}`, ...(btf ? (rawTracepointParams(btf, e) ?? []).map((p) => `    ${btf.typeName(p.type)} ${p.name}`) : [])]);
  },
  attach: { raw_tracepoint: (prog, s) => [attachRawTracepoint(prog, s.event)] },
  expand(ap, { target, usesArgs }) {
    const event = ap.parts[ap.parts.length - 1];
    if (!event || ap.parts.length > 2) throw err(ap, 'rawtracepoint needs an event name: rawtracepoint:[MODULE:]EVENT');
    const module = ap.parts.length === 2 ? ap.parts[0] : undefined;
    if (module !== undefined && !moduleLoaded(module)) throw err(ap, `No matches for rawtracepoint ${module}:${event}. (no module '${module}': neither vmlinux nor one in /sys/kernel/btf)`);
    const all = rawEvents(target);
    const events = isGlob(event) ? all.filter((e) => globToRegExp(event).test(e)) : [event];
    if (!events.length || (!isGlob(event) && !all.includes(event) && optionalBtf(target)?.find(`btf_trace_${event}`, 'typedef') === undefined)) {
      throw err(ap, `Probe has no valid attach points. (no raw tracepoint matches '${event}')`, hintNames(event, all));
    }
    return events.map((e) => {
      const full = `rawtracepoint:${module ? `${module}:` : ''}${e}`;
      const ctx: ExpandedPoint['ctx'] = { ...baseCtx('rawtracepoint', 'raw_tracepoint', full), u64Args: true, funcArgs: true, perPoint: !!usesArgs };
      if (usesArgs) {
        const a = rawTracepointArgs(target, e);
        if (typeof a === 'string') ctx.argsUnavailable = `args: ${a}`;
        else ctx.tracepoint = a;
      }
      return { spec: { kind: 'raw_tracepoint', event: e }, ctx, name: full };
    });
  },
});

