/**
 * funclatency: histogram of how long functions take, from an entry probe
 * and a return probe on each matched function: kernel functions (kprobes),
 * or LIB:FUNC / PATH:FUNC in user space (uprobes). Flags and output as bcc
 * funclatency.
 */
import type { MapDump } from '../runtime/format/maps';
import { MissingFeatureError, hasFeature } from '../sys/features';
import { globToRegExp } from '../sys/tracefs';
import { runningKernel } from '../target/kernel';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime, log2HistText, slotsFromHist } from './common/hist';
import { intOf, runToolProgram } from './common/script';
import { parsePattern } from './funccount';
import { ElfFile } from '../ebpf/elf';
import { resolveLibrary } from '../ebpf/ldcache';
import { ToolError } from './tool';

export interface FunclatencyOptions {
  pattern: string;
  pid?: number;
  interval?: number;
  duration?: number;
  timestamp: boolean;
  microseconds: boolean;
  milliseconds: boolean;
  perFunction: boolean;
  regexp: boolean;
  verbose: boolean;
  ebpf: boolean;
}

/** Each matched function: its entry probe, return probe and name. */
export interface Traced {
  entry: string;
  ret: string;
  name: string;
  /** User-space functions are also keyed by process with -F, as bcc does. */
  user: boolean;
}

/** Kernel functions matching a glob (or regexp): the ones kprobes can attach to (the running kernel's one list). */
function kernelFunctions(pattern: string, regexp: boolean): string[] {
  if (!regexp && !/[*?[]/.test(pattern)) return [pattern];
  const all = runningKernel().kprobeFunctions();
  if (!all.length) throw new ToolError(`cannot list kernel functions to match '${pattern}' (tracefs available_filter_functions and kallsyms are unreadable)`);
  let re: RegExp;
  try {
    re = regexp ? new RegExp(`^(?:${pattern})$`) : globToRegExp(pattern);
  } catch (e) {
    throw new ToolError(`invalid regular expression '${pattern}': ${(e as Error).message}`);
  }
  return all.filter((name) => re.test(name));
}

export function tracedFunctions(o: FunclatencyOptions): Traced[] {
  const t = parsePattern(o.pattern);
  if (t.kind === 'kprobe') return kernelFunctions(t.pattern, o.regexp).map((f) => ({ entry: `kprobe:${f}`, ret: `kretprobe:${f}`, name: f, user: false }));
  if (t.kind !== 'uprobe') throw new ToolError(`funclatency times functions: use FUNC (kernel) or LIB:FUNC / PATH:FUNC (user), not '${o.pattern}'`);
  let lib: string;
  try {
    lib = t.lib.includes('/') ? t.lib : resolveLibrary(t.lib, o.pid);
  } catch (e) {
    throw new ToolError(`cannot find library '${t.lib}': ${(e as Error).message}`);
  }
  let re: RegExp;
  try {
    re = o.regexp ? new RegExp(`^(?:${t.func})$`) : globToRegExp(t.func);
  } catch (e) {
    throw new ToolError(`invalid regular expression '${t.func}': ${(e as Error).message}`);
  }
  // Aliases (fprintf and _IO_fprintf) share an address: time each address once, under its first name.
  const byAddr = new Map<bigint, string>();
  const syms = ElfFile.open(lib).symbols().filter((x) => (x.type === 'FUNC' || x.type === 'IFUNC') && x.shndx !== 0 && x.value !== 0 && re.test(x.name));
  for (const x of syms.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) if (!byAddr.has(BigInt(x.value))) byAddr.set(BigInt(x.value), x.name);
  return [...byAddr.values()].sort().map((name) => ({ entry: `uprobe:${lib}:${name}`, ret: `uretprobe:${lib}:${name}`, name, user: true }));
}

export function funclatencyProgram(fns: Traced[], o: FunclatencyOptions): string {
  const pred = o.pid !== undefined ? `pid == ${o.pid}` : '';
  const div = o.milliseconds ? 1000000 : o.microseconds ? 1000 : 1;
  return fns.map((f, i) => {
    const key = o.perFunction ? (f.user ? `[${i}, pid]` : `[${i}]`) : '';
    return `${f.entry}${pred ? ` /${pred}/` : ''}\n{\n  @fl_start[tid, ${i}] = nsecs;\n}\n\n` +
      `${f.ret} /@fl_start[tid, ${i}] != 0/\n{\n  $ns = nsecs - @fl_start[tid, ${i}];\n` +
      `  @fl_dist${key} = hist($ns${div > 1 ? ` / ${div}` : ''});\n  @fl_total = sum($ns);\n  @fl_count = count();\n  delete(@fl_start[tid, ${i}]);\n}\n`;
  }).join('\n');
}

export function funclatencyUnit(o: FunclatencyOptions): string {
  return o.milliseconds ? 'msecs' : o.microseconds ? 'usecs' : 'nsecs';
}

/** One report: [HH:MM:SS], the histogram(s) ("Function = NAME [PID]" with -F), and bcc's avg/total/count line. */
export function funclatencyReport(fns: Traced[], o: FunclatencyOptions, dist: MapDump | undefined, total: MapDump | undefined, count: MapDump | undefined, now = new Date()): string {
  const label = funclatencyUnit(o);
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  if (dist?.kind === 'hist') {
    for (const e of dist.entries) {
      if (o.perFunction) {
        const f = fns[Number(intOf(e.key[0]))];
        s += `\nFunction = ${f?.name ?? '?'}${f?.user ? ` [${intOf(e.key[1])}]` : ''}\n`;
      }
      s += log2HistText(slotsFromHist(e.value), label, 'bcc');
    }
  }
  const one = (m: MapDump | undefined) => (m && (m.kind === 'sum' || m.kind === 'count') && m.entries.length ? m.entries[0].value : 0n);
  const c = one(count);
  if (c > 0n) {
    const div = o.milliseconds ? 1000000n : o.microseconds ? 1000n : 1n;
    const t = one(total);
    // bcc divides the nanosecond total by the unit first, then by the count, printing whole numbers.
    s += `\navg = ${Math.trunc(Number(t) / Number(div) / Number(c))} ${label}, total: ${Math.trunc(Number(t) / Number(div))} ${label}, count: ${c}\n\n`;
  }
  return s;
}

const mod: ToolModule<FunclatencyOptions> = {
  description: 'Time kernel or user-space functions and show their latency as a histogram.',
  category: 'multi',
  spec: {
    name: 'funclatency',
    summary: 'Time functions and print latency as a histogram',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'i', long: 'interval', dest: 'interval', kind: 'int', metavar: 'INTERVAL', min: 1, help: 'summary interval, in seconds' },
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'total duration of trace, in seconds' },
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'u', long: 'microseconds', dest: 'us', kind: 'flag', help: 'microsecond histogram' },
      { short: 'm', long: 'milliseconds', dest: 'ms', kind: 'flag', help: 'millisecond histogram' },
      { short: 'F', long: 'function', dest: 'perFunction', kind: 'flag', help: 'show a separate histogram per function' },
      { short: 'r', long: 'regexp', dest: 'regexp', kind: 'flag', help: 'use regular expressions. Default is "*" wildcards only.' },
      { short: 'l', long: 'level', dest: 'level', kind: 'int', metavar: 'LEVEL', min: 1, help: 'set the level of nested or recursive functions (only 1 here)' },
      { short: 'v', long: 'verbose', dest: 'verbose', kind: 'flag', help: 'print the BPF program (for debugging purposes)' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'pattern', kind: 'string', help: 'search expression for functions' }],
    examples: [
      'funclatency do_sys_open       # time the do_sys_open() kernel function',
      'funclatency c:read            # time the read() C library function',
      'funclatency -u vfs_read       # time vfs_read(), in microseconds',
      'funclatency -m do_nanosleep   # time do_nanosleep(), in milliseconds',
      'funclatency -i 2 -d 10 c:open # output every 2 seconds, for duration 10s',
      'funclatency -mTi 5 vfs_read   # output every 5 seconds, with timestamps',
      'funclatency -p 181 vfs_read   # time process 181 only',
      "funclatency 'vfs_fstat*'      # time both vfs_fstat() and vfs_fstatat()",
      "funclatency 'c:*printf'       # time the *printf family of functions",
      "funclatency -F 'vfs_r*'       # show one histogram per matched function",
    ],
    notes: 'Follows bcc. Kernel functions need kprobes. A function that calls itself (or a matched sibling) before\n' +
      'returning is timed from its innermost entry (bcc -l LEVEL nesting is not supported). libbpf-tools funclatency\n' +
      'takes one function, no -F/-r, and prints no avg line.',
  },
  options(a: ParsedArgs): FunclatencyOptions {
    const pattern = a.str('pattern');
    if (pattern === undefined) throw new ToolError('a function pattern is required (e.g. funclatency c:malloc)');
    if (a.flag('us') && a.flag('ms')) throw new ToolError('-u and -m are mutually exclusive');
    if ((a.int('level') ?? 1) > 1) throw new ToolError('-l LEVEL above 1 (timing nested calls) is not supported by this funclatency');
    return {
      pattern, pid: a.int('pid'), interval: a.int('interval'), duration: a.int('duration'), timestamp: a.flag('timestamp'),
      microseconds: a.flag('us'), milliseconds: a.flag('ms'), perFunction: a.flag('perFunction'), regexp: a.flag('regexp'),
      verbose: a.flag('verbose'), ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const kernel = parsePattern(o.pattern).kind === 'kprobe';
    if (kernel && !o.ebpf && !hasFeature('kprobes')) {
      throw new MissingFeatureError('kprobes', `timing kernel functions ('${o.pattern}') needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES (user functions work: funclatency LIB:FUNC)`);
    }
    const fns = tracedFunctions(o);
    if (!fns.length) throw new ToolError(`0 functions matched by "${o.pattern}". Exiting.`);
    const program = funclatencyProgram(fns, o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (o.verbose) process.stdout.write(program.endsWith('\n') ? program : `${program}\n`);
    return runToolProgram({
      name: 'funclatency',
      program,
      banner: `Tracing ${fns.length} functions for "${o.pattern}"... Hit Ctrl-C to end.\n`,
      interval: o.interval,
      duration: o.duration,
      compile: { pid: o.pid },
      report: (rt) => {
        rt.print(funclatencyReport(fns, o, rt.map('@fl_dist'), rt.map('@fl_total'), rt.map('@fl_count')));
        for (const m of ['@fl_dist', '@fl_total', '@fl_count']) rt.clearMap(m);
      },
    });
  },
};

export const funclatency = mod;
export const tool = defineTool(mod);
