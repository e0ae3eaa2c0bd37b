/**
 * Raw bpf(2) queries that introspection needs: walking object ids, opening
 * objects by id, reading their info structs, querying perf-event fds of other
 * tasks, reading map elements and enabling run-time statistics.
 *
 * Layouts follow include/uapi/linux/bpf.h (bpf_attr, bpf_prog_info,
 * bpf_map_info); only the fields we print are decoded.
 */
import { native } from '../sys/native';
import { SyscallError } from '../sys/errno';

const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_GET_NEXT_KEY = 4;
const BPF_PROG_GET_NEXT_ID = 11;
const BPF_MAP_GET_NEXT_ID = 12;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_MAP_GET_FD_BY_ID = 14;
const BPF_OBJ_GET_INFO_BY_FD = 15;
const BPF_TASK_FD_QUERY = 20;
const BPF_ENABLE_STATS = 32;

const ENOENT = 2;

/** bpf_attr is 120+ bytes on current kernels; the kernel only requires the tail it does not know to be zero. */
const ATTR_SIZE = 128;

/** Program type names as libbpf/bpftool print them (index = BPF_PROG_TYPE_*). */
export const PROG_TYPE_NAMES: readonly string[] = [
  'unspec', 'socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event',
  'cgroup_skb', 'cgroup_sock', 'lwt_in', 'lwt_out', 'lwt_xmit', 'sock_ops', 'sk_skb', 'cgroup_device',
  'sk_msg', 'raw_tracepoint', 'cgroup_sock_addr', 'lwt_seg6local', 'lirc_mode2', 'sk_reuseport',
  'flow_dissector', 'cgroup_sysctl', 'raw_tracepoint_writable', 'cgroup_sockopt', 'tracing', 'struct_ops',
  'ext', 'lsm', 'sk_lookup', 'syscall', 'netfilter',
];

/** Map type names as libbpf/bpftool print them (index = BPF_MAP_TYPE_*). */
export const MAP_TYPE_NAMES: readonly string[] = [
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array', 'stack_trace',
  'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps', 'hash_of_maps', 'devmap',
  'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage', 'reuseport_sockarray', 'percpu_cgroup_storage',
  'queue', 'stack', 'sk_storage', 'devmap_hash', 'struct_ops', 'ringbuf', 'inode_storage', 'task_storage',
  'bloom_filter', 'user_ringbuf', 'cgrp_storage', 'arena',
];

/** BPF_FD_TYPE_* names as bpftool prints them. */
export const FD_TYPE_NAMES: readonly string[] = ['raw_tracepoint', 'tracepoint', 'kprobe', 'kretprobe', 'uprobe', 'uretprobe'];

export const MAP_TYPE = {
  PROG_ARRAY: 3, PERCPU_HASH: 5, PERCPU_ARRAY: 6, LRU_PERCPU_HASH: 10, ARRAY_OF_MAPS: 12, HASH_OF_MAPS: 13,
  PERCPU_CGROUP_STORAGE: 21, REUSEPORT_SOCKARRAY: 20,
} as const;

/** What BPF_OBJ_GET_INFO_BY_FD reports for a program. */
export interface ProgInfo {
  type: number;
  id: number;
  /** 8-byte tag as 16 hex digits. */
  tag: string;
  jitedLen: number;
  xlatedLen: number;
  /** Nanoseconds since boot (CLOCK_BOOTTIME). */
  loadTime: bigint;
  uid: number;
  mapIds: number[];
  name: string;
  ifindex: number;
  btfId: number;
  gpl: boolean;
  runTimeNs: bigint;
  runCnt: bigint;
  recursionMisses: bigint;
  verifiedInsns: number;
}

/** What BPF_OBJ_GET_INFO_BY_FD reports for a map. */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
}

/** What BPF_TASK_FD_QUERY reports for a perf-event (or raw tracepoint) fd of some task. */
export interface TaskFdInfo {
  progId: number;
  fdType: number;
  /** Tracepoint name, kprobe function or uprobe path; '' when the kernel gave an address. */
  name: string;
  probeOffset: bigint;
  probeAddr: bigint;
}

function cstr(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + off, end - off).toString('utf8');
}

function sys(cmd: number, attr: Buffer, patches?: [Uint8Array, number, Uint8Array][]): number {
  return native().bpf(cmd, attr, patches);
}

function nextId(cmd: number, start: number): number | undefined {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(start, 0);
  const r = sys(cmd, attr);
  if (r === -ENOENT) return undefined;
  if (r < 0) throw new SyscallError('bpf(GET_NEXT_ID)', -r);
  return attr.readUInt32LE(4);
}

/** Ids of every loaded program, ascending. */
export function progIds(): number[] {
  const out: number[] = [];
  for (let id = nextId(BPF_PROG_GET_NEXT_ID, 0); id !== undefined; id = nextId(BPF_PROG_GET_NEXT_ID, id)) out.push(id);
  return out;
}

/** Ids of every map, ascending. */
export function mapIds(): number[] {
  const out: number[] = [];
  for (let id = nextId(BPF_MAP_GET_NEXT_ID, 0); id !== undefined; id = nextId(BPF_MAP_GET_NEXT_ID, id)) out.push(id);
  return out;
}

/** Opens a program by id; undefined when it went away meanwhile (ENOENT). */
export function progFdById(id: number): number | undefined {
  return fdById(BPF_PROG_GET_FD_BY_ID, id, 'program');
}

/** Opens a map by id; undefined when it went away meanwhile (ENOENT). */
export function mapFdById(id: number): number | undefined {
  return fdById(BPF_MAP_GET_FD_BY_ID, id, 'map');
}

function fdById(cmd: number, id: number, what: string): number | undefined {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(id, 0);
  const r = sys(cmd, attr);
  if (r === -ENOENT) return undefined;
  if (r < 0) throw new SyscallError(`bpf(GET_FD_BY_ID)`, -r, `${what} ${id}`);
  return r;
}

function objInfo(fd: number, info: Buffer, patches: [Uint8Array, number, Uint8Array][] = []): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(fd, 0);
  attr.writeUInt32LE(info.length, 4);
  const r = sys(BPF_OBJ_GET_INFO_BY_FD, attr, [[attr, 8, info], ...patches]);
  if (r < 0) throw new SyscallError('bpf(OBJ_GET_INFO_BY_FD)', -r);
  return attr.readUInt32LE(4);
}

const PROG_INFO_SIZE = 232;

/** Reads bpf_prog_info, including the map id list. */
export function progInfo(fd: number): ProgInfo {
  let info = Buffer.alloc(PROG_INFO_SIZE);
  objInfo(fd, info);
  const nrMaps = info.readUInt32LE(52);
  let mapIdList: number[] = [];
  if (nrMaps) {
    // Second call with a buffer for the map ids; everything else is re-read too so it stays consistent.
    const ids = Buffer.alloc(nrMaps * 4);
    info = Buffer.alloc(PROG_INFO_SIZE);
    info.writeUInt32LE(nrMaps, 52);
    objInfo(fd, info, [[info, 56, ids]]);
    const n = Math.min(nrMaps, info.readUInt32LE(52));
    for (let i = 0; i < n; i++) mapIdList.push(ids.readUInt32LE(i * 4));
  }
  const flags = info.readUInt32LE(84); // bitfield word after ifindex: gpl_compatible is bit 0
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    tag: info.subarray(8, 16).toString('hex'),
    jitedLen: info.readUInt32LE(16),
    xlatedLen: info.readUInt32LE(20),
    loadTime: info.readBigUInt64LE(40),
    uid: info.readUInt32LE(48),
    mapIds: mapIdList,
    name: cstr(info, 64, 16),
    ifindex: info.readUInt32LE(80),
    btfId: info.readUInt32LE(128),
    gpl: (flags & 1) === 1,
    runTimeNs: info.readBigUInt64LE(192),
    runCnt: info.readBigUInt64LE(200),
    recursionMisses: info.readBigUInt64LE(208),
    verifiedInsns: info.readUInt32LE(216),
  };
}

/** The translated (post-verifier) instructions of a program, 8 bytes each. */
export function progXlatedInsns(fd: number): Buffer {
  const first = Buffer.alloc(PROG_INFO_SIZE);
  objInfo(fd, first);
  const len = first.readUInt32LE(20);
  const insns = Buffer.alloc(len);
  if (!len) return insns;
  const info = Buffer.alloc(PROG_INFO_SIZE);
  info.writeUInt32LE(len, 20);
  objInfo(fd, info, [[info, 32, insns]]);
  return insns.subarray(0, Math.min(len, info.readUInt32LE(20)));
}

const MAP_INFO_SIZE = 88;

/** Reads bpf_map_info. */
export function mapInfo(fd: number): MapInfo {
  const info = Buffer.alloc(MAP_INFO_SIZE);
  objInfo(fd, info);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    flags: info.readUInt32LE(20),
    name: cstr(info, 24, 16),
    ifindex: info.readUInt32LE(40),
    btfVmlinuxValueTypeId: info.readUInt32LE(44),
    btfId: info.readUInt32LE(64),
    btfKeyTypeId: info.readUInt32LE(68),
    btfValueTypeId: info.readUInt32LE(72),
  };
}

/**
 * Asks the kernel what BPF program is attached through fd `fd` of process
 * `pid`. Undefined when that fd is not a perf event / raw tracepoint with a
 * program (the common case while walking /proc).
 */
export function taskFdQuery(pid: number, fd: number): TaskFdInfo | undefined {
  const attr = Buffer.alloc(ATTR_SIZE);
  const buf = Buffer.alloc(4096);
  attr.writeUInt32LE(pid, 0);
  attr.writeUInt32LE(fd, 4);
  attr.writeUInt32LE(buf.length, 12);
  const r = sys(BPF_TASK_FD_QUERY, attr, [[attr, 16, buf]]);
  if (r < 0) return undefined;
  const got = attr.readUInt32LE(12);
  return {
    progId: attr.readUInt32LE(24),
    fdType: attr.readUInt32LE(28),
    name: cstr(buf, 0, Math.min(got + 1, buf.length)),
    probeOffset: attr.readBigUInt64LE(32),
    probeAddr: attr.readBigUInt64LE(40),
  };
}

/** The key after `prev` (the first key when prev is undefined); undefined at the end. */
export function mapNextKey(fd: number, keySize: number, prev: Buffer | undefined): Buffer | undefined {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(fd, 0);
  const next = Buffer.alloc(keySize);
  const patches: [Uint8Array, number, Uint8Array][] = [[attr, 16, next]];
  if (prev) patches.push([attr, 8, prev]);
  const r = sys(BPF_MAP_GET_NEXT_KEY, attr, patches);
  if (r === -ENOENT) return undefined;
  if (r < 0) throw new SyscallError('bpf(MAP_GET_NEXT_KEY)', -r);
  return next;
}

/** Looks a key up; returns the value bytes, or the errno (positive) when the lookup fails. */
export function mapLookup(fd: number, key: Buffer, valueBytes: number): Buffer | number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(fd, 0);
  const value = Buffer.alloc(valueBytes);
  const r = sys(BPF_MAP_LOOKUP_ELEM, attr, [[attr, 8, key], [attr, 16, value]]);
  if (r < 0) return -r;
  return value;
}

/**
 * Turns on run_time_ns/run_cnt accounting for every program while the
 * returned fd stays open (BPF_STATS_RUN_TIME). Close it to turn them off.
 */
export function enableRunTimeStats(): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(0, 0); // BPF_STATS_RUN_TIME
  const r = sys(BPF_ENABLE_STATS, attr);
  if (r < 0) throw new SyscallError('bpf(ENABLE_STATS)', -r);
  return r;
}

/** Closes an fd obtained from this module. */
export function closeFd(fd: number): void {
  native().close(fd);
}

/**
 * The BTF type id of the program's first function (func_info[0]), or 0 when
 * the program has no BTF function info. Its name is the untruncated program
 * name (the info struct's name is cut at 15 characters).
 */
export function progMainFuncTypeId(fd: number): number {
  const first = Buffer.alloc(PROG_INFO_SIZE);
  objInfo(fd, first);
  const nr = first.readUInt32LE(144);
  const rec = first.readUInt32LE(132);
  if (!nr || !first.readUInt32LE(128) || rec < 8) return 0;
  const recs = Buffer.alloc(8);
  const info = Buffer.alloc(PROG_INFO_SIZE);
  info.writeUInt32LE(8, 132); // only insn_off and type_id of one record
  info.writeUInt32LE(1, 144);
  objInfo(fd, info, [[info, 136, recs]]);
  return recs.readUInt32LE(4);
}
