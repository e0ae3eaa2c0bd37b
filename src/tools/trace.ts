/**
 * trace: bcc's trace — print a line per event from probe specs of the form
 *   [p|r]:[lib]:func[(signature)] [(predicate)] ["format", args...]
 *   t:category:event [(predicate)] ["format", args...]
 *   u:[lib]:probe [(predicate)] ["format", args...]
 * with bcc's argument names (arg1.., retval, $pid...), each spec turned into
 * a tsbpf probe. Columns as bcc: PID TID COMM FUNC -.
 */
import * as fs from 'node:fs';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { EventSpec } from '../lang/artifact';
import { formatPrintf, parseFormat } from '../runtime/format/printf';
import { valueText, type Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { bccLibraryPath, translateStrcmp } from './common/bcc';
import { cgroupId } from './common/filters';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { ToolError } from './tool';

export interface TraceOptions {
  probes: string[];
  pid?: number;
  tid?: number;
  timestamp: boolean;
  time: boolean;
  userStack: boolean;
  kernelStack: boolean;
  maxEvents?: number;
  name?: string;
  stringSize: number;
  uid?: number;
  cgroup?: bigint;
  /** -S: also trace this process (bcc leaves its own pid out). */
  includeSelf?: boolean;
  unixTimestamp?: boolean;
  printCpu?: boolean;
  msgFilter?: string;
  /** -a: addresses before stack frames. */
  address?: boolean;
  /** -A: count identical lines, print them with their counts at the end. */
  aggregate?: boolean;
  verbose?: boolean;
  ringPages?: number;
}

export interface ProbeSpec {
  kind: 'p' | 'r' | 't' | 'u';
  lib: string;
  func: string;
  /** Parameter names from a signature, in order (bcc maps them to arg1..). */
  params: string[];
  predicate?: string;
  format?: string;
  args: string[];
}

/** Splits `s` at top-level commas (outside quotes and parentheses). */
export function splitTopLevel(s: string, sep = ','): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      cur += c;
      if (c === '\\') cur += s[++i] ?? '';
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    if (c === sep && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** Parses one bcc trace probe spec. */
export function parseProbeSpec(text: string): ProbeSpec {
  let s = text.trim();
  // The probe part ends at the first space outside a signature's parentheses.
  let depth = 0;
  let end = s.length;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (/\s/.test(s[i]) && depth === 0) {
      end = i;
      break;
    }
  }
  let head = s.slice(0, end);
  s = s.slice(end).trim();
  let params: string[] = [];
  const sig = /^(.*?)\((.*)\)$/.exec(head);
  if (sig) {
    head = sig[1];
    params = splitTopLevel(sig[2]).map((p) => /(\w+)\s*$/.exec(p)?.[1] ?? p).filter((p) => p !== '' && p !== 'void');
  }
  const parts = head.split(':');
  let kind: ProbeSpec['kind'] = 'p';
  let lib = '';
  let func: string;
  if (parts.length === 1) func = parts[0];
  else if (parts.length === 2) {
    lib = parts[0];
    func = parts[1];
  } else {
    // bcc: an empty type is p (':c:malloc', '::do_sys_open')
    if (!['', 'p', 'r', 't', 'u'].includes(parts[0])) throw new ToolError(`unknown probe type '${parts[0]}' in '${text}' (use p, r, t or u)`);
    kind = (parts[0] || 'p') as ProbeSpec['kind'];
    lib = parts[1];
    func = parts.slice(2).join(':');
  }
  if (!func) throw new ToolError(`probe '${text}' names no function, tracepoint or USDT probe`);
  let predicate: string | undefined;
  if (s.startsWith('(')) {
    let d = 0;
    let i = 0;
    for (; i < s.length; i++) {
      if (s[i] === '(') d++;
      else if (s[i] === ')' && --d === 0) break;
    }
    if (d !== 0 && i >= s.length) throw new ToolError(`unbalanced parentheses in the predicate of '${text}'`);
    predicate = s.slice(1, i).trim();
    s = s.slice(i + 1).trim();
  }
  let format: string | undefined;
  let args: string[] = [];
  if (s.startsWith('"')) {
    const items = splitTopLevel(s);
    const f = items[0];
    if (!/^".*"$/s.test(f)) throw new ToolError(`unterminated format string in '${text}'`);
    format = f.slice(1, -1);
    args = items.slice(1);
  } else if (s !== '') {
    throw new ToolError(`unexpected '${s}' in '${text}' (expected a (predicate) or a "format", args)`);
  }
  return { kind, lib, func, params, predicate, format, args };
}

/** bcc argument names → tsbpf expressions. USDT and uprobe arg1 is the first argument (tsbpf arg0). */
export function translateExpr(expr: string, p: ProbeSpec): string {
  let e = expr;
  p.params.forEach((name, i) => {
    e = e.replace(new RegExp(`(?<![\\w$>.])${name}\\b`, 'g'), `arg${i}`);
  });
  e = e.replace(/\barg(\d+)\b/g, (_, n: string) => `arg${Math.max(Number(n) - 1, 0)}`);
  e = e.replace(/\$(pid|tgid)\b/g, 'pid').replace(/\$tid\b/g, 'tid').replace(/\$uid\b/g, 'uid').replace(/\$gid\b/g, 'gid').replace(/\$cpu\b/g, 'cpu');
  e = e.replace(/\$?retval\b/g, 'retval');
  return translateStrcmp(e);
}

/** Wraps the arguments printed with %s in str() (bcc reads strings for %s) and %K/%U in ksym/usym. */
export function typedArgs(format: string, args: string[], p: ProbeSpec, strSize: number): { format: string; args: string[] } {
  const convs = [...format.matchAll(/%([-+ #0]*\d*(?:\.\d+)?)(ll|l|h|hh|z)?([a-zA-Z%])/g)].filter((m) => m[3] !== '%');
  if (convs.length !== args.length) throw new ToolError(`format "${format}" has ${convs.length} conversions but ${args.length} arguments were given`);
  let out = format;
  const outArgs = args.map((a, i) => {
    const t = translateExpr(a, p);
    const c = convs[i][3];
    if (c === 's' && !/^(str|comm|ksym|usym|kstack|ustack)\b|^"/.test(t) && !/->\w*comm\b/.test(t)) return `str(${t}, ${strSize})`;
    if (c === 'K') return `ksym(${t})`;
    if (c === 'U') return `usym(${t})`;
    return t;
  });
  out = out.replace(/%([-+ #0]*\d*(?:\.\d+)?)([KU])/g, '%$1s');
  return { format: out, args: outArgs };
}

function libPath(lib: string, pid?: number): string {
  if (lib === '') {
    if (pid === undefined) throw new ToolError('a probe without a library needs -p PID (the library is then the process\'s executable)');
    try {
      return fs.readlinkSync(`/proc/${pid}/exe`);
    } catch {
      throw new ToolError(`-p: no process with PID ${pid}`);
    }
  }
  return bccLibraryPath(lib, pid);
}

/** The tsbpf attach point for a spec. */
export function attachPoint(p: ProbeSpec, pid?: number): string {
  switch (p.kind) {
    case 't':
      return `tracepoint:${p.lib}:${p.func}`;
    case 'u':
      // bcc: 'u::probe -p PID' searches every object the process maps (probes defined at run time live in a library).
      if (p.lib === '' && pid !== undefined) return `usdt:*:${p.func}`;
      return `usdt:${libPath(p.lib, pid)}:${p.func}`;
    case 'p':
    case 'r':
      if (p.lib === '') {
        if (!hasFeature('kprobes')) {
          throw new MissingFeatureError('kprobes', `tracing the kernel function '${p.func}' needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES (use t:CATEGORY:EVENT tracepoints instead)`);
        }
        return `${p.kind === 'r' ? 'kretprobe' : 'kprobe'}:${p.func}`;
      }
      return `${p.kind === 'r' ? 'uretprobe' : 'uprobe'}:${libPath(p.lib, pid)}:${p.func}`;
  }
}

export interface TraceEventInfo {
  label: string;
  format: string;
  argCount: number;
}

/** The program and, per event format, what to print. */
export function traceProgram(o: TraceOptions): { program: string; events: Map<string, TraceEventInfo> } {
  const events = new Map<string, TraceEventInfo>();
  const out: string[] = [];
  o.probes.forEach((text, i) => {
    const p = parseProbeSpec(text);
    const conds: string[] = [];
    if (o.tid !== undefined) conds.push(`tid == ${o.tid}`);
    else if (o.pid !== undefined) conds.push(`pid == ${o.pid}`);
    else if (!o.includeSelf) conds.push(`pid != ${process.pid}`);
    if (o.uid !== undefined) conds.push(`uid == ${o.uid}`);
    if (o.cgroup !== undefined) conds.push(`cgroup == ${o.cgroup}`);
    if (p.predicate) conds.push(`(${translateExpr(p.predicate, p)})`);
    const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
    const typed = p.format !== undefined ? typedArgs(p.format, p.args, p, o.stringSize) : { format: '', args: [] };
    // A per-probe prefix keeps formats distinct so userspace knows which probe fired.
    const fmt = `T${i}|%d|%d|%d|%d|%s|${typed.format}`;
    // perf mode carries the addresses -a prints
    const mode = o.address ? '(perf)' : '';
    const extra = [o.kernelStack ? `kstack${mode}` : '', o.userStack ? `ustack${mode}` : ''].filter(Boolean);
    const fmtAll = fmt + extra.map(() => '%s').join('');
    const args = ['pid', 'tid', 'cpu', 'nsecs', 'comm', ...typed.args, ...extra].join(', ');
    events.set(fmtAll, { label: p.kind === 't' ? p.func : p.func, format: typed.format, argCount: typed.args.length });
    out.push(`${attachPoint(p, o.pid)}${pred}\n{\n  printf(${JSON.stringify(fmtAll)}, ${args});\n}\n`);
  });
  return { program: out.join('\n'), events };
}

export function traceHeader(o: TraceOptions, trivial: boolean): string {
  let s = '';
  if (o.timestamp || o.time) s += `${'TIME'.padEnd(o.unixTimestamp ? 17 : 8)} `;
  if (o.printCpu) s += `${'CPU'.padEnd(3)} `;
  return s + `${'PID'.padEnd(7)} ${'TID'.padEnd(7)} ${'COMM'.padEnd(15)} ${'FUNC'.padEnd(16)} ${trivial ? '' : '-'}\n`;
}

const mod: ToolModule<TraceOptions> = {
  description: 'Trace functions, tracepoints and USDT probes, printing a formatted line per event (bcc trace).',
  category: 'multi',
  spec: {
    name: 'trace',
    summary: 'Attach to functions, tracepoints and USDT probes and print trace messages if certain conditions are met.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'id of the process to trace (optional)' },
      { short: 'L', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 1, help: 'id of the thread to trace (optional)' },
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'print timestamp column (offset from trace start)' },
      { short: 'T', long: 'time', dest: 'time', kind: 'flag', help: 'print time column (HH:MM:SS)' },
      { short: 'U', long: 'user-stack', dest: 'ustack', kind: 'flag', help: 'output user stack trace' },
      { short: 'K', long: 'kernel-stack', dest: 'kstack', kind: 'flag', help: 'output kernel stack trace' },
      { short: 'M', long: 'max-events', dest: 'max', kind: 'int', metavar: 'MAX_EVENTS', min: 1, help: 'number of events to print before quitting' },
      { short: 'n', long: 'name', dest: 'name', kind: 'string', metavar: 'NAME', help: 'only print process names containing this name' },
      { short: 'Z', long: 'string-size', dest: 'strsize', kind: 'int', metavar: 'STRING_SIZE', min: 1, help: 'maximum size to read from strings (default 80)' },
      { short: 'b', long: 'buffer-pages', dest: 'pages', kind: 'int', metavar: 'BUFFER_PAGES', min: 1, help: 'number of pages of the event ring buffer (a power of two; default: 4 MiB)' },
      { long: 'uid', dest: 'uid', kind: 'int', metavar: 'UID', min: 0, help: 'id of the user to trace (optional)' },
      { short: 'v', long: 'verbose', dest: 'verbose', kind: 'flag', help: 'print the resulting program (tsbpf language) before executing' },
      { short: 'S', long: 'include-self', dest: 'self', kind: 'flag', help: "do not filter trace's own pid from the trace" },
      { short: 'u', long: 'unix-timestamp', dest: 'unix', kind: 'flag', help: 'print UNIX timestamp instead of offset from trace start, requires -t' },
      { short: 'C', long: 'print_cpu', dest: 'cpu', kind: 'flag', help: 'print CPU id' },
      { short: 'c', long: 'cgroup-path', dest: 'cgroup', kind: 'string', metavar: 'CGROUP_PATH', help: 'cgroup path (cgroup v2 directory)' },
      { short: 'f', long: 'msg-filter', dest: 'msgFilter', kind: 'string', metavar: 'MSG_FILTER', help: 'only print the msg of event containing this string' },
      { short: 'B', long: 'bin_cmp', dest: 'binCmp', kind: 'flag', help: 'allow to use STRCMP with binary values (accepted; STRCMP compares strings read up to NUL)' },
      { short: 's', long: 'sym_file_list', dest: 'symFiles', kind: 'string', metavar: 'SYM_FILE_LIST', help: 'symbol files (not supported: symbols come from the binaries and their debuglink files)' },
      { short: 'a', long: 'address', dest: 'address', kind: 'flag', help: 'print virtual address in stacks' },
      { short: 'I', long: 'include', dest: 'include', kind: 'list', metavar: 'header', help: 'header files (accepted and ignored: types come from the kernel BTF)' },
      { short: 'A', long: 'aggregate', dest: 'aggregate', kind: 'flag', help: 'aggregate amount of each trace (needs -M)' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'probe', kind: 'string', rest: true, help: 'probe specifier (see examples)' }],
    examples: [
      "trace 'p:c:malloc \"size = %d\", arg1'             # malloc calls and their size",
      "trace 'r:c:malloc \"ret = %p\", retval'            # malloc return values",
      "trace 't:syscalls:sys_enter_openat \"%s\", args->filename'",
      "trace -p 1234 'u::firstProbe \"%d - %s\", arg1, arg2'  # USDT probe of process 1234, two arguments",
      "trace 'p:c:write (arg1 == 1) \"writing %d bytes to STDOUT\", arg3'",
      "trace 'u:pthread:pthread_create \"%U\", arg3' -T   # thread start functions",
    ],
    notes: "Follows bcc's trace (no libbpf-tools twin). arg1..argN are 1-based as in bcc; %s arguments are read as strings.\n" +
      'Kernel functions (p::func) need kprobes; use t:CATEGORY:EVENT tracepoints on kernels without them.',
  },
  options(a: ParsedArgs): TraceOptions {
    const probes = a.list('probe');
    if (!probes.length && !a.help) throw new ToolError('at least one probe specifier is required (see trace -h)');
    if (a.has('pid') && a.has('tid')) throw new ToolError('only one of -p and -L may be specified');
    if (a.flag('aggregate') && !a.has('max')) throw new ToolError('-M/--max-events should be specified with -A/--aggregate');
    if (a.has('symFiles')) throw new ToolError('-s: symbol files are not supported (symbols come from the binaries and their debuglink files)');
    const pages = a.int('pages');
    if (pages !== undefined && (pages & (pages - 1)) !== 0) throw new ToolError(`-b: the number of pages must be a power of two, got ${pages}`);
    const cg = a.str('cgroup');
    const o: TraceOptions = {
      probes, pid: a.int('pid'), tid: a.int('tid'), timestamp: a.flag('timestamp'), time: a.flag('time'),
      userStack: a.flag('ustack'), kernelStack: a.flag('kstack'), maxEvents: a.int('max'), name: a.str('name'),
      stringSize: a.int('strsize') ?? 80, uid: a.int('uid'), cgroup: cg !== undefined ? cgroupId(cg) : undefined,
      includeSelf: a.flag('self'), unixTimestamp: a.flag('unix'), printCpu: a.flag('cpu'), msgFilter: a.str('msgFilter'),
      address: a.flag('address'), aggregate: a.flag('aggregate'), verbose: a.flag('verbose'), ringPages: pages,
    };
    if (a.list('include').length) process.stderr.write('trace: -I is ignored (types come from the kernel BTF, not headers)\n');
    for (const p of probes) parseProbeSpec(p);
    return o;
  },
  main(o) {
    const { program, events } = traceProgram(o);
    const trivial = [...events.values()].every((e) => e.format === '');
    const parsed = new Map([...events].map(([k, e]) => [k, parseFormat(e.format)]));
    let printed = 0;
    let firstNs: bigint | undefined;
    /** Kernel time (ns) of the first event, as wall-clock ns: for -u. */
    let firstRealNs = 0n;
    const counts = new Map<string, number>();
    const printAggregate = (rt: { print(s: string): void }) => {
      for (const [line, n] of [...counts].sort((x, y) => y[1] - x[1])) rt.print(`${line}-->COUNT ${n}\n\n`);
      counts.clear();
    };
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void; printEvent(s: string): void; stop(code?: number): void }): boolean => {
      if (ev.kind !== 'printf') return false;
      const info = events.get(ev.format);
      if (!info) return false;
      const comm = strOf(v[4]);
      if (o.name !== undefined && !comm.includes(o.name)) return true;
      if (o.maxEvents !== undefined && printed >= o.maxEvents) return true;
      const msg = info.format === '' ? '' : formatPrintf(parsed.get(ev.format) as ReturnType<typeof parseFormat>, v.slice(5, 5 + info.argCount));
      if (o.msgFilter !== undefined && !msg.includes(o.msgFilter)) return true;
      let s = '';
      if (o.time && !o.timestamp) s += `${clockTime().padEnd(8)} `;
      else if (o.timestamp) {
        // bcc: seconds since the first event, from the kernel's clock (-u: as a UNIX time)
        const ns = intOf(v[3]);
        if (firstNs === undefined) {
          firstNs = ns;
          firstRealNs = BigInt(Date.now()) * 1_000_000n;
        }
        const off = Number(ns - firstNs) / 1e9;
        s += o.unixTimestamp ? `${(off + Number(firstRealNs) / 1e9).toFixed(6).slice(0, 17).padEnd(17)} ` : `${off.toFixed(6).slice(0, 8).padEnd(8)} `;
      }
      if (o.printCpu) s += `${String(intOf(v[2])).padEnd(3)} `;
      s += `${String(intOf(v[0])).padEnd(7)} ${String(intOf(v[1])).padEnd(7)} ${comm.padEnd(15)} ${info.label.padEnd(16)} ${msg}\n`;
      for (const st of v.slice(5 + info.argCount)) {
        if (st.kind === 'stack') {
          st.frames.forEach((f, k) => {
            const addr = o.address && st.addrs ? `${st.addrs[k].toString(16).padStart(16)} ` : '';
            s += `        ${addr}${o.address ? f.replace(/^\s*[0-9a-f]+\s+/, '') : f}\n`;
          });
        } else s += valueText(st);
        s += '\n';
      }
      if (o.aggregate) counts.set(s, (counts.get(s) ?? 0) + 1);
      else rt.printEvent(s);
      if (o.maxEvents !== undefined && ++printed >= o.maxEvents) {
        if (o.aggregate) printAggregate(rt);
        rt.stop();
      }
      return true;
    };
    if (o.verbose) process.stdout.write(program.endsWith('\n') ? program : `${program}\n`);
    return runToolProgram({
      name: 'trace', program, banner: traceHeader(o, trivial), onEvent, compile: { pid: o.pid },
      runOptions: o.ringPages !== undefined ? { ringBytes: o.ringPages * 4096 } : undefined,
      // -A: what was counted before Ctrl-C is printed too
      report: o.aggregate ? (rt) => printAggregate(rt) : undefined,
      userProgram: true,
    });
  },
};

export const trace = mod;
export const tool = defineTool(mod);
