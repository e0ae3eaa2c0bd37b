/**
 * syncsnoop: one line per sync-family syscall (sync, fsync, fdatasync,
 * msync, sync_file_range, syncfs) from the syscall entry tracepoints;
 * columns as bcc syncsnoop.
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { tpExists } from './common/tp';
import { MissingFeatureError } from '../sys/features';

export interface SyncsnoopOptions {
  ebpf: boolean;
  calls?: string[];
}

/** bcc's CALL names, in its enum order (1-based). */
export const SYNC_CALLS = ['sync', 'fsync', 'fdatasync', 'msync', 'sync_file_range', 'syncfs'];

const EV = 'SY %d %d %s\n';

export function syncsnoopProgram(o: SyncsnoopOptions): string {
  return SYNC_CALLS.map((c, i) => (o.calls && !o.calls.includes(c) ? '' : `tracepoint:syscalls:sys_enter_${c}\n{\n  printf("${EV.replace('\n', '\\n')}", nsecs / 1000, ${i + 1}, comm);\n}\n`))
    .filter(Boolean).join('\n');
}

export const SYNCSNOOP_HEADER = `${'TIME(s)'.padEnd(18)} ${'COMM'.padEnd(16)} ${'CALL'.padEnd(16)}\n`;

/** TIME(s) is the kernel's monotonic clock in seconds, as bcc prints it. */
export function syncsnoopLine(us: bigint, call: number, comm: string): string {
  return `${(Number(us) / 1e6).toFixed(9).padEnd(18)} ${comm.padEnd(16)} ${(SYNC_CALLS[call - 1] ?? 'N/A').padEnd(16)}\n`;
}

const mod: ToolModule<SyncsnoopOptions> = {
  description: 'Trace sync() family syscalls (sync, fsync, fdatasync, msync, sync_file_range, syncfs).',
  category: 'fs',
  spec: {
    name: 'syncsnoop',
    summary: 'Trace sync() syscall.',
    options: [EBPF_OPTION],
    examples: ['syncsnoop           # trace sync() family syscalls'],
    notes: 'Follows bcc (syscall entry tracepoints instead of kprobes). libbpf-tools has no syncsnoop.',
  },
  options(a: ParsedArgs): SyncsnoopOptions {
    return { ebpf: a.flag('ebpf') };
  },
  main(o) {
    const calls = SYNC_CALLS.filter((c) => tpExists('syscalls', `sys_enter_${c}`));
    if (!o.ebpf && !calls.length) throw new MissingFeatureError('tracepoint:syscalls:sys_enter_sync', 'no sync-family syscall tracepoints exist on this kernel');
    const program = syncsnoopProgram({ ...o, calls: calls.length ? calls : undefined });
    if (o.ebpf) return Promise.resolve(printProgram(program));
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(syncsnoopLine(intOf(v[0]), Number(intOf(v[1])), strOf(v[2])));
      return true;
    };
    return runToolProgram({ name: 'syncsnoop', program, banner: SYNCSNOOP_HEADER, onEvent });
  },
};

export const syncsnoop = mod;
export const tool = defineTool(mod);
