/**
 * mmapsnoop: one line per mmap() call (process, protection, map flags,
 * offset and size in Kbytes, the mapped file's name), from the
 * raw_syscalls:sys_enter tracepoint (mmap's number); the file is found through the
 * descriptor (task->files->fdt, as solisten does). Columns as the BPF
 * Performance Tools book's mmapsnoop (which finds it through a kprobe on
 * fd_install).
 */
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf, toolEvent } from './common/script';
import { requireTracepoint } from './common/tp';

export interface MmapsnoopOptions {
  time: boolean;
  pid?: number;
  ebpf: boolean;
}

/** dcache.h's DNAME_INLINE_LEN: the book's tool reads this much of the name. */
const NAME_LEN = 32;

const MMAP = toolEvent('mmap', {
  pid: ['%d', 'pid'], len: ['%d', 'args->args[1]'], prot: ['%d', 'args->args[2]'], flags: ['%d', 'args->args[3]'], off: ['%d', 'args->args[5]'],
  comm: ['%s', 'comm'], file: ['%s', `str($name, ${NAME_LEN})`],
});

/** x86-64's mmap syscall number. */
const NR_MMAP = 9;

// raw_syscalls:sys_enter rather than syscalls:sys_enter_mmap: in the syscalls category the compiler's str() reads
// user memory, and the file's name is kernel memory.
export function mmapsnoopProgram(o: MmapsnoopOptions): string {
  return `tracepoint:raw_syscalls:sys_enter /args->id == ${NR_MMAP}${o.pid !== undefined ? ` && pid == ${o.pid}` : ''}/
{
  $name = (uint64)0;
  $fdt = curtask->files->fdt;
  // args: addr, len, prot, flags, fd, off. An anonymous mapping's fd is -1, far above max_fds as an unsigned number.
  if ((uint64)args->args[4] < (uint64)$fdt->max_fds) {
    $file = $fdt->fd[args->args[4]];
    if ($file != 0) {
      $name = (uint64)$file->f_path.dentry->d_name.name;
    }
  }
  ${MMAP.send()}
}
`;
}

/** uapi/asm-generic/mman-common.h */
const PROT_READ = 0x1, PROT_WRITE = 0x2, PROT_EXEC = 0x4;
const MAP_SHARED = 0x1, MAP_PRIVATE = 0x2, MAP_FIXED = 0x10, MAP_ANON = 0x20;

/** The book's PROT (R W E) and MAP (S P F A) columns, '-' for a clear bit. */
export function protText(prot: number): string {
  return (prot & PROT_READ ? 'R' : '-') + (prot & PROT_WRITE ? 'W' : '-') + (prot & PROT_EXEC ? 'E' : '-');
}

export function mapText(flags: number): string {
  return (flags & MAP_SHARED ? 'S' : '-') + (flags & MAP_PRIVATE ? 'P' : '-') + (flags & MAP_FIXED ? 'F' : '-') + (flags & MAP_ANON ? 'A' : '-');
}

export function mmapsnoopHeader(o: MmapsnoopOptions): string {
  return (o.time ? `${'TIME'.padEnd(8)} ` : '') + `${'PID'.padEnd(6)} ${'COMM'.padEnd(14)} ${'PROT'.padEnd(4)} ${'MAP'.padEnd(5)} ${'OFFS(KB)'.padEnd(8)} ${'SIZE(KB)'.padEnd(8)} FILE\n`;
}

export interface MmapRecord {
  pid: number;
  len: bigint;
  prot: number;
  flags: number;
  off: bigint;
  comm: string;
  file: string;
}

export function mmapsnoopLine(o: MmapsnoopOptions, e: MmapRecord, now: Date): string {
  return (o.time ? `${clockTime(now).padEnd(8)} ` : '') +
    `${String(e.pid).padEnd(6)} ${e.comm.slice(0, 14).padEnd(14)} ${protText(e.prot).padEnd(4)} ${mapText(e.flags).padEnd(5)} ${String(e.off / 1024n).padEnd(8)} ${String(e.len / 1024n).padEnd(8)} ${e.file}\n`;
}

const mod: ToolModule<MmapsnoopOptions> = {
  description: 'Trace mmap() calls: protection, flags, offset, size and file.',
  category: 'memory',
  spec: {
    name: 'mmapsnoop',
    summary: 'Trace mmap() calls system-wide',
    options: [
      { short: 'T', long: 'time', dest: 'time', kind: 'flag', help: 'include time column on output (HH:MM:SS)' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      EBPF_OPTION,
    ],
    examples: [
      'mmapsnoop           # trace all mmap calls',
      'mmapsnoop -T        # include time column (HH:MM:SS)',
      'mmapsnoop -p 181    # only trace PID 181',
    ],
    notes: 'PROT: R read, W write, E exec. MAP: S shared, P private, F fixed, A anonymous. OFFS and SIZE in Kbytes.\n' +
      'FILE: the mapped file\'s name (its last path component). Follows the BPF Performance Tools book\'s mmapsnoop, which\n' +
      'prints file mappings only: anonymous mappings print here too, with no FILE. -p is added.',
  },
  options(a: ParsedArgs): MmapsnoopOptions {
    return { time: a.flag('time'), pid: a.int('pid'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = mmapsnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('raw_syscalls', 'sys_enter');
    const onMmap = MMAP.handle((v, rt) => {
      rt.print(mmapsnoopLine(o, {
        pid: Number(intOf(v.pid)), len: BigInt.asUintN(64, intOf(v.len)), prot: Number(intOf(v.prot)), flags: Number(intOf(v.flags)),
        off: BigInt.asUintN(64, intOf(v.off)), comm: strOf(v.comm), file: strOf(v.file),
      }, new Date()));
    });
    return runToolProgram({ name: 'mmapsnoop', program, banner: mmapsnoopHeader(o), on: [onMmap] });
  },
};

export const mmapsnoop = mod;
export const tool = defineTool(mod);
