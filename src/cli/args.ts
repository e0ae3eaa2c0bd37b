/**
 * bpftrace-compatible command line: `tsbpf [options] FILE|-e PROGRAM [param ...]`.
 * Parsing only; main.ts acts on the result.
 */
import { UserError } from '../errors';

export type OutputFormat = 'text' | 'json';
export type BufferingMode = 'line' | 'full' | 'none';

export interface ScriptOptions {
  program: string | null;
  file: string | null;
  params: string[];
  list: string | null; // -l [PATTERN]; '' = everything
  listVerbose: boolean; // -lv
  pid: number | null;
  cmd: string | null;
  outFile: string | null;
  format: OutputFormat;
  quiet: boolean;
  buffering: BufferingMode | null;
  keepGoing: boolean; // -k: report helper errors instead of ignoring them
  unsafe: boolean;
  dryRun: boolean;
  verify: boolean;
  verbose: boolean;
  debug: ('ast' | 'types' | 'codegen')[];
  help: boolean;
  version: boolean;
  defines: Record<string, string>;
  /** `--include FILE`: an `#include <FILE>` before the program (bpftrace 0.26). */
  includes: string[];
  /** `-I DIR`: include search directories (headers are satisfied from BTF; kept for compatibility). */
  includeDirs: string[];
  /** `--no-warnings`: compiler and runtime warnings are not printed. */
  noWarnings: boolean;
  /** `--probe-filter REGEX`: only probes whose name matches are attached (BEGIN/END always are). */
  probeFilter: string | null;
  /** `--info`: print the kernel's BPF features and exit. */
  info: boolean;
  /** Program options after `--` (`-- --aa=20 --dd`), read by getopt(). */
  namedParams: Record<string, string>;
  /** --debuginfo DIR: directories searched first for separate debug files (uprobe args, source lines). */
  debugInfo: string[];
}

/** The kernel's upper bound for pid_max on 64-bit (PID_MAX_LIMIT, 4M): no pid can be larger. */
const PID_MAX_LIMIT = 4194304;

export class UsageError extends UserError {
  /** bare: printed as bpftrace prints it ('ERROR: ...' and no usage text), because scripts and bpftrace's own tests match that line. */
  constructor(message: string, readonly bare = false) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `USAGE:
    tsbpf [options] filename
    tsbpf [options] - <stdin input>
    tsbpf [options] -e 'program'
    tsbpf <tool|command> [args]      (tsbpf tools lists them)

OPTIONS:
    -B MODE        output buffering mode ('line', 'full', or 'none')
    -d STAGE       debug info: 'ast', 'types' or 'codegen'
    --dry-run      compile, load and attach, then exit
    --verify       compile and load every program through the kernel verifier
                   without attaching; exit 0 only if all pass (works for probe
                   types this kernel cannot attach, e.g. kprobes)
    -e 'program'   execute this program
    -f FORMAT      output format ('text', 'json')
    -h, --help     show this help message
    -k             emit a warning when a BPF helper returns an error
    -l [search|filename]
                   list probes (tracepoints, software/hardware events, kernel
                   functions, uprobes/USDT with a path or -p), or the probes
                   of a script file or of -e 'program'; several searches may
                   be separated by commas
    -lv            list probes with their arguments
    -o file        redirect program output to file
    -p PID         enable USDT probes on PID
    -c 'CMD'       run CMD and trace it; exit when it exits
    -q             keep messages quiet
    --unsafe       allow unsafe builtin functions (system, signal)
    -v             verbose messages: instructions and verifier statistics
    -V, --version  tsbpf version
    -D NAME=VALUE  define a preprocessor macro
    --include FILE add an #include file before preprocessing
    -I DIR         add the directory to the include search path
    --info         print the kernel's BPF features
    --no-warnings  disable all warning messages
    --probe-filter REGEX
                   attach only the probes whose names match REGEX (BEGIN and
                   END always run)
    long forms: --pid --cmd --output --quiet --verbose --list --debug
    --debuginfo DIR  look for separate debug files (uprobe args, file.c:LINE) in DIR first

ENVIRONMENT:
    BPFTRACE_MAX_STRLEN    characters str() keeps (default 64, at most 200; BPFTRACE_STRLEN too)
    BPFTRACE_MAP_KEYS_MAX  maximum entries of each map (default 4096)
    TSBPF_RING_BYTES       event ring buffer size, a power of two (default 4 MiB)
    TSBPF_DEBUG=1          show internal stack traces for internal errors

A script file whose name collides with a tool or command runs when given as a
path (./bitesize) or with a .bt suffix (bitesize.bt).

EXAMPLES:
tsbpf -l '*sleep*'
    list probes containing "sleep"
tsbpf -e 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args.filename)); }'
    trace files opened, with process names
tsbpf -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
    count syscalls by process name
tsbpf -e 'profile:hz:99 { @[kstack] = count(); }'
    sample kernel stacks at 99 Hertz
`;

/** bpftrace 0.26's long spellings of short options. */
const LONG_OPTIONS: Readonly<Record<string, string>> = {
  '--pid': '-p', '--cmd': '-c', '--output': '-o', '--quiet': '-q', '--verbose': '-v',
  '--list': '-l', '--debug': '-d',
};

/** Parses argv (without node and script path). */
export function parseScriptArgs(argvIn: string[]): ScriptOptions {
  let argv = argvIn;
  const o: ScriptOptions = {
    program: null, file: null, params: [], list: null, listVerbose: false, pid: null, cmd: null, outFile: null,
    format: 'text', quiet: false, buffering: null, keepGoing: false, unsafe: false, dryRun: false, verify: false,
    verbose: false, debug: [], help: false, version: false, defines: {}, includes: [], includeDirs: [], noWarnings: false,
    probeFilter: null, info: false, debugInfo: [], namedParams: {},
  };
  const positional: string[] = [];
  let i = 0;
  const need = (flag: string): string => {
    if (i + 1 >= argv.length) throw new UsageError(`option '${flag}' requires an argument`);
    return argv[++i];
  };
  for (; i < argv.length; i++) {
    let a = argv[i];
    if (a === '--') {
      // after --: positional parameters, and program options `--name=value` / `--name` for getopt() (bpftrace 0.24+)
      for (const p of argv.slice(i + 1)) {
        const m = /^--([A-Za-z_][\w-]*)(?:=(.*))?$/s.exec(p);
        if (m) o.namedParams[m[1]] = m[2] ?? 'true';
        else positional.push(p);
      }
      break;
    }
    if (positional.length > 0 || (!a.startsWith('-') || a === '-')) {
      positional.push(a);
      continue;
    }
    // `--name=value` is `--name value` (getopt_long)
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      argv = [...argv.slice(0, i), a.slice(0, eq), a.slice(eq + 1), ...argv.slice(i + 1)];
      a = argv[i];
    }
    a = LONG_OPTIONS[a] ?? a;
    switch (a) {
      case '-e': o.program = need(a); break;
      case '-l': o.list = ''; if (i + 1 < argv.length && !argv[i + 1].startsWith('-')) o.list = argv[++i]; break;
      case '-lv': case '-vl': o.list = ''; o.listVerbose = true; if (i + 1 < argv.length && !argv[i + 1].startsWith('-')) o.list = argv[++i]; break;
      case '-p': {
        const v = need(a);
        // bpftrace's wording: 'invalid integer' when it does not start with a digit, 'invalid trailing bytes' otherwise
        if (!/^\d+$/.test(v)) throw new UsageError(`Failed to parse pid: ${/^\d/.test(v) ? 'invalid trailing bytes' : 'invalid integer'}: ${v}`, true);
        o.pid = Number(v);
        if (o.pid > PID_MAX_LIMIT) throw new UsageError(`Pid out of range: ${v}`, true);
        break;
      }
      case '-c': o.cmd = need(a); break;
      case '-o': o.outFile = need(a); break;
      case '-f': {
        const v = need(a);
        if (v !== 'text' && v !== 'json') throw new UsageError(`Invalid output format "${v}"`, true);
        o.format = v;
        break;
      }
      case '-q': o.quiet = true; break;
      case '-B': {
        const v = need(a);
        if (v !== 'line' && v !== 'full' && v !== 'none') throw new UsageError(`invalid buffering mode '${v}': use 'line', 'full' or 'none'`);
        o.buffering = v;
        break;
      }
      case '-k': case '-kk': o.keepGoing = true; break;
      case '--unsafe': o.unsafe = true; break;
      case '--dry-run': o.dryRun = true; break;
      case '--verify': o.verify = true; break;
      case '-v': o.verbose = true; if (o.list !== null) o.listVerbose = true; break;
      case '-d': {
        const v = need(a);
        if (v !== 'ast' && v !== 'types' && v !== 'codegen' && v !== 'all') throw new UsageError(`invalid debug stage '${v}': use 'ast', 'types', 'codegen' or 'all'`);
        if (v === 'all') o.debug.push('ast', 'types', 'codegen');
        else o.debug.push(v);
        break;
      }
      case '-D': {
        const v = need(a);
        const eq = v.indexOf('=');
        o.defines[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? '1' : v.slice(eq + 1);
        break;
      }
      case '--debuginfo': o.debugInfo.push(need(a)); break;
      case '-h': case '--help': o.help = true; break;
      case '--include': o.includes.push(need(a)); break;
      case '-I': o.includeDirs.push(need(a)); break;
      case '--no-warnings': o.noWarnings = true; break;
      case '--warnings': o.noWarnings = false; break;
      case '--probe-filter': {
        const v = need(a);
        try {
          new RegExp(v);
        } catch {
          throw new UsageError(`invalid --probe-filter regular expression '${v}'`);
        }
        o.probeFilter = v;
        break;
      }
      case '--info': o.info = true; break;
      // accepted for compatibility: USDT semaphores are always activated through the kernel's ref_ctr
      // (file activation is not needed there)
      case '--usdt-file-activation': break;
      case '--dwarf-pid': case '--no-feature': need(a); break;
      case '--btf': case '--verify-llvm-ir': break;
      case '-V': case '--version': o.version = true; break;
      default:
        if (a.startsWith('--debuginfo=')) { o.debugInfo.push(a.slice(12)); break; }
        if (a.startsWith('-e') && a.length > 2) { o.program = a.slice(2); break; }
        if (a.startsWith('-p') && /^\d+$/.test(a.slice(2))) { o.pid = Number(a.slice(2)); break; }
        if (a.startsWith('-I') && a.length > 2) { o.includeDirs.push(a.slice(2)); break; }
        throw new UsageError(`unknown option '${a}'`);
    }
  }
  if (o.list !== null) {
    // `-l PATTERN` may also come as the first positional (bpftrace -l 'tracepoint:*')
    if (o.list === '' && positional.length) o.list = positional.shift() ?? '';
    return o;
  }
  if (o.program === null && !o.help && !o.version && !o.info) {
    const f = positional.shift();
    if (f === undefined) throw new UsageError('no program given: use -e PROGRAM or a script file');
    o.file = f;
  }
  o.params = positional;
  return o;
}
