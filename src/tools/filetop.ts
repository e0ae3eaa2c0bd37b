/**
 * filetop: file reads and writes by thread and file, like top: every
 * interval the reads, writes and Kbytes per (thread, file), from kprobes on
 * vfs_read/vfs_write (bcc filetop's flags and columns). --syscalls counts
 * the read/write syscalls instead, on kernels without kprobes.
 */
import * as fs from 'node:fs';
import type { MapDump } from '../runtime/format/maps';
import type { Value } from '../runtime/values';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { TOP_OPTIONS, TOP_POSITIONALS, topBanner, topPreamble } from './common/top';
import { SYSCALLS_NOTE, dname, fdFile, fileExpr, rwSyscalls, typeCode, typeOfFormat } from './common/vfsfile';
import { ToolError } from './tool';

export const SORTS = ['all', 'reads', 'writes', 'rbytes', 'wbytes'] as const;
export type FiletopSort = (typeof SORTS)[number];

export interface FiletopOptions {
  allFiles: boolean;
  clear: boolean;
  maxRows: number;
  sort: FiletopSort;
  pid?: number;
  readOnly: boolean;
  writeOnly: boolean;
  directory?: string;
  /** The inode of -d's directory. */
  dirIno?: number;
  interval: number;
  count?: number;
  syscalls: boolean;
  ebpf: boolean;
}

const ops = (o: FiletopOptions): ('read' | 'write')[] => (o.readOnly ? ['read'] : o.writeOnly ? ['write'] : ['read', 'write']);

export function filetopProgram(o: FiletopOptions, syscallsOf: (k: 'read' | 'write') => string[] = rwSyscalls): string {
  const pred = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  const out: string[] = [];
  for (const op of ops(o)) {
    const isRead = op === 'read' ? 1 : 0;
    if (o.syscalls) {
      // The file is named in user space from (pid, fd): see common/vfsfile.ts.
      const points = syscallsOf(op).map((sc) => `tracepoint:syscalls:sys_enter_${sc}`);
      if (!points.length) continue;
      out.push(`${points.join(',\n')}${pred}
{
  $fd = args->fd;
  $size = args->count;
  @ft_n[tid, comm, pid, $fd, ${isRead}] = count();
  @ft_b[tid, comm, pid, $fd, ${isRead}] = sum($size);
}
`);
      continue;
    }
    const f = fileExpr('$f');
    const skip = [`${f.nameLen} == 0`, o.allFiles ? '' : `!${f.isRegular}`, o.dirIno !== undefined ? `${f.parentIno} != ${o.dirIno}` : ''].filter(Boolean).join(' || ');
    out.push(`kprobe:vfs_${op}${pred}
{
  $f = (struct file *)arg0;
  // bcc skips I/O lacking a file name, and (without -a) files that are not regular.
  if (!(${skip})) {
    $size = arg2;
    $ino = ${f.ino};
    $dev = ${f.dev};
    $rdev = ${f.rdev};
    $len = ${f.nameLen};
    $name = ${f.name};
    $type = ${typeOfFormat(f.format)};
    @ft_n[tid, comm, $ino, $dev, $rdev, $len, $name, $type, ${isRead}] = count();
    @ft_b[tid, comm, $ino, $dev, $rdev, $len, $name, $type, ${isRead}] = sum($size);
  }
}
`);
  }
  return out.join('\n');
}

export interface FiletopRow {
  tid: number;
  comm: string;
  reads: bigint;
  writes: bigint;
  rbytes: bigint;
  wbytes: bigint;
  type: string;
  file: string;
}

const entriesOf = (m: MapDump | undefined) => (m && (m.kind === 'count' || m.kind === 'sum') ? m.entries : []);

/** The counts and byte sums merged into one row per (thread, file), sorted as -s says (largest first). */
export function filetopRows(o: FiletopOptions, counts: MapDump | undefined, bytes: MapDump | undefined): FiletopRow[] {
  const rows = new Map<string, FiletopRow>();
  const named = new Map<string, { type: string; file: string; parentIno?: number } | undefined>();
  // The key without its last component (read or write) names the row.
  const row = (key: readonly Value[]): FiletopRow | undefined => {
    const ident = key.slice(0, -1).map((v) => (v.kind === 'int' ? String(v.value) : strOf(v))).join('\0');
    let r = rows.get(ident);
    if (r) return r;
    let type: string;
    let file: string;
    if (o.syscalls) {
      const pid = Number(intOf(key[2]));
      const fd = Number(intOf(key[3]));
      const id = `${pid}:${fd}`;
      if (!named.has(id)) {
        const x = fdFile(pid, fd);
        named.set(id, x ? { type: x.type, file: x.name, parentIno: x.parentIno } : undefined);
      }
      const x = named.get(id);
      if (!x) {
        if (!o.allFiles || o.dirIno !== undefined) return undefined;
        type = '?';
        file = `[fd ${fd}]`;
      } else {
        if (!o.allFiles && x.type !== 'R') return undefined;
        if (o.dirIno !== undefined && x.parentIno !== o.dirIno) return undefined;
        type = x.type;
        file = x.file;
      }
    } else {
      type = typeCode(intOf(key[7]));
      file = dname(strOf(key[6]), intOf(key[5]));
    }
    r = { tid: Number(intOf(key[0])), comm: strOf(key[1]), reads: 0n, writes: 0n, rbytes: 0n, wbytes: 0n, type, file };
    rows.set(ident, r);
    return r;
  };
  for (const e of entriesOf(counts)) {
    const r = row(e.key);
    if (!r) continue;
    if (intOf(e.key[e.key.length - 1]) === 1n) r.reads += e.value;
    else r.writes += e.value;
  }
  for (const e of entriesOf(bytes)) {
    const r = row(e.key);
    if (!r) continue;
    if (intOf(e.key[e.key.length - 1]) === 1n) r.rbytes += e.value;
    else r.wbytes += e.value;
  }
  const by = (r: FiletopRow): bigint => (o.sort === 'all' ? r.reads + r.writes + r.rbytes + r.wbytes : r[o.sort]);
  return [...rows.values()].sort((a, b) => (by(a) < by(b) ? 1 : by(a) > by(b) ? -1 : 0));
}

export const FILETOP_HEADER = `${'TID'.padEnd(7)} ${'COMM'.padEnd(16)} ${'READS'.padEnd(6)} ${'WRITES'.padEnd(6)} ${'R_Kb'.padEnd(7)} ${'W_Kb'.padEnd(7)} T FILE\n`;

export function filetopLine(r: FiletopRow): string {
  return `${String(r.tid).padEnd(7)} ${r.comm.padEnd(16)} ${String(r.reads).padEnd(6)} ${String(r.writes).padEnd(6)} ${String(r.rbytes / 1024n).padEnd(7)} ${String(r.wbytes / 1024n).padEnd(7)} ${r.type} ${r.file}\n`;
}

const mod: ToolModule<FiletopOptions> = {
  description: 'File reads and writes by thread and file, top-style; needs kprobes (or --syscalls).',
  category: 'fs',
  spec: {
    name: 'filetop',
    summary: 'File reads and writes by process',
    options: [
      { short: 'a', long: 'all-files', dest: 'allFiles', kind: 'flag', help: 'include non-regular file types (sockets, FIFOs, etc)' },
      ...TOP_OPTIONS,
      { short: 's', long: 'sort', dest: 'sort', kind: 'string', metavar: '{all,reads,writes,rbytes,wbytes}', help: 'sort column, default all' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'trace this PID only' },
      { long: 'read-only', dest: 'readOnly', kind: 'flag', help: 'trace only reads' },
      { long: 'write-only', dest: 'writeOnly', kind: 'flag', help: 'trace only writes' },
      { short: 'd', long: 'directory', dest: 'directory', kind: 'string', metavar: 'DIRECTORY', help: 'trace this directory only' },
      { long: 'syscalls', dest: 'syscalls', kind: 'flag', help: 'without kprobes: count read/write syscalls instead (an approximation, labelled as such)' },
      EBPF_OPTION,
    ],
    positionals: TOP_POSITIONALS,
    examples: [
      'filetop                 # file I/O top, 1 second refresh',
      'filetop -C              # don\'t clear the screen',
      'filetop -p 181          # PID 181 only',
      'filetop -d /home/user   # trace files in /home/user directory only',
      'filetop 5               # 5 second summaries',
      'filetop 5 10            # 5 second summaries, 10 times only',
      'filetop 5 --read-only   # 5 second summaries, only read operations traced',
      'filetop 5 --write-only  # 5 second summaries, only write operations traced',
      'filetop --syscalls -C   # on kernels without kprobes: syscall-based approximation',
    ],
    notes: 'Follows bcc (kprobes on vfs_read and vfs_write, rows by thread and file, R_Kb/W_Kb the sizes asked for).\n' +
      `libbpf-tools filetop prints the same columns. ${SYSCALLS_NOTE}`,
  },
  options(a: ParsedArgs): FiletopOptions {
    const sort = a.str('sort') ?? 'all';
    if (!(SORTS as readonly string[]).includes(sort)) throw new ToolError(`-s: invalid choice '${sort}' (choose from ${SORTS.join(', ')})`);
    if (a.flag('readOnly') && a.flag('writeOnly')) throw new ToolError('--read-only and --write-only exclude each other');
    const directory = a.str('directory');
    let dirIno: number | undefined;
    if (directory !== undefined) {
      try {
        dirIno = fs.lstatSync(directory).ino;
      } catch (e) {
        throw new ToolError(`-d: cannot access directory ${directory}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return {
      allFiles: a.flag('allFiles'), clear: !a.flag('noclear'), maxRows: a.int('maxrows') ?? 20, sort: sort as FiletopSort, pid: a.int('pid'),
      readOnly: a.flag('readOnly'), writeOnly: a.flag('writeOnly'), directory, dirIno, interval: a.int('interval') ?? 1, count: a.int('count'),
      syscalls: a.flag('syscalls'), ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = filetopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (!o.syscalls && !hasFeature('kprobes')) {
      throw new MissingFeatureError('kprobes', 'filetop needs kprobes on vfs_read/vfs_write, but kprobes are not available: this kernel is built without CONFIG_KPROBES (run with --syscalls for a syscall-tracepoint approximation)');
    }
    const label = o.syscalls ? '# (syscall approximation): read/pread64/write/pwrite64 syscalls, files named from /proc/PID/fd\n' : '';
    return runToolProgram({
      name: 'filetop',
      program,
      banner: `${o.directory !== undefined ? `Tracing directory: ${o.directory} (Inode: ${o.dirIno})\n` : ''}${label}${topBanner(o.interval)}`,
      interval: o.interval,
      count: o.count,
      report: (rt, final) => {
        const rows = filetopRows(o, rt.map('@ft_n'), rt.map('@ft_b'));
        rt.clearMap('@ft_n');
        rt.clearMap('@ft_b');
        rt.print(topPreamble(o.clear) + FILETOP_HEADER + rows.slice(0, o.maxRows).map(filetopLine).join('') + (final ? 'Detaching...\n' : ''));
      },
    });
  },
};

export const filetop = mod;
export const tool = defineTool(mod);
