/**
 * Typed wrappers over bpf(2). Each wrapper lays out its part of
 * `union bpf_attr` (offsets from /usr/include/linux/bpf.h) in a zeroed buffer
 * and hands user-space pointers to the addon as patches, so JavaScript never
 * holds an address. Every failure throws a SyscallError naming the command.
 *
 * @example
 *   const fd = mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, name: 'counts' });
 *   mapUpdateElem(fd, u32(1), u64(42n));
 */
import { native, type PointerPatch } from './native';
import { SyscallError } from './errno';
// bpf_attr offsets generated from kernel BTF (test/kernel/abi.test.ts keeps them true)
import { BPF_ATTR as A } from './abi';

/** bpf(2) commands (enum bpf_cmd). */
export const Cmd = {
  MAP_CREATE: 0, MAP_LOOKUP_ELEM: 1, MAP_UPDATE_ELEM: 2, MAP_DELETE_ELEM: 3, MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5, OBJ_PIN: 6, OBJ_GET: 7, PROG_ATTACH: 8, PROG_DETACH: 9, PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11, MAP_GET_NEXT_ID: 12, PROG_GET_FD_BY_ID: 13, MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15, PROG_QUERY: 16, RAW_TRACEPOINT_OPEN: 17, BTF_LOAD: 18, BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20, MAP_LOOKUP_AND_DELETE_ELEM: 21, MAP_FREEZE: 22, BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24, MAP_LOOKUP_AND_DELETE_BATCH: 25, MAP_UPDATE_BATCH: 26, MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28, LINK_UPDATE: 29, LINK_GET_FD_BY_ID: 30, LINK_GET_NEXT_ID: 31, ENABLE_STATS: 32,
  ITER_CREATE: 33, LINK_DETACH: 34, PROG_BIND_MAP: 35,
} as const;

const cmdNames = new Map<number, string>(Object.entries(Cmd).map(([k, v]) => [v, `BPF_${k}`]));

/** enum bpf_map_type (the ones tsbpf uses, plus a few for listings). */
export const MapType = {
  UNSPEC: 0, HASH: 1, ARRAY: 2, PROG_ARRAY: 3, PERF_EVENT_ARRAY: 4, PERCPU_HASH: 5, PERCPU_ARRAY: 6,
  STACK_TRACE: 7, CGROUP_ARRAY: 8, LRU_HASH: 9, LRU_PERCPU_HASH: 10, LPM_TRIE: 11, ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13, DEVMAP: 14, SOCKMAP: 15, CPUMAP: 16, XSKMAP: 17, SOCKHASH: 18, CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20, PERCPU_CGROUP_STORAGE: 21, QUEUE: 22, STACK: 23, SK_STORAGE: 24,
  DEVMAP_HASH: 25, STRUCT_OPS: 26, RINGBUF: 27, INODE_STORAGE: 28, TASK_STORAGE: 29, BLOOM_FILTER: 30,
  USER_RINGBUF: 31, CGRP_STORAGE: 32, ARENA: 33,
} as const;

/** enum bpf_prog_type. */
export const ProgType = {
  UNSPEC: 0, SOCKET_FILTER: 1, KPROBE: 2, SCHED_CLS: 3, SCHED_ACT: 4, TRACEPOINT: 5, XDP: 6,
  PERF_EVENT: 7, CGROUP_SKB: 8, CGROUP_SOCK: 9, LWT_IN: 10, LWT_OUT: 11, LWT_XMIT: 12, SOCK_OPS: 13,
  SK_SKB: 14, CGROUP_DEVICE: 15, SK_MSG: 16, RAW_TRACEPOINT: 17, CGROUP_SOCK_ADDR: 18, LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20, SK_REUSEPORT: 21, FLOW_DISSECTOR: 22, CGROUP_SYSCTL: 23, RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25, TRACING: 26, STRUCT_OPS: 27, EXT: 28, LSM: 29, SK_LOOKUP: 30, SYSCALL: 31,
  NETFILTER: 32,
} as const;

/** enum bpf_attach_type (tracing-related values). */
export const AttachType = {
  NONE: 0, TRACE_RAW_TP: 23, TRACE_FENTRY: 24, TRACE_FEXIT: 25, MODIFY_RETURN: 26, LSM_MAC: 27,
  TRACE_ITER: 28, PERF_EVENT: 41, TRACE_KPROBE_MULTI: 42, TRACE_UPROBE_MULTI: 48,
} as const;

/** enum bpf_link_type. */
export const LinkType = {
  UNSPEC: 0, RAW_TRACEPOINT: 1, TRACING: 2, CGROUP: 3, ITER: 4, NETNS: 5, XDP: 6, PERF_EVENT: 7,
  KPROBE_MULTI: 8, STRUCT_OPS: 9, NETFILTER: 10, TCX: 11, UPROBE_MULTI: 12, NETKIT: 13, SOCKMAP: 14,
} as const;

/** BPF_MAP_*_ELEM flags. */
export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2, F_LOCK: 4 } as const;

/** BPF_MAP_CREATE flags (subset). */
export const MapFlags = {
  NO_PREALLOC: 1 << 0, NO_COMMON_LRU: 1 << 1, NUMA_NODE: 1 << 2, RDONLY: 1 << 3, WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5, ZERO_SEED: 1 << 6, RDONLY_PROG: 1 << 7, WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9, MMAPABLE: 1 << 10,
} as const;

/** enum bpf_task_fd_type. */
export const FdType = { RAW_TRACEPOINT: 0, TRACEPOINT: 1, KPROBE: 2, KRETPROBE: 3, UPROBE: 4, URETPROBE: 5 } as const;

/** Size of union bpf_attr in the uapi header we were written against; the kernel accepts smaller/larger with zero tails. */
const ATTR_SIZE = 144;
const OBJ_NAME_LEN = 16;

function attr(): Buffer {
  return Buffer.alloc(ATTR_SIZE);
}

/** A NUL-terminated copy of s, safe to pass as a char* patch. */
export function cstr(s: string): Buffer {
  const b = Buffer.alloc(Buffer.byteLength(s) + 1);
  b.write(s);
  return b;
}

/** The kernel's object names: at most 15 bytes of [A-Za-z0-9_.], else it rejects the name with EINVAL. */
export function sanitizeObjName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, OBJ_NAME_LEN - 1);
}

function cmdName(cmd: number): string {
  return cmdNames.get(cmd) ?? `bpf cmd ${cmd}`;
}

/** Raw bpf(2) returning the result or -errno; for callers that treat some errnos as answers. */
export function bpfRaw(cmd: number, a: Uint8Array, patches?: PointerPatch[]): number {
  return native().bpf(cmd, a, patches);
}

/** bpf(2), throwing SyscallError('bpf(BPF_X)') on failure. */
export function bpfCall(cmd: number, a: Uint8Array, patches?: PointerPatch[], detail?: string): number {
  const r = native().bpf(cmd, a, patches);
  if (r < 0) throw new SyscallError(`bpf(${cmdName(cmd)})`, -r, detail);
  return r;
}

const ENOENT = 2;
const ENOSPC = 28;
const EAGAIN = 11;
/** Loads repeated while the verifier is interrupted by signals (EAGAIN). */
const PROG_LOAD_ATTEMPTS = 10;

// ---------------------------------------------------------------------------
// Maps

export interface MapCreateOptions {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** Shown by bpftool; sanitized to the kernel's character set and 15 bytes. */
  name?: string;
  innerMapFd?: number;
  numaNode?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint;
}

/** BPF_MAP_CREATE → map fd. */
export function mapCreate(o: MapCreateOptions): number {
  const a = attr();
  a.writeUInt32LE(o.type, A.map_create.map_type);
  a.writeUInt32LE(o.keySize, A.map_create.key_size);
  a.writeUInt32LE(o.valueSize, A.map_create.value_size);
  a.writeUInt32LE(o.maxEntries, A.map_create.max_entries);
  a.writeUInt32LE(o.flags ?? 0, A.map_create.map_flags);
  a.writeUInt32LE(o.innerMapFd ?? 0, A.map_create.inner_map_fd);
  a.writeUInt32LE(o.numaNode ?? 0, A.map_create.numa_node);
  if (o.name) a.write(sanitizeObjName(o.name), A.map_create.map_name, OBJ_NAME_LEN - 1);
  a.writeUInt32LE(o.btfFd ?? 0, A.map_create.btf_fd);
  a.writeUInt32LE(o.btfKeyTypeId ?? 0, A.map_create.btf_key_type_id);
  a.writeUInt32LE(o.btfValueTypeId ?? 0, A.map_create.btf_value_type_id);
  a.writeUInt32LE(o.btfVmlinuxValueTypeId ?? 0, A.map_create.btf_vmlinux_value_type_id);
  a.writeBigUInt64LE(o.mapExtra ?? 0n, A.map_create.map_extra);
  return bpfCall(Cmd.MAP_CREATE, a, undefined, o.name ? `map '${o.name}'` : undefined);
}

function elemAttr(fd: number, flags: number): Buffer {
  const a = attr();
  a.writeUInt32LE(fd, 0);
  a.writeBigUInt64LE(BigInt(flags), 24);
  return a;
}

/** BPF_MAP_LOOKUP_ELEM into `value`; false when the key is absent. */
export function mapLookupElem(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): boolean {
  const a = elemAttr(fd, flags);
  const r = bpfRaw(Cmd.MAP_LOOKUP_ELEM, a, [[a, 8, key], [a, 16, value]]);
  if (r === -ENOENT) return false;
  if (r < 0) throw new SyscallError(`bpf(BPF_MAP_LOOKUP_ELEM)`, -r);
  return true;
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM (queues/stacks need key of length 0); false when absent. */
export function mapLookupAndDeleteElem(fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0): boolean {
  const a = elemAttr(fd, flags);
  const patches: PointerPatch[] = [[a, 16, value]];
  if (key) patches.push([a, 8, key]);
  const r = bpfRaw(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, a, patches);
  if (r === -ENOENT) return false;
  if (r < 0) throw new SyscallError(`bpf(BPF_MAP_LOOKUP_AND_DELETE_ELEM)`, -r);
  return true;
}

/** BPF_MAP_UPDATE_ELEM; flags from UpdateFlags. */
export function mapUpdateElem(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): void {
  const a = elemAttr(fd, flags);
  bpfCall(Cmd.MAP_UPDATE_ELEM, a, [[a, 8, key], [a, 16, value]]);
}

/** BPF_MAP_DELETE_ELEM; false when the key was absent. */
export function mapDeleteElem(fd: number, key: Uint8Array): boolean {
  const a = elemAttr(fd, 0);
  const r = bpfRaw(Cmd.MAP_DELETE_ELEM, a, [[a, 8, key]]);
  if (r === -ENOENT) return false;
  if (r < 0) throw new SyscallError(`bpf(BPF_MAP_DELETE_ELEM)`, -r);
  return true;
}

/** BPF_MAP_GET_NEXT_KEY: writes the key after `key` (or the first, when null) into nextKey; false at the end. */
export function mapGetNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array): boolean {
  const a = elemAttr(fd, 0);
  const patches: PointerPatch[] = [[a, 16, nextKey]];
  if (key) patches.push([a, 8, key]);
  const r = bpfRaw(Cmd.MAP_GET_NEXT_KEY, a, patches);
  if (r === -ENOENT) return false;
  if (r < 0) throw new SyscallError(`bpf(BPF_MAP_GET_NEXT_KEY)`, -r);
  return true;
}

/** BPF_MAP_FREEZE: makes the map read-only for user space. */
export function mapFreeze(fd: number): void {
  const a = attr();
  a.writeUInt32LE(fd, 0);
  bpfCall(Cmd.MAP_FREEZE, a);
}

export interface BatchResult {
  /** Elements written to keys/values. */
  count: number;
  /** True when the map has no more elements after this batch. */
  done: boolean;
}

/**
 * BPF_MAP_LOOKUP_BATCH. `inBatch` null starts from the beginning; `outBatch`
 * receives the cursor (for hash maps, at least keySize bytes; for arrays 4).
 * Throws SyscallError (EINVAL/ENOTSUPP on map types without batch support, so
 * callers can fall back to get-next-key iteration).
 */
export function mapLookupBatch(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array,
  values: Uint8Array, count: number, elemFlags = 0): BatchResult {
  const a = attr();
  a.writeUInt32LE(count, 32);
  a.writeUInt32LE(fd, 36);
  a.writeBigUInt64LE(BigInt(elemFlags), 40);
  const patches: PointerPatch[] = [[a, 8, outBatch], [a, 16, keys], [a, 24, values]];
  if (inBatch) patches.push([a, 0, inBatch]);
  const r = bpfRaw(Cmd.MAP_LOOKUP_BATCH, a, patches);
  const n = a.readUInt32LE(32);
  if (r === -ENOENT) return { count: n, done: true };
  if (r < 0) throw new SyscallError(`bpf(BPF_MAP_LOOKUP_BATCH)`, -r);
  return { count: n, done: false };
}

// ---------------------------------------------------------------------------
// Programs

export interface ProgLoadOptions {
  type: number;
  /** Encoded instructions, 8 bytes each. */
  insns: Uint8Array;
  license?: string;
  name?: string;
  expectedAttachType?: number;
  attachBtfId?: number;
  /** Module BTF object fd (0: vmlinux). */
  attachBtfObjFd?: number;
  attachProgFd?: number;
  progFlags?: number;
  kernVersion?: number;
  progBtfFd?: number;
  /**
   * BTF func_info records (u32 insn_off, u32 type_id — 8 bytes each) for
   * programs with subprograms; with progBtfFd. The verifier requires them for
   * callbacks (bpf_for_each_map_elem, bpf_loop).
   */
  funcInfo?: Uint8Array;
  /** Verifier log level for the retry after a failure (default 1; 2 for instruction-by-instruction state). */
  logLevel?: number;
  /** Always request a log, even on success (e.g. for `-d verifier`). */
  alwaysLog?: boolean;
}

/** A failed BPF_PROG_LOAD or BPF_BTF_LOAD: the errno plus the kernel's log. */
export class ProgLoadError extends SyscallError {
  /** The verifier's log (may be empty, e.g. for EPERM). */
  readonly log: string;
  /** True when even the largest buffer could not hold the whole log (the tail is kept). */
  readonly logTruncated: boolean;
  constructor(syscall: string, errno: number, log: string, logTruncated: boolean, detail?: string) {
    super(syscall, errno, detail);
    this.name = 'ProgLoadError';
    this.log = log;
    this.logTruncated = logTruncated;
  }
}

export interface ProgLoadResult {
  fd: number;
  /** Set when alwaysLog was requested. */
  log?: string;
}

const LOG_MIN = 64 * 1024;
const LOG_MAX = 16 * 1024 * 1024;

function progLoadAttr(o: ProgLoadOptions, name?: string): Buffer {
  const a = attr();
  a.writeUInt32LE(o.type, A.prog_load.prog_type);
  a.writeUInt32LE(Math.floor(o.insns.byteLength / 8), A.prog_load.insn_cnt);
  a.writeUInt32LE(o.kernVersion ?? 0, A.prog_load.kern_version);
  a.writeUInt32LE(o.progFlags ?? 0, A.prog_load.prog_flags);
  if (name) a.write(sanitizeObjName(name), A.prog_load.prog_name, OBJ_NAME_LEN - 1);
  a.writeUInt32LE(o.expectedAttachType ?? 0, A.prog_load.expected_attach_type);
  a.writeUInt32LE(o.progBtfFd ?? 0, A.prog_load.prog_btf_fd);
  a.writeUInt32LE(o.attachBtfId ?? 0, A.prog_load.attach_btf_id);
  a.writeUInt32LE(o.attachProgFd ?? o.attachBtfObjFd ?? 0, A.prog_load.attach_prog_fd);
  return a;
}

function readLog(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

/**
 * BPF_PROG_LOAD. The first attempt runs without a log (the verifier is much
 * faster without one); on failure the load is repeated with a log buffer that
 * grows from 64 KiB to 16 MiB while the kernel reports ENOSPC, and a
 * ProgLoadError carrying the log is thrown.
 */
export function progLoad(o: ProgLoadOptions): ProgLoadResult {
  if (o.insns.byteLength === 0 || o.insns.byteLength % 8 !== 0) {
    throw new SyscallError('bpf(BPF_PROG_LOAD)', 22, `instruction buffer of ${o.insns.byteLength} bytes is not a whole number of 8-byte instructions`);
  }
  const license = cstr(o.license ?? 'GPL');
  const detail = o.name ? `program '${o.name}'` : undefined;
  const load = (name: string | undefined, level: number, log: Buffer | null): { r: number; trueSize: number } => {
    const a = progLoadAttr(o, name);
    const patches: PointerPatch[] = [[a, A.prog_load.insns, o.insns], [a, A.prog_load.license, license]];
    if (o.funcInfo && o.funcInfo.byteLength) {
      a.writeUInt32LE(8, A.prog_load.func_info_rec_size);
      patches.push([a, A.prog_load.func_info, o.funcInfo]);
      a.writeUInt32LE(o.funcInfo.byteLength / 8, A.prog_load.func_info_cnt);
    }
    if (log) {
      a.writeUInt32LE(level, A.prog_load.log_level);
      a.writeUInt32LE(log.length, A.prog_load.log_size);
      patches.push([a, A.prog_load.log_buf, log]);
    }
    // The verifier gives up with EAGAIN when a signal is pending (a profiler's SIGPROF, a
    // child's SIGCHLD); it has changed nothing, so the load is simply repeated (libbpf alike).
    let r = bpfRaw(Cmd.PROG_LOAD, a, patches);
    for (let attempt = 1; r === -EAGAIN && attempt < PROG_LOAD_ATTEMPTS; attempt++) r = bpfRaw(Cmd.PROG_LOAD, a, patches);
    // log_true_size (kernel 6.4+) sits right after core_relo_rec_size.
    return { r, trueSize: a.readUInt32LE(A.prog_load.log_true_size) };
  };

  let name = o.name;
  if (!o.alwaysLog) {
    let { r } = load(name, 0, null);
    // Kernels before 4.15 reject names; never worth failing a load over.
    if (r === -22 && name) {
      const retry = load(undefined, 0, null);
      if (retry.r >= 0) return { fd: retry.r };
    }
    if (r >= 0) return { fd: r };
  }
  const level = o.logLevel ?? 1;
  let size = LOG_MIN;
  for (;;) {
    const log = Buffer.alloc(size);
    let { r, trueSize } = load(name, level, log);
    if (r === -22 && name && readLog(log) === '') {
      name = undefined;
      ({ r, trueSize } = load(name, level, log));
    }
    if (r >= 0) return { fd: r, log: readLog(log) };
    if (r === -ENOSPC && size < LOG_MAX) {
      size = Math.min(LOG_MAX, Math.max(size * 4, trueSize > size ? trueSize + 1 : 0));
      continue;
    }
    // ENOSPC here means the program was fine but the log did not fit at the largest size.
    const truncated = r === -ENOSPC;
    throw new ProgLoadError('bpf(BPF_PROG_LOAD)', -r, readLog(log), truncated, detail);
  }
}

export interface TestRunOptions {
  ctxIn?: Uint8Array;
  /** Bytes to reserve for the context written back (0: none). */
  ctxOutSize?: number;
  dataIn?: Uint8Array;
  dataOutSize?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
}

export interface TestRunResult {
  retval: number;
  /** Average run time in ns per repetition, as the kernel reports it. */
  duration: number;
  dataOut?: Buffer;
  ctxOut?: Buffer;
}

/** BPF_PROG_TEST_RUN. */
export function progTestRun(progFd: number, o: TestRunOptions = {}): TestRunResult {
  const a = attr();
  const patches: PointerPatch[] = [];
  a.writeUInt32LE(progFd, 0);
  if (o.dataIn) {
    a.writeUInt32LE(o.dataIn.byteLength, 8);
    patches.push([a, 16, o.dataIn]);
  }
  const dataOut = o.dataOutSize ? Buffer.alloc(o.dataOutSize) : undefined;
  if (dataOut) {
    a.writeUInt32LE(dataOut.length, 12);
    patches.push([a, 24, dataOut]);
  }
  a.writeUInt32LE(o.repeat ?? 0, 32);
  if (o.ctxIn) {
    a.writeUInt32LE(o.ctxIn.byteLength, 40);
    patches.push([a, 48, o.ctxIn]);
  }
  const ctxOut = o.ctxOutSize ? Buffer.alloc(o.ctxOutSize) : undefined;
  if (ctxOut) {
    a.writeUInt32LE(ctxOut.length, 44);
    patches.push([a, 56, ctxOut]);
  }
  a.writeUInt32LE(o.flags ?? 0, 64);
  a.writeUInt32LE(o.cpu ?? 0, 68);
  bpfCall(Cmd.PROG_TEST_RUN, a, patches);
  return {
    retval: a.readUInt32LE(4),
    duration: a.readUInt32LE(36),
    dataOut: dataOut?.subarray(0, a.readUInt32LE(12)),
    ctxOut: ctxOut?.subarray(0, a.readUInt32LE(44)),
  };
}

// ---------------------------------------------------------------------------
// Object ids, fds, pinning

function nextId(cmd: number, start: number): number | undefined {
  const a = attr();
  a.writeUInt32LE(start, 0);
  const r = bpfRaw(cmd, a);
  if (r === -ENOENT) return undefined;
  if (r < 0) throw new SyscallError(`bpf(${cmdName(cmd)})`, -r);
  return a.readUInt32LE(4);
}

function fdById(cmd: number, id: number, openFlags = 0): number {
  const a = attr();
  a.writeUInt32LE(id, 0);
  a.writeUInt32LE(openFlags, 8);
  return bpfCall(cmd, a, undefined, `id ${id}`);
}

/** Next program id after `start` (0: first), undefined at the end. */
export const progGetNextId = (start: number): number | undefined => nextId(Cmd.PROG_GET_NEXT_ID, start);
export const mapGetNextId = (start: number): number | undefined => nextId(Cmd.MAP_GET_NEXT_ID, start);
export const linkGetNextId = (start: number): number | undefined => nextId(Cmd.LINK_GET_NEXT_ID, start);
export const btfGetNextId = (start: number): number | undefined => nextId(Cmd.BTF_GET_NEXT_ID, start);
export const progGetFdById = (id: number): number => fdById(Cmd.PROG_GET_FD_BY_ID, id);
export const mapGetFdById = (id: number, openFlags = 0): number => fdById(Cmd.MAP_GET_FD_BY_ID, id, openFlags);
export const linkGetFdById = (id: number): number => fdById(Cmd.LINK_GET_FD_BY_ID, id);
export const btfGetFdById = (id: number): number => fdById(Cmd.BTF_GET_FD_BY_ID, id);

/** All ids of one kind, ascending. Objects may vanish between listing and opening; callers must tolerate ENOENT. */
export function listIds(kind: 'prog' | 'map' | 'link' | 'btf'): number[] {
  const f = { prog: progGetNextId, map: mapGetNextId, link: linkGetNextId, btf: btfGetNextId }[kind];
  const ids: number[] = [];
  for (let id = f(0); id !== undefined; id = f(id)) ids.push(id);
  return ids;
}

/** BPF_OBJ_PIN: pins fd at a bpffs path. */
export function objPin(fd: number, path: string): void {
  const a = attr();
  const p = cstr(path);
  a.writeUInt32LE(fd, 8);
  bpfCall(Cmd.OBJ_PIN, a, [[a, 0, p]], path);
}

/** BPF_OBJ_GET: opens a pinned object. */
export function objGet(path: string, fileFlags = 0): number {
  const a = attr();
  const p = cstr(path);
  a.writeUInt32LE(fileFlags, 12);
  return bpfCall(Cmd.OBJ_GET, a, [[a, 0, p]], path);
}

// ---------------------------------------------------------------------------
// OBJ_GET_INFO_BY_FD

/** BPF_OBJ_GET_INFO_BY_FD into `info` (extra patches fill nested arrays); returns the length the kernel wrote. */
export function objGetInfoByFd(fd: number, info: Buffer, patches: PointerPatch[] = []): number {
  const a = attr();
  a.writeUInt32LE(fd, 0);
  a.writeUInt32LE(info.length, 4);
  bpfCall(Cmd.OBJ_GET_INFO_BY_FD, a, [[a, 8, info], ...patches]);
  return a.readUInt32LE(4);
}

function cString(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const end = s.indexOf(0);
  return s.toString('utf8', 0, end < 0 ? s.length : end);
}

export interface ProgInfo {
  type: number;
  id: number;
  /** 8-byte program tag as 16 hex digits (what bpftool prints). */
  tag: string;
  jitedProgLen: number;
  xlatedProgLen: number;
  /** ns since boot (CLOCK_BOOTTIME) when the program was loaded. */
  loadTime: bigint;
  createdByUid: number;
  mapIds: number[];
  name: string;
  ifindex: number;
  gplCompatible: boolean;
  netnsDev: bigint;
  netnsIno: bigint;
  btfId: number;
  nrFuncInfo: number;
  nrLineInfo: number;
  /** Only non-zero while BPF_ENABLE_STATS (or kernel.bpf_stats_enabled) is on. */
  runTimeNs: bigint;
  runCnt: bigint;
  recursionMisses: bigint;
  verifiedInsns: number;
  attachBtfObjId: number;
  attachBtfId: number;
  /** Translated instructions (after verifier rewrites), when requested. */
  xlatedInsns?: Buffer;
  /** JIT image, when requested. */
  jitedInsns?: Buffer;
  /** Kernel addresses of the JITed functions (main + subprograms), when requested. */
  jitedKsyms?: bigint[];
  jitedFuncLens?: number[];
}

export interface ProgInfoOptions {
  xlated?: boolean;
  jited?: boolean;
}

const PROG_INFO_SIZE = 256;

/** Program info with its map ids, and optionally xlated/jited code. */
export function progInfo(fd: number, opts: ProgInfoOptions = {}): ProgInfo {
  const first = Buffer.alloc(PROG_INFO_SIZE);
  objGetInfoByFd(fd, first);
  const nMaps = first.readUInt32LE(52);
  const xlatedLen = opts.xlated ? first.readUInt32LE(20) : 0;
  const jitedLen = opts.jited ? first.readUInt32LE(16) : 0;
  const nKsyms = opts.jited ? first.readUInt32LE(104) : 0;
  const nFuncLens = opts.jited ? first.readUInt32LE(108) : 0;

  // Second pass: only the arrays we ask for; every other count must be 0 or
  // the kernel would write through null pointers (it returns EFAULT).
  const info = Buffer.alloc(PROG_INFO_SIZE);
  const patches: PointerPatch[] = [];
  const mapIds = Buffer.alloc(nMaps * 4);
  const xlated = Buffer.alloc(xlatedLen);
  const jited = Buffer.alloc(jitedLen);
  const ksyms = Buffer.alloc(nKsyms * 8);
  const funcLens = Buffer.alloc(nFuncLens * 4);
  if (nMaps) { info.writeUInt32LE(nMaps, 52); patches.push([info, 56, mapIds]); }
  if (xlatedLen) { info.writeUInt32LE(xlatedLen, 20); patches.push([info, 32, xlated]); }
  if (jitedLen) { info.writeUInt32LE(jitedLen, 16); patches.push([info, 24, jited]); }
  if (nKsyms) { info.writeUInt32LE(nKsyms, 104); patches.push([info, 112, ksyms]); }
  if (nFuncLens) { info.writeUInt32LE(nFuncLens, 108); patches.push([info, 120, funcLens]); }
  const b = patches.length ? info : first;
  if (patches.length) objGetInfoByFd(fd, info, patches);

  const ids: number[] = [];
  for (let i = 0; i < Math.min(nMaps, b.readUInt32LE(52)); i++) ids.push(mapIds.readUInt32LE(i * 4));
  const out: ProgInfo = {
    type: b.readUInt32LE(0),
    id: b.readUInt32LE(4),
    tag: b.subarray(8, 16).toString('hex'),
    jitedProgLen: b.readUInt32LE(16),
    xlatedProgLen: b.readUInt32LE(20),
    loadTime: b.readBigUInt64LE(40),
    createdByUid: b.readUInt32LE(48),
    mapIds: ids,
    name: cString(b, 64, 16),
    ifindex: b.readUInt32LE(80),
    gplCompatible: (b.readUInt32LE(84) & 1) === 1,
    netnsDev: b.readBigUInt64LE(88),
    netnsIno: b.readBigUInt64LE(96),
    btfId: b.readUInt32LE(128),
    nrFuncInfo: b.readUInt32LE(144),
    nrLineInfo: b.readUInt32LE(148),
    runTimeNs: b.readBigUInt64LE(192),
    runCnt: b.readBigUInt64LE(200),
    recursionMisses: b.readBigUInt64LE(208),
    verifiedInsns: b.readUInt32LE(216),
    attachBtfObjId: b.readUInt32LE(220),
    attachBtfId: b.readUInt32LE(224),
  };
  if (opts.xlated) out.xlatedInsns = xlated.subarray(0, Math.min(xlatedLen, b.readUInt32LE(20)));
  if (opts.jited) {
    out.jitedInsns = jited.subarray(0, Math.min(jitedLen, b.readUInt32LE(16)));
    out.jitedKsyms = [];
    for (let i = 0; i < nKsyms; i++) out.jitedKsyms.push(ksyms.readBigUInt64LE(i * 8));
    out.jitedFuncLens = [];
    for (let i = 0; i < nFuncLens; i++) out.jitedFuncLens.push(funcLens.readUInt32LE(i * 4));
  }
  return out;
}

export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  netnsDev: bigint;
  netnsIno: bigint;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  mapExtra: bigint;
}

/** Map info (type, sizes, name, BTF ids). */
export function mapInfo(fd: number): MapInfo {
  const b = Buffer.alloc(128);
  objGetInfoByFd(fd, b);
  return {
    type: b.readUInt32LE(0),
    id: b.readUInt32LE(4),
    keySize: b.readUInt32LE(8),
    valueSize: b.readUInt32LE(12),
    maxEntries: b.readUInt32LE(16),
    flags: b.readUInt32LE(20),
    name: cString(b, 24, 16),
    ifindex: b.readUInt32LE(40),
    btfVmlinuxValueTypeId: b.readUInt32LE(44),
    netnsDev: b.readBigUInt64LE(48),
    netnsIno: b.readBigUInt64LE(56),
    btfId: b.readUInt32LE(64),
    btfKeyTypeId: b.readUInt32LE(68),
    btfValueTypeId: b.readUInt32LE(72),
    mapExtra: b.readBigUInt64LE(80),
  };
}

/** bpf_link_info.perf_event.type (kernel 6.6+). */
export const PerfEventLinkKind = { UNSPEC: 0, UPROBE: 1, URETPROBE: 2, KPROBE: 3, KRETPROBE: 4, TRACEPOINT: 5, EVENT: 6 } as const;

export interface LinkInfo {
  type: number;
  id: number;
  progId: number;
  /** Raw tracepoint links: the tracepoint name. */
  tpName?: string;
  /** Tracing links (fentry/fexit/tp_btf). */
  tracing?: { attachType: number; targetObjId: number; targetBtfId: number };
  /** Perf-event links on kernels that describe them (6.6+): the kind, and the file/function/tracepoint name. */
  perfEvent?: { kind: number; name?: string; offset?: number; addr?: bigint; cookie?: bigint };
  /** The whole info struct as the kernel wrote it, for fields not decoded here. */
  raw: Buffer;
}

const LINK_INFO_SIZE = 96;

/** Link info; names of raw tracepoints and perf-event links are fetched in a second pass. */
export function linkInfo(fd: number): LinkInfo {
  const b = Buffer.alloc(LINK_INFO_SIZE);
  objGetInfoByFd(fd, b);
  const type = b.readUInt32LE(0);
  const out: LinkInfo = { type, id: b.readUInt32LE(4), progId: b.readUInt32LE(8), raw: b };
  if (type === LinkType.RAW_TRACEPOINT) {
    const len = b.readUInt32LE(24);
    if (len > 0) {
      const name = Buffer.alloc(len + 1);
      const c = Buffer.alloc(LINK_INFO_SIZE);
      c.writeUInt32LE(name.length, 24);
      objGetInfoByFd(fd, c, [[c, 16, name]]);
      out.tpName = cString(name, 0, name.length);
      out.raw = c;
    }
  } else if (type === LinkType.TRACING) {
    out.tracing = { attachType: b.readUInt32LE(16), targetObjId: b.readUInt32LE(20), targetBtfId: b.readUInt32LE(24) };
  } else if (type === LinkType.PERF_EVENT) {
    const kind = b.readUInt32LE(16);
    // Layout of the per-kind union at 24: [name ptr u64][name_len u32][offset u32][...].
    const nameLen = b.readUInt32LE(32);
    const pe: NonNullable<LinkInfo['perfEvent']> = { kind };
    if (nameLen > 0 && kind !== PerfEventLinkKind.EVENT) {
      const name = Buffer.alloc(nameLen + 1);
      const c = Buffer.alloc(LINK_INFO_SIZE);
      c.writeUInt32LE(name.length, 32);
      try {
        objGetInfoByFd(fd, c, [[c, 24, name]]);
        pe.name = cString(name, 0, name.length);
        out.raw = c;
      } catch { /* name is optional: kernels may refuse it (e.g. unprivileged) */ }
    }
    const r = out.raw;
    if (kind === PerfEventLinkKind.UPROBE || kind === PerfEventLinkKind.URETPROBE) {
      pe.offset = r.readUInt32LE(36);
      pe.cookie = r.readBigUInt64LE(40);
    } else if (kind === PerfEventLinkKind.KPROBE || kind === PerfEventLinkKind.KRETPROBE) {
      pe.offset = r.readUInt32LE(36);
      pe.addr = r.readBigUInt64LE(40);
    }
    out.perfEvent = pe;
  }
  return out;
}

export interface BtfInfo {
  id: number;
  btfSize: number;
  name: string;
  kernelBtf: boolean;
  /** The raw BTF blob, when requested. */
  data?: Buffer;
}

/** BTF object info; `withData` also fetches the blob. */
export function btfInfo(fd: number, withData = false): BtfInfo {
  const b = Buffer.alloc(32);
  objGetInfoByFd(fd, b);
  const size = b.readUInt32LE(8);
  const nameLen = b.readUInt32LE(24);
  const c = Buffer.alloc(32);
  const name = Buffer.alloc(Math.max(nameLen + 1, 64));
  const data = withData ? Buffer.alloc(size) : undefined;
  c.writeUInt32LE(name.length, 24);
  const patches: PointerPatch[] = [[c, 16, name]];
  if (data) { c.writeUInt32LE(size, 8); patches.push([c, 0, data]); }
  objGetInfoByFd(fd, c, patches);
  return {
    id: c.readUInt32LE(12),
    btfSize: size,
    name: cString(name, 0, name.length),
    kernelBtf: c.readUInt32LE(28) !== 0,
    data,
  };
}

// ---------------------------------------------------------------------------
// Attachment commands

/** BPF_RAW_TRACEPOINT_OPEN: name null for tp_btf/fentry/fexit programs (their target is in the program). */
export function rawTracepointOpen(name: string | null, progFd: number): number {
  const a = attr();
  a.writeUInt32LE(progFd, 8);
  const patches: PointerPatch[] = [];
  let n: Buffer | undefined;
  if (name !== null) {
    n = cstr(name);
    patches.push([a, 0, n]);
  }
  return bpfCall(Cmd.RAW_TRACEPOINT_OPEN, a, patches, name ?? undefined);
}

export interface LinkCreateOptions {
  progFd: number;
  /** perf event fd, cgroup fd, ...; 0 for tracing programs. */
  targetFd: number;
  attachType: number;
  flags?: number;
  targetBtfId?: number;
  /** BPF_PERF_EVENT: value returned by bpf_get_attach_cookie(). */
  perfEventCookie?: bigint;
  /** Tracing links (fentry/fexit, 6.10+): cookie. */
  tracingCookie?: bigint;
}

/** BPF_LINK_CREATE → link fd. */
export function linkCreate(o: LinkCreateOptions): number {
  const a = attr();
  a.writeUInt32LE(o.progFd, 0);
  a.writeUInt32LE(o.targetFd, 4);
  a.writeUInt32LE(o.attachType, 8);
  a.writeUInt32LE(o.flags ?? 0, 12);
  if (o.perfEventCookie !== undefined) a.writeBigUInt64LE(o.perfEventCookie, 16);
  else if (o.targetBtfId !== undefined) a.writeUInt32LE(o.targetBtfId, 16);
  if (o.tracingCookie !== undefined) a.writeBigUInt64LE(o.tracingCookie, 24);
  return bpfCall(Cmd.LINK_CREATE, a);
}

function u64Array(vals: readonly bigint[]): Buffer {
  const b = Buffer.alloc(vals.length * 8);
  vals.forEach((v, i) => b.writeBigUInt64LE(v, i * 8));
  return b;
}

export interface KprobeMultiOptions {
  progFd: number;
  /** Function names; or addrs. */
  syms?: readonly string[];
  addrs?: readonly bigint[];
  cookies?: readonly bigint[];
  retprobe?: boolean;
}

/** BPF_LINK_CREATE with BPF_TRACE_KPROBE_MULTI (kernel 5.18+ with kprobes). */
export function linkCreateKprobeMulti(o: KprobeMultiOptions): number {
  const a = attr();
  const patches: PointerPatch[] = [];
  const cnt = o.syms?.length ?? o.addrs?.length ?? 0;
  a.writeUInt32LE(o.progFd, 0);
  a.writeUInt32LE(AttachType.TRACE_KPROBE_MULTI, 8);
  a.writeUInt32LE(o.retprobe ? 1 : 0, 16);
  a.writeUInt32LE(cnt, 20);
  if (o.syms) {
    // An array of char* — each slot patched to its own string.
    const ptrs = Buffer.alloc(cnt * 8);
    o.syms.forEach((s, i) => patches.push([ptrs, i * 8, cstr(s)]));
    patches.push([a, 24, ptrs]);
  } else if (o.addrs) {
    patches.push([a, 32, u64Array(o.addrs)]);
  }
  if (o.cookies) patches.push([a, 40, u64Array(o.cookies)]);
  return bpfCall(Cmd.LINK_CREATE, a, patches, 'kprobe_multi');
}

export interface UprobeMultiOptions {
  progFd: number;
  path: string;
  offsets: readonly bigint[];
  refCtrOffsets?: readonly bigint[];
  cookies?: readonly bigint[];
  pid?: number;
  retprobe?: boolean;
}

/** BPF_LINK_CREATE with BPF_TRACE_UPROBE_MULTI (kernel 6.6+). */
export function linkCreateUprobeMulti(o: UprobeMultiOptions): number {
  const a = attr();
  const path = cstr(o.path);
  const patches: PointerPatch[] = [[a, 16, path], [a, 24, u64Array(o.offsets)]];
  a.writeUInt32LE(o.progFd, 0);
  a.writeUInt32LE(AttachType.TRACE_UPROBE_MULTI, 8);
  if (o.refCtrOffsets) patches.push([a, 32, u64Array(o.refCtrOffsets)]);
  if (o.cookies) patches.push([a, 40, u64Array(o.cookies)]);
  a.writeUInt32LE(o.offsets.length, 48);
  a.writeUInt32LE(o.retprobe ? 1 : 0, 52);
  a.writeUInt32LE(o.pid ?? 0, 56);
  return bpfCall(Cmd.LINK_CREATE, a, patches, `uprobe_multi ${o.path}`);
}

export interface TaskFdQueryResult {
  progId: number;
  fdType: number;
  /** Tracepoint name, kprobe symbol or uprobe file name. */
  name: string;
  probeOffset: bigint;
  probeAddr: bigint;
}

/** BPF_TASK_FD_QUERY: what BPF program is attached through fd `fd` of process `pid`. */
export function taskFdQuery(pid: number, fd: number): TaskFdQueryResult {
  const a = attr();
  const buf = Buffer.alloc(4096);
  a.writeUInt32LE(pid, 0);
  a.writeUInt32LE(fd, 4);
  a.writeUInt32LE(buf.length, 12);
  bpfCall(Cmd.TASK_FD_QUERY, a, [[a, 16, buf]], `pid ${pid} fd ${fd}`);
  return {
    progId: a.readUInt32LE(24),
    fdType: a.readUInt32LE(28),
    name: cString(buf, 0, Math.min(buf.length, a.readUInt32LE(12) + 1)),
    probeOffset: a.readBigUInt64LE(32),
    probeAddr: a.readBigUInt64LE(40),
  };
}

/** BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): run-time statistics stay on while the returned fd is open. */
export function enableStats(type = 0): number {
  const a = attr();
  a.writeUInt32LE(type, 0);
  return bpfCall(Cmd.ENABLE_STATS, a);
}

/** BPF_BTF_LOAD → BTF fd; on failure throws ProgLoadError carrying the kernel's BTF log. */
export function btfLoad(data: Uint8Array): number {
  const load = (log: Buffer | null): number => {
    const a = attr();
    const patches: PointerPatch[] = [[a, 0, data]];
    a.writeUInt32LE(data.byteLength, 16);
    if (log) {
      patches.push([a, 8, log]);
      a.writeUInt32LE(log.length, 20);
      a.writeUInt32LE(1, 24);
    }
    return bpfRaw(Cmd.BTF_LOAD, a, patches);
  };
  const r = load(null);
  if (r >= 0) return r;
  const log = Buffer.alloc(LOG_MIN * 4);
  const r2 = load(log);
  if (r2 >= 0) return r2;
  throw new ProgLoadError('bpf(BPF_BTF_LOAD)', -r2, readLog(log), r2 === -ENOSPC);
}

/** Closes a kernel object fd; errors (already closed) are ignored because close is cleanup. */
export function closeFd(fd: number): void {
  if (fd >= 0) native().close(fd);
}
