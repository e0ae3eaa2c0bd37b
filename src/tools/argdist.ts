/**
 * argdist: bcc's argdist — a frequency count (-C) or log2 histogram (-H) of
 * function arguments, return values ($retval), latencies ($latency) or entry
 * values seen at return ($entry(param)), from specs of the form
 *   {p,r,t,u}:{[library],category}:function(signature)[:type[,type...]:expr[,expr...][:filter]][#label]
 */
import * as fs from 'node:fs';
import { runningKernel } from '../target/kernel';
import type { Target } from '../target/target';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { HistMap, MapDump } from '../runtime/format/maps';
import { valueText } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { bccLibraryPath, translateStrcmp } from './common/bcc';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { runToolProgram } from './common/script';
import { splitTopLevel } from './trace';
import { ToolError } from './tool';

export interface ArgdistSpec {
  raw: string;
  mode: 'hist' | 'freq';
  kind: 'p' | 'r' | 't' | 'u';
  lib: string;
  func: string;
  params: string[];
  types: string[];
  exprs: string[];
  filter?: string;
  label?: string;
}

export interface ArgdistOptions {
  specs: ArgdistSpec[];
  /** Where tracepoint fields are looked up (default: the running kernel). */
  target?: Target;
  pid?: number;
  tid?: number;
  duration?: number;
  verbose?: boolean;
  include?: string[];
  interval: number;
  count?: number;
  top?: number;
  cumulative: boolean;
  stringSize: number;
}

/** Splits at ':' outside parentheses and quotes. */
function splitColons(s: string): string[] {
  return splitTopLevel(s, ':').map((x) => x.trim());
}

export function parseArgdistSpec(raw: string, mode: 'hist' | 'freq'): ArgdistSpec {
  let text = raw.trim();
  let label: string | undefined;
  const hash = text.lastIndexOf('#');
  if (hash >= 0) {
    label = text.slice(hash + 1).trim();
    text = text.slice(0, hash);
  }
  // splitTopLevel keeps empty fields out; argdist needs them ("p::func"), so split by hand.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of text) {
    if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === ':' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  parts.push(cur.trim());
  if (parts.length < 3) throw new ToolError(`invalid argdist spec '${raw}': expected type:library:function(signature)...`);
  const [given, lib, fn, types, exprs, ...filter] = parts;
  // bcc: an empty type is p ('::__kmalloc(...)')
  const kind = given || 'p';
  if (!['p', 'r', 't', 'u'].includes(kind)) throw new ToolError(`invalid probe type '${kind}' in '${raw}' (use p, r, t or u)`);
  const m = /^([^()]+)(?:\((.*)\))?$/.exec(fn);
  if (!m) throw new ToolError(`invalid function '${fn}' in '${raw}'`);
  const params = (m[2] ?? '').split(',').map((p) => /(\w+)\s*$/.exec(p.trim())?.[1] ?? '').filter((p) => p !== '' && p !== 'void');
  const exprList = exprs ? splitTopLevel(exprs) : [];
  if (mode === 'hist' && exprList.length > 1) throw new ToolError(`a histogram (-H) takes one expression, '${raw}' has ${exprList.length}`);
  if (kind !== 'r' && /\$(retval|latency|entry)\b/.test(exprs ?? '') ) throw new ToolError(`$retval, $latency and $entry() are only available in return probes (r:...), not in '${raw}'`);
  return {
    raw, mode, kind: kind as ArgdistSpec['kind'], lib, func: m[1].trim(), params,
    types: types ? splitTopLevel(types) : [], exprs: exprList, filter: filter.length ? filter.join(':') : undefined, label,
  };
}

function libPath(lib: string, pid?: number): string {
  if (lib === '' && pid !== undefined) return fs.readlinkSync(`/proc/${pid}/exe`);
  return bccLibraryPath(lib, pid);
}

function probeOf(s: ArgdistSpec, ret: boolean, pid?: number): string {
  switch (s.kind) {
    case 't':
      return `tracepoint:${s.lib}:${s.func}`;
    case 'u':
      return `usdt:${libPath(s.lib, pid)}:${s.func}`;
    default:
      if (s.lib === '') {
        if (!hasFeature('kprobes')) {
          throw new MissingFeatureError('kprobes', `'${s.raw}' probes the kernel function ${s.func}, which needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES (use t:CATEGORY:EVENT tracepoints)`);
        }
        return `${ret ? 'kretprobe' : 'kprobe'}:${s.func}`;
      }
      return `${ret ? 'uretprobe' : 'uprobe'}:${libPath(s.lib, pid)}:${s.func}`;
  }
}

/** Field names of a tracepoint (bcc's argdist lets t: specs name them bare: 'irq' for args->irq). */
function tracepointFields(s: ArgdistSpec, target: Target): string[] {
  if (s.kind !== 't') return [];
  try {
    return target.tracepointFormat(s.lib, s.func).fields.map((f) => f.name).filter((n) => !n.startsWith('common_'));
  } catch {
    return []; // the compiler names a missing tracepoint
  }
}

/** bcc names → tsbpf: parameters by position, $retval, $latency, $entry(p), $PID, $COMM, STRCMP, bare tracepoint fields. */
function translate(e: string, s: ArgdistSpec, idx: number, target: Target): string {
  let x = e;
  for (const f of tracepointFields(s, target)) x = x.replace(new RegExp(`(?<![\\w$>.@])${f}\\b(?!\\s*\\()`, 'g'), `args->${f}`);
  x = x.replace(/\$PID\b/g, 'pid').replace(/\$TID\b/g, 'tid').replace(/\$COMM\b/g, 'comm').replace(/\$UID\b/g, 'uid');
  x = x.replace(/\$entry\((\w+)\)/g, (_, p: string) => `@entry${idx}_${p}[tid]`);
  x = x.replace(/\$latency\b/g, `(nsecs - @entry${idx}__ts[tid])`);
  x = x.replace(/\$retval\b/g, 'retval');
  // USDT arguments are arg1.. in bcc, arg0.. in tsbpf.
  if (s.kind === 'u') x = x.replace(/\barg(\d+)\b/g, (_, n: string) => `arg${Math.max(Number(n) - 1, 0)}`);
  s.params.forEach((name, i) => {
    x = x.replace(new RegExp(`(?<![\\w$>.@])${name}\\b`, 'g'), `arg${i}`);
  });
  return translateStrcmp(x);
}

export function argdistProgram(o: ArgdistOptions): string {
  const target = o.target ?? runningKernel();
  const out: string[] = [];
  o.specs.forEach((s, i) => {
    const pidPred = o.tid !== undefined ? `tid == ${o.tid}` : o.pid !== undefined ? `pid == ${o.pid}` : '';
    const all = [...s.exprs, s.filter ?? ''].join(' ');
    const needEntry = s.kind === 'r' && /\$(latency|entry)\b/.test(all);
    if (needEntry) {
      const stores = [`@entry${i}__ts[tid] = nsecs;`];
      for (const m of all.matchAll(/\$entry\((\w+)\)/g)) {
        const pi = s.params.indexOf(m[1]);
        if (pi < 0) throw new ToolError(`$entry(${m[1]}) in '${s.raw}' names no parameter of the signature`);
        stores.push(`@entry${i}_${m[1]}[tid] = arg${pi};`);
      }
      out.push(`${probeOf(s, false, o.pid)}${pidPred ? ` /${pidPred}/` : ''}\n{\n  ${[...new Set(stores)].join('\n  ')}\n}\n`);
    }
    const conds = [pidPred, needEntry ? `@entry${i}__ts[tid] != 0` : '', s.filter ? `(${translate(s.filter, s, i, target)})` : ''].filter(Boolean);
    const exprs = s.exprs.map((e, k) => {
      const t = translate(e, s, i, target);
      return /char\s*\*/.test(s.types[k] ?? '') && t !== 'comm' ? `str(${t}, ${o.stringSize})` : t;
    });
    const key = s.mode === 'freq' ? (exprs.length ? `[${exprs.join(', ')}]` : '') : '';
    const body = s.mode === 'freq' ? `@a${i}${key} = count();` : `@a${i} = hist(${exprs[0] ?? '0'});`;
    const cleanup = needEntry ? `\n  delete(@entry${i}__ts[tid]);${[...new Set([...all.matchAll(/\$entry\((\w+)\)/g)].map((m) => m[1]))].map((p) => `\n  delete(@entry${i}_${p}[tid]);`).join('')}` : '';
    out.push(`${probeOf(s, s.kind === 'r', o.pid)}${conds.length ? ` /${conds.join(' && ')}/` : ''}\n{\n  ${body}${cleanup}\n}\n`);
  });
  return out.join('\n');
}

/** One spec's block in bcc's layout. */
export function argdistBlock(s: ArgdistSpec, m: MapDump | undefined, top?: number): string {
  let out = `${s.label ?? s.raw}\n`;
  if (s.mode === 'hist') {
    const label = s.exprs[0] ?? 'retval';
    if (m && m.kind === 'hist') for (const e of (m as HistMap).entries) out += log2HistText(slotsFromHist(e.value), label, 'bcc');
    return out;
  }
  out += `\t${'COUNT'.padEnd(10)} EVENT\n`;
  if (!m || m.kind !== 'count') return out;
  let rows = [...m.entries].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  if (top !== undefined) rows = rows.slice(Math.max(rows.length - top, 0));
  for (const e of rows) {
    const ev = s.exprs.length ? s.exprs.map((x, k) => `${x} = ${e.key[k] ? valueText(e.key[k]) : ''}`).join(', ') : 'total calls';
    out += `\t${e.value.toString().padEnd(10)} ${ev}\n`;
  }
  return out;
}

const mod: ToolModule<ArgdistOptions> = {
  description: 'Histogram (-H) or frequency count (-C) of function arguments, return values and latencies.',
  category: 'multi',
  spec: {
    name: 'argdist',
    summary: 'Trace a function and display a summary of its parameter values.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'id of the process to trace (optional)' },
      { short: 'z', long: 'string-size', dest: 'strsize', kind: 'int', metavar: 'STRING_SIZE', min: 1, help: 'maximum string size to read from char* arguments (default 80)' },
      { short: 'i', long: 'interval', dest: 'interval', kind: 'int', metavar: 'INTERVAL', min: 1, help: 'output interval, in seconds (default 1 second)' },
      { short: 'n', long: 'number', dest: 'count', kind: 'int', metavar: 'COUNT', min: 1, help: 'number of outputs' },
      { short: 'c', long: 'cumulative', dest: 'cumulative', kind: 'flag', help: 'do not clear histograms and freq counts at each interval' },
      { short: 'T', long: 'top', dest: 'top', kind: 'int', metavar: 'TOP', min: 1, help: 'number of top results to show (not applicable to histograms)' },
      { short: 'H', long: 'histogram', dest: 'hist', kind: 'list', metavar: 'SPECIFIER', help: 'probe specifier to capture histogram of (see examples below)' },
      { short: 'C', long: 'count', dest: 'freq', kind: 'list', metavar: 'SPECIFIER', help: 'probe specifier to capture count of (see examples below)' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 1, help: 'id of the thread to trace (optional)' },
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'total duration of trace, in seconds' },
      { short: 'v', long: 'verbose', dest: 'verbose', kind: 'flag', help: 'print the resulting program (tsbpf language) before executing' },
      { short: 'I', long: 'include', dest: 'include', kind: 'list', metavar: 'header', help: 'header files (accepted and ignored: types come from the kernel BTF)' },
      EBPF_OPTION,
    ],
    examples: [
      "argdist -H 'p::__kmalloc(u64 size):u64:size'            # kmalloc sizes (needs kprobes)",
      "argdist -C 'p:c:malloc(size_t size):size_t:size:size==16'  # malloc calls of 16 bytes",
      "argdist -C 'r::vfs_read()'                              # vfs_read calls (needs kprobes)",
      "argdist -H 't:syscalls:sys_enter_read():int:args->count'  # read() sizes from the tracepoint",
      "argdist -C 'r:c:getaddrinfo():int:$retval'              # getaddrinfo return codes",
      "argdist -H 'r:c:malloc():u64:$latency'                  # malloc latency, ns",
      "argdist -C 'r:c:fwrite(void *p, size_t size):size_t:$entry(size):$retval == 0'  # sizes of failed fwrites",
    ],
    notes: "Follows bcc's argdist (no libbpf-tools twin). p::/r:: kernel functions need kprobes. Types are only used to read char* as strings.",
  },
  options(a: ParsedArgs): ArgdistOptions {
    const specs = [...a.list('hist').map((s) => parseArgdistSpec(s, 'hist')), ...a.list('freq').map((s) => parseArgdistSpec(s, 'freq'))];
    if (!specs.length && !a.help) throw new ToolError('at least one -H or -C specifier is required (see argdist -h)');
    return {
      specs, pid: a.int('pid'), tid: a.int('tid'), duration: a.int('duration'), verbose: a.flag('verbose'), include: a.list('include'),
      interval: a.int('interval') ?? 1, count: a.int('count'), top: a.int('top'),
      cumulative: a.flag('cumulative'), stringSize: a.int('strsize') ?? 80,
    };
  },
  main(o) {
    const program = argdistProgram(o);
    if (o.verbose) process.stdout.write(program);
    if (o.include?.length) process.stderr.write('argdist: -I is ignored (types come from the kernel BTF, not headers)\n');
    return runToolProgram({
      name: 'argdist',
      program,
      userProgram: true,
      interval: o.interval,
      count: o.count,
      duration: o.duration,
      compile: { pid: o.pid },
      report: (rt) => {
        let s = `[${clockTime()}]\n`;
        o.specs.forEach((sp, i) => {
          s += argdistBlock(sp, rt.map(`@a${i}`), o.top);
          if (!o.cumulative) rt.clearMap(`@a${i}`);
        });
        rt.print(s);
      },
    });
  },
};

export const argdist = mod;
export const tool = defineTool(mod);
