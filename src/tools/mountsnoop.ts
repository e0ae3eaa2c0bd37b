/**
 * mountsnoop: one line per mount() and umount() syscall, decoded as a call
 * with its arguments and result, from the syscall tracepoints; columns as
 * bcc mountsnoop.
 */
import * as os from 'node:os';
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { CGROUPMAP_OPTION, idFilter, pinnedMapFlags, MNTNSMAP_OPTION, type PinnedMapFlags } from './common/pinnedmap';
import { requireTracepoint } from './common/tp';

export interface MountsnoopOptions extends PinnedMapFlags {
  parent: boolean;
  ebpf: boolean;
}

/** Strings are read up to this many bytes (bcc reads PATH_MAX in pieces; 4 strings must fit one event). */
const STR = 128;
// the last: the cgroup id --cgroupmap looks up (the mount namespace is the third)
const EV_MOUNT = 'MO %d %d %d %d %d %d %s %s %s %s %s %s %llu\n';
const EV_UMOUNT = 'UM %d %d %d %d %d %d %s %s %s %llu\n';

export function mountsnoopProgram(): string {
  const who = 'pid, tid, curtask->nsproxy->mnt_ns->ns.inum, curtask->real_parent->tgid';
  const esc = (s: string) => s.replace('\n', '\\n');
  return `tracepoint:syscalls:sys_enter_mount
{
  @mo_src[tid] = str(args->dev_name, ${STR});
  @mo_dir[tid] = str(args->dir_name, ${STR});
  @mo_type[tid] = str(args->type, ${STR});
  @mo_data[tid] = str(args->data, ${STR});
  @mo_flags[tid] = args->flags;
  @mo_live[tid] = 1;
}

tracepoint:syscalls:sys_exit_mount /@mo_live[tid]/
{
  printf("${esc(EV_MOUNT)}", ${who}, @mo_flags[tid], args->ret, comm, curtask->real_parent->comm, @mo_src[tid], @mo_dir[tid], @mo_type[tid], @mo_data[tid], cgroup);
  delete(@mo_src[tid]);
  delete(@mo_dir[tid]);
  delete(@mo_type[tid]);
  delete(@mo_data[tid]);
  delete(@mo_flags[tid]);
  delete(@mo_live[tid]);
}

tracepoint:syscalls:sys_enter_umount
{
  @um_name[tid] = str(args->name, ${STR});
  @um_flags[tid] = args->flags;
  @um_live[tid] = 1;
}

tracepoint:syscalls:sys_exit_umount /@um_live[tid]/
{
  printf("${esc(EV_UMOUNT)}", ${who}, @um_flags[tid], args->ret, comm, curtask->real_parent->comm, @um_name[tid], cgroup);
  delete(@um_name[tid]);
  delete(@um_flags[tid]);
  delete(@um_live[tid]);
}
`;
}

const MS_MGC_VAL = 0xc0ed0000;
const MS_MGC_MSK = 0xffff0000;
const MOUNT_FLAGS: [string, number][] = [
  ['MS_RDONLY', 1], ['MS_NOSUID', 2], ['MS_NODEV', 4], ['MS_NOEXEC', 8], ['MS_SYNCHRONOUS', 16], ['MS_REMOUNT', 32],
  ['MS_MANDLOCK', 64], ['MS_DIRSYNC', 128], ['MS_NOATIME', 1024], ['MS_NODIRATIME', 2048], ['MS_BIND', 4096],
  ['MS_MOVE', 8192], ['MS_REC', 16384], ['MS_SILENT', 32768], ['MS_POSIXACL', 2 ** 16], ['MS_UNBINDABLE', 2 ** 17],
  ['MS_PRIVATE', 2 ** 18], ['MS_SLAVE', 2 ** 19], ['MS_SHARED', 2 ** 20], ['MS_RELATIME', 2 ** 21], ['MS_KERNMOUNT', 2 ** 22],
  ['MS_I_VERSION', 2 ** 23], ['MS_STRICTATIME', 2 ** 24], ['MS_LAZYTIME', 2 ** 25], ['MS_ACTIVE', 2 ** 30], ['MS_NOUSER', 2 ** 31],
];
const UMOUNT_FLAGS: [string, number][] = [['MNT_FORCE', 1], ['MNT_DETACH', 2], ['MNT_EXPIRE', 4], ['UMOUNT_NOFOLLOW', 8]];

/** bcc's flag decoding: known names joined by |, leftover bits (or 0) in hex. */
export function decodeFlags(flags: bigint, list: [string, number][]): string[] {
  let f = flags;
  const out: string[] = [];
  for (const [name, bit] of list) {
    const b = BigInt(bit);
    if (f & b) out.push(name);
    f &= ~b;
  }
  if (f || !out.length) out.push(`0x${f.toString(16)}`);
  return out;
}

export function mountFlagsText(flags: bigint): string {
  let f = flags;
  const out: string[] = [];
  if ((f & BigInt(MS_MGC_MSK)) === BigInt(MS_MGC_VAL)) {
    f &= ~BigInt(MS_MGC_MSK);
    out.push('MS_MGC_VAL');
  }
  return [...out, ...decodeFlags(f, MOUNT_FLAGS)].join('|');
}

/** A string argument as bcc quotes it (C escapes, \xNN for other bytes). */
export function quoteMountString(s: string): string {
  const esc: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' };
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(ch);
    out += esc[c] ?? (ch >= 0x20 && ch <= 0x7e ? c : `\\x${ch.toString(16).padStart(2, '0')}`);
  }
  return `"${out}"`;
}

/** 0, or -ENAME as bcc's decode_errno prints a failure. */
export function retvalText(ret: number): string {
  if (ret >= 0) return String(ret);
  const name = Object.entries(os.constants.errno).find(([, v]) => v === -ret)?.[0];
  return name ? `-${name}` : String(ret);
}

export const mountsnoopHeader = (o: MountsnoopOptions) =>
  o.parent ? `${'COMM'.padEnd(16)} ${'PID'.padEnd(7)} ${'TID'.padEnd(7)} ${'PCOMM'.padEnd(16)} ${'PPID'.padEnd(7)} ${'MNT_NS'.padEnd(11)} CALL\n`
    : `${'COMM'.padEnd(16)} ${'PID'.padEnd(7)} ${'TID'.padEnd(7)} ${'MNT_NS'.padEnd(11)} CALL\n`;

export function mountsnoopLine(o: MountsnoopOptions, format: string, v: readonly Value[]): string | undefined {
  if (format !== EV_MOUNT && format !== EV_UMOUNT) return undefined;
  const n = (i: number) => intOf(v[i]);
  const ret = Number(BigInt.asIntN(64, n(5)));
  const call = format === EV_MOUNT
    ? `mount(${[7, 8, 9].map((i) => quoteMountString(strOf(v[i + 1]))).join(', ')}, ${mountFlagsText(BigInt.asUintN(64, n(4)))}, ${quoteMountString(strOf(v[11]))}) = ${retvalText(ret)}`
    : `umount(${quoteMountString(strOf(v[8]))}, ${decodeFlags(BigInt.asUintN(32, n(4)), UMOUNT_FLAGS).join('|')}) = ${retvalText(ret)}`;
  const comm = strOf(v[6]).padEnd(16);
  const ids = `${String(n(0)).padEnd(7)} ${String(n(1)).padEnd(7)}`;
  const ns = String(n(2)).padEnd(11);
  return o.parent ? `${comm} ${ids} ${strOf(v[7]).padEnd(16)} ${String(n(3)).padEnd(7)} ${ns} ${call}\n` : `${comm} ${ids} ${ns} ${call}\n`;
}

const mod: ToolModule<MountsnoopOptions> = {
  description: 'Trace mount() and umount() syscalls, decoded with their arguments and results.',
  category: 'fs',
  spec: {
    name: 'mountsnoop',
    summary: 'trace mount() and umount() syscalls',
    options: [
      { short: 'P', long: 'parent_process', dest: 'parent', kind: 'flag', help: 'also snoop the parent process' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      EBPF_OPTION,
    ],
    examples: [
      'mountsnoop           # trace mount() and umount() syscalls',
      'mountsnoop -P        # also show the parent process',
      'mountsnoop --cgroupmap /sys/fs/bpf/test01   # only trace cgroups in this BPF map',
      'mountsnoop --mntnsmap /sys/fs/bpf/mnt_ns_set # only trace mount namespaces in the map',
    ],
    notes: 'Follows bcc for mount() and umount() (strings read up to 128 bytes); the new mount API (fsopen, fsconfig, fsmount,\n' +
      'move_mount) that bcc also decodes is not traced yet. --cgroupmap/--mntnsmap look the id up when the event arrives\n' +
      '(bcc: in the kernel). libbpf-tools mountsnoop has -t, -p, -d and names some flag bits differently (MS_REC as\n' +
      'MS_VERBOSE), joined by " | ".',
  },
  options(a: ParsedArgs): MountsnoopOptions {
    return { parent: a.flag('parent'), ebpf: a.flag('ebpf'), ...pinnedMapFlags(a) };
  },
  main(o) {
    const program = mountsnoopProgram();
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireTracepoint('syscalls', 'sys_enter_mount');
    requireTracepoint('syscalls', 'sys_enter_umount');
    const keep = idFilter(o);
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf') return false;
      if (keep && (ev.format === EV_MOUNT || ev.format === EV_UMOUNT) && !keep(intOf(v[v.length - 1]), intOf(v[2]))) return true;
      const line = mountsnoopLine(o, ev.format, v);
      if (line === undefined) return false;
      rt.print(line);
      return true;
    };
    return runToolProgram({ name: 'mountsnoop', program, banner: mountsnoopHeader(o), onEvent });
  },
};

export const mountsnoop = mod;
export const tool = defineTool(mod);
