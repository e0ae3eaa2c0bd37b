/**
 * vfsstat: per-second counts of VFS reads, writes, fsyncs, opens and
 * creates. The real tool needs kprobes on vfs_read/vfs_write/...; without
 * them it stops with the missing feature named, and `--syscalls` offers an
 * approximation from syscall tracepoints (labelled as such).
 */
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { intOf, runToolProgram } from './common/script';
import { tpExists } from './common/tp';

export interface VfsstatOptions {
  interval: number;
  count?: number;
  syscalls: boolean;
  /** bcc's -p: this process only. */
  pid?: number;
}

export const STATS = ['READ', 'WRITE', 'FSYNC', 'OPEN', 'CREATE'] as const;

/** The functions libbpf-tools vfsstat probes. */
const KPROBES: Record<(typeof STATS)[number], string[]> = {
  READ: ['vfs_read'],
  WRITE: ['vfs_write'],
  FSYNC: ['vfs_fsync'],
  OPEN: ['vfs_open'],
  CREATE: ['vfs_create'],
};

/** Syscalls standing in for each VFS function in --syscalls mode. */
export const SYSCALLS: Record<(typeof STATS)[number], string[]> = {
  READ: ['read', 'readv', 'pread64', 'preadv', 'preadv2'],
  WRITE: ['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2'],
  FSYNC: ['fsync', 'fdatasync', 'sync_file_range'],
  OPEN: ['open', 'openat', 'openat2', 'creat'],
  CREATE: ['creat', 'mknod', 'mknodat'],
};

export function vfsstatProgram(o: VfsstatOptions, exists: (sc: string) => boolean = (sc) => tpExists('syscalls', `sys_enter_${sc}`)): string {
  const out: string[] = [];
  const pid = o.pid !== undefined ? `pid == ${o.pid} && ` : '';
  STATS.forEach((s, i) => {
    const points = o.syscalls
      ? SYSCALLS[s].filter(exists).map((sc) => `tracepoint:syscalls:sys_enter_${sc}`)
      : KPROBES[s].map((f) => `kprobe:${f}`);
    if (!points.length) return;
    // Opens with O_CREAT are creates too, as vfs_create sees them.
    if (o.syscalls && s === 'CREATE') {
      const oc = ['open', 'openat'].filter(exists).map((sc) => `tracepoint:syscalls:sys_enter_${sc}`);
      if (oc.length) out.push(`${oc.join(',\n')} /${pid}args->flags & 64/\n{\n  @stat[${i}] = count();\n}\n`);
    }
    out.push(`${points.join(',\n')}${o.pid !== undefined ? ` /pid == ${o.pid}/` : ''}\n{\n  @stat[${i}] = count();\n}\n`);
  });
  return out.join('\n');
}

export function vfsstatHeader(o: VfsstatOptions): string {
  const label = o.syscalls ? '(syscall approximation) ' : '';
  return `${label ? `# ${label.trim()}: counts of read/write/fsync/open/creat-family syscalls, not VFS calls\n` : ''}${'TIME'.padEnd(8)}  ${STATS.map((s) => ` ${s.padStart(6)}/s`).join('')}\n`;
}

export function vfsstatLine(counts: bigint[], interval: number, now: Date): string {
  return `${clockTime(now).padEnd(8)}: ${STATS.map((_, i) => ` ${((counts[i] ?? 0n) / BigInt(interval)).toString().padStart(8)}`).join('')}\n`;
}

const mod: ToolModule<VfsstatOptions> = {
  description: 'Count VFS calls (read, write, fsync, open, create) per second; needs kprobes (or --syscalls).',
  category: 'fs',
  spec: {
    name: 'vfsstat',
    summary: 'vfsstat: Count some VFS calls',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only (bcc)' },
      { long: 'syscalls', dest: 'syscalls', kind: 'flag', help: 'Without kprobes: count the corresponding syscalls instead (an approximation, labelled as such)' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds (default 1)' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'vfsstat             # interval one second',
      'vfsstat 5 3         # interval five seconds, three output lines',
      'vfsstat --syscalls  # on kernels without kprobes: syscall-based approximation',
    ],
    notes: 'Follows libbpf-tools (columns READ WRITE FSYNC OPEN CREATE). --syscalls is tsbpf\'s own: it counts syscalls, so\n' +
      'reads served by other paths (mmap faults, splice, io_uring, kernel-internal VFS calls) are not seen and readv counts once.',
  },
  options(a: ParsedArgs): VfsstatOptions {
    return { interval: a.int('interval') ?? 1, count: a.int('count'), syscalls: a.flag('syscalls'), pid: a.int('pid') };
  },
  main(o) {
    if (!o.syscalls && !hasFeature('kprobes')) {
      throw new MissingFeatureError('kprobes',
        'vfsstat needs kprobes on vfs_read/vfs_write/..., but kprobes are not available: this kernel is built without CONFIG_KPROBES (run with --syscalls for a syscall-tracepoint approximation)');
    }
    return runToolProgram({
      name: 'vfsstat',
      program: vfsstatProgram(o),
      banner: vfsstatHeader(o),
      interval: o.interval,
      count: o.count,
      report: (rt) => {
        const m = rt.map('@stat');
        const counts: bigint[] = [];
        if (m && (m.kind === 'count' || m.kind === 'sum')) for (const e of m.entries) counts[Number(intOf(e.key[0]))] = e.value;
        rt.print(vfsstatLine(counts, o.interval, new Date()));
        rt.clearMap('@stat');
      },
    });
  },
};

export const vfsstat = mod;
export const tool = defineTool(mod);
