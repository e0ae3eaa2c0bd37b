/**
 * funccount: counts calls of functions, tracepoints or USDT probes matching
 * a pattern, as bcc's funccount: `vfs_*` (kernel functions, kprobes),
 * `t:block:*` (tracepoints), `c:malloc` or `p:/path:func` (user functions,
 * uprobes), `u:lib:probe` (USDT). Patterns are globs, or regexes with -r.
 */
import { ElfFile } from '../ebpf/elf';
import { resolveLibrary } from '../ebpf/ldcache';
import { readUsdtProbes } from '../ebpf/usdt';
import { MissingFeatureError, hasFeature } from '../sys/features';
import { globToRegExp, listTracepoints } from '../sys/tracefs';
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { runToolProgram } from './common/script';
import { keyString } from './common/text';
import { ToolError } from './tool';

export interface FunccountOptions {
  pattern: string;
  pid?: number;
  interval?: number;
  duration?: number;
  timestamp: boolean;
  regexp: boolean;
  cpu?: number;
  debug?: boolean;
}

export type Target =
  | { kind: 'kprobe'; pattern: string }
  | { kind: 'tracepoint'; category: string; event: string }
  | { kind: 'uprobe'; lib: string; func: string }
  | { kind: 'usdt'; lib: string; probe: string };

/** Splits a bcc funccount pattern into what it targets. */
export function parsePattern(p: string): Target {
  const parts = p.split(':');
  if (parts.length === 1) return { kind: 'kprobe', pattern: p };
  if (parts.length === 2) {
    if (parts[0] === 'k' || parts[0] === '') return { kind: 'kprobe', pattern: parts[1] };
    if (parts[0] === 'p' || parts[0] === 't' || parts[0] === 'u') throw new ToolError(`pattern '${p}' needs another ':' (e.g. t:block:* or p:c:malloc)`);
    return { kind: 'uprobe', lib: parts[0], func: parts[1] };
  }
  const [type, a, ...rest] = parts;
  const b = rest.join(':');
  switch (type) {
    case 't':
    case 'tracepoint':
      return { kind: 'tracepoint', category: a, event: b };
    case 'u':
    case 'usdt':
      return { kind: 'usdt', lib: a, probe: b };
    case 'p':
    case 'uprobe':
      if (a === '') return { kind: 'kprobe', pattern: b };
      return { kind: 'uprobe', lib: a, func: b };
    case 'k':
    case 'kprobe':
      return { kind: 'kprobe', pattern: b };
    default:
      throw new ToolError(`unknown probe type '${type}' in '${p}' (use t:, u:, p: or a kernel function pattern)`);
  }
}

function matcher(pattern: string, regexp: boolean): RegExp {
  if (!regexp) return globToRegExp(pattern);
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    throw new ToolError(`invalid regular expression '${pattern}': ${(e as Error).message}`);
  }
}

function libPath(lib: string, pid?: number): string {
  try {
    return lib.includes('/') ? lib : resolveLibrary(lib, pid);
  } catch (e) {
    throw new ToolError(`cannot find library '${lib}': ${(e as Error).message}`);
  }
}

/** Expands the pattern into explicit attach points (the compiler gets no wildcards). */
export function attachPoints(o: FunccountOptions): string[] {
  const t = parsePattern(o.pattern);
  switch (t.kind) {
    case 'kprobe':
      if (!hasFeature('kprobes')) {
        throw new MissingFeatureError('kprobes', `counting kernel functions ('${t.pattern}') needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES (tracepoints work: funccount 't:CATEGORY:EVENT')`);
      }
      return [`kprobe:${t.pattern}`];
    case 'tracepoint': {
      const cre = matcher(t.category, o.regexp);
      const ere = matcher(t.event, o.regexp);
      return listTracepoints('*', '*').filter((x) => cre.test(x.category) && ere.test(x.event)).map((x) => `tracepoint:${x.category}:${x.event}`);
    }
    case 'uprobe': {
      const path = libPath(t.lib, o.pid);
      const re = matcher(t.func, o.regexp);
      // One probe per address, named by the first matching symbol there (as bcc): aliases such as
      // malloc and __libc_malloc are one function, and probing both would count each call twice.
      const byAddress = new Map<bigint, string>();
      for (const s of ElfFile.open(path).symbols()) {
        if ((s.type !== 'FUNC' && s.type !== 'IFUNC') || s.shndx === 0 || s.value === 0 || !re.test(s.name)) continue;
        const at = BigInt(s.value);
        if (!byAddress.has(at)) byAddress.set(at, s.name);
      }
      return [...new Set(byAddress.values())].sort().map((n) => `uprobe:${path}:${n}`);
    }
    case 'usdt': {
      const path = libPath(t.lib, o.pid);
      const re = matcher(t.probe, o.regexp);
      const names = new Set(readUsdtProbes(path).filter((p) => re.test(p.name) || re.test(`${p.provider}:${p.name}`)).map((p) => `${p.provider}:${p.name}`));
      return [...names].sort().map((n) => `usdt:${path}:${n}`);
    }
  }
}

export function funccountProgram(points: string[], o: FunccountOptions): string {
  const conds = [o.pid !== undefined ? `pid == ${o.pid}` : '', o.cpu !== undefined ? `cpu == ${o.cpu}` : ''].filter(Boolean);
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  return `${points.join(',\n')}${pred}\n{\n  @counts[probe] = count();\n}\n`;
}

/** bcc prints tracepoints as category:event and functions by name. */
export function funcLabel(probe: string): string {
  const m = /^(?:tracepoint|t):(.*)$/.exec(probe);
  if (m) return m[1];
  const parts = probe.split(':');
  if (parts[0] === 'usdt' && parts.length >= 4) return parts.slice(-2).join(':');
  return parts[parts.length - 1];
}

export function funccountReport(m: MapDump | undefined, o: FunccountOptions, now: Date, final = false): string {
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  s += `${'FUNC'.padEnd(36)} ${'COUNT'.padStart(8)}\n`;
  const rows: Array<[string, bigint]> = [];
  if (m && m.kind === 'count') for (const e of m.entries) rows.push([funcLabel(keyString(e.key)), e.value]);
  rows.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : 1));
  for (const [k, v] of rows) s += `${k.padEnd(36)} ${v.toString().padStart(8)}\n`;
  return final ? `${s}Detaching...\n` : s;
}

const mod: ToolModule<FunccountOptions> = {
  description: 'Count function calls, tracepoint hits or USDT probe firings matching a pattern.',
  category: 'multi',
  spec: {
    name: 'funccount',
    summary: 'Count functions, tracepoints, and USDT probes',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'i', long: 'interval', dest: 'interval', kind: 'int', metavar: 'INTERVAL', min: 1, help: 'summary interval, seconds' },
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'total duration of trace, seconds' },
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'r', long: 'regexp', dest: 'regexp', kind: 'flag', help: 'use regular expressions. Default is "*" wildcards only.' },
      { short: 'D', long: 'debug', dest: 'debug', kind: 'flag', help: 'print the program (tsbpf language) before starting' },
      { short: 'c', long: 'cpu', dest: 'cpu', kind: 'int', metavar: 'CPU', min: 0, help: 'trace this CPU only' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'pattern', kind: 'string', help: 'search expression for events' }],
    examples: [
      "funccount 'vfs_*'             # count kernel fns starting with \"vfs\" (needs kprobes)",
      "funccount -r '^vfs.*'         # same as above, using regular expressions",
      "funccount -Ti 5 'vfs_*'       # output every 5 seconds, with timestamps",
      "funccount -d 10 'vfs_*'       # trace for 10 seconds only",
      "funccount -p 185 'vfs_*'      # count vfs calls for PID 181 only",
      "funccount t:sched:sched_process_fork  # count calls to the sched_process_fork tracepoint",
      "funccount -p 185 u:node:gc*   # count all GC USDT probes in node, PID 185",
      "funccount c:malloc            # count all malloc() calls in libc",
      "funccount 't:block:*'         # count every block tracepoint",
    ],
    notes: "Follows bcc's funccount (no libbpf-tools twin). Kernel-function patterns need kprobes. Aliases (functions at one\naddress, e.g. malloc and __libc_malloc) are probed once, under the first name the symbol table gives, as bcc.",
  },
  options(a: ParsedArgs): FunccountOptions {
    const pattern = a.str('pattern');
    if (pattern === undefined && !a.help) throw new ToolError('a pattern is required (e.g. funccount \'t:block:*\')');
    return {
      pattern: pattern ?? '', pid: a.int('pid'), interval: a.int('interval'), duration: a.int('duration'), timestamp: a.flag('timestamp'),
      regexp: a.flag('regexp'), cpu: a.int('cpu'), debug: a.flag('debug'),
    };
  },
  main(o) {
    const points = attachPoints(o);
    if (!points.length) throw new ToolError(`no functions matched '${o.pattern}'`);
    const program = funccountProgram(points, o);
    if (o.debug) process.stdout.write(program);
    return runToolProgram({
      name: 'funccount',
      program,
      banner: `Tracing ${points.length} functions for "${o.pattern}"... Hit Ctrl-C to end.\n`,
      interval: o.interval,
      duration: o.duration,
      compile: { pid: o.pid },
      report: (rt, final) => {
        rt.print(funccountReport(rt.map('@counts'), o, new Date(), final));
        rt.clearMap('@counts');
      },
    });
  },
};

export const funccount = mod;
export const tool = defineTool(mod);
