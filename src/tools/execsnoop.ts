/**
 * execsnoop: traces execve() through the syscalls:sys_enter_execve and
 * sys_exit_execve tracepoints; columns and flags as libbpf-tools execsnoop.
 *
 * The enter probe sends the file name and each argument as separate events
 * (memory of the old image is gone by the time execve returns); the exit
 * probe sends the result, and userspace assembles one line per exec by pid.
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import * as fs from 'node:fs';
import { CompileError } from '../lang/diagnostics';
import { compileTool, intOf, runToolProgram, strOf } from './common/script';
import { ToolError } from './tool';

export interface ExecsnoopOptions {
  time: boolean;
  timestamp: boolean;
  fails: boolean;
  uid?: number;
  quote: boolean;
  name?: string;
  line?: string;
  printUid: boolean;
  maxArgs: number;
}

/** Argument strings are read up to this many bytes (libbpf-tools' ARGSIZE). */
const ARGSIZE = 128;
const EV_FILE = 'F %d %s\n';
const EV_ARG = 'A %d %s\n';
const EV_MORE = 'M %d\n';
const EV_RET = 'R %d %d %d %d %s\n';

export function execsnoopProgram(o: ExecsnoopOptions): string {
  const pred = o.uid !== undefined ? ` /uid == ${o.uid}/` : '';
  // Nested ifs stop at the first NULL in argv without needing loops.
  let body = `printf("${escape(EV_MORE)}", pid);`;
  for (let i = o.maxArgs - 1; i >= 1; i--) {
    const next = i + 1;
    body = `printf("${escape(EV_ARG)}", pid, str($p, ${ARGSIZE}));\n    $p = args->argv[${next}];\n    if ($p != 0) {\n      ${body.replace(/\n/g, '\n  ')}\n    }`;
  }
  const args = o.maxArgs > 1 ? `  $p = args->argv[1];\n  if ($p != 0) {\n    ${body}\n  }\n` : `  if (args->argv[1] != 0) { printf("${escape(EV_MORE)}", pid); }\n`;
  return [
    `tracepoint:syscalls:sys_enter_execve${pred}`,
    '{',
    `  printf("${escape(EV_FILE)}", pid, str(args->filename, ${ARGSIZE}));`,
    args + '}',
    '',
    `tracepoint:syscalls:sys_exit_execve${pred}`,
    '{',
    `  printf("${escape(EV_RET)}", pid, curtask->real_parent->tgid, uid, args->ret, comm);`,
    '}',
    '',
  ].join('\n');
}

/**
 * The same trace for compilers without pointer indexing or task fields:
 * argv comes from join() (its text arrives through the runtime's output
 * stream, between this pid's F and J events) and the parent pid from the
 * fork tracepoint (processes older than the tool: /proc at print time).
 */
export function execsnoopFallbackProgram(o: ExecsnoopOptions): string {
  const pred = o.uid !== undefined ? ` /uid == ${o.uid}/` : '';
  return [
    'tracepoint:sched:sched_process_fork\n{\n  @ppid[args->child_pid] = args->parent_pid;\n}\n',
    'tracepoint:sched:sched_process_exit\n{\n  delete(@ppid[args->pid]);\n}\n',
    `tracepoint:syscalls:sys_enter_execve${pred}\n{\n  printf("${escape(EV_FILE)}", pid, str(args->filename, ${ARGSIZE}));\n  join(args->argv, "${JOIN_SEP_ESCAPED}");\n  printf("${escape(EV_JOINED)}", pid);\n}\n`,
    `tracepoint:syscalls:sys_exit_execve${pred}\n{\n  printf("${escape(EV_RET)}", pid, @ppid[pid], uid, args->ret, comm);\n}\n`,
  ].join('\n');
}

const EV_JOINED = 'J %d\n';
const JOIN_SEP = '\x1f';
const JOIN_SEP_ESCAPED = '\\x1f';

function ppidFromProc(pid: number): number {
  try {
    const m = /^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function escape(s: string): string {
  return s.replace(/\n/g, '\\n');
}

/** The header line(s), as libbpf-tools prints them. */
export function execsnoopHeader(o: ExecsnoopOptions): string {
  let s = '';
  if (o.time) s += 'TIME'.padEnd(9);
  if (o.timestamp) s += 'TIME(s)'.padEnd(8) + ' ';
  if (o.printUid) s += 'UID'.padEnd(6) + ' ';
  return s + `${'PCOMM'.padEnd(16)} ${'PID'.padEnd(6)} ${'PPID'.padEnd(6)} ${'RET'.padStart(3)} ARGS\n`;
}

export interface ExecRecord {
  comm: string;
  pid: number;
  ppid: number;
  uid: number;
  ret: number;
  args: string[];
  truncated: boolean;
}

/** One output line (without filtering). `sinceStart` is seconds since tracing started. */
export function execsnoopLine(o: ExecsnoopOptions, e: ExecRecord, now: Date, sinceStart: number): string {
  let s = '';
  if (o.time) s += `${clockTime(now).padEnd(8)} `;
  if (o.timestamp) s += sinceStart.toFixed(3).padEnd(8);
  // libbpf-tools prints the UID without a separator (its header has one): kept for byte-identical output.
  if (o.printUid) s += String(e.uid).padEnd(6);
  s += `${e.comm.padEnd(16)} ${String(e.pid).padEnd(6)} ${String(e.ppid).padEnd(6)} ${String(e.ret).padStart(3)} `;
  for (const a of e.args) s += o.quote ? `"${a.replace(/"/g, '\\"')}" ` : `${a} `;
  if (e.truncated) s += o.quote ? '"..." ' : '... ';
  return s + '\n';
}

/** Whether libbpf-tools would print this exec with these filters. */
export function execsnoopWanted(o: ExecsnoopOptions, e: ExecRecord): boolean {
  if (!o.fails && e.ret < 0) return false;
  if (o.name !== undefined && !e.comm.includes(o.name)) return false;
  if (o.line !== undefined && !e.args.some((a) => a.includes(o.line as string))) return false;
  return true;
}

const mod: ToolModule<ExecsnoopOptions> = {
  description: 'Trace exec() syscalls: one line per new program, with its arguments.',
  category: 'cpu',
  spec: {
    name: 'execsnoop',
    summary: 'Trace exec syscalls',
    options: [
      { short: 'T', long: 'time', dest: 'time', kind: 'flag', help: 'include time column on output (HH:MM:SS)' },
      { short: 't', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output (seconds since start)' },
      { short: 'x', long: 'fails', dest: 'fails', kind: 'flag', help: 'include failed exec()s' },
      { short: 'u', long: 'uid', dest: 'uid', kind: 'int', metavar: 'UID', min: 0, help: 'trace this UID only' },
      { short: 'q', long: 'quote', dest: 'quote', kind: 'flag', help: 'Add quotemarks (") around arguments' },
      { short: 'n', long: 'name', dest: 'name', kind: 'string', metavar: 'NAME', help: 'only print commands whose name contains NAME' },
      { short: 'l', long: 'line', dest: 'line', kind: 'string', metavar: 'LINE', help: 'only print commands where an arg contains LINE' },
      { short: 'U', long: 'print-uid', dest: 'printUid', kind: 'flag', help: 'print UID column' },
      { long: 'max-args', dest: 'maxArgs', kind: 'int', metavar: 'MAX_ARGS', min: 1, help: 'maximum number of arguments parsed and displayed, defaults to 20' },
    ],
    examples: [
      'execsnoop           # trace all exec() syscalls',
      'execsnoop -x        # include failed exec()s',
      'execsnoop -T        # include time (HH:MM:SS)',
      'execsnoop -U        # include UID',
      'execsnoop -u 1000   # only trace UID 1000',
      'execsnoop -t        # include timestamps',
      'execsnoop -q        # add "quotemarks" around arguments',
      'execsnoop -n main   # only print command lines containing "main"',
      'execsnoop -l tpkg   # only print command where arguments contains "tpkg"',
    ],
    notes: 'Follows libbpf-tools: ARGS starts with the executed path (not argv[0]); -n matches the new comm; no -c (cgroup) yet.\n' +
      'Until the compiler can index argv and read task fields, arguments come from join() (up to 16, 64 bytes each) and\n' +
      'PPID from fork events (processes started before tracing: /proc at print time).',
  },
  options(a: ParsedArgs): ExecsnoopOptions {
    const maxArgs = a.int('maxArgs') ?? 20;
    if (maxArgs > 60) throw new ToolError(`--max-args must be at most 60, got ${maxArgs}`);
    return {
      time: a.flag('time'),
      timestamp: a.flag('timestamp'),
      fails: a.flag('fails'),
      uid: a.int('uid'),
      quote: a.flag('quote'),
      name: a.str('name'),
      line: a.str('line'),
      printUid: a.flag('printUid'),
      maxArgs,
    };
  },
  main(o) {
    let full = true;
    try {
      compileTool('execsnoop', execsnoopProgram(o));
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      full = false;
    }
    const out = (s: string) => process.stdout.write(s);
    const pending = new Map<number, { file: string; args: string[]; truncated: boolean; joined: boolean }>();
    /** Pids whose F event came and whose join text has not: the join belongs to one of them. */
    const awaitingJoin: number[] = [];
    const start = Date.now();
    /** Exec records whose join() text has not arrived yet, printed when it does (or after a grace period). */
    const deferred = new Map<number, { rec: ExecRecord; timer: NodeJS.Timeout }>();
    const emit = (rec: ExecRecord) => {
      if (execsnoopWanted(o, rec)) out(execsnoopLine(o, rec, new Date(), (Date.now() - start) / 1000));
    };
    // join() records reach userspace in the order the F events were sent, but not necessarily
    // right after them: match them first-in first-out.
    const onJoin = (chunk: string): void => {
      // The runtime batches its output: one chunk may hold several join() lines.
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        if (!awaitingJoin.length || /^Lost \d+ events/.test(line)) {
          out(`${line}\n`);
          continue;
        }
        const parts = line.split(JOIN_SEP);
        const pid = awaitingJoin.shift() as number;
        const argv = parts.slice(1);
        const args = argv.slice(0, o.maxArgs - 1);
        const truncated = argv.length > o.maxArgs - 1;
        const d = deferred.get(pid);
        if (d) {
          clearTimeout(d.timer);
          deferred.delete(pid);
          emit({ ...d.rec, args: [...d.rec.args, ...args], truncated });
          continue;
        }
        const p = pending.get(pid);
        if (p) {
          p.args.push(...args);
          p.truncated = truncated;
          p.joined = true;
        }
      }
    };
    const onEvent = (ev: EventSpec, v: Value[]): boolean => {
      if (ev.kind !== 'printf') return false;
      const pid = Number(intOf(v[0]));
      switch (ev.format) {
        case EV_FILE: {
          const file = strOf(v[1]);
          pending.set(pid, { file, args: [file], truncated: false, joined: false });
          if (!full) awaitingJoin.push(pid);
          return true;
        }
        case EV_ARG:
          pending.get(pid)?.args.push(strOf(v[1]));
          return true;
        case EV_MORE: {
          const p = pending.get(pid);
          if (p) p.truncated = true;
          return true;
        }
        case EV_JOINED:
          return true;
        case EV_RET: {
          const p = pending.get(pid);
          pending.delete(pid);
          let ppid = Number(intOf(v[1]));
          if (!full && ppid === 0) ppid = ppidFromProc(pid);
          const rec: ExecRecord = {
            pid, ppid, uid: Number(intOf(v[2])), ret: Number(intOf(v[3])), comm: strOf(v[4]),
            args: p?.args ?? [], truncated: p?.truncated ?? false,
          };
          if (full || !p || p.joined) emit(rec);
          else deferred.set(pid, { rec, timer: setTimeout(() => (deferred.delete(pid), emit(rec)), 200) });
          return true;
        }
      }
      return false;
    };
    return runToolProgram({
      name: 'execsnoop',
      program: full ? execsnoopProgram(o) : execsnoopFallbackProgram(o),
      onStart: () => out(execsnoopHeader(o)),
      onEvent,
      // At exit, execs still waiting for their join() text are printed with what is known.
      report: () => {
        for (const [pid, d] of deferred) {
          clearTimeout(d.timer);
          deferred.delete(pid);
          emit(d.rec);
        }
      },
      // Everything this tool prints goes straight to stdout; what the runtime writes is join() text.
      write: onJoin,
    });
  },
};

export const execsnoop = mod;
export const tool = defineTool(mod);
