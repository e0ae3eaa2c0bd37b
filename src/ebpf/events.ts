/**
 * Reading events that BPF programs send to user space: BPF ring buffers and
 * perf event buffers. The kernel wakes Node's event loop through a libuv poll
 * on the buffer's fd; nothing busy-polls. Losses are counted, never hidden:
 * perf buffers report PERF_RECORD_LOST (counted in `lost`); a ring buffer
 * cannot tell user space, so programs count failed reserves in a map.
 *
 * @example
 *   const rb = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 1 << 20 });
 *   const reader = new RingBufReader(rb, (rec) => console.log(rec.readUInt32LE(0)));
 *   ...
 *   reader.drainNow(); reader.close();
 */
import { native, type RingHandle, type WatchHandle } from '../sys/native';
import { SyscallError } from '../sys/errno';
import * as sys from '../sys/bpf';
import { MapType } from '../sys/bpf';
import * as perf from '../sys/perf';
import { PerfType, SwEvent, SampleType, RecordType } from '../sys/perf';
import { track, untrack, type Closable } from './cleanup';
import { u32 } from './maps';

/** What a reader needs to know about its map. */
export interface MapRef {
  fd: number;
  type?: number;
  maxEntries: number;
}

export interface ReaderOptions {
  /** Start watching immediately (default true). */
  start?: boolean;
  /** Bytes drained per wake-up before yielding to the event loop (default 4 MiB). */
  budgetBytes?: number;
  /** Keep the process alive while the reader is open (default true). */
  ref?: boolean;
  /** Ring buffers: coalesce wake-ups while records keep coming (see RingCoalesce). */
  coalesce?: RingCoalesce;
}

/**
 * Wake-up coalescing for a ring buffer whose programs submit with
 * BPF_RB_NO_WAKEUP while a flag the reader keeps says so (issue 17): a
 * wake-up costs the program a self-interrupt and a cross-CPU wake, several
 * microseconds per record when each record finds the reader waiting. The
 * first record of a burst wakes the reader as usual; the reader then sets the
 * flag and drains every `periodMs` while records keep coming, and clears it
 * (draining once more) when a period brings none. A record submitted just as
 * the flag is cleared cannot be told apart, so an idle reader also looks at
 * the ring every `idleCheckMs` (one read of two positions).
 */
export interface RingCoalesce {
  /** Sets the flag the programs read: true = submit without waking. */
  setQuiet(quiet: boolean): void;
  /** Drain period while quiet (default 5 ms: the most a record waits). */
  periodMs?: number;
  /** Check period while not quiet (default 250 ms). */
  idleCheckMs?: number;
}

/**
 * Receives a record as a window of a drained chunk: `buf[offset, offset + length)`.
 * Valid only during the call (copy what you keep). Saves a Buffer object per
 * record, which matters at a million records per second.
 */
export type RawRecordHandler = (buf: Buffer, offset: number, length: number) => void;

/** Reads a BPF_MAP_TYPE_RINGBUF map. */
export class RingBufReader implements Closable {
  /** Records delivered so far. */
  records = 0;
  /** Bytes of record payload delivered so far. */
  bytes = 0;
  private ring: RingHandle | undefined;
  private watchHandle: WatchHandle | undefined;
  private readonly fd: number;
  private readonly budget: number;
  private readonly ref: boolean;
  private scheduled = false;
  private raw: RawRecordHandler | undefined;
  private readonly coalesce: RingCoalesce | undefined;
  private quiet = false;
  private timer: NodeJS.Timeout | undefined;

  /**
   * Like the constructor, but records arrive as (chunk, offset, length)
   * windows instead of one Buffer each.
   */
  static withOffsets(map: MapRef, onRecord: RawRecordHandler, o: ReaderOptions = {}): RingBufReader {
    const r = new RingBufReader(map, () => undefined, { ...o, start: false });
    r.raw = onRecord;
    if (o.start ?? true) r.start();
    return r;
  }

  constructor(map: MapRef, private readonly onRecord: (rec: Buffer) => void, o: ReaderOptions = {}) {
    if (map.type !== undefined && map.type !== MapType.RINGBUF) throw new TypeError('RingBufReader needs a ringbuf map');
    const h = native().ringbufOpen(map.fd, map.maxEntries);
    if (typeof h === 'number') throw new SyscallError('mmap(ringbuf)', -h);
    this.ring = h;
    this.fd = map.fd;
    this.budget = o.budgetBytes ?? 4 << 20;
    this.ref = o.ref ?? true;
    this.coalesce = o.coalesce;
    track(this);
    if (o.start ?? true) this.start();
  }

  /** Starts delivering records from the event loop. */
  start(): void {
    if (this.watchHandle || !this.ring) return;
    this.watchHandle = native().watch(this.fd, () => this.onReadable());
    if (!this.ref) native().watchRef(this.watchHandle, false);
    if (this.coalesce) this.schedule(this.coalesce.idleCheckMs ?? 250);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), ms);
    if (!this.ref) this.timer.unref();
  }

  /** Coalescing: a period passed (quiet) or an idle check is due. */
  private onTimer(): void {
    const c = this.coalesce;
    this.timer = undefined;
    if (!c || !this.ring) return;
    const more = (): boolean => {
      const n = this.drainBytes(this.budget);
      if (n === 0 && this.pending() === 0) return false;
      // a full batch: more is waiting, continue after other callbacks had a turn
      this.goQuiet(n >= this.budget ? 0 : undefined);
      return true;
    };
    if (more()) return;
    if (this.quiet) {
      // A period without records: wake-ups back on, then what came in meanwhile.
      c.setQuiet(false);
      this.quiet = false;
      if (more()) return;
    }
    this.schedule(c.idleCheckMs ?? 250);
  }

  private goQuiet(ms = this.coalesce?.periodMs ?? 5): void {
    if (!this.coalesce) return;
    if (!this.quiet) {
      this.coalesce.setQuiet(true);
      this.quiet = true;
    }
    this.schedule(ms);
  }

  private onReadable(): void {
    if (this.coalesce && !this.quiet && this.ring) this.goQuiet();
    const n = this.drainBytes(this.budget);
    // More pending than the budget: continue after other callbacks had a turn.
    if (n >= this.budget && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.ring) this.onReadable();
      });
    }
  }

  private drainBytes(limit: number): number {
    let total = 0;
    while (this.ring && total < limit) {
      const buf = native().ringDrain(this.ring, limit - total);
      if (!buf) break;
      total += buf.length;
      this.deliver(buf);
    }
    return total;
  }

  private deliver(buf: Buffer): void {
    const raw = this.raw;
    const end = buf.length;
    let p = 0;
    let n = 0;
    let bytes = 0;
    try {
      while (p + 4 <= end) {
        // The native side writes lengths in host order (little-endian here).
        const len = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
        const at = p + 4;
        p = at + ((len + 3) & ~3);
        n++;
        bytes += len;
        if (raw) raw(buf, at, len);
        else this.onRecord(buf.subarray(at, at + len));
      }
    } finally {
      this.records += n;
      this.bytes += bytes;
    }
  }

  /** Delivers everything committed now (e.g. at exit, before printing), or at most `limitBytes`; returns records delivered. */
  drainNow(limitBytes = Number.MAX_SAFE_INTEGER): number {
    const before = this.records;
    this.drainBytes(limitBytes);
    return this.records - before;
  }

  /** Alias of drainNow for symmetry with PerfBufReader. */
  poll(): number {
    return this.drainNow();
  }

  /** Bytes committed by the kernel but not yet consumed. */
  pending(): number {
    return this.ring ? native().ringPending(this.ring) : 0;
  }

  /** Stops watching and unmaps (does not close the map). Idempotent. */
  close(): void {
    untrack(this);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.watchHandle) {
      native().unwatch(this.watchHandle);
      this.watchHandle = undefined;
    }
    if (this.ring) {
      native().ringClose(this.ring);
      this.ring = undefined;
    }
  }
}

export interface PerfBufOptions extends ReaderOptions {
  /** Data pages per CPU (power of two, default 64). */
  pages?: number;
  /** Wake user space every N samples (default 1: lowest latency). */
  wakeupEvents?: number;
  /** CPUs to open (default: online CPUs). */
  cpus?: readonly number[];
  /** Called when the kernel reports dropped samples. */
  onLost?: (count: bigint, cpu: number) => void;
}

interface PerCpu {
  cpu: number;
  fd: number;
  ring: RingHandle | undefined;
  watch: WatchHandle | undefined;
}

/**
 * Reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY map: opens one PERF_COUNT_SW_BPF_OUTPUT
 * event per CPU, stores its fd in the map at the CPU's index, and parses the
 * PERF_RECORD_SAMPLE (raw data) and PERF_RECORD_LOST records.
 */
export class PerfBufReader implements Closable {
  records = 0;
  bytes = 0;
  /** Samples the kernel dropped because a per-CPU buffer was full. */
  lost = 0n;
  private readonly cpus: PerCpu[] = [];
  private readonly mapFd: number;
  private readonly onLost?: (count: bigint, cpu: number) => void;
  private readonly budget: number;
  private readonly ref: boolean;
  private closed = false;

  constructor(map: MapRef, private readonly onRecord: (rec: Buffer, cpu: number) => void, o: PerfBufOptions = {}) {
    if (map.type !== undefined && map.type !== MapType.PERF_EVENT_ARRAY) throw new TypeError('PerfBufReader needs a perf_event_array map');
    this.mapFd = map.fd;
    this.onLost = o.onLost;
    this.budget = o.budgetBytes ?? 4 << 20;
    this.ref = o.ref ?? true;
    const pages = o.pages ?? 64;
    track(this);
    try {
      for (const cpu of o.cpus ?? perf.onlineCpus()) {
        if (cpu >= map.maxEntries) continue;
        const fd = perf.perfEventOpen({
          type: PerfType.SOFTWARE, config: BigInt(SwEvent.BPF_OUTPUT), sampleType: SampleType.RAW,
          samplePeriod: 1n, wakeupEvents: o.wakeupEvents ?? 1,
        }, -1, cpu);
        const pc: PerCpu = { cpu, fd, ring: undefined, watch: undefined };
        this.cpus.push(pc);
        const h = native().perfbufOpen(fd, pages);
        if (typeof h === 'number') throw new SyscallError('mmap(perf buffer)', -h, `cpu ${cpu}, ${pages} pages`);
        pc.ring = h;
        sys.mapUpdateElem(map.fd, u32(cpu), u32(fd));
        perf.perfEnable(fd);
      }
    } catch (e) {
      this.close();
      throw e;
    }
    if (o.start ?? true) this.start();
  }

  start(): void {
    for (const pc of this.cpus) {
      if (pc.watch || !pc.ring) continue;
      pc.watch = native().watch(pc.fd, () => this.drainCpu(pc, this.budget));
      if (!this.ref) native().watchRef(pc.watch, false);
    }
  }

  private drainCpu(pc: PerCpu, limit: number): void {
    let total = 0;
    while (pc.ring && total < limit) {
      const buf = native().ringDrain(pc.ring, limit - total);
      if (!buf) break;
      total += buf.length;
      this.parse(buf, pc.cpu);
    }
  }

  private parse(buf: Buffer, cpu: number): void {
    let p = 0;
    while (p + 8 <= buf.length) {
      const type = buf.readUInt32LE(p);
      const size = buf.readUInt16LE(p + 6);
      if (size < 8) break;
      if (type === RecordType.SAMPLE) {
        // PERF_SAMPLE_RAW only: u32 size, then the bytes (padded so the record is 8-aligned).
        const rawSize = buf.readUInt32LE(p + 8);
        const rec = buf.subarray(p + 12, p + 12 + rawSize);
        this.records++;
        this.bytes += rawSize;
        this.onRecord(rec, cpu);
      } else if (type === RecordType.LOST) {
        const n = buf.readBigUInt64LE(p + 16);
        this.lost += n;
        this.onLost?.(n, cpu);
      }
      p += size;
    }
  }

  /** Delivers everything pending on every CPU; returns records delivered. */
  drainNow(): number {
    const before = this.records;
    for (const pc of this.cpus) this.drainCpu(pc, Number.MAX_SAFE_INTEGER);
    return this.records - before;
  }

  poll(): number {
    return this.drainNow();
  }

  /** Stops, removes the fds from the map, unmaps and closes the perf events. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrack(this);
    for (const pc of this.cpus) {
      if (pc.watch) native().unwatch(pc.watch);
      pc.watch = undefined;
      try { sys.mapDeleteElem(this.mapFd, u32(pc.cpu)); } catch { /* map already gone */ }
      if (pc.ring) native().ringClose(pc.ring);
      pc.ring = undefined;
      sys.closeFd(pc.fd);
    }
  }
}
