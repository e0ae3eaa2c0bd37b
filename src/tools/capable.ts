/**
 * capable: one line per security capability check. With kprobes, a kprobe
 * on cap_capable() (as bcc: its options argument says whether the check is
 * audited); otherwise the capability:cap_capable tracepoint (Linux 6.14+),
 * which has no options, so every check is shown with AUDIT "N/A".
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import { hasFeature, MissingFeatureError } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { framesOf } from './common/stacks';
import { CGROUPMAP_OPTION, idFilter, pinnedMapFlags, MNTNSMAP_OPTION, MNTNS_EXPR, type PinnedMapFlags } from './common/pinnedmap';
import { tpExists } from './common/tp';

export interface CapableOptions extends PinnedMapFlags {
  verbose: boolean;
  pid?: number;
  kernelStack: boolean;
  userStack: boolean;
  extra: boolean;
  unique: boolean;
  ebpf: boolean;
  /** Which probe: kprobe (bcc's, with audit/insetid) or tracepoint (no cap_opt). */
  via?: 'kprobe' | 'tracepoint';
}

/** include/uapi/linux/capability.h, in order. */
export const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

// the last two: cgroup id and mount namespace, which --cgroupmap / --mntnsmap look up
const EV = 'CAP %d %d %d %d %d %d %s %s %s %llu %llu\n';
/** cap_opt bits (include/linux/security.h). */
const CAP_OPT_NOAUDIT = 2;
const CAP_OPT_INSETID = 4;

export function capableProgram(o: CapableOptions): string {
  const stacks = `${o.kernelStack ? 'kstack' : '""'}, ${o.userStack ? 'ustack' : '""'}`;
  const pidPred = o.pid !== undefined ? `pid == ${o.pid}` : '';
  if ((o.via ?? 'kprobe') === 'kprobe') {
    const pred = [pidPred, o.verbose ? '' : `(arg3 & ${CAP_OPT_NOAUDIT}) == 0`].filter(Boolean).join(' && ');
    // One value per variable: printf's arguments stay simple for the compiler's register allocator.
    return `kprobe:cap_capable${pred ? ` /${pred}/` : ''}\n{\n  $cap = arg2;\n` +
      `  $audit = (arg3 & ${CAP_OPT_NOAUDIT}) == 0 ? 1 : 0;\n  $insetid = (arg3 & ${CAP_OPT_INSETID}) != 0 ? 1 : 0;\n` +
      `  printf("${EV.replace('\n', '\\n')}", uid, pid, tid, $cap, $audit, $insetid, comm, ${stacks}, cgroup, ${MNTNS_EXPR});\n}\n`;
  }
  return `tracepoint:capability:cap_capable${pidPred ? ` /${pidPred}/` : ''}\n{\n` +
    `  printf("${EV.replace('\n', '\\n')}", uid, pid, tid, args->cap, -1, -1, comm, ${stacks}, cgroup, ${MNTNS_EXPR});\n}\n`;
}

export const capableHeader = (o: CapableOptions) =>
  o.extra ? `${'TIME'.padEnd(9)} ${'UID'.padEnd(6)} ${'PID'.padEnd(6)} ${'TID'.padEnd(6)} ${'COMM'.padEnd(16)} ${'CAP'.padEnd(4)} ${'NAME'.padEnd(20)} ${'AUDIT'.padEnd(6)} INSETID\n`
    : `${'TIME'.padEnd(9)} ${'UID'.padEnd(6)} ${'PID'.padEnd(6)} ${'COMM'.padEnd(16)} ${'CAP'.padEnd(4)} ${'NAME'.padEnd(20)} ${'AUDIT'.padEnd(6)}\n`;

export function capableLine(o: CapableOptions, v: readonly Value[], now: Date): string {
  const n = (i: number) => Number(BigInt.asIntN(32, intOf(v[i])));
  const cap = n(3);
  const audit = n(4) < 0 ? 'N/A' : String(n(4));
  const head = `${clockTime(now).padEnd(9)} ${String(n(0)).padEnd(6)} ${String(n(1)).padEnd(6)} `;
  const tail = `${strOf(v[6]).padEnd(16)} ${String(cap).padEnd(4)} ${(CAPABILITIES[cap] ?? '?').padEnd(20)} ${audit.padEnd(6)}`;
  let s = o.extra ? `${head}${String(n(2)).padEnd(6)} ${tail} ${n(5) < 0 ? 'N/A' : n(5)}\n` : `${head}${tail}\n`;
  // bcc prints each stack as a list of frames under the line.
  for (const st of o.kernelStack ? [v[7]] : []) for (const f of framesOf(st)) s += `        ${f}\n`;
  for (const st of o.userStack ? [v[8]] : []) for (const f of framesOf(st)) s += `        ${f}\n`;
  return s;
}

const mod: ToolModule<CapableOptions> = {
  description: 'Trace security capability checks (cap_capable): which process needed which capability.',
  category: 'security',
  spec: {
    name: 'capable',
    summary: 'Trace security capability checks',
    options: [
      { short: 'v', long: 'verbose', dest: 'verbose', kind: 'flag', help: 'include non-audit checks' },
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'K', long: 'kernel-stack', dest: 'kstack', kind: 'flag', help: 'output kernel stack trace' },
      { short: 'U', long: 'user-stack', dest: 'ustack', kind: 'flag', help: 'output user stack trace' },
      { short: 'x', long: 'extra', dest: 'extra', kind: 'flag', help: 'show extra fields in TID and INSETID columns' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      { long: 'unique', dest: 'unique', kind: 'flag', help: "don't repeat stacks for the same pid or cgroup" },
      EBPF_OPTION,
    ],
    examples: [
      'capable             # trace capability checks',
      'capable -v          # verbose: include non-audit checks',
      'capable -p 181      # only trace PID 181',
      'capable -K          # add kernel stacks to trace',
      'capable -U          # add user-space stacks to trace',
      'capable -x          # extra fields: show TID and INSETID columns',
      "capable --unique    # don't repeat stacks for the same pid or cgroup",
      'capable --cgroupmap /sys/fs/bpf/test01   # only trace cgroups in this BPF map',
      'capable --mntnsmap /sys/fs/bpf/mnt_ns_set # only trace mount namespaces in the map',
    ],
    notes: 'Follows bcc with a kprobe on cap_capable. Without kprobes it uses the capability:cap_capable tracepoint\n' +
      '(Linux 6.14+), which does not say whether a check is audited: every check shows, AUDIT and INSETID are N/A.\n' +
      '--cgroupmap/--mntnsmap look the id up when the event arrives (bcc: in the kernel). libbpf-tools capable is kprobe-based too.',
  },
  options(a: ParsedArgs): CapableOptions {
    return {
      verbose: a.flag('verbose'), pid: a.int('pid'), kernelStack: a.flag('kstack'), userStack: a.flag('ustack'),
      extra: a.flag('extra'), unique: a.flag('unique'), ebpf: a.flag('ebpf'), ...pinnedMapFlags(a),
    };
  },
  main(o) {
    const via = hasFeature('kprobes') ? 'kprobe' : 'tracepoint';
    if (!o.ebpf && via === 'tracepoint' && !tpExists('capability', 'cap_capable')) {
      throw new MissingFeatureError('kprobes', 'capable needs kprobes (cap_capable) or the capability:cap_capable tracepoint (Linux 6.14+), and this kernel has neither');
    }
    const program = capableProgram({ ...o, via });
    if (o.ebpf) return Promise.resolve(printProgram(program));
    const keep = idFilter(o);
    const seen = new Set<string>();
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      if (keep && !keep(intOf(v[9]), intOf(v[10]))) return true;
      let line = capableLine(o, v, new Date());
      if (o.unique && (o.kernelStack || o.userStack)) {
        // bcc's --unique: a stack already shown for this pid (with --cgroupmap: this cgroup) is not shown again.
        const [first, ...frames] = line.split('\n');
        const key = `${intOf(v[o.cgroupMap !== undefined ? 9 : 1])}\n${frames.join('\n')}`;
        if (seen.has(key)) line = `${first}\n`;
        seen.add(key);
      }
      rt.print(line);
      return true;
    };
    return runToolProgram({ name: 'capable', program, banner: capableHeader(o), onEvent });
  },
};

export const capable = mod;
export const tool = defineTool(mod);
