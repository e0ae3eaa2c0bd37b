/**
 * runqlen: the scheduler's run queue length, sampled on every CPU at 99 Hz
 * (profile:hz:99), as a linear histogram (or -O the occupancy: how often
 * something was waiting). The length is what bcc reads: the current task's
 * CFS run queue (task->se.cfs_rq) entity count, less the running task.
 * Flags and output as bcc runqlen.
 */
import type { MapDump } from '../runtime/format/maps';
import { Btf } from '../ebpf/btf';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime, linearHistText } from './common/hist';
import { intOf, runToolProgram } from './common/script';

export interface RunqlenOptions {
  timestamp: boolean;
  occupancy: boolean;
  perCpu: boolean;
  interval?: number;
  count?: number;
  /** cfs_rq's entity count: nr_queued since Linux 6.14, nr_running before. */
  field: 'nr_queued' | 'nr_running';
  ebpf: boolean;
}

/** The cfs_rq member counting its entities on this kernel (renamed in 6.14). */
function cfsQueuedField(): RunqlenOptions['field'] {
  try {
    const btf = Btf.vmlinux();
    const id = btf.find('cfs_rq', 'struct');
    return id !== undefined && btf.findMember(id, 'nr_queued') ? 'nr_queued' : 'nr_running';
  } catch {
    // no kernel BTF: the compiler will say so when the program is built
    return 'nr_running';
  }
}

export function runqlenProgram(o: RunqlenOptions): string {
  return `profile:hz:99
{
  $len = curtask->se.cfs_rq->${o.field};
  // less the running task: 0 is an idle CPU or one running task with nothing waiting
  if ($len > 0) {
    $len = $len - 1;
  }
  @runqlen[${o.perCpu ? 'cpu, ' : ''}$len] = count();
}
`;
}

/** Samples by length, per CPU (-1 for all CPUs together). */
export function runqlenSlots(m: MapDump | undefined, perCpu: boolean): Map<number, bigint[]> {
  const out = new Map<number, bigint[]>();
  if (!m || m.kind !== 'count') return out;
  for (const e of m.entries) {
    const cpu = perCpu ? Number(intOf(e.key[0])) : -1;
    const len = Number(intOf(e.key[perCpu ? 1 : 0]));
    const slots = out.get(cpu) ?? [];
    while (slots.length <= len) slots.push(0n);
    slots[len] += e.value;
    out.set(cpu, slots);
  }
  return out;
}

export function runqlenReport(o: RunqlenOptions, m: MapDump | undefined, now: Date): string {
  let s = '\n';
  if (o.timestamp) s += `${clockTime(now).padEnd(8)}\n`;
  const byCpu = [...runqlenSlots(m, o.perCpu)].sort((a, b) => a[0] - b[0]);
  const occ = (slots: bigint[]) => {
    const total = slots.reduce((a, b) => a + b, 0n);
    return total ? (Number(total - (slots[0] ?? 0n)) / Number(total)) * 100 : 0;
  };
  if (o.occupancy) {
    if (o.perCpu) {
      const max = byCpu.length ? byCpu[byCpu.length - 1][0] : -1;
      const slots = new Map(byCpu);
      for (let c = 0; c <= max; c++) s += `runqocc, CPU ${String(c).padEnd(3)} ${occ(slots.get(c) ?? []).toFixed(2).padStart(6)}%\n`;
    } else {
      s += `runqocc: ${occ(byCpu[0]?.[1] ?? []).toFixed(2)}%\n`;
    }
    return s;
  }
  for (const [cpu, slots] of byCpu) s += (o.perCpu ? `\ncpu = ${cpu}\n` : '') + linearHistText(slots, 'runqlen', 0, 1);
  return s;
}

const mod: ToolModule<RunqlenOptions> = {
  description: 'Summarize scheduler run queue length as a histogram (sampled at 99 Hz).',
  category: 'cpu',
  spec: {
    name: 'runqlen',
    summary: 'Summarize scheduler run queue length as a histogram',
    options: [
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'O', long: 'runqocc', dest: 'runqocc', kind: 'flag', help: 'report run queue occupancy' },
      { short: 'C', long: 'cpus', dest: 'cpus', kind: 'flag', help: 'print output for each CPU separately' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
      { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
    ],
    examples: [
      'runqlen            # summarize run queue length as a histogram',
      'runqlen 1 10       # print 1 second summaries, 10 times',
      'runqlen -T 1       # 1s summaries and timestamps',
      'runqlen -O         # report run queue occupancy',
      'runqlen -C         # show each CPU separately',
    ],
    notes: 'The length is the sampled task\'s own CFS queue, as bcc reads it: with CPU cgroups (group scheduling) that is its\n' +
      'group\'s queue on that CPU, and tasks of other scheduling classes are not in it. libbpf-tools runqlen reads the\n' +
      'same field (its CO-RE relocation fails on kernels that renamed it to nr_queued, 6.14+; tsbpf adapts).',
  },
  options(a: ParsedArgs): RunqlenOptions {
    return {
      timestamp: a.flag('timestamp'), occupancy: a.flag('runqocc'), perCpu: a.flag('cpus'), interval: a.int('interval'), count: a.int('count'),
      field: cfsQueuedField(), ebpf: a.flag('ebpf'),
    };
  },
  main(o) {
    const program = runqlenProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    return runToolProgram({
      name: 'runqlen',
      program,
      banner: 'Sampling run queue length... Hit Ctrl-C to end.\n',
      interval: o.interval,
      count: o.count,
      report: (rt) => {
        rt.print(runqlenReport(o, rt.map('@runqlen'), new Date()));
        rt.clearMap('@runqlen');
      },
    });
  },
};

export const runqlen = mod;
export const tool = defineTool(mod);
