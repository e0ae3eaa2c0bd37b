/**
 * Runs a tool's program: compiles the generated tsbpf text, runs it with the
 * runtime, and drives the interval/count/duration loop the bcc tools share
 * (print and clear every `interval` seconds, stop after `count` reports, and
 * print once more on Ctrl-C unless the count just ran out).
 *
 * @example
 *   return runToolProgram({ name: 'bitesize', program: text, interval: 1, count: 5,
 *     report: (rt) => { rt.print(render(rt.map('@'))); rt.clearMap('@'); } });
 */
import * as os from 'node:os';
import type { EventSpec, ScriptArtifact } from '../../lang/artifact';
import type { RunOptions, ScriptRuntime } from '../../runtime/run';
import type { Value } from '../../runtime/values';
import { ToolError } from '../tool';
import { fdWriter } from '../../sys/fdwrite';

interface CompileOptions {
  params?: string[];
  pid?: number;
  unsafe?: boolean;
}
type CompileFn = (source: { name: string; text: string }, opts: CompileOptions) => ScriptArtifact;

/** Loaded on first use: tools must not pay for the compiler before parsing their flags. */
function compiler(): CompileFn {
  let mod: { compile?: CompileFn };
  try {
    mod = require('../../lang/compile') as { compile?: CompileFn };
  } catch (e) {
    throw new ToolError(`the tsbpf compiler is not available in this build (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof mod.compile !== 'function') throw new ToolError('the tsbpf compiler is not available in this build');
  return mod.compile;
}

/** Compiles a tool's generated program; compile errors propagate as CompileError (they are bugs in the tool, shown with the program). */
export function compileTool(name: string, text: string, opts: CompileOptions = {}): ScriptArtifact {
  return compiler()(name === 'stdin' ? { name, text } : { name: `${name}.bt`, text }, opts);
}

export interface ToolProgram {
  name: string;
  /** The program in the tsbpf (bpftrace) language. */
  program: string;
  /** Printed to stdout once the probes are live (the "Tracing ... Hit Ctrl-C to end." line). */
  banner?: string;
  /** Seconds between reports; 0/undefined: report only at exit. */
  interval?: number;
  /** Number of reports before exiting (with interval). */
  count?: number;
  /** Stop after this many seconds (the -d flag of some tools). */
  duration?: number;
  /** Prints (and usually clears) the aggregated maps; `final` for the last report (bcc then says "Detaching..."). */
  report?: (rt: ScriptRuntime, final: boolean) => void;
  /** Per-event formatting: return true when the event was printed. */
  onEvent?: (ev: EventSpec, values: Value[], rt: ScriptRuntime) => boolean;
  /**
   * Handlers of the tool's named events (ToolEvent.handle): each record a
   * ToolEvent sends reaches its handler as named values; other events go to
   * onEvent, then to the default output.
   */
  on?: readonly ToolEventHandler[];
  onStart?: (rt: ScriptRuntime) => void;
  /** Where output goes (default stdout). */
  write?: (s: string) => void;
  /** Runs the runtime with these extra options (tests). */
  runOptions?: Partial<RunOptions>;
  /** Compile options (e.g. pid for USDT/uprobe resolution). */
  compile?: CompileOptions;
  /** Said after the reason when the generated program does not compile (e.g. which flag avoids the feature). */
  compileHint?: string;
  /** The program carries the user's own expressions (trace, argdist): a compile error is theirs to fix. */
  userProgram?: boolean;
}

/** Set by takeToolProgram: runToolProgram hands the program over instead of running it. */
let programTaker: ((t: ToolProgram) => void) | undefined;

/**
 * The program a tool would run with these flags, without running it (tsbpf
 * export serves a tool's maps as metrics); undefined when the tool does not
 * run a program for them (-h, or a tool without one).
 */
export async function takeToolProgram(run: () => Promise<number>): Promise<ToolProgram | undefined> {
  let taken: ToolProgram | undefined;
  programTaker = (t) => (taken = t);
  try {
    await run();
  } finally {
    programTaker = undefined;
  }
  return taken;
}

/**
 * The event ring of a tool that prints per event, sized as bcc's and libbpf-tools'
 * perf buffers are (64 pages per CPU, bcc's -b default) but shared by all CPUs and
 * at most the scripts' 4 MiB: the kernel maps a ring's pages at mmap time, twice,
 * so the 4 MiB ring alone was 8 MB of a 2-CPU tool's RSS. Undefined when
 * TSBPF_RING_BYTES chooses (the runtime reads it).
 */
export function perCpuRingBytes(pagesPerCpu = 64): number | undefined {
  if (process.env.TSBPF_RING_BYTES) return undefined;
  const want = pagesPerCpu * 4096 * Math.max(1, os.availableParallelism());
  return Math.min(1 << 22, 2 ** Math.ceil(Math.log2(want)));
}

/** Text to fd 1, as a script run writes it: creating process.stdout would cost ~2.5 ms of a tool's start. */
function toStdout(): (s: string) => void {
  const out = fdWriter(1);
  return (s) => out(Buffer.from(s, 'utf8'));
}

/** Compiles and runs; resolves with the exit code. */
export async function runToolProgram(t: ToolProgram): Promise<number> {
  if (programTaker) {
    programTaker(t);
    return 0;
  }
  let artifact: ScriptArtifact;
  try {
    artifact = compileTool(t.name, t.program, t.compile);
  } catch (e) {
    // The user wrote flags, not this program: name the language feature the build lacks, with TSBPF_DEBUG for the listing.
    const { CompileError } = require('../../lang/diagnostics') as typeof import('../../lang/diagnostics');
    if (!(e instanceof CompileError) || process.env.TSBPF_DEBUG === '1') throw e;
    const why = e.diagnostics.map((d) => d.message).filter((m, i, a) => a.indexOf(m) === i).join('; ');
    if (t.userProgram) throw new ToolError(`${t.name}: the probe specification does not compile: ${why} (--ebpf shows the program)`);
    throw new ToolError(`${t.name}: this build's compiler cannot compile the program this tool generates (${why})${t.compileHint ? `; ${t.compileHint}` : ''}`);
  }
  for (const w of artifact.warnings) process.stderr.write(w.endsWith('\n') ? w : `${w}\n`);
  // Imported here so `tsbpf TOOL -h` loads nothing heavy.
  const { ScriptRuntime } = require('../../runtime/run') as typeof import('../../runtime/run');
  const write = t.write ?? toStdout();
  const timers: NodeJS.Timeout[] = [];
  let reportsLeft = t.count ?? Infinity;
  let exhausted = false;
  const rt = new ScriptRuntime(artifact, {
    quiet: true,
    write,
    ...t.runOptions,
    onEvent: eventHook(t),
    onStart: (r) => {
      if (t.banner) r.print(t.banner);
      t.onStart?.(r);
      // A ref'd timer keeps the process alive even for programs that send no events.
      timers.push(setInterval(() => undefined, 1 << 30));
      // setInterval treats delays past 2^31 ms as 1 ms: "forever" means no timer.
      if (t.interval && t.interval > 0 && t.interval * 1000 < 2 ** 31) {
        timers.push(
          setInterval(() => {
            // stopping takes a while (detaching waits for the kernel): no report after the last one meanwhile
            if (exhausted || r.stopping) return;
            t.report?.(r, reportsLeft - 1 <= 0);
            if (--reportsLeft <= 0) {
              exhausted = true;
              r.stop();
            }
          }, t.interval * 1000),
        );
      }
      if (t.duration && t.duration > 0) timers.push(setTimeout(() => r.stop(), t.duration * 1000));
    },
    onExit: (r) => {
      for (const x of timers) clearInterval(x);
      if (!exhausted) t.report?.(r, true);
    },
  });
  try {
    return await rt.run();
  } finally {
    for (const x of timers) clearInterval(x);
  }
}

/**
 * One kind of record a tool's program sends, with named fields: the tool
 * writes `event.send()` in its program and handles `{ pid, ret, path }`,
 * never positions in a format string.
 *
 * @example
 *   const KILL = toolEvent('kill', { pid: ['%d', 'pid'], sig: ['%d', 'args.sig'], comm: ['%s', 'comm'] });
 *   program: `tracepoint:syscalls:sys_enter_kill { ${KILL.send()} }`
 *   on: [KILL.handle((e, rt) => rt.print(`${intOf(e.pid)} ${strOf(e.comm)}\n`))]
 */
export interface ToolEvent<F extends string = string> {
  readonly name: string;
  readonly fields: readonly F[];
  /** The printf format that carries it (unique per event name; the runtime never prints it). */
  readonly format: string;
  /** The program statement sending one record: a printf of every field's expression. */
  send(): string;
  /** The fields by name, from the values the runtime decoded for one record. */
  decode(values: readonly Value[]): Record<F, Value>;
  /** A handler for ToolProgram.on. */
  handle(fn: (e: Record<F, Value>, rt: ScriptRuntime) => void): ToolEventHandler;
}

export interface ToolEventHandler {
  readonly event: ToolEvent;
  run(values: readonly Value[], rt: ScriptRuntime): void;
}

/**
 * Declares a named event: each field is [printf conversion for its type
 * ('%d' integers, '%s' strings and text values), tsbpf expression].
 */
export function toolEvent<F extends string>(name: string, fields: Readonly<Record<F, readonly [conversion: string, expr: string]>>): ToolEvent<F> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ToolError(`internal: tool event name '${name}' must be a plain word`);
  const names = Object.keys(fields) as F[];
  const entries = names.map((f) => fields[f]);
  for (const [conv] of entries) {
    if (!/^%[a-z]+$/.test(conv)) throw new ToolError(`internal: tool event ${name}: '${conv}' is not a bare printf conversion`);
  }
  // the record's format only identifies it: a name no user format can contain, then one conversion per field
  const format = `\u0001tsbpf-event:${name}${entries.map(([c]) => ` ${c}`).join('')}`;
  const ev: ToolEvent<F> = {
    name,
    fields: names,
    format,
    send: () => `printf(${quote(format)}${entries.map(([, e]) => `, ${e}`).join('')});`,
    decode(values) {
      const out = {} as Record<F, Value>;
      names.forEach((f, i) => (out[f] = values[i]));
      return out;
    },
    handle: (fn) => ({ event: ev, run: (values, rt) => fn(ev.decode(values), rt) }),
  };
  return ev;
}

/** The runtime's onEvent hook: named events to their handlers, the rest to the tool's onEvent. */
function eventHook(t: ToolProgram): ToolProgram['onEvent'] {
  if (!t.on?.length) return t.onEvent;
  const byFormat = new Map(t.on.map((h) => [h.event.format, h]));
  return (ev, values, rt) => {
    const h = ev.kind === 'printf' ? byFormat.get(ev.format) : undefined;
    if (h) {
      h.run(values, rt);
      return true;
    }
    return t.onEvent ? t.onEvent(ev, values, rt) : false;
  };
}

/** Integer value of a decoded field (0 for non-integers). */
export function intOf(v: Value | undefined): bigint {
  if (!v) return 0n;
  if (v.kind === 'int') return v.value;
  return 0n;
}

/** String value of a decoded field ('' for non-strings). */
export function strOf(v: Value | undefined): string {
  if (!v) return '';
  if (v.kind === 'str') return v.value;
  if (v.kind === 'sym') return v.text;
  return '';
}

/** Quotes a string as a tsbpf string literal. */
export function quote(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\u0001/g, '\\x01') + '"';
}
