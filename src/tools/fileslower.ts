/**
 * fileslower: one line per synchronous file read or write slower than a
 * threshold, from kprobes on vfs_read/vfs_write and their returns (bcc
 * fileslower's flags and columns). --syscalls times the read/write syscalls
 * instead, on kernels without kprobes.
 */
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf, toolEvent } from './common/script';
import { SYSCALLS_NOTE, dname, fdFile, fileExpr, rwSyscalls } from './common/vfsfile';

export interface FileslowerOptions {
  pid?: number;
  allFiles: boolean;
  minMs: number;
  syscalls: boolean;
  ebpf: boolean;
}

/** A slow read or write (kprobes): the file's name was read at entry. */
const SLOW = toolEvent('fileslower', {
  write: ['%d', '$write'], tid: ['%d', 'tid'], size: ['%d', '$size'], us: ['%d', '$us'], len: ['%d', '$len'], name: ['%s', '$name'], comm: ['%s', 'comm'],
});
/** A slow read or write syscall: the tool names the file from (pid, fd). */
const SLOW_FD = toolEvent('fileslower-fd', {
  write: ['%d', '$write'], pid: ['%d', 'pid'], tid: ['%d', 'tid'], fd: ['%d', '$fd'], size: ['%d', '$size'], us: ['%d', '$us'], comm: ['%s', 'comm'],
});

export function fileslowerProgram(o: FileslowerOptions, syscallsOf: (k: 'read' | 'write') => string[] = rwSyscalls): string {
  const pred = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  const minUs = o.minMs * 1000;
  const out: string[] = [];
  for (const op of ['read', 'write'] as const) {
    const write = op === 'write' ? 1 : 0;
    const report = (ev: typeof SLOW | typeof SLOW_FD, state: string[]) => `  $us = (nsecs - @fs_ts[tid]) / 1000;
  if ($us >= ${minUs}) {
    $write = ${write};
    $size = @fs_size[tid];
${state.filter((s) => s !== 'size').map((s) => `    $${s} = @fs_${s}[tid];\n`).join('')}    ${ev.send()}
  }
${['ts', 'size', ...state.filter((s) => s !== 'size')].map((s) => `  delete(@fs_${s}[tid]);\n`).join('')}`;
    if (o.syscalls) {
      const calls = syscallsOf(op);
      if (!calls.length) continue;
      out.push(`${calls.map((sc) => `tracepoint:syscalls:sys_enter_${sc}`).join(',\n')}${pred}
{
  @fs_ts[tid] = nsecs;
  @fs_size[tid] = args->count;
  @fs_fd[tid] = args->fd;
}

${calls.map((sc) => `tracepoint:syscalls:sys_exit_${sc}`).join(',\n')} /@fs_ts[tid] != 0/
{
${report(SLOW_FD, ['fd'])}}
`);
      continue;
    }
    const f = fileExpr('$f');
    // bcc: only synchronous I/O (the file has read_iter/write_iter), with a name, regular files unless -a.
    const keep = [`$f->f_op->${op}_iter != 0`, `${f.nameLen} != 0`, o.allFiles ? '' : f.isRegular].filter(Boolean).join(' && ');
    out.push(`kprobe:vfs_${op}${pred}
{
  $f = (struct file *)arg0;
  if (${keep}) {
    @fs_ts[tid] = nsecs;
    @fs_size[tid] = arg2;
    @fs_len[tid] = ${f.nameLen};
    @fs_name[tid] = ${f.name};
  }
}

kretprobe:vfs_${op} /@fs_ts[tid] != 0/
{
${report(SLOW, ['len', 'name'])}}
`);
  }
  return out.join('\n');
}

export function fileslowerHeader(o: FileslowerOptions): string {
  return `${o.syscalls ? '# (syscall approximation): read/pread64/write/pwrite64 syscalls, files named from /proc/PID/fd\n' : ''}` +
    `Tracing sync read/writes slower than ${o.minMs} ms\n` +
    `${'TIME(s)'.padEnd(8)} ${'COMM'.padEnd(14)} ${'TID'.padEnd(6)} D ${'BYTES'.padEnd(7)} ${'LAT(ms)'.padStart(7)} FILENAME\n`;
}

export interface SlowIo {
  secs: number;
  comm: string;
  tid: number;
  write: boolean;
  size: bigint;
  us: bigint;
  file: string;
}

export function fileslowerLine(e: SlowIo): string {
  return `${e.secs.toFixed(3).padEnd(8)} ${e.comm.slice(0, 14).padEnd(14)} ${String(e.tid).padEnd(6)} ${e.write ? 'W' : 'R'} ${String(e.size).padEnd(7)} ${(Number(e.us) / 1000).toFixed(2).padStart(7)} ${e.file}\n`;
}

const mod: ToolModule<FileslowerOptions> = {
  description: 'Trace slow synchronous file reads and writes; needs kprobes (or --syscalls).',
  category: 'fs',
  spec: {
    name: 'fileslower',
    summary: 'Trace slow synchronous file reads and writes',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'trace this PID only' },
      { short: 'a', long: 'all-files', dest: 'allFiles', kind: 'flag', help: 'include non-regular file types (sockets, FIFOs, etc)' },
      { long: 'syscalls', dest: 'syscalls', kind: 'flag', help: 'without kprobes: time read/write syscalls instead (an approximation, labelled as such)' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'min_ms', kind: 'int', min: 0, help: 'minimum I/O duration to trace, in ms (default 10)' }],
    examples: [
      'fileslower             # trace sync file I/O slower than 10 ms (default)',
      'fileslower 1           # trace sync file I/O slower than 1 ms',
      'fileslower -p 185      # trace PID 185 only',
      'fileslower --syscalls  # on kernels without kprobes: syscall-based approximation',
    ],
    notes: 'Follows bcc (kprobes on vfs_read/vfs_write and their returns; TIME(s) counts from the start, FILENAME is the last\n' +
      `path component). libbpf-tools has no fileslower. ${SYSCALLS_NOTE} Without kprobes\n` +
      'it cannot tell synchronous from asynchronous I/O either: every read/write syscall is timed.',
  },
  options(a: ParsedArgs): FileslowerOptions {
    return { pid: a.int('pid'), allFiles: a.flag('allFiles'), minMs: a.int('min_ms') ?? 10, syscalls: a.flag('syscalls'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = fileslowerProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (!o.syscalls && !hasFeature('kprobes')) {
      throw new MissingFeatureError('kprobes', 'fileslower needs kprobes on vfs_read/vfs_write, but kprobes are not available: this kernel is built without CONFIG_KPROBES (run with --syscalls for a syscall-tracepoint approximation)');
    }
    const start = Date.now();
    const secs = () => (Date.now() - start) / 1000;
    return runToolProgram({
      name: 'fileslower',
      program,
      banner: fileslowerHeader(o),
      on: [
        SLOW.handle((e, rt) => {
          rt.print(fileslowerLine({ secs: secs(), comm: strOf(e.comm), tid: Number(intOf(e.tid)), write: intOf(e.write) === 1n, size: intOf(e.size), us: intOf(e.us), file: dname(strOf(e.name), intOf(e.len)) }));
        }),
        SLOW_FD.handle((e, rt) => {
          const fd = Number(intOf(e.fd));
          const x = fdFile(Number(intOf(e.pid)), fd);
          if (x ? !o.allFiles && x.type !== 'R' : !o.allFiles) return;
          rt.print(fileslowerLine({ secs: secs(), comm: strOf(e.comm), tid: Number(intOf(e.tid)), write: intOf(e.write) === 1n, size: intOf(e.size), us: intOf(e.us), file: x ? x.name : `[fd ${fd}]` }));
        }),
      ],
    });
  },
};

export const fileslower = mod;
export const tool = defineTool(mod);
