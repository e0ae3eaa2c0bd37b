/**
 * syscount: syscall counts (and with -L total latency) per syscall or per
 * process, from raw_syscalls:sys_enter/sys_exit. Output and flags as
 * libbpf-tools syscount.
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { cgroupId } from './common/filters';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { errnoValue, syscallName, syscallTable } from './common/syscalls';
import { ToolError } from './tool';

export interface SyscountOptions {
  pid?: number;
  latency: boolean;
  milliseconds: boolean;
  perProcess: boolean;
  failures: boolean;
  errno?: number;
  top: number;
  interval: number;
  duration?: number;
  list: boolean;
  tid?: number;
  ppid?: number;
  cgroup?: bigint;
  /** --syscall: only this syscall number. */
  syscall?: number;
}

export function syscountProgram(o: SyscountOptions): string {
  const conds = [
    o.pid !== undefined ? `pid == ${o.pid}` : '',
    o.tid !== undefined ? `tid == ${o.tid}` : '',
    o.ppid !== undefined ? `curtask->real_parent->tgid == ${o.ppid}` : '',
    o.cgroup !== undefined ? `cgroup == ${o.cgroup}` : '',
    o.syscall !== undefined ? `args->id == ${o.syscall}` : '',
  ].filter(Boolean);
  const pidPred = conds.length ? ` /${conds.join(' && ')}/` : '';
  const key = o.perProcess ? 'pid' : 'args->id';
  // -L: a syscall that entered before tracing started has no start time: not counted at all (libbpf-tools)
  const cond = [o.errno !== undefined ? `args->ret == -${o.errno}` : o.failures ? 'args->ret < 0' : '', o.latency ? '@start[tid] != 0' : ''].filter(Boolean).join(' && ');
  const body: string[] = [`@cnt[${key}] = count();`];
  if (o.perProcess) body.push('@comm[pid] = comm;');
  if (o.latency) body.push(`@lat[${key}] = sum(nsecs - @start[tid]);`);
  const inner = cond ? `  if (${cond}) {\n    ${body.join('\n    ')}\n  }\n` : `  ${body.join('\n  ')}\n`;
  const out: string[] = [];
  if (o.latency) out.push(`tracepoint:raw_syscalls:sys_enter${pidPred}\n{\n  @start[tid] = nsecs;\n}\n`);
  out.push(`tracepoint:raw_syscalls:sys_exit${pidPred}\n{\n${inner}${o.latency ? '  delete(@start[tid]);\n' : ''}}\n`);
  return out.join('\n');
}

export interface SyscountRow {
  key: number;
  count: bigint;
  /** Total latency in ns (-L). */
  ns: bigint;
  comm?: string;
}

/** Rows from the maps (count, optional latency and comm). */
export function syscountRows(cnt: MapDump | undefined, lat: MapDump | undefined, comm: MapDump | undefined): SyscountRow[] {
  const rows = new Map<number, SyscountRow>();
  if (cnt && (cnt.kind === 'count' || cnt.kind === 'sum')) {
    for (const e of cnt.entries) {
      const k = Number(intOf(e.key[0]));
      rows.set(k, { key: k, count: e.value, ns: 0n });
    }
  }
  if (lat && (lat.kind === 'sum' || lat.kind === 'count')) {
    for (const e of lat.entries) {
      const r = rows.get(Number(intOf(e.key[0])));
      if (r) r.ns = e.value;
    }
  }
  if (comm && comm.kind === 'value') {
    for (const e of comm.entries) {
      const r = rows.get(Number(intOf(e.key[0])));
      if (r) r.comm = strOf(e.value);
    }
  }
  return [...rows.values()];
}

/** One report: "[HH:MM:SS]", the header, the top rows, a blank line. */
export function syscountReport(o: SyscountOptions, rows: SyscountRow[], now: Date = new Date()): string {
  const sorted = [...rows].sort((a, b) => {
    const x = o.latency ? b.ns - a.ns : b.count - a.count;
    return x > 0n ? 1 : x < 0n ? -1 : a.key - b.key;
  }).slice(0, o.top);
  let s = `[${clockTime(now)}]\n`;
  const unit = o.milliseconds ? 'TIME (ms)' : 'TIME (us)';
  const div = o.milliseconds ? 1e6 : 1e3;
  if (o.perProcess) s += `${'PID'.padEnd(6)} ${'COMM'.padEnd(15)} ${'COUNT'.padStart(8)}${o.latency ? ` ${unit.padStart(16)}` : ''}\n`;
  else s += `${'SYSCALL'.padEnd(22)} ${'COUNT'.padStart(8)}${o.latency ? ` ${unit.padStart(16)}` : ''}\n`;
  for (const r of sorted) {
    const first = o.perProcess ? `${String(r.key).padEnd(6)} ${(r.comm ?? '').padEnd(15)}` : syscallName(r.key).padEnd(22);
    s += `${first} ${r.count.toString().padStart(8)}${o.latency ? ` ${(Number(r.ns) / div).toFixed(3).padStart(16)}` : ''}\n`;
  }
  return s + '\n';
}

const mod: ToolModule<SyscountOptions> = {
  description: 'Summarize syscall counts and latencies, per syscall or per process.',
  category: 'cpu',
  spec: {
    name: 'syscount',
    summary: 'syscount: summarize syscall counts and latencies',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'Process PID to trace' },
      { short: 'i', long: 'interval', dest: 'interval', kind: 'int', metavar: 'INTERVAL', min: 0, help: 'Print summary at this interval (seconds), 0 for infinite wait (default)' },
      { short: 'd', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'Total tracing duration (seconds)' },
      { short: 'T', long: 'top', dest: 'top', kind: 'int', metavar: 'TOP', min: 1, help: 'Print only the top syscalls (default 10)' },
      { short: 'x', long: 'failures', dest: 'failures', kind: 'flag', help: 'Trace only failed syscalls' },
      { short: 'e', long: 'errno', dest: 'errno', kind: 'string', metavar: 'ERRNO', help: 'Trace only syscalls that return this error (numeric or EPERM, etc.)' },
      { short: 'L', long: 'latency', dest: 'latency', kind: 'flag', help: 'Collect syscall latency' },
      { short: 'm', long: 'milliseconds', dest: 'ms', kind: 'flag', help: 'Display latency in milliseconds (default: microseconds)' },
      { short: 'P', long: 'process', dest: 'process', kind: 'flag', help: 'Count by process and not by syscall' },
      { short: 'l', long: 'list', dest: 'list', kind: 'flag', help: 'Print list of recognized syscalls and exit' },
      { short: 't', long: 'tid', dest: 'tid', kind: 'int', metavar: 'TID', min: 0, help: 'Thread TID to trace (bcc)' },
      { short: 'c', long: 'ppid', dest: 'ppid', kind: 'int', metavar: 'PPID', min: 0, help: 'trace this parent PID only (bcc; libbpf-tools -c is --cgroup)' },
      { long: 'cgroup', dest: 'cgroup', kind: 'string', metavar: 'CGROUP', help: 'trace processes in this cgroup v2 directory only (libbpf-tools -c)' },
      { long: 'syscall', dest: 'syscall', kind: 'string', metavar: 'SYSCALL', help: 'trace this syscall only (use with -l to get all available syscalls)' },
      EBPF_OPTION,
    ],
    examples: [
      'syscount                 # print top 10 syscalls by count at exit',
      'syscount -p $(pidof dd)  # look only at a particular process',
      'syscount -L              # measure and sort output by latency',
      'syscount -P              # group statistics by pid, not by syscall',
      'syscount -x -i 5         # count only failed syscalls',
      'syscount -e ENOENT -i 5  # count only syscalls failed with a given errno',
    ],
    notes: 'Follows libbpf-tools (-i is a flag, -T is top N, summary printed at exit unless -i). Syscall names come from\n' +
      '/usr/include/x86_64-linux-gnu/asm/unistd_64.h (package linux-libc-dev). -c is bcc\'s --ppid; libbpf-tools\' -c CGROUP\n' +
      'is --cgroup here.',
  },
  options(a: ParsedArgs): SyscountOptions {
    const e = a.str('errno');
    let errno: number | undefined;
    if (e !== undefined) {
      errno = errnoValue(e);
      if (errno === undefined) throw new ToolError(`unknown errno '${e}' (use a number or a name like ENOENT)`);
    }
    const name = a.str('syscall');
    let syscall: number | undefined;
    if (name !== undefined) {
      syscall = /^\d+$/.test(name) ? Number(name) : [...syscallTable()].find(([, n]) => n === name)?.[0];
      if (syscall === undefined) throw new ToolError(`--syscall: unknown syscall '${name}' (syscount -l lists them)`);
    }
    const cg = a.str('cgroup');
    return {
      pid: a.int('pid'),
      tid: a.int('tid'),
      ppid: a.int('ppid'),
      cgroup: cg !== undefined ? cgroupId(cg, '--cgroup') : undefined,
      syscall,
      latency: a.flag('latency'),
      milliseconds: a.flag('ms'),
      perProcess: a.flag('process'),
      failures: a.flag('failures'),
      errno,
      top: a.int('top') ?? 10,
      interval: a.int('interval') ?? 0,
      duration: a.int('duration'),
      list: a.flag('list'),
    };
  },
  async main(o) {
    if (o.list) {
      const t = syscallTable();
      if (!t.size) throw new ToolError('no syscall table found: install linux-libc-dev (/usr/include/x86_64-linux-gnu/asm/unistd_64.h)');
      process.stdout.write([...t.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n).join('\n') + '\n');
      return 0;
    }
    return runToolProgram({
      name: 'syscount',
      program: syscountProgram(o),
      banner: `Tracing syscalls, printing top ${o.top}... Ctrl+C to quit.\n`,
      interval: o.interval,
      duration: o.duration,
      report: (rt) => {
        const rows = syscountRows(rt.map('@cnt'), rt.map('@lat'), rt.map('@comm'));
        rt.print(syscountReport(o, rows));
        for (const m of ['@cnt', '@lat', '@comm']) rt.clearMap(m);
      },
    });
  },
};

export const syscount = mod;
export const tool = defineTool(mod);
