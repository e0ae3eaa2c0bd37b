/**
 * The file-system "slower" tools (bcc's ext4slower, xfsslower...): one line
 * per read, write, open or fsync of that file system slower than a
 * threshold, from kprobes on its file operations and their returns. One
 * definition; each tool module names its file system's functions.
 */
import { MissingFeatureError, hasFeature } from '../../sys/features';
import type { ToolDef } from '../tool';
import type { ParsedArgs } from './args';
import { defineTool, type ToolModule } from './define';
import { EBPF_OPTION, printProgram } from './ebpf';
import { clockTime } from './hist';
import { intOf, runToolProgram, strOf, toolEvent } from './script';

/** A file system's file operations, as bcc's tools for it probe them. */
export interface FileSystemOps {
  /** The tool name's prefix: ext4 → ext4slower, ext4dist. */
  name: string;
  /** How bcc's messages name it ("ext4", "XFS"). */
  label: string;
  read: string;
  write: string;
  open: string;
  fsync: string;
}

export const EXT4: FileSystemOps = { name: 'ext4', label: 'ext4', read: 'ext4_file_read_iter', write: 'ext4_file_write_iter', open: 'ext4_file_open', fsync: 'ext4_sync_file' };
export const XFS: FileSystemOps = { name: 'xfs', label: 'XFS', read: 'xfs_file_read_iter', write: 'xfs_file_write_iter', open: 'xfs_file_open', fsync: 'xfs_file_fsync' };

/** The operations in bcc's order, with the letter of slower's T column and the name of dist's sections. */
export const FS_OPS = [
  { op: 'read', letter: 'R' },
  { op: 'write', letter: 'W' },
  { op: 'open', letter: 'O' },
  { op: 'fsync', letter: 'S' },
] as const;
export type FsOp = (typeof FS_OPS)[number]['op'];

/**
 * Each operation's entry: where its `struct file *` is and the file offset it starts at.
 * read_iter/write_iter(struct kiocb *, struct iov_iter *); open(struct inode *, struct file *);
 * fsync(struct file *, loff_t start, loff_t end, int datasync).
 */
const ENTRY: Record<FsOp, { file: string; offset: string }> = {
  read: { file: '((struct kiocb *)arg0)->ki_filp', offset: '((struct kiocb *)arg0)->ki_pos' },
  write: { file: '((struct kiocb *)arg0)->ki_filp', offset: '((struct kiocb *)arg0)->ki_pos' },
  open: { file: 'arg1', offset: '0' },
  fsync: { file: 'arg0', offset: '0' },
};


export interface FsslowerOptions {
  csv: boolean;
  pid?: number;
  minMs: number;
  ebpf: boolean;
}

const OPERATION = toolEvent('fsslower', {
  ts: ['%d', '$ts'], type: ['%d', '$type'], size: ['%d', '$size'], offset: ['%d', '$offset'], us: ['%d', '$us'], pid: ['%d', 'pid'],
  comm: ['%s', 'comm'], file: ['%s', '$name'],
});

export function fsslowerProgram(f: FileSystemOps, o: FsslowerOptions): string {
  const pred = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  // bcc: with a threshold, operations of exactly min_ms are left out (delta_us <= min_us); 0 shows all.
  const slow = o.minMs > 0 ? `$us > ${o.minMs * 1000}` : '1';
  return FS_OPS.map(({ op }, type) => `kprobe:${f[op]}${pred}
{
  @fss_ts[tid] = nsecs;
  @fss_file[tid] = (uint64)${ENTRY[op].file};
  @fss_offset[tid] = ${ENTRY[op].offset};
}

kretprobe:${f[op]} /@fss_ts[tid] != 0/
{
  $now = nsecs;
  $us = ($now - @fss_ts[tid]) / 1000;
  $file = (struct file *)@fss_file[tid];
  // bcc leaves out files without a name.
  if (${slow} && $file->f_path.dentry->d_name.len != 0) {
    $ts = $now / 1000;
    $type = ${type};
    // bcc keeps the return value in a u32
    $size = retval & 0xffffffff;
    $offset = @fss_offset[tid];
    $name = str($file->f_path.dentry->d_name.name);
    ${OPERATION.send()}
  }
  delete(@fss_ts[tid]);
  delete(@fss_file[tid]);
  delete(@fss_offset[tid]);
}
`).join('\n');
}

export function fsslowerHeader(f: FileSystemOps, o: FsslowerOptions): string {
  if (o.csv) return 'ENDTIME_us,TASK,PID,TYPE,BYTES,OFFSET_b,LATENCY_us,FILE\n';
  return `Tracing ${f.label} operations${o.minMs > 0 ? ` slower than ${o.minMs} ms` : ''}\n` +
    `${'TIME'.padEnd(8)} ${'COMM'.padEnd(14)} ${'PID'.padEnd(6)} T ${'BYTES'.padEnd(7)} ${'OFF_KB'.padEnd(8)} ${'LAT(ms)'.padStart(7)} FILENAME\n`;
}

export interface FsOperation {
  tsUs: bigint;
  type: number;
  size: bigint;
  offset: bigint;
  us: bigint;
  pid: number;
  comm: string;
  file: string;
}

export function fsslowerLine(o: FsslowerOptions, e: FsOperation, now: Date = new Date()): string {
  const t = FS_OPS[e.type]?.letter ?? '?';
  if (o.csv) return `${e.tsUs},${e.comm},${e.pid},${t},${e.size},${e.offset},${e.us},${e.file}\n`;
  return `${clockTime(now).padEnd(8)} ${e.comm.slice(0, 14).padEnd(14)} ${String(e.pid).padEnd(6)} ${t} ${String(e.size).padEnd(7)} ${String(e.offset / 1024n).padEnd(8)} ${(Number(e.us) / 1000).toFixed(2).padStart(7)} ${e.file}\n`;
}

/** The tool for one file system. */
export function fsslowerTool(f: FileSystemOps): ToolDef {
  const tool = `${f.name}slower`;
  const mod: ToolModule<FsslowerOptions> = {
    description: `Trace common ${f.label} file operations (read, write, open, fsync) slower than a threshold; needs kprobes.`,
    category: 'fs',
    spec: {
      name: tool,
      summary: `Trace common ${f.label} file operations slower than a threshold`,
      options: [
        { short: 'j', long: 'csv', dest: 'csv', kind: 'flag', help: 'just print fields: comma-separated values' },
        { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'trace this PID only' },
        EBPF_OPTION,
      ],
      positionals: [{ name: 'min_ms', kind: 'int', min: 0, help: 'minimum I/O duration to trace, in ms (default 10)' }],
      examples: [
        `${tool}             # trace operations slower than 10 ms (default)`,
        `${tool} 1           # trace operations slower than 1 ms`,
        `${tool} -j 1        # ... 1 ms, parsable output (csv)`,
        `${tool} 0           # trace all operations (warning: verbose)`,
        `${tool} -p 185      # trace PID 185 only`,
      ],
      notes: `Follows bcc (kprobes and kretprobes on ${FS_OPS.map(({ op }) => f[op]).join(', ')};\n` +
        'T is R(ead), W(rite), O(pen) or S(ync); BYTES is the return value, OFF_KB the file offset at entry).\n' +
        'Kernels before 4.10 read through generic_file_read_iter, which bcc filters by file operations; this tool\n' +
        'needs the file system\'s own read_iter.',
    },
    options(a: ParsedArgs): FsslowerOptions {
      return { csv: a.flag('csv'), pid: a.int('pid'), minMs: a.int('min_ms') ?? 10, ebpf: a.flag('ebpf') };
    },
    main(o) {
      const program = fsslowerProgram(f, o);
      if (o.ebpf) return Promise.resolve(printProgram(program));
      requireKprobes(tool, f);
      return runToolProgram({
        name: tool,
        program,
        banner: fsslowerHeader(f, o),
        on: [
          OPERATION.handle((e, rt) => {
            const n = (k: keyof typeof e) => intOf(e[k]);
            rt.print(fsslowerLine(o, { tsUs: n('ts'), type: Number(n('type')), size: n('size'), offset: n('offset'), us: n('us'), pid: Number(n('pid')), comm: strOf(e.comm), file: strOf(e.file) }));
          }),
        ],
      });
    },
  };
  return defineTool(mod);
}

/** The one sentence for a kernel without kprobes (the file system's functions missing is the compiler's to say). */
export function requireKprobes(tool: string, f: FileSystemOps): void {
  if (!hasFeature('kprobes')) {
    throw new MissingFeatureError('kprobes', `${tool} needs kprobes on ${f.read} and the other ${f.label} file operations, but kprobes are not available: this kernel is built without CONFIG_KPROBES`);
  }
}
