/**
 * opensnoop: traces open() and openat() through their syscall tracepoints;
 * columns and flags as libbpf-tools opensnoop, plus bcc's -f FLAG filter,
 * -F, -b and --cgroupmap/--mntnsmap (see common/pinnedmap.ts).
 */
import * as fs from 'node:fs';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { intOf, perCpuRingBytes, runToolProgram, strOf, toolEvent } from './common/script';
import { tpExists } from './common/tp';
import { CGROUPMAP_OPTION, idFilter, MNTNSMAP_OPTION, MNTNS_EXPR, pinnedMapFlags, wantsIds } from './common/pinnedmap';
import { ToolError } from './tool';

export interface OpensnoopOptions {
  /** bcc's -F: a relative path is shown under the process's working directory. */
  fullPath?: boolean;
  /** bcc's -b: ring buffer size in pages. */
  bufferPages?: number;
  timestamp: boolean;
  printUid: boolean;
  failed: boolean;
  pid?: number;
  tid?: number;
  uid?: number;
  duration?: number;
  name?: string;
  extended: boolean;
  /** bcc's -f: an open is shown when it has any of these flag bits... */
  flagMask?: number;
  /** ...or, with -f O_RDONLY, when it is opened read-only. */
  readOnly?: boolean;
  /** bcc's --cgroupmap / --mntnsmap: paths of pinned hash maps of ids to trace. */
  cgroupMap?: string;
  mntnsMap?: string;
  /** bcc's --exec: run this command and trace its process only; exit when it exits. */
  exec?: string[];
  /** Which entry tracepoints exist here (open is absent on some architectures). */
  calls?: string[];
}

/** open(2) flags by name (x86-64 values, octal as in fcntl.h). */
export const OPEN_FLAGS: Record<string, number> = {
  O_RDONLY: 0, O_WRONLY: 0o1, O_RDWR: 0o2, O_CREAT: 0o100, O_EXCL: 0o200, O_NOCTTY: 0o400, O_TRUNC: 0o1000,
  O_APPEND: 0o2000, O_NONBLOCK: 0o4000, O_DSYNC: 0o10000, O_ASYNC: 0o20000, O_DIRECT: 0o40000,
  O_LARGEFILE: 0o100000, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000, O_NOATIME: 0o1000000,
  O_CLOEXEC: 0o2000000, O_SYNC: 0o4010000, O_PATH: 0o10000000, O_TMPFILE: 0o20200000,
};

/** One open, sent at its exit (the path is read there: see opensnoopProgram). */
const OPEN_FIELDS = {
  pid: ['%d', 'pid'], uid: ['%d', 'uid'], ret: ['%d', 'args->ret'], flags: ['%d', '@flags[tid]'],
  comm: ['%s', 'comm'], path: ['%s', 'str(@fname[tid], 255)'],
} as const;
const OPEN = toolEvent('open', OPEN_FIELDS);
/** The same with the ids --cgroupmap / --mntnsmap test (only sent when one of them is given). */
const OPEN_IDS = toolEvent('open-ids', { ...OPEN_FIELDS, cg: ['%llu', 'cgroup'], mntns: ['%llu', MNTNS_EXPR] });

function openEvent(o: OpensnoopOptions) {
  return wantsIds(o) ? OPEN_IDS : OPEN;
}

export function opensnoopProgram(o: OpensnoopOptions): string {
  const conds: string[] = [];
  if (o.pid !== undefined) conds.push(`pid == ${o.pid}`);
  if (o.tid !== undefined) conds.push(`tid == ${o.tid}`);
  if (o.uid !== undefined) conds.push(`uid == ${o.uid}`);
  if (o.exec) conds.push('pid == cpid'); // the runtime starts the command stopped and fills in cpid before it runs
  // bcc: an open passes when it has any of the -f flags; O_RDONLY (0) means "neither O_WRONLY nor O_RDWR".
  if (o.flagMask !== undefined) {
    const any = o.flagMask ? [`(args->flags & ${o.flagMask}) != 0`] : [];
    if (o.readOnly) any.push('(args->flags & 3) == 0');
    conds.push(any.length > 1 ? `(${any.join(' || ')})` : any[0]);
  }
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  const out: string[] = [];
  for (const c of o.calls ?? ['open', 'openat']) {
    // The path's address, read at exit as libbpf-tools does: at entry its page may not be faulted in yet
    // (a string never touched before), and a BPF read cannot fault it (the path would print empty).
    out.push(`tracepoint:syscalls:sys_enter_${c}${pred}\n{\n  @fname[tid] = args->filename;\n  @flags[tid] = args->flags;\n  @live[tid] = 1;\n}\n`);
  }
  const exitPred = o.failed ? '@live[tid] && args->ret < 0' : '@live[tid]';
  for (const c of o.calls ?? ['open', 'openat']) {
    out.push(
      `tracepoint:syscalls:sys_exit_${c} /${exitPred}/\n{\n` +
        `  ${openEvent(o).send()}\n` +
        '  delete(@fname[tid]);\n  delete(@flags[tid]);\n  delete(@live[tid]);\n}\n',
    );
  }
  // A failed -x exit still has to forget the entry state.
  if (o.failed) {
    for (const c of o.calls ?? ['open', 'openat']) {
      out.push(`tracepoint:syscalls:sys_exit_${c} /@live[tid] && args->ret >= 0/\n{\n  delete(@fname[tid]);\n  delete(@flags[tid]);\n  delete(@live[tid]);\n}\n`);
    }
  }
  return out.join('\n');
}

export function opensnoopHeader(o: OpensnoopOptions): string {
  let s = '';
  if (o.timestamp) s += 'TIME'.padEnd(8) + ' ';
  if (o.printUid) s += 'UID'.padEnd(7) + ' ';
  s += `${'PID'.padEnd(6)} ${'COMM'.padEnd(16)} ${'FD'.padStart(3)} ${'ERR'.padStart(3)} `;
  if (o.extended) s += 'FLAGS'.padEnd(8) + ' ';
  return s + 'PATH\n';
}

export interface OpenRecord {
  pid: number;
  uid: number;
  ret: number;
  flags: number;
  comm: string;
  path: string;
}

export function opensnoopLine(o: OpensnoopOptions, e: OpenRecord, now: Date): string {
  let s = '';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)} `;
  if (o.printUid) s += `${String(e.uid).padEnd(7)} `;
  const fd = e.ret >= 0 ? e.ret : -1;
  const err = e.ret >= 0 ? 0 : -e.ret;
  s += `${String(e.pid).padEnd(6)} ${e.comm.padEnd(16)} ${String(fd).padStart(3)} ${String(err).padStart(3)} `;
  if (o.extended) s += `${(e.flags >>> 0).toString(8).padStart(8, '0')} `;
  return s + e.path + '\n';
}

/**
 * -F: a relative path under the process's working directory, read when the line is printed (bcc
 * walks the task's pwd dentries in the kernel; a process that changed directory or exited since is
 * shown with what /proc says now, or the path as it was given).
 */
function fullPath(pid: number, rel: string): string {
  try {
    const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    return `${cwd === '/' ? '' : cwd}/${rel}`;
  } catch {
    return rel;
  }
}

/** --exec's words as one command line for the runtime (each word quoted for the shell unless plain). */
function commandLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)).join(' ');
}

/** Stands for "now" when no time column is printed (no Date per event). */
const NO_TIME = new Date(0);

const mod: ToolModule<OpensnoopOptions> = {
  description: 'Trace open() and openat() syscalls: who opened which path, and the result.',
  category: 'fs',
  spec: {
    name: 'opensnoop',
    summary: 'Trace open family syscalls',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'Print timestamp' },
      { short: 'U', long: 'print-uid', dest: 'printUid', kind: 'flag', help: 'Print UID' },
      { short: 'x', long: 'failed', dest: 'failed', kind: 'flag', help: 'Failed opens only' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'Process ID to trace' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 0, help: 'Thread ID to trace' },
      { short: 'u', long: 'uid', dest: 'uid', kind: 'int', metavar: 'UID', min: 0, help: 'User ID to trace' },
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'Duration to trace (seconds)' },
      { short: 'n', long: 'name', dest: 'name', kind: 'string', metavar: 'NAME', help: 'Trace process names containing this' },
      { short: 'e', long: 'extended-fields', dest: 'extended', kind: 'flag', help: 'Print extended fields (open flags, octal)' },
      { short: 'F', long: 'full-path', dest: 'fullPath', kind: 'flag', help: 'show full path for an open file with relative path (the working directory when printed)' },
      { short: 'b', long: 'buffer-pages', dest: 'pages', kind: 'int', metavar: 'BUFFER_PAGES', min: 1, help: 'size of the ring buffer in pages (a power of two; default: 64 per CPU, at most 4 MiB)' },
      { short: 'f', long: 'flag_filter', dest: 'flags', kind: 'list', commaSplit: true, metavar: 'FLAG', help: 'filter on flags argument (e.g., O_WRONLY); repeated: any of them (bcc)' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      { long: 'exec', dest: 'exec', kind: 'remainder', metavar: 'COMMAND', help: 'execute command (as the last parameter, supports multiple parameters, for example: --exec ls -l /tmp): trace its process only, exit when it exits' },
      EBPF_OPTION,
    ],
    examples: [
      'opensnoop           # trace all open() syscalls',
      'opensnoop -T        # include timestamps',
      'opensnoop -U        # include UID',
      'opensnoop -x        # only show failed opens',
      'opensnoop -p 181    # only trace PID 181',
      'opensnoop -t 123    # only trace TID 123',
      'opensnoop -u 1000   # only trace UID 1000',
      'opensnoop -d 10     # trace for 10 seconds only',
      'opensnoop -n main   # only print process names containing "main"',
      'opensnoop -e        # show extended fields',
      'opensnoop -f O_WRONLY -f O_RDWR  # only print calls for writing (bcc)',
      'opensnoop --cgroupmap mappath  # only trace cgroups in this BPF map',
      'opensnoop --mntnsmap mappath   # only trace mount namespaces in the map',
      'opensnoop --exec ls -l /tmp    # run ls and trace its opens only (bcc)',
    ],
    notes: 'Follows libbpf-tools (columns, -t is a TID filter, -T prints HH:MM:SS); -f comes from bcc. openat2 is not traced.',
  },
  options(a: ParsedArgs): OpensnoopOptions {
    let mask = 0;
    let readOnly = false;
    for (const f of a.list('flags')) {
      const v = OPEN_FLAGS[f.toUpperCase()];
      if (v === undefined) throw new ToolError(`unknown open flag '${f}' (known: ${Object.keys(OPEN_FLAGS).join(', ')})`);
      mask |= v;
      if (v === 0) readOnly = true;
    }
    const filtered = a.list('flags').length > 0;
    const exec = a.has('exec') ? a.list('exec') : undefined;
    if (exec && !exec.length) throw new ToolError('--exec needs a command');
    if (exec && (a.has('pid') || a.has('tid'))) throw new ToolError('can only use -p/-t or --exec');
    const pages = a.int('pages');
    if (pages !== undefined && (pages & (pages - 1)) !== 0) throw new ToolError(`-b: the number of pages must be a power of two, got ${pages}`);
    return {
      timestamp: a.flag('timestamp'),
      printUid: a.flag('printUid'),
      failed: a.flag('failed'),
      pid: a.int('pid'),
      tid: a.int('tid'),
      uid: a.int('uid'),
      duration: a.int('duration'),
      fullPath: a.flag('fullPath'),
      bufferPages: pages,
      name: a.str('name'),
      extended: a.flag('extended'),
      flagMask: filtered ? mask : undefined,
      readOnly,
      ...pinnedMapFlags(a),
      exec,
    };
  },
  main(o) {
    o.calls = ['open', 'openat'].filter((c) => tpExists('syscalls', `sys_enter_${c}`));
    const inIds = idFilter(o);
    const onOpen = (openEvent(o) as typeof OPEN_IDS).handle((e, rt) => {
      if (inIds && !inIds(intOf(e.cg), intOf(e.mntns))) return;
      const rec: OpenRecord = {
        pid: Number(intOf(e.pid)), uid: Number(intOf(e.uid)), ret: Number(BigInt.asIntN(64, intOf(e.ret))),
        flags: Number(intOf(e.flags)), comm: strOf(e.comm), path: strOf(e.path),
      };
      if (o.name !== undefined && !rec.comm.includes(o.name)) return;
      if (o.fullPath && rec.path !== '' && !rec.path.startsWith('/')) rec.path = fullPath(rec.pid, rec.path);
      rt.printEvent(opensnoopLine(o, rec, o.timestamp ? new Date() : NO_TIME));
    });
    return runToolProgram({
      name: 'opensnoop', program: opensnoopProgram(o), banner: opensnoopHeader(o), on: [onOpen], duration: o.duration,
      runOptions: { ringBytes: o.bufferPages !== undefined ? o.bufferPages * 4096 : perCpuRingBytes(), ...(o.exec ? { cmd: commandLine(o.exec) } : {}) },
    });
  },
};

export const opensnoop = mod;
export const tool = defineTool(mod);
