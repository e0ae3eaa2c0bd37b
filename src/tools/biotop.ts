/**
 * biotop: block device I/O by process, like top: every interval the
 * processes that did disk I/O, per disk and direction, with their I/O
 * count, Kbytes and average latency. bcc times requests with kprobes on
 * blk_mq_start_request and blk_account_io_*; this one uses the block
 * tracepoints (block_io_start, or block_rq_insert before 6.5, names the
 * process; block_rq_issue to block_rq_complete is the latency), requests
 * matched by (device, sector). Flags and columns as bcc biotop.
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { listDisks } from './common/disks';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint, tpExists, tpField } from './common/tp';
import { TOP_OPTIONS, TOP_POSITIONALS, topBanner, topPreamble } from './common/top';

export interface BiotopOptions {
  clear: boolean;
  maxRows: number;
  pid?: number;
  interval: number;
  count?: number;
  ebpf: boolean;
  /** The tracepoint that names the submitting process: block_io_start (6.5+) or block_rq_insert. */
  startTp?: string;
  /** block_rq_issue's size field: bytes (6.x) or nr_bytes. */
  bytesField?: string;
}

export function biotopProgram(o: BiotopOptions): string {
  // A request is its (device, sector); data-less requests (flushes) have no sector of their own: keyed at ~0 at
  // every step, as biolatency does, so they never take a data request's state.
  const sector = '$sector = args->sector;\n  if (args->nr_sector == 0) { $sector = 0xffffffffffffffff; }';
  const req = 'args->dev, $sector';
  const keep = o.pid !== undefined ? `$pid == ${o.pid}` : '1';
  return `// Who started the request: the process on the CPU when it entered the block layer.
tracepoint:block:${o.startTp ?? 'block_io_start'}
{
  ${sector}
  @bt_pid[${req}] = pid;
  @bt_comm[${req}] = comm;
}

tracepoint:block:block_rq_issue
{
  ${sector}
  // Requests issued straight to the driver were never seen starting: the issuer is the submitter.
  if (@bt_pid[${req}] == 0) {
    @bt_pid[${req}] = pid;
    @bt_comm[${req}] = comm;
  }
  @bt_start[${req}] = nsecs;
  @bt_len[${req}] = args->${o.bytesField ?? 'bytes'};
}

tracepoint:block:block_rq_complete
{
  ${sector}
  $t = @bt_start[${req}];
  if ($t != 0) {
    $pid = @bt_pid[${req}];
    if (${keep}) {
      $comm = @bt_comm[${req}];
      $us = (nsecs - $t) / 1000;
      $len = @bt_len[${req}];
      @bt_io[$pid, $comm, args->dev, args->rwbs] = count();
      @bt_bytes[$pid, $comm, args->dev, args->rwbs] = sum($len);
      @bt_us[$pid, $comm, args->dev, args->rwbs] = sum($us);
    }
    delete(@bt_start[${req}]);
    delete(@bt_len[${req}]);
  }
  delete(@bt_pid[${req}]);
  delete(@bt_comm[${req}]);
}
`;
}

export interface BiotopRow {
  pid: number;
  comm: string;
  write: boolean;
  major: number;
  minor: number;
  disk: string;
  io: bigint;
  bytes: bigint;
  us: bigint;
}

/** The three sums by (pid, comm, dev, rwbs), merged into bcc's rows by (pid, comm, direction, disk). */
export function biotopRows(io: MapDump | undefined, bytes: MapDump | undefined, us: MapDump | undefined): BiotopRow[] {
  const disks = listDisks();
  const rows = new Map<string, BiotopRow>();
  const scalar = (m: MapDump | undefined) => (m && (m.kind === 'count' || m.kind === 'sum') ? m.entries : []);
  const add = (m: MapDump | undefined, field: 'io' | 'bytes' | 'us') => {
    for (const e of scalar(m)) {
      const dev = Number(intOf(e.key[2]));
      // bcc's D column: W for writes (rwbs has a W: "W", "WS", "FWS"...), R for everything else.
      const write = strOf(e.key[3]).includes('W');
      const pid = Number(intOf(e.key[0]));
      const comm = strOf(e.key[1]);
      const id = `${pid}\0${comm}\0${dev}\0${write}`;
      let r = rows.get(id);
      if (!r) {
        const major = Math.floor(dev / 2 ** 20);
        const minor = dev % 2 ** 20;
        r = { pid, comm, write, major, minor, disk: disks.find((d) => d.dev === dev)?.name ?? '?', io: 0n, bytes: 0n, us: 0n };
        rows.set(id, r);
      }
      r[field] += e.value;
    }
  };
  add(io, 'io');
  add(bytes, 'bytes');
  add(us, 'us');
  // Most bytes first.
  return [...rows.values()].sort((a, b) => (a.bytes < b.bytes ? 1 : a.bytes > b.bytes ? -1 : 0));
}

export const BIOTOP_HEADER = `${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} D ${'MAJ'.padEnd(3)} ${'MIN'.padEnd(3)} ${'DISK'.padEnd(8)} ${'I/O'.padStart(5)} ${'Kbytes'.padStart(7)} ${'AVGms'.padStart(6)}\n`;

export function biotopLine(r: BiotopRow): string {
  const avgMs = r.io > 0n ? Number(r.us) / 1000 / Number(r.io) : 0;
  return `${String(r.pid).padEnd(7)} ${r.comm.padEnd(16)} ${r.write ? 'W' : 'R'} ${String(r.major).padEnd(3)} ${String(r.minor).padEnd(3)} ${r.disk.padEnd(8)} ` +
    `${String(r.io).padStart(5)} ${String(r.bytes / 1024n).padStart(7)} ${avgMs.toFixed(2).padStart(6)}\n`;
}

const MAPS = ['@bt_io', '@bt_bytes', '@bt_us'];

const mod: ToolModule<BiotopOptions> = {
  description: 'Block device (disk) I/O by process, top-style: I/O count, Kbytes and average latency.',
  category: 'disk',
  spec: {
    name: 'biotop',
    summary: 'Block device (disk) I/O by process',
    options: [...TOP_OPTIONS, { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 0, help: 'trace this PID only' }, EBPF_OPTION],
    positionals: TOP_POSITIONALS,
    examples: [
      'biotop            # block device I/O top, 1 second refresh',
      'biotop -C         # don\'t clear the screen',
      'biotop -p 181     # only trace PID 181',
      'biotop 5          # 5 second summaries',
      'biotop 5 10       # 5 second summaries, 10 times only',
    ],
    notes: 'Follows bcc\'s columns and flags, but from the block tracepoints instead of kprobes on blk_mq_start_request and\n' +
      'blk_account_io_*: block_io_start (block_rq_insert before Linux 6.5) names the process, block_rq_issue to\n' +
      'block_rq_complete is the I/O time (bcc starts the clock at blk_mq_start_request, the same moment), requests\n' +
      'matched by (device, sector). Kbytes is a whole number (bcc under Python 3 prints a fraction). libbpf-tools\n' +
      'biotop prints the same columns.',
  },
  options(a: ParsedArgs): BiotopOptions {
    return { clear: !a.flag('noclear'), maxRows: a.int('maxrows') ?? 20, pid: a.int('pid'), interval: a.int('interval') ?? 1, count: a.int('count'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const startTp = tpExists('block', 'block_io_start') ? 'block_io_start' : 'block_rq_insert';
    const bytesField = o.ebpf && !tpExists('block', 'block_rq_issue') ? 'bytes' : tpField('block', 'block_rq_issue', ['bytes', 'nr_bytes']);
    const program = biotopProgram({ ...o, startTp, bytesField });
    if (o.ebpf) return Promise.resolve(printProgram(program));
    for (const tp of [startTp, 'block_rq_issue', 'block_rq_complete']) requireTracepoint('block', tp);
    return runToolProgram({
      name: 'biotop',
      program,
      banner: topBanner(o.interval),
      interval: o.interval,
      count: o.count,
      report: (rt, final) => {
        const rows = biotopRows(rt.map('@bt_io'), rt.map('@bt_bytes'), rt.map('@bt_us'));
        for (const m of MAPS) rt.clearMap(m);
        rt.print(topPreamble(o.clear) + BIOTOP_HEADER + rows.slice(0, o.maxRows).map(biotopLine).join('') + (final ? 'Detaching...\n' : ''));
      },
    });
  },
};

export const biotop = mod;
export const tool = defineTool(mod);
