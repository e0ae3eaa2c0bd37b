/**
 * BPF maps from user space: create or open, look up, update, delete, and
 * iterate (batched when the kernel can, key by key otherwise). Per-CPU maps
 * return one value per possible CPU.
 *
 * @example
 *   const counts = BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1, name: 'counts' });
 *   // ... program increments it ...
 *   const total = sumU64(counts.lookupPerCpu(u32(0)) ?? []);
 */
import * as sys from '../sys/bpf';
import { MapType, UpdateFlags } from '../sys/bpf';
import { SyscallError } from '../sys/errno';
import { possibleCpus } from '../sys/perf';

export type MapTypeName =
  | 'hash' | 'array' | 'percpu_hash' | 'percpu_array' | 'lru_hash' | 'lru_percpu_hash'
  | 'stack_trace' | 'ringbuf' | 'perf_event_array' | 'prog_array' | 'queue' | 'stack' | 'lpm_trie';

const typeByName: Record<MapTypeName, number> = {
  hash: MapType.HASH, array: MapType.ARRAY, percpu_hash: MapType.PERCPU_HASH, percpu_array: MapType.PERCPU_ARRAY,
  lru_hash: MapType.LRU_HASH, lru_percpu_hash: MapType.LRU_PERCPU_HASH, stack_trace: MapType.STACK_TRACE,
  ringbuf: MapType.RINGBUF, perf_event_array: MapType.PERF_EVENT_ARRAY, prog_array: MapType.PROG_ARRAY,
  queue: MapType.QUEUE, stack: MapType.STACK, lpm_trie: MapType.LPM_TRIE,
};

const PERCPU = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, MapType.PERCPU_CGROUP_STORAGE]);

export interface MapSpec {
  type: MapTypeName | number;
  keySize: number;
  valueSize: number;
  /** For ringbuf: the buffer size in bytes (a power of two, multiple of the page size). */
  maxEntries: number;
  flags?: number;
  name?: string;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
}

/** Anything usable as a key or value: bytes, or a number/bigint encoded to the map's size. */
export type Bytes = Uint8Array;

let nCpus: number | undefined;
/** Number of possible CPUs (slots in a per-CPU value). */
export function numPossibleCpus(): number {
  return (nCpus ??= possibleCpus().length);
}

/** u32 little-endian bytes. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** u64 little-endian bytes. */
export function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)));
  return b;
}

/** Reads a u64 at `offset` (default 0). */
export function readU64(b: Uint8Array, offset = 0): bigint {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(offset);
}

/** Sums the u64 at `offset` of each per-CPU value. */
export function sumU64(values: readonly Uint8Array[], offset = 0): bigint {
  let s = 0n;
  for (const v of values) s += readU64(v, offset);
  return BigInt.asUintN(64, s);
}

const ENOSPC = 28;
const EINVAL = 22;
const ENOTSUPP = 524;
const EOPNOTSUPP = 95;

/** A BPF map open in this process. */
export class BpfMap {
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly name: string;
  private closed = false;
  private batchWorks: boolean | undefined;
  /** How the last entries() call read the map (diagnostics and tests). */
  lastIteration: 'batch' | 'keys' | undefined;

  private constructor(fd: number, info: { type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; name: string }) {
    this.fd = fd;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.flags = info.flags;
    this.name = info.name;
  }

  /** Creates a map. Map names are trimmed to the kernel's 15 characters. */
  static create(spec: MapSpec): BpfMap {
    const type = typeof spec.type === 'number' ? spec.type : typeByName[spec.type];
    if (type === undefined) throw new TypeError(`unknown map type '${String(spec.type)}'`);
    const fd = sys.mapCreate({
      type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags, name: spec.name,
      btfFd: spec.btfFd, btfKeyTypeId: spec.btfKeyTypeId, btfValueTypeId: spec.btfValueTypeId,
    });
    return new BpfMap(fd, { type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags ?? 0, name: spec.name ? sys.sanitizeObjName(spec.name) : '' });
  }

  /** Wraps an existing map fd (ownership passes to the BpfMap: close() closes it). */
  static fromFd(fd: number): BpfMap {
    const i = sys.mapInfo(fd);
    return new BpfMap(fd, i);
  }

  /** Opens a map by its kernel id (as listed by bpftool). */
  static fromId(id: number): BpfMap {
    return BpfMap.fromFd(sys.mapGetFdById(id));
  }

  get isPerCpu(): boolean {
    return PERCPU.has(this.type);
  }

  /** Bytes one lookup writes: per-CPU maps hold valueSize rounded up to 8, once per possible CPU. */
  get valueBufferSize(): number {
    return this.isPerCpu ? roundUp8(this.valueSize) * numPossibleCpus() : this.valueSize;
  }

  private key(k: Bytes | number | bigint): Uint8Array {
    if (typeof k === 'number' || typeof k === 'bigint') {
      if (this.keySize === 4) return u32(Number(k));
      if (this.keySize === 8) return u64(k);
      throw new TypeError(`a numeric key needs a 4- or 8-byte key; map '${this.name}' has ${this.keySize}-byte keys`);
    }
    if (k.byteLength !== this.keySize) throw new TypeError(`key of ${k.byteLength} bytes for map '${this.name}' with ${this.keySize}-byte keys`);
    return k;
  }

  /** The raw value (for per-CPU maps, all CPUs back to back), or undefined when absent. */
  lookup(key: Bytes | number | bigint): Buffer | undefined {
    const v = Buffer.alloc(this.valueBufferSize);
    return sys.mapLookupElem(this.fd, this.key(key), v) ? v : undefined;
  }

  /** Per-CPU maps: one value per possible CPU. */
  lookupPerCpu(key: Bytes | number | bigint): Buffer[] | undefined {
    const v = this.lookup(key);
    return v ? this.splitPerCpu(v) : undefined;
  }

  /** Splits a per-CPU value buffer into one Buffer (valueSize long) per CPU. */
  splitPerCpu(v: Buffer): Buffer[] {
    const stride = roundUp8(this.valueSize);
    const out: Buffer[] = [];
    for (let i = 0; i < numPossibleCpus(); i++) out.push(v.subarray(i * stride, i * stride + this.valueSize));
    return out;
  }

  /** Writes a value (for per-CPU maps, a value of valueBufferSize bytes, or use updatePerCpu). */
  update(key: Bytes | number | bigint, value: Bytes, flags: number = UpdateFlags.ANY): void {
    if (value.byteLength !== this.valueBufferSize) throw new TypeError(`value of ${value.byteLength} bytes for map '${this.name}' expecting ${this.valueBufferSize}`);
    sys.mapUpdateElem(this.fd, this.key(key), value, flags);
  }

  /** Per-CPU maps: writes one value per possible CPU (missing CPUs get zeros). */
  updatePerCpu(key: Bytes | number | bigint, values: readonly Bytes[], flags: number = UpdateFlags.ANY): void {
    const stride = roundUp8(this.valueSize);
    const buf = Buffer.alloc(this.valueBufferSize);
    values.forEach((v, i) => buf.set(v.subarray(0, this.valueSize), i * stride));
    sys.mapUpdateElem(this.fd, this.key(key), buf, flags);
  }

  /** Deletes a key; false when it was absent. */
  delete(key: Bytes | number | bigint): boolean {
    return sys.mapDeleteElem(this.fd, this.key(key));
  }

  /** Keys in kernel order (get-next-key). Concurrent deletions may restart a hash walk; keys are not repeated within one call. */
  *keys(): Generator<Buffer> {
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      if (!sys.mapGetNextKey(this.fd, prev, next)) return;
      yield next;
      prev = next;
    }
  }

  /** All [key, value] pairs, batched when supported (one syscall per batch), else key by key. */
  entries(): Array<[Buffer, Buffer]> {
    if (this.batchWorks !== false) {
      try {
        const out = this.entriesBatch();
        this.batchWorks = true;
        this.lastIteration = 'batch';
        return out;
      } catch (e) {
        if (!(e instanceof SyscallError) || ![EINVAL, ENOTSUPP, EOPNOTSUPP].includes(e.errno) || this.batchWorks) throw e;
        this.batchWorks = false;
      }
    }
    this.lastIteration = 'keys';
    const out: Array<[Buffer, Buffer]> = [];
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v) out.push([k, v]); // deleted between get-next-key and lookup: skip
    }
    return out;
  }

  private entriesBatch(): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    const vsize = this.valueBufferSize;
    let count = Math.max(1, Math.min(this.maxEntries, 256));
    let inBatch: Buffer | null = null;
    for (;;) {
      // The cursor is opaque (a bucket index for hashes, a key for arrays); 8 bytes or a key covers both.
      const outBatch = Buffer.alloc(Math.max(8, this.keySize));
      const keys = Buffer.alloc(count * this.keySize);
      const values = Buffer.alloc(count * vsize);
      let r: sys.BatchResult;
      try {
        r = sys.mapLookupBatch(this.fd, inBatch, outBatch, keys, values, count);
      } catch (e) {
        // A hash bucket holds more elements than the batch: retry bigger.
        if (e instanceof SyscallError && e.errno === ENOSPC && count < this.maxEntries * 2 + 1) {
          count *= 2;
          continue;
        }
        throw e;
      }
      for (let i = 0; i < r.count; i++) {
        out.push([
          Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          Buffer.from(values.subarray(i * vsize, (i + 1) * vsize)),
        ]);
      }
      if (r.done) return out;
      inBatch = outBatch;
    }
  }

  /** Per-CPU maps: entries with values split per CPU. */
  entriesPerCpu(): Array<[Buffer, Buffer[]]> {
    return this.entries().map(([k, v]) => [k, this.splitPerCpu(v)]);
  }

  /** Deletes every key (hash maps); arrays cannot delete and are zeroed instead. */
  clear(): void {
    if (this.type === MapType.ARRAY || this.type === MapType.PERCPU_ARRAY) {
      const zero = Buffer.alloc(this.valueBufferSize);
      for (let i = 0; i < this.maxEntries; i++) sys.mapUpdateElem(this.fd, u32(i), zero, 0);
      return;
    }
    for (const k of [...this.keys()]) this.delete(k);
  }

  /** Kernel info (id, flags, BTF ids). */
  info(): sys.MapInfo {
    return sys.mapInfo(this.fd);
  }

  /** Closes the fd; the kernel frees the map when no program or pin holds it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.closeFd(this.fd);
  }
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

