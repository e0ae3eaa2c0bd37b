/**
 * execsnoop: traces execve() through the syscalls:sys_enter_execve and
 * sys_exit_execve tracepoints; columns as libbpf-tools execsnoop, flags as
 * bcc's (a superset of libbpf-tools').
 *
 * Every exec attempt is keyed by its thread: the enter probe sends the file
 * name and argv (join() records, which carry the thread id), the exit probe
 * the result, and events of one thread arrive in order, so a PATH search (env,
 * a shell, a shim: several execve calls by one thread) gives one line per
 * attempt with that attempt's arguments. A successful exec's arguments are read
 * again at exit from the new image (mm->arg_start..arg_end: complete, up to
 * ARGSIZE bytes each); a failed one keeps what join() read at entry (its
 * elements are at most JOIN_ARG_BYTES - 1 bytes).
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { CGROUPMAP_OPTION, idFilter, MNTNSMAP_OPTION, MNTNS_EXPR, pinnedMapFlags, wantsIds } from './common/pinnedmap';
import { defineTool, type ToolModule } from './common/define';
import { cgroupId, parseUser } from './common/filters';
import { clockTime } from './common/hist';
import { intOf, perCpuRingBytes, runToolProgram, strOf, toolEvent } from './common/script';
import { ToolError } from './tool';

export interface ExecsnoopOptions {
  time: boolean;
  timestamp: boolean;
  fails: boolean;
  uid?: number;
  ppid?: number;
  cgroup?: bigint;
  /** bcc's --cgroupmap / --mntnsmap: paths of pinned hash maps of ids to trace. */
  cgroupMap?: string;
  mntnsMap?: string;
  quote: boolean;
  name?: RegExp;
  line?: RegExp;
  printUid: boolean;
  printCpu: boolean;
  printParentComm: boolean;
  maxArgs: number;
}

/** Bytes of one argument shown (bcc's and libbpf-tools' ARGSIZE, NUL included). */
const ARGSIZE = 128;
/** join() reads 16 elements per record (so argv is read in chunks of 16 pointers = 128 bytes). */
const JOIN_ELEMS = 16;
/** An exec attempt begins: its thread and the file it executes (argv follows in join() records). */
const ENTER = toolEvent('exec-enter', { tid: ['%d', 'tid'], file: ['%s', `str(args->filename, ${ARGSIZE})`] });
/** A piece of a successful exec's argv area (mm->arg_start..arg_end), sent before its EXIT. */
const IMAGE = toolEvent('exec-argv', { tid: ['%d', 'tid'], bytes: ['%r', 'buf($at, $left)'] });
/** The attempt's result, and who ran it. */
const EXIT_FIELDS = {
  tid: ['%d', 'tid'], pid: ['%d', 'pid'], ppid: ['%d', 'curtask->real_parent->tgid'], uid: ['%d', 'uid'], cpu: ['%d', 'cpu'],
  ret: ['%d', 'args->ret'], comm: ['%s', 'comm'], parentComm: ['%s', 'curtask->real_parent->comm'],
} as const;
const EXIT = toolEvent('exec-exit', EXIT_FIELDS);
/** The same with the ids --cgroupmap / --mntnsmap test (only sent when one of them is given). */
const EXIT_IDS = toolEvent('exec-exit-ids', { ...EXIT_FIELDS, cg: ['%llu', 'cgroup'], mntns: ['%llu', MNTNS_EXPR] });

function exitEvent(o: ExecsnoopOptions) {
  return wantsIds(o) ? EXIT_IDS : EXIT;
}
const MAX_ARGS_LIMIT = 60;
/** The largest buf() the language reads (its strlen limit). */
const BUF_MAX = 200;

/** Bytes of the new image's argv area read for a successful exec: maxArgs + 1 arguments of ARGSIZE. */
function imageBytes(maxArgs: number): number {
  return (maxArgs + 1) * ARGSIZE;
}



/** join() records needed to see argv[0..maxArgs] (argv[maxArgs] only to know whether there were more). */
function joinChunks(maxArgs: number): number {
  return Math.ceil((maxArgs + 1) / JOIN_ELEMS);
}

export function execsnoopProgram(o: ExecsnoopOptions): string {
  const conds: string[] = [];
  if (o.uid !== undefined) conds.push(`uid == ${o.uid}`);
  if (o.ppid !== undefined) conds.push(`curtask->real_parent->tgid == ${o.ppid}`);
  if (o.cgroup !== undefined) conds.push(`cgroup == ${o.cgroup}`);
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  // argv is typed (const char *const *): `+ n` counts pointers, as in C and bpftrace
  const joins = Array.from({ length: joinChunks(o.maxArgs) }, (_, k) => `  join(args->argv${k ? ` + ${k * JOIN_ELEMS}` : ''});`);
  // The new image's argv area, sent in buf() pieces of at most BUF_MAX bytes (the language's limit) before
  // the exit event, each only as long as what is left: reading past arg_end could cross the end of the stack
  // and fail. (The verifier knows $len's range after each test, so it walks one path per piece count.)
  const pieces = Math.ceil(imageBytes(o.maxArgs) / BUF_MAX);
  // (address and length in variables: as arguments of buf() they would need more registers than the compiler has)
  const image = Array.from({ length: pieces }, (_, k) =>
    `    if ($len > ${k * BUF_MAX}) { $at = $start + ${k * BUF_MAX}; $left = $len - ${k * BUF_MAX}; ${IMAGE.send()} }`);
  return [
    `config = { max_strlen = ${BUF_MAX} }`,
    '',
    `tracepoint:syscalls:sys_enter_execve${pred}`,
    '{',
    `  ${ENTER.send()}`,
    ...joins,
    '}',
    '',
    `tracepoint:syscalls:sys_exit_execve${pred}`,
    '{',
    '  if (args->ret == 0) {',
    '    // the new image: its argv strings lie between arg_start and arg_end',
    '    $start = curtask->mm->arg_start;',
    '    $len = curtask->mm->arg_end - $start;',
    ...image,
    '  }',
    `  ${exitEvent(o).send()}`,
    '}',
    '',
  ].join('\n');
}


/** The header line, as libbpf-tools prints it (plus bcc's -M and -C columns where bcc puts them). */
export function execsnoopHeader(o: ExecsnoopOptions): string {
  let s = '';
  if (o.time) s += 'TIME'.padEnd(9);
  if (o.timestamp) s += 'TIME(s)'.padEnd(8) + ' ';
  if (o.printUid) s += 'UID'.padEnd(6) + ' ';
  s += `${'PCOMM'.padEnd(16)} ${'PID'.padEnd(6)} `;
  if (o.printParentComm) s += `${'PARENT'.padEnd(16)} `;
  s += `${'PPID'.padEnd(6)} `;
  if (o.printCpu) s += `${'CPU'.padEnd(4)} `;
  return s + `${'RET'.padStart(3)} ARGS\n`;
}

export interface ExecRecord {
  comm: string;
  parentComm: string;
  pid: number;
  ppid: number;
  uid: number;
  cpu: number;
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
  s += `${e.comm.padEnd(16)} ${String(e.pid).padEnd(6)} `;
  if (o.printParentComm) s += `${e.parentComm.padEnd(16)} `;
  s += `${String(e.ppid).padEnd(6)} `;
  if (o.printCpu) s += `${String(e.cpu).padEnd(4)} `;
  s += `${String(e.ret).padStart(3)} `;
  for (const a of e.args) s += o.quote ? `"${argText(a).replace(/"/g, '\\"')}" ` : `${argText(a)} `;
  if (e.truncated) s += o.quote ? '"..." ' : '... ';
  return s + '\n';
}

/** An argument as one token of the line: a newline in it would start a new line (bcc prints \n). */
function argText(a: string): string {
  return a.includes('\n') ? a.replace(/\n/g, '\\n') : a;
}

/** Whether this exec is printed with these filters (bcc: -n and -l are regular expressions). */
export function execsnoopWanted(o: ExecsnoopOptions, e: ExecRecord): boolean {
  if (!o.fails && e.ret < 0) return false;
  if (o.name !== undefined && !o.name.test(e.comm)) return false;
  if (o.line !== undefined && !o.line.test(e.args.join(' '))) return false;
  return true;
}

/** Arguments of a successful exec from its new image's argv area: NUL-separated, argv[0] first. */
export function argvFromImage(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0) {
      if (i === bytes.length && i === start) break;
      out.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(i - start, ARGSIZE - 1)).toString('latin1'));
      start = i + 1;
    }
  }
  return out;
}

/** One exec attempt of a thread, between its enter and exit events. */
interface Attempt {
  file: string;
  /** argv as join() read it at entry, chunk by chunk. */
  argv: string[];
  /** join() records seen so far; a short one ends argv (later chunks read past its NULL). */
  chunks: number;
  complete: boolean;
  /** Pieces of the new image's argv area (a successful exec). */
  image: Buffer[];
}

/**
 * Turns the event stream into exec records: per thread, the attempt opened by
 * its enter event collects the join() chunks and is closed by the exit event.
 * An exit with no enter (the exec began before tracing) is skipped, as libbpf-tools does.
 */
export class ExecAssembler {
  private readonly open = new Map<number, Attempt>();

  constructor(private readonly maxArgs: number) {}

  enter(tid: number, file: string): void {
    this.open.set(tid, { file, argv: [], chunks: 0, complete: false, image: [] });
  }

  join(tid: number, parts: string[]): void {
    const a = this.open.get(tid);
    if (!a || a.complete) return;
    a.chunks++;
    a.argv.push(...parts);
    if (parts.length < JOIN_ELEMS || a.chunks >= joinChunks(this.maxArgs)) a.complete = true;
  }

  /** A piece of the new image's argv area (successful exec), in order. */
  image(tid: number, bytes: Uint8Array): void {
    const a = this.open.get(tid);
    if (a) a.image.push(Buffer.from(bytes));
  }

  /** Closes the thread's attempt: a successful one takes its arguments from the new image when it sent them. */
  exit(tid: number, r: Omit<ExecRecord, 'args' | 'truncated'>): ExecRecord | undefined {
    const a = this.open.get(tid);
    if (!a) return undefined;
    this.open.delete(tid);
    const argv = r.ret === 0 && a.image.length ? argvFromImage(Buffer.concat(a.image)) : a.argv;
    // bcc: the file name, then argv[1..maxArgs-1], then "..." when argv goes on.
    const rest = argv.slice(1);
    return { ...r, args: [a.file, ...rest.slice(0, this.maxArgs - 1)], truncated: rest.length > this.maxArgs - 1 };
  }
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
      { short: 'u', long: 'uid', dest: 'uid', kind: 'string', metavar: 'USER', help: 'trace this UID only (a number or a user name)' },
      { short: 'P', long: 'ppid', dest: 'ppid', kind: 'int', metavar: 'PPID', min: 0, help: 'trace this parent PID only' },
      { short: 'c', long: 'cgroup', dest: 'cgroup', kind: 'string', metavar: 'CGROUP', help: 'trace processes in this cgroup v2 directory only (libbpf-tools)' },
      { short: 'q', long: 'quote', dest: 'quote', kind: 'flag', help: 'Add quotemarks (") around arguments' },
      { short: 'n', long: 'name', dest: 'name', kind: 'string', metavar: 'NAME', help: 'only print commands matching this name (regex)' },
      { short: 'l', long: 'line', dest: 'line', kind: 'string', metavar: 'LINE', help: 'only print commands where arg contains this line (regex)' },
      { short: 'U', long: 'print-uid', dest: 'printUid', kind: 'flag', help: 'print UID column' },
      { short: 'C', long: 'print-cpu', dest: 'printCpu', kind: 'flag', help: 'print CPU column' },
      { short: 'M', long: 'print-pcomm', dest: 'printParentComm', kind: 'flag', help: 'print parent command (column PARENT)' },
      { long: 'max-args', dest: 'maxArgs', kind: 'int', metavar: 'MAX_ARGS', min: 1, help: `maximum number of arguments parsed and displayed, defaults to 20 (at most ${MAX_ARGS_LIMIT})` },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      EBPF_OPTION,
    ],
    examples: [
      'execsnoop           # trace all exec() syscalls',
      'execsnoop -x        # include failed exec()s',
      'execsnoop -T        # include time (HH:MM:SS)',
      'execsnoop -P 181    # only trace new processes whose parent PID is 181',
      'execsnoop -U        # include UID',
      'execsnoop -u 1000   # only trace UID 1000',
      'execsnoop -u user   # get user UID and trace only them',
      'execsnoop -t        # include timestamps',
      'execsnoop -q        # add "quotemarks" around arguments',
      'execsnoop -n main   # only print command lines containing "main"',
      'execsnoop -l tpkg   # only print command where arguments contains "tpkg"',
      'execsnoop -c /sys/fs/cgroup/system.slice  # only trace that cgroup',
    ],
    notes: 'Columns follow libbpf-tools (PCOMM is the new command; ARGS starts with the executed path, not argv[0]);\n' +
      'flags follow bcc: -n and -l are regular expressions (libbpf-tools: substrings), -u takes a name too, -P, -C, -M.\n' +
      'Each exec attempt is one line, with its own arguments (a PATH search shows every failed attempt with -x).\n' +
      `Arguments: up to ${ARGSIZE - 1} bytes each for a successful exec (read from the new image); a failed exec's are\n` +
      'read at entry, up to 63 bytes each. --cgroupmap/--mntnsmap look the id up when the event arrives (bcc: in the kernel).',
  },
  options(a: ParsedArgs): ExecsnoopOptions {
    const maxArgs = a.int('maxArgs') ?? 20;
    if (maxArgs > MAX_ARGS_LIMIT) throw new ToolError(`--max-args must be at most ${MAX_ARGS_LIMIT}, got ${maxArgs}`);
    const regex = (dest: string, flag: string): RegExp | undefined => {
      const s = a.str(dest);
      if (s === undefined) return undefined;
      try {
        return new RegExp(s);
      } catch (e) {
        throw new ToolError(`${flag}: '${s}' is not a valid regular expression (${(e as Error).message})`);
      }
    };
    const user = a.str('uid');
    const cg = a.str('cgroup');
    return {
      time: a.flag('time'),
      timestamp: a.flag('timestamp'),
      fails: a.flag('fails'),
      uid: user !== undefined ? parseUser(user) : undefined,
      ppid: a.int('ppid'),
      cgroup: cg !== undefined ? cgroupId(cg) : undefined,
      quote: a.flag('quote'),
      name: regex('name', '-n'),
      line: regex('line', '-l'),
      printUid: a.flag('printUid'),
      printCpu: a.flag('printCpu'),
      printParentComm: a.flag('printParentComm'),
      maxArgs,
      ...pinnedMapFlags(a),
    };
  },
  main(o) {
    const start = Date.now();
    const execs = new ExecAssembler(o.maxArgs);
    const inIds = idFilter(o);
    // join() records (argv at entry) are not named events: they carry the thread id and the elements
    const onEvent = (ev: EventSpec, v: Value[]): boolean => {
      if (ev.kind !== 'join') return false;
      execs.join(Number(intOf(v[0])), v.slice(1).map(strOf));
      return true;
    };
    const on = [
      ENTER.handle((e) => execs.enter(Number(intOf(e.tid)), strOf(e.file))),
      IMAGE.handle((e) => {
        if (e.bytes.kind === 'buf') execs.image(Number(intOf(e.tid)), e.bytes.bytes);
      }),
      (exitEvent(o) as typeof EXIT_IDS).handle((e, rt) => {
        const rec = execs.exit(Number(intOf(e.tid)), {
          pid: Number(intOf(e.pid)), ppid: Number(intOf(e.ppid)), uid: Number(intOf(e.uid)), cpu: Number(intOf(e.cpu)),
          ret: Number(BigInt.asIntN(32, intOf(e.ret))), comm: strOf(e.comm), parentComm: strOf(e.parentComm),
        });
        // the attempt is assembled (and forgotten) either way; the maps only decide whether it prints
        if (inIds && !inIds(intOf(e.cg), intOf(e.mntns))) return;
        if (rec && execsnoopWanted(o, rec)) rt.printEvent(execsnoopLine(o, rec, o.time ? new Date() : new Date(0), (Date.now() - start) / 1000));
      }),
    ];
    return runToolProgram({ name: 'execsnoop', program: execsnoopProgram(o), banner: execsnoopHeader(o), onEvent, on, runOptions: { ringBytes: perCpuRingBytes() } });
  },
};

export const execsnoop = mod;
export const tool = defineTool(mod);
