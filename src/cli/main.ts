/**
 * The `tsbpf` command: subcommands (tools, prog, map, perf, stats,
 * flamegraph, and every tool by name) or a bpftrace-compatible script run.
 * Every user-facing failure ends as one message and a non-zero exit; a stack
 * trace is shown only for internal errors (or with TSBPF_DEBUG=1).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseScriptArgs, USAGE, UsageError, type ScriptOptions } from './args';
import { CompileError } from '../lang/diagnostics';
import { MissingFeatureError } from '../sys/features';
import { SyscallError } from '../sys/errno';
import { VerifierError } from '../ebpf/programs';
import { toolNames, runTool, toolsHelp } from '../tools/registry';
import { isExplained } from '../errors';
import { version } from './version';
import { openOutputFile, whenCreated, writeOrExit } from './output';
import { errorText, fdWriter, outputFailed } from '../sys/fdwrite';
import { encodeText } from '../runtime/text';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Command> = {
  prog: () => require('./commands/prog').run as Command,
  map: () => require('./commands/map').run as Command,
  perf: () => require('./commands/perf').run as Command,
  stats: () => require('./commands/stats').run as Command,
  flamegraph: () => require('./commands/flamegraph').run as Command,
  export: () => require('./commands/export').run as Command,
  completion: () => require('./completion').run as Command,
};

/** The subcommands other than tools (for the man page and shell completion). */
export function commandNames(): string[] {
  return Object.keys(commands);
}

/** The CLI, run by entry.ts (bin/tsbpf). Never throws: exits with the code. */
export function main(argv: string[]): void {
  // A closed pipe (`tsbpf ... | head`) ends tracing quietly, as for any Unix filter;
  // a full disk or an I/O error ends it with one sentence. The exit handlers still detach everything.
  // Registered when a stream is created: a script run or a tool writes to the fds itself (sys/fdwrite.ts).
  let stdoutStream = false;
  whenCreated('stdout', (s) => { stdoutStream = true; s.on('error', (e) => outputFailed('stdout', e)); });
  whenCreated('stderr', (s) => s.on('error', () => process.exit(1)));
  dispatch(argv).then(
    (code) => {
      process.exitCode = code;
      // Some handles (stdin of -c, timers) may linger; exit explicitly once output is flushed.
      if (stdoutStream) process.stdout.write('', (err) => (err ? outputFailed('stdout', err) : process.exit(code)));
      else process.exit(code);
    },
    (e) => {
      process.stderr.write(describeError(e));
      process.exit(1);
    },
  );
}

/** Runs a command line; resolves with the exit code. Exported for tests. */
export async function dispatch(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && !first.includes('/') && !first.endsWith('.bt')) {
    if (first === 'tools') {
      process.stdout.write(toolsHelp());
      return 0;
    }
    if (commands[first]) return commands[first]()(argv.slice(1));
    if (toolNames().includes(first)) {
      // tools trace (tplist only reads files): refuse before a header is printed over nothing
      const refusal = first === 'tplist' || argv.includes('-h') || argv.includes('--help') ? undefined : privilegeRefusal();
      if (refusal) {
        process.stderr.write(refusal);
        return 1;
      }
      return runTool(first, argv.slice(1));
    }
  }
  let o: ScriptOptions;
  try {
    o = parseScriptArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.bare ? `ERROR: ${e.message}\n` : `tsbpf: ${e.message}\n\n${USAGE}`);
      return 1;
    }
    throw e;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (o.info) {
    process.stdout.write(infoText());
    return 0;
  }
  if (o.debugInfo.length) (require('../lang/providers/uprobe-dwarf') as typeof import('../lang/providers/uprobe-dwarf')).setDebugInfoDirs(o.debugInfo);
  if (o.list !== null) {
    // Loaded on demand: listing reads ELF and USDT notes, which a script run never needs.
    const { listProbes, listProgram } = require('./list') as typeof import('./list');
    const lo = { verbose: o.listVerbose, pid: o.pid };
    // a program (-e) or an existing script file lists the probes it attaches to (bpftrace 0.21)
    let source: { name: string; text: string } | undefined;
    if (o.program !== null) source = { name: 'stdin', text: o.program };
    else if (o.list !== '' && isFile(o.list)) source = { name: o.list, text: fs.readFileSync(o.list, 'utf8') };
    if (source) {
      const { parse } = require('../lang/parser') as typeof import('../lang/parser');
      return listProgram(parse(source, { defines: o.defines }), lo);
    }
    if (o.list.includes('.') && !/[:*]/.test(o.list)) {
      process.stderr.write(`WARNING: It appears that '${o.list}' is a filename but the file does not exist. Treating '${o.list}' as a search pattern.\n`);
    }
    return listProbes(o.list, lo);
  }
  return runScriptCommand(o);
}

async function runScriptCommand(o: ScriptOptions): Promise<number> {
  const { compile } = require('../lang/compile') as typeof import('../lang/compile');
  const { runScript } = require('../runtime/run') as typeof import('../runtime/run');
  const { dumpAst } = require('../lang/dump') as typeof import('../lang/dump');
  const { parse } = require('../lang/parser') as typeof import('../lang/parser');
  let text: string;
  let name: string;
  if (o.program !== null) {
    text = o.program;
    name = 'stdin';
  } else if (o.file === '-') {
    text = fs.readFileSync(0, 'utf8');
    name = 'stdin';
  } else {
    const file = o.file as string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      // bpftrace's wording, which scripts match
      process.stderr.write(`ERROR: failed to open file '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}\n`);
      return 1;
    }
    name = file;
  }
  const source = { name, text };
  if (o.debug.includes('ast')) process.stdout.write(dumpAst(parse(source, { defines: o.defines })));
  const refusal = o.debug.length ? undefined : privilegeRefusal();
  if (refusal) {
    process.stderr.write(refusal);
    return 1;
  }
  const { ProgramOptionsHelp, ProgramOptionError } = require('../lang/desugar') as typeof import('../lang/desugar');
  let artifact: ReturnType<typeof compile>;
  try {
    artifact = compile(source, {
      namedParams: o.namedParams,
      params: o.params, pid: o.pid ?? undefined, command: !!o.cmd, unsafe: o.unsafe, defines: o.defines, debug: o.debug, helperErrors: o.keepGoing,
      ...(o.probeFilter !== null ? { probeFilter: new RegExp(o.probeFilter) } : {}),
    });
  } catch (e) {
    // `-- --help`: the program's options (its getopt() calls); a bad option: bpftrace's lines as they stand
    if (e instanceof ProgramOptionsHelp) process.stdout.write(`${e.message}\n`);
    else if (e instanceof ProgramOptionError) process.stderr.write(`${e.message}\n`);
    else throw e;
    return 1;
  }
  if (!o.noWarnings) for (const w of artifact.warnings) process.stderr.write(w.endsWith('\n') ? w : `${w}\n`);
  if (artifact.unsafe && !o.unsafe) {
    process.stderr.write('tsbpf: this script uses unsafe functions (system, signal): run with --unsafe to allow them\n');
    return 1;
  }
  if (o.debug.length && !o.verify && !o.dryRun) return 0;
  if (o.cmd !== null) {
    const missing = missingCommand(o.cmd);
    if (missing) {
      // bpftrace 0.26's sentence, before anything is loaded or attached
      process.stderr.write(`tsbpf: -c: Path '${missing}' does not exist or is not executable\n`);
      return 1;
    }
  }
  // Plain stdout: the runtime writes its byte batches to fd 1 (sys/fdwrite.ts), messages to fd 2.
  const stdout = fdWriter(1);
  const stderr = fdWriter(2);
  let writeBytes: ((b: Uint8Array) => void) | undefined = stdout;
  let write: ((s: string) => void) | undefined = (s) => stdout(encodeText(s));
  let fd: number | undefined;
  if (o.outFile) {
    fd = openOutputFile(o.outFile);
    const f = fd;
    const name = o.outFile;
    write = (s) => writeOrExit(f, encodeText(s), name);
    writeBytes = (b) => writeOrExit(f, b, name);
  } else if (o.buffering === 'full') {
    const chunks: Buffer[] = [];
    let size = 0;
    writeBytes = (b) => {
      chunks.push(Buffer.from(b));
      size += b.length;
      if (size > 65536) {
        stdout(Buffer.concat(chunks));
        chunks.length = 0;
        size = 0;
      }
    };
    write = (s) => writeBytes?.(encodeText(s));
    process.on('exit', () => {
      try {
        fs.writeSync(1, Buffer.concat(chunks));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPIPE') {
          stderr(Buffer.from(`tsbpf: cannot write the output to stdout: ${errorText(e)}\n`));
          process.exitCode = 1;
        }
      }
    });
  }
  try {
    return await runScript(artifact, {
      format: o.format, write, writeBytes, message: (s) => stderr(Buffer.from(s)), quiet: o.quiet, noWarnings: o.noWarnings, cmd: o.cmd, dryRun: o.dryRun, verify: o.verify, verbose: o.verbose,
    });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `--info`: the kernel's BPF features, one `name: yes|no` line each, in bpftrace's sections. */
function infoText(): string {
  const { featureReport } = require('../sys/features') as typeof import('../sys/features');
  const r = featureReport();
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const lines = ['System', `  OS: Linux ${r.release}`, `  Arch: ${process.arch === 'x64' ? 'x86_64' : process.arch}`, '', 'Build', `  version: ${version()}`, '', 'Kernel features'];
  for (const [k, v] of Object.entries(r.features)) lines.push(`  ${k}: ${yn(v)}`);
  lines.push('', 'Program types');
  for (const [k, v] of Object.entries(r.progTypes)) lines.push(`  ${k}: ${yn(v)}`);
  return lines.join('\n') + '\n';
}

/**
 * The program a -c command runs, when it cannot be run: its first word
 * (bpftrace splits the command at spaces), as a path or searched in PATH.
 * Undefined when it can run, or when the shell would resolve it (a builtin,
 * shell syntax).
 */
function missingCommand(cmd: string): string | undefined {
  const first = cmd.trim().split(/\s+/)[0] ?? '';
  if (first === '' || /[;&|<>()$`'"\\*?=]/.test(first)) return undefined;
  const runnable = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return !fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  if (first.includes('/')) return runnable(first) ? undefined : first;
  const shellWords = ['exec', 'exit', 'true', 'false', 'cd', 'echo', 'printf', 'test', 'command', 'eval', 'sleep', 'wait', 'trap', 'set', 'export', 'read', 'kill'];
  if (shellWords.includes(first)) return undefined;
  const found = (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => runnable(path.join(d || '.', first)));
  return found ? undefined : first;
}

/**
 * Why this process cannot trace, or undefined: root, or the capabilities
 * CAP_BPF and CAP_PERFMON, as bpftrace 0.25 judges it (README: Running without root).
 */
function privilegeRefusal(): string | undefined {
  if (!process.getuid || process.getuid() === 0) return undefined;
  const { missingCapabilities } = require('../sys/capabilities') as typeof import('../sys/capabilities');
  const missing = missingCapabilities(['CAP_BPF', 'CAP_PERFMON']);
  if (!missing.length) return undefined;
  return `tsbpf: BPF tracing needs root or the capabilities CAP_BPF and CAP_PERFMON; this process lacks ${missing.join(' and ')}: run with sudo\n`;
}

/** One user-facing message for an error; internals get their stack only when asked. */
export function describeError(e: unknown): string {
  if (e instanceof CompileError) return e.format();
  if (e instanceof VerifierError) return `tsbpf: the kernel verifier rejected a program: ${e.reason || e.message}\n`;
  if (e instanceof MissingFeatureError) return `tsbpf: ${e.message}\n`;
  if (e instanceof SyscallError) {
    const denied = e.code === 'EPERM' || e.code === 'EACCES';
    const nonRoot = process.getuid !== undefined && process.getuid() !== 0;
    // what a capability-only run lacks here: uprobe and kprobe perf events need CAP_SYS_ADMIN (README: Running without root)
    const hint = !denied ? '' : nonRoot && /perf_event_open/.test(e.message)
      ? ' (without root, uprobes and kprobes need CAP_SYS_ADMIN besides CAP_BPF and CAP_PERFMON)'
      : ' (BPF needs root: run with sudo)';
    return `tsbpf: ${e.message}${hint}\n`;
  }
  // every other user or environment error is one sentence as it stands (src/errors.ts)
  if (isExplained(e)) return `tsbpf: ${e.message}\n`;
  const err = e instanceof Error ? e : new Error(String(e));
  if (process.env.TSBPF_DEBUG === '1') return `tsbpf: internal error: ${err.stack ?? err.message}\n`;
  return `tsbpf: internal error: ${err.message}\n(set TSBPF_DEBUG=1 for details)\n`;
}
