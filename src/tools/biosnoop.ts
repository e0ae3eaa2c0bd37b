/**
 * biosnoop: one line per block I/O with the process that started it, the
 * disk, direction, sector, size and latency, from the block tracepoints
 * (requests matched by device and sector); flags and columns as bcc biosnoop.
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { diskByName, diskNameOf, listDisks } from './common/disks';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint, tpExists, tpField } from './common/tp';

export interface BiosnoopOptions {
  queue: boolean;
  disk?: string;
  dev?: number;
  pattern: boolean;
  ebpf: boolean;
  /** The tracepoint that names the submitting process: block_io_start (6.5+) or block_rq_insert. */
  startTp?: string;
  /** block_rq_issue's size field: bytes (6.x) or nr_bytes. */
  bytesField?: string;
}

const EV = 'B %d %d %d %d %d %d %d %s %s\n';

export function biosnoopProgram(o: BiosnoopOptions): string {
  const dev = o.dev !== undefined ? `args->dev == ${o.dev}` : '';
  const req = 'args->dev, args->sector';
  const start = o.startTp ?? 'block_io_start';
  const issuePred = dev ? ` /${dev}/` : '';
  return `// Who started the request: the process on the CPU when it entered the block layer.
tracepoint:block:${start}${issuePred}
{
  @bs_pid[${req}] = pid;
  @bs_comm[${req}] = comm;
  @bs_queued[${req}] = nsecs;
}

tracepoint:block:block_rq_issue${issuePred}
{
  // Requests issued straight to the driver were never seen starting: the issuer is the submitter.
  if (@bs_pid[${req}] == 0) {
    @bs_pid[${req}] = pid;
    @bs_comm[${req}] = comm;
  }
  @bs_issued[${req}] = nsecs;
  @bs_bytes[${req}] = args->${o.bytesField ?? 'bytes'};
}

tracepoint:block:block_rq_complete /@bs_issued[${req}] != 0/
{
  // One value per variable: printf's arguments are kept simple for the compiler's register allocator.
  $now = nsecs;
  $issued = @bs_issued[${req}];
  $queued = @bs_queued[${req}];
  $que = $queued != 0 && $queued <= $issued ? $issued - $queued : 0;
  $pid = @bs_pid[${req}];
  $bytes = @bs_bytes[${req}];
  $comm = @bs_comm[${req}];
  printf("${EV.replace('\n', '\\n')}", $now / 1000, $pid, args->dev, args->sector, $bytes, $now - $issued, $que, $comm, args->rwbs);
  delete(@bs_pid[${req}]);
  delete(@bs_comm[${req}]);
  delete(@bs_queued[${req}]);
  delete(@bs_issued[${req}]);
  delete(@bs_bytes[${req}]);
}
`;
}

export function biosnoopHeader(o: BiosnoopOptions): string {
  return `${'TIME(s)'.padEnd(11)} ${'COMM'.padEnd(14)} ${'PID'.padEnd(7)} ${'DISK'.padEnd(9)} ${'T'.padEnd(1)} ${'SECTOR'.padEnd(10)} ${'BYTES'.padEnd(7)}` +
    `${o.pattern ? `${'P'.padEnd(1)} ` : ''}${o.queue ? `${'QUE(ms)'.padStart(7)} ` : ''}${'LAT(ms)'.padStart(7)}\n`;
}

export interface BioRecord {
  us: bigint;
  pid: number;
  dev: number;
  sector: bigint;
  bytes: number;
  latNs: bigint;
  queNs: bigint;
  comm: string;
  rwbs: string;
}

/** Formats events in completion order, tracking the last sector per disk for -P. */
export class BiosnoopPrinter {
  private first?: bigint;
  private readonly lastSector = new Map<number, bigint>();
  private readonly disks = listDisks();

  constructor(private readonly o: BiosnoopOptions) {}

  line(e: BioRecord): string {
    this.first ??= e.us;
    const disk = diskNameOf(e.dev, this.disks) ?? '<unknown>';
    // bcc's direction: W when the rwbs string has a W, otherwise R.
    const t = e.rwbs.includes('W') ? 'W' : 'R';
    let s = `${(Number(e.us - this.first) / 1e6).toFixed(6).padEnd(11)} ${(e.comm || '?').slice(0, 14).padEnd(14)} ${String(e.pid).padEnd(7)} ${disk.padEnd(9)} ${t} ${String(e.sector).padEnd(10)} ${String(e.bytes).padEnd(7)}`;
    if (this.o.pattern) {
      const last = this.lastSector.get(e.dev);
      s += `${last === undefined ? '?' : last === e.sector ? 'S' : 'R'} `;
      this.lastSector.set(e.dev, e.sector + BigInt(Math.floor(e.bytes / 512)));
    }
    if (this.o.queue) s += `${(Number(e.queNs) / 1e6).toFixed(2).padStart(7)} `;
    return s + `${(Number(e.latNs) / 1e6).toFixed(2).padStart(7)}\n`;
  }
}

export function decodeBio(v: readonly Value[]): BioRecord {
  const n = (i: number) => intOf(v[i]);
  return { us: n(0), pid: Number(n(1)), dev: Number(n(2)), sector: n(3), bytes: Number(n(4)), latNs: n(5), queNs: n(6), comm: strOf(v[7]), rwbs: strOf(v[8]) };
}

const mod: ToolModule<BiosnoopOptions> = {
  description: 'Trace block device I/O: one line per request with its process, disk, size and latency.',
  category: 'disk',
  spec: {
    name: 'biosnoop',
    summary: 'Trace block I/O',
    options: [
      { short: 'Q', long: 'queue', dest: 'queue', kind: 'flag', help: 'include OS queued time' },
      { short: 'd', long: 'disk', dest: 'disk', kind: 'string', metavar: 'DISK', help: 'trace this disk only' },
      { short: 'P', long: 'pattern', dest: 'pattern', kind: 'flag', help: 'display block I/O pattern (sequential or random)' },
      EBPF_OPTION,
    ],
    examples: [
      'biosnoop           # trace all block I/O',
      'biosnoop -Q        # include OS queued time',
      'biosnoop -d sdc    # trace sdc only',
      'biosnoop -P        # display block I/O pattern',
    ],
    notes: 'Follows bcc (block_io_start, or block_rq_insert before 6.5, names the process; block_rq_issue to\n' +
      'block_rq_complete is LAT). libbpf-tools biosnoop prints a different layout (TIME(s) COMM PID DISK T SECTOR BYTES\n' +
      'with -Q, -c CGROUP, -t) and needs fentry.',
  },
  options(a: ParsedArgs): BiosnoopOptions {
    const disk = a.str('disk');
    return { queue: a.flag('queue'), disk, dev: disk !== undefined ? diskByName(disk).dev : undefined, pattern: a.flag('pattern'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const startTp = tpExists('block', 'block_io_start') ? 'block_io_start' : 'block_rq_insert';
    if (!o.ebpf) {
      requireTracepoint('block', 'block_rq_issue');
      requireTracepoint('block', 'block_rq_complete');
    }
    const bytesField = o.ebpf && !tpExists('block', 'block_rq_issue') ? 'bytes' : tpField('block', 'block_rq_issue', ['bytes', 'nr_bytes']);
    const program = biosnoopProgram({ ...o, startTp, bytesField });
    if (o.ebpf) return Promise.resolve(printProgram(program));
    const printer = new BiosnoopPrinter(o);
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(printer.line(decodeBio(v)));
      return true;
    };
    return runToolProgram({ name: 'biosnoop', program, banner: biosnoopHeader(o), onEvent });
  },
};

export const biosnoop = mod;
export const tool = defineTool(mod);
