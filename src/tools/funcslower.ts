/**
 * funcslower: one line per call of the given kernel or user functions that
 * took longer than a threshold, with its return value (and with -a its first
 * arguments, -U/-K its stacks), from kprobes/kretprobes (needs kprobes) or
 * uprobes/uretprobes; flags and output as bcc funcslower.
 */
import type { Value } from '../runtime/values';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { bccLibraryPath } from './common/bcc';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf, toolEvent, type ToolEvent } from './common/script';
import { foldedStack, framesOf } from './common/stacks';
import { ToolError } from './tool';

export interface FuncslowerOptions {
  pid?: number;
  /** The threshold, in nanoseconds. */
  durationNs: number;
  /** The unit the threshold was given in (the LAT column's too). */
  unit: 'ms' | 'us';
  /** The threshold as given, for the banner. */
  value: number;
  arguments: number;
  time: boolean;
  timestamp: boolean;
  verbose: boolean;
  folded: boolean;
  userStack: boolean;
  kernelStack: boolean;
  functions: string[];
  ebpf: boolean;
}

/** One traced function: its probes, as given on the command line. */
export interface SlowTarget {
  spec: string;
  entry: string;
  ret: string;
  user: boolean;
}

export function slowTargets(o: FuncslowerOptions): SlowTarget[] {
  return o.functions.map((spec) => {
    const i = spec.indexOf(':');
    if (i < 0) {
      if (!/^[A-Za-z_][\w.]*$/.test(spec)) throw new ToolError(`'${spec}' is not a kernel function name (user functions are LIBRARY:FUNCTION, e.g. c:open)`);
      return { spec, entry: `kprobe:${spec}`, ret: `kretprobe:${spec}`, user: false };
    }
    const lib = spec.slice(0, i);
    const func = spec.slice(i + 1);
    if (!lib || !/^[A-Za-z_][\w.@]*$/.test(func)) throw new ToolError(`'${spec}' is not LIBRARY:FUNCTION (e.g. c:open)`);
    const file = bccLibraryPath(lib, o.pid);
    return { spec, entry: `uprobe:${file}:${func}`, ret: `uretprobe:${file}:${func}`, user: true };
  });
}

/** The record one slow call sends: which function, when, how long, what it returned, and what -a/-U/-K ask for. */
export function slowEvent(o: FuncslowerOptions): ToolEvent {
  const fields: Record<string, readonly [string, string]> = {
    id: ['%d', '$id'], start: ['%d', '$start'], dur: ['%d', '$dur'], ret: ['%d', 'retval'], pid: ['%d', 'pid'], comm: ['%s', 'comm'],
  };
  for (let i = 0; i < o.arguments; i++) fields[`arg${i}`] = ['%d', `@fs_arg${i}[tid, $id]`];
  if (o.userStack) fields.ustack = ['%s', '@fs_ustack[tid, $id]'];
  if (o.kernelStack) fields.kstack = ['%s', '@fs_kstack[tid, $id]'];
  return toolEvent('funcslower', fields);
}

export function funcslowerProgram(o: FuncslowerOptions, targets: readonly SlowTarget[], ev = slowEvent(o)): string {
  const pred = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  const saved = [...Array.from({ length: o.arguments }, (_, i) => `@fs_arg${i}`), ...(o.userStack ? ['@fs_ustack'] : []), ...(o.kernelStack ? ['@fs_kstack'] : [])];
  return targets.map((t, id) => {
    // Entry state is keyed by thread and function, so a traced function called inside another keeps both.
    const save = [`  @fs_start[tid, ${id}] = nsecs;`,
      ...Array.from({ length: o.arguments }, (_, i) => `  @fs_arg${i}[tid, ${id}] = arg${i};`),
      ...(o.userStack ? [`  @fs_ustack[tid, ${id}] = ustack;`] : []), ...(o.kernelStack ? [`  @fs_kstack[tid, ${id}] = kstack;`] : [])];
    return `${t.entry}${pred}\n{\n${save.join('\n')}\n}\n\n${t.ret} /@fs_start[tid, ${id}] != 0/\n{\n  $id = ${id};\n  $start = @fs_start[tid, ${id}];\n` +
      `  $dur = nsecs - $start;\n  if ($dur >= ${o.durationNs}) {\n    ${ev.send()}\n  }\n` +
      ['@fs_start', ...saved].map((m) => `  delete(${m}[tid, ${id}]);\n`).join('') + '}\n';
  }).join('\n');
}

export function funcslowerHeader(o: FuncslowerOptions): string {
  if (o.folded) return '';
  return `Tracing function calls slower than ${o.value} ${o.unit}... Ctrl+C to quit.\n` +
    `${o.time || o.timestamp ? `${'TIME'.padEnd(10)} ` : ''}${'COMM'.padEnd(14)} ${'PID'.padEnd(6)} ${`LAT(${o.unit})`.padStart(7)} ${'RVAL'.padStart(16)} FUNC${o.arguments ? ' ARGS' : ''}\n`;
}

/** Formats the calls in arrival order (-t counts from the first call's start). */
export class FuncslowerPrinter {
  private earliest = 0n;

  constructor(private readonly o: FuncslowerOptions, private readonly targets: readonly SlowTarget[]) {}

  line(e: Record<string, Value>, now: Date): string {
    const o = this.o;
    const start = intOf(e.start);
    const comm = strOf(e.comm);
    const pid = Number(intOf(e.pid));
    const ustack = o.userStack ? framesOf(e.ustack) : [];
    const kstack = o.kernelStack ? framesOf(e.kstack) : [];
    if (o.folded) {
      if (!o.userStack && !o.kernelStack) return '';
      return foldedStack({ comm, pid, kernel: kstack, user: ustack, count: 1n }, { userOnly: false, kernelOnly: false, delimited: true, annotate: false });
    }
    let time = '';
    if (o.time) time = `${clockTime(now).padEnd(10)} `;
    else if (o.timestamp) {
      if (this.earliest === 0n) this.earliest = start;
      time = `${(Number(start - this.earliest) / 1e9).toFixed(6).padEnd(10)} `;
    }
    const lat = Number(intOf(e.dur)) / (o.unit === 'us' ? 1000 : 1000000);
    const ret = BigInt.asUintN(64, intOf(e.ret)).toString(16);
    const args = Array.from({ length: o.arguments }, (_, i) => `0x${BigInt.asUintN(64, intOf(e[`arg${i}`])).toString(16)}`).join(' ');
    let s = `${time}${comm.slice(0, 14).padEnd(14)} ${String(pid).padEnd(6)} ${lat.toFixed(2).padStart(7)} ${ret.padStart(16)} ${this.targets[Number(intOf(e.id))]?.spec ?? '?'} ${args}\n`;
    // bcc: kernel frames, then user frames, each indented four spaces
    for (const f of [...kstack, ...ustack]) s += `    ${f}\n`;
    return s;
  }
}

const mod: ToolModule<FuncslowerOptions> = {
  description: 'Trace kernel or user function calls slower than a threshold, with their return values; kernel functions need kprobes.',
  category: 'multi',
  spec: {
    name: 'funcslower',
    summary: 'Trace slow kernel or user function calls.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'm', long: 'min-ms', dest: 'min_ms', kind: 'string', metavar: 'MIN_MS', help: 'minimum duration to trace (ms)' },
      { short: 'u', long: 'min-us', dest: 'min_us', kind: 'string', metavar: 'MIN_US', help: 'minimum duration to trace (us)' },
      { short: 'a', long: 'arguments', dest: 'arguments', kind: 'int', metavar: 'ARGUMENTS', min: 0, help: 'print this many entry arguments, as hex' },
      { short: 'T', long: 'time', dest: 'time', kind: 'flag', help: 'show HH:MM:SS timestamp' },
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'show timestamp in seconds at us resolution' },
      { short: 'v', long: 'verbose', dest: 'verbose', kind: 'flag', help: 'print the program (tsbpf language) before tracing' },
      { short: 'f', long: 'folded', dest: 'folded', kind: 'flag', help: 'output folded format, one line per stack (for flame graphs)' },
      { short: 'U', long: 'user-stack', dest: 'ustack', kind: 'flag', help: 'output user stack trace' },
      { short: 'K', long: 'kernel-stack', dest: 'kstack', kind: 'flag', help: 'output kernel stack trace' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'function', kind: 'string', rest: true, help: 'function(s) to trace' }],
    examples: [
      'funcslower vfs_write        # trace vfs_write calls slower than 1ms',
      'funcslower -m 10 vfs_write  # same, but slower than 10ms',
      'funcslower -u 10 c:open     # trace open calls slower than 10us',
      'funcslower -p 135 c:open    # trace pid 135 only',
      'funcslower c:malloc c:free  # trace both malloc and free slower than 1ms',
      'funcslower -a 2 c:open      # show first two arguments to open',
      'funcslower -UK -m 10 c:open # Show user and kernel stack frame of open calls slower than 10ms',
      'funcslower -f -UK c:open    # Output in folded format for flame graphs',
    ],
    notes: 'Follows bcc (entry and return probes per function; LAT in the unit of the threshold). bcc keeps one entry per\n' +
      'thread for all functions; this keeps one per thread and function, so a traced function called inside another\n' +
      'is timed too. -f prints nothing without -U or -K (as bcc). libbpf-tools has no funcslower.',
  },
  options(a: ParsedArgs): FuncslowerOptions {
    const functions = a.list('function');
    if (!functions.length) throw new ToolError("funcslower needs at least one function to trace (see 'funcslower -h')");
    const num = (flag: string, s: string | undefined): number | undefined => {
      if (s === undefined) return undefined;
      const n = Number(s);
      if (!/^\d*\.?\d+$/.test(s) || !Number.isFinite(n)) throw new ToolError(`${flag} expects a number, got '${s}'`);
      return n;
    };
    const ms = num('-m', a.str('min_ms'));
    const us = num('-u', a.str('min_us'));
    // bcc: -m wins when both are given; a zero threshold counts as not given (1 ms)
    const unit = ms ? 'ms' : us ? 'us' : 'ms';
    const value = ms || us || 1;
    const nargs = a.int('arguments') ?? 0;
    if (nargs > 6) throw new ToolError(`-a: at most 6 arguments can be printed, got ${nargs}`);
    return {
      pid: a.int('pid'), durationNs: Math.trunc(unit === 'us' ? value * 1000 : value * 1000000), unit: ms ? 'ms' : us ? 'us' : 'ms', value,
      arguments: nargs, time: a.flag('time'), timestamp: a.flag('timestamp'), verbose: a.flag('verbose'), folded: a.flag('folded'),
      userStack: a.flag('ustack'), kernelStack: a.flag('kstack'), functions, ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const targets = slowTargets(o);
    const ev = slowEvent(o);
    const program = funcslowerProgram(o, targets, ev);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (targets.some((t) => !t.user) && !hasFeature('kprobes')) {
      throw new MissingFeatureError('kprobes', `funcslower needs kprobes for kernel functions (${targets.filter((t) => !t.user).map((t) => t.spec).join(', ')}), but kprobes are not available: this kernel is built without CONFIG_KPROBES (user functions, LIBRARY:FUNCTION, work)`);
    }
    if (o.verbose) process.stdout.write(program);
    const printer = new FuncslowerPrinter(o, targets);
    return runToolProgram({
      name: 'funcslower',
      program,
      banner: funcslowerHeader(o),
      compile: o.pid !== undefined ? { pid: o.pid } : undefined,
      on: [ev.handle((e, rt) => rt.print(printer.line(e, new Date())))],
    });
  },
};

export const funcslower = mod;
export const tool = defineTool(mod);
