/**
 * shmsnoop: one line per System V shared memory syscall (shmget, shmat,
 * shmdt, shmctl) with its decoded arguments and result, from the syscall
 * tracepoints; flags and columns as bcc shmsnoop.
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint } from './common/tp';
import { ToolError } from './tool';

export interface ShmsnoopOptions {
  timestamp: boolean;
  pid?: number;
  tid?: number;
  duration?: number;
  name?: string;
  ebpf: boolean;
}

const EV = 'SHM %d %d %d %d %d %d %d %s\n';
/** Each call, its bcc name, and the tracepoint fields as (a, b, c). */
const CALLS: [string, string, [string, string, string]][] = [
  ['shmget', 'SHMGET', ['key', 'size', 'shmflg']],
  ['shmat', 'SHMAT', ['shmid', 'shmaddr', 'shmflg']],
  ['shmdt', 'SHMDT', ['shmaddr', '', '']],
  ['shmctl', 'SHMCTL', ['shmid', 'cmd', 'buf']],
];

export function shmsnoopProgram(o: ShmsnoopOptions): string {
  const pred = [o.pid !== undefined ? `pid == ${o.pid}` : '', o.tid !== undefined ? `tid == ${o.tid}` : ''].filter(Boolean).join(' && ');
  return CALLS.map(([call, , fields], i) => {
    const saves = fields.map((f, j) => `  @shm_a${j}[tid] = ${f ? `(uint64)args->${f}` : '0'};`).join('\n');
    return `tracepoint:syscalls:sys_enter_${call}${pred ? ` /${pred}/` : ''}\n{\n${saves}\n  @shm_live[tid] = ${i + 1};\n}\n\n` +
      `tracepoint:syscalls:sys_exit_${call} /@shm_live[tid] == ${i + 1}/\n{\n` +
      `  printf("${EV.replace('\n', '\\n')}", nsecs / 1000, pid, tid, ${i + 1}, args->ret, @shm_a0[tid], @shm_a1[tid], comm);\n` +
      `  printf("SHMC %d %d\\n", tid, @shm_a2[tid]);\n` +
      '  delete(@shm_a0[tid]);\n  delete(@shm_a1[tid]);\n  delete(@shm_a2[tid]);\n  delete(@shm_live[tid]);\n}\n';
  }).join('\n');
}

const SHMGET_FLAGS: [string, number][] = [['IPC_CREAT', 0o1000], ['IPC_EXCL', 0o2000], ['SHM_HUGETLB', 0o4000], ['SHM_HUGE_2MB', 21 << 26], ['SHM_HUGE_1GB', 30 << 26], ['SHM_NORESERVE', 0o10000], ['SHM_EXEC', 0o100000]];
const SHMAT_FLAGS: [string, number][] = [['SHM_RDONLY', 0o10000], ['SHM_RND', 0o20000], ['SHM_REMAP', 0o40000], ['SHM_EXEC', 0o100000]];
const SHMCTL_CMDS: Record<number, string> = { 0: 'IPC_RMID', 1: 'IPC_SET', 2: 'IPC_STAT', 3: 'IPC_INFO', 11: 'SHM_LOCK', 12: 'SHM_UNLOCK', 13: 'SHM_STAT', 14: 'SHM_INFO', 15: 'SHM_STAT_ANY' };

/** bcc's shmflg_str: hex, then the names and any leftover bits in octal. */
export function shmflgText(flags: number, list: [string, number][]): string {
  let s = `0x${flags.toString(16)}`;
  if (!flags) return s;
  let v = flags;
  const names: string[] = [];
  for (const [name, bit] of list) {
    if (flags & bit) {
      names.push(name);
      v &= ~bit;
    }
  }
  if (v !== 0 || !names.length) names.push(`0${v.toString(8)}`);
  return `${s} (${names.join('|')})`;
}

export const shmsnoopHeader = (o: ShmsnoopOptions) => `${o.timestamp ? 'TIME(s)'.padEnd(14) : ''}${(o.tid !== undefined ? 'TID' : 'PID').padEnd(6)} ${'COMM'.padEnd(16)} ${'SYS'.padStart(6)} ${'RET'.padStart(16)} ARGs\n`;

export function shmsnoopLine(o: ShmsnoopOptions, v: readonly Value[], c: bigint, sinceUs: bigint): string {
  const n = (i: number) => BigInt.asUintN(64, intOf(v[i]));
  const call = Number(n(3));
  const a = n(5);
  const b = n(6);
  const hex = (x: bigint) => `0x${x.toString(16)}`;
  let args = '';
  if (call === 1) args = `key: ${hex(a)}, size: ${b}, shmflg: ${shmflgText(Number(c & 0xffffffffn), SHMGET_FLAGS)}`;
  else if (call === 2) args = `shmid: ${hex(a & 0xffffffffn)}, shmaddr: ${hex(b)}, shmflg: ${shmflgText(Number(c & 0xffffffffn), SHMAT_FLAGS)}`;
  else if (call === 3) args = `shmaddr: ${hex(a)}`;
  else if (call === 4) args = `shmid: ${hex(a & 0xffffffffn)}, cmd: ${b} (${SHMCTL_CMDS[Number(b)] ?? hex(b)}), buf: ${hex(c)}`;
  const id = o.tid !== undefined ? n(2) : n(1);
  const ts = o.timestamp ? (Number(sinceUs) / 1e6).toFixed(9).padEnd(14) : '';
  return `${ts}${String(id).padEnd(6)} ${strOf(v[7]).padEnd(16)} ${(CALLS[call - 1]?.[1] ?? 'N/A').padStart(6)} ${n(4).toString(16).padStart(16)} ${args}\n`;
}

const mod: ToolModule<ShmsnoopOptions> = {
  description: 'Trace System V shared memory syscalls (shmget, shmat, shmdt, shmctl) with their arguments.',
  category: 'memory',
  spec: {
    name: 'shmsnoop',
    summary: 'Trace shm*() syscalls',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 1, help: 'trace this TID only' },
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'total duration of trace in seconds' },
      { short: 'n', long: 'name', dest: 'name', kind: 'string', metavar: 'NAME', help: 'only print process names containing this name' },
      EBPF_OPTION,
    ],
    examples: [
      'shmsnoop           # trace all shm*() syscalls',
      'shmsnoop -T        # include timestamps',
      'shmsnoop -p 181    # only trace PID 181',
      'shmsnoop -t 123    # only trace TID 123',
      'shmsnoop -d 10     # trace for 10 seconds only',
      'shmsnoop -n main   # only print process names containing "main"',
    ],
    notes: 'Follows bcc (syscall tracepoints instead of kprobes; RET in hex as bcc prints it). libbpf-tools has no shmsnoop.',
  },
  options(a: ParsedArgs): ShmsnoopOptions {
    if (a.has('pid') && a.has('tid')) throw new ToolError('-p and -t are mutually exclusive');
    return { timestamp: a.flag('timestamp'), pid: a.int('pid'), tid: a.int('tid'), duration: a.int('duration'), name: a.str('name'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = shmsnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('syscalls', 'sys_enter_shmget');
    let first: bigint | undefined;
    // Each call sends its line, then its third argument (printf takes so many values at once); paired by thread.
    const pending = new Map<bigint, Value[]>();
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf') return false;
      if (ev.format === EV) {
        pending.set(intOf(v[2]), v);
        return true;
      }
      if (ev.format !== 'SHMC %d %d\n') return false;
      const line = pending.get(intOf(v[0]));
      pending.delete(intOf(v[0]));
      if (!line) return true;
      if (o.name !== undefined && !strOf(line[7]).includes(o.name)) return true;
      const ts = intOf(line[0]);
      first ??= ts;
      rt.print(shmsnoopLine(o, line, intOf(v[1]), ts - first));
      return true;
    };
    return runToolProgram({ name: 'shmsnoop', program, banner: shmsnoopHeader(o), onEvent, duration: o.duration });
  },
};

export const shmsnoop = mod;
export const tool = defineTool(mod);
