/**
 * The bpf(2) queries introspection needs, in the shapes the listings print:
 * walking object ids, opening objects by id, info structs, other tasks'
 * perf-event fds, map elements, run-time statistics. A thin adapter over
 * src/sys/bpf.ts; an object that vanishes between listing and opening reads
 * as undefined rather than an error.
 */
import * as bpf from '../sys/bpf';
import { SyscallError } from '../sys/errno';
import { BPF_PROG_INFO, BPF_PROG_INFO_SIZE } from '../sys/abi';

const ENOENT = 2;

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

/** Ids of every loaded program, ascending. */
export function progIds(): number[] {
  return bpf.listIds('prog');
}

/** Ids of every map, ascending. */
export function mapIds(): number[] {
  return bpf.listIds('map');
}

function absentAsUndefined<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ENOENT) return undefined;
    throw e;
  }
}

export function progFdById(id: number): number | undefined {
  return absentAsUndefined(() => bpf.progGetFdById(id));
}

export function mapFdById(id: number): number | undefined {
  return absentAsUndefined(() => bpf.mapGetFdById(id));
}

/** Reads bpf_prog_info, including the map id list. */
export function progInfo(fd: number): ProgInfo {
  const i = bpf.progInfo(fd);
  return {
    type: i.type, id: i.id, tag: i.tag, jitedLen: i.jitedProgLen, xlatedLen: i.xlatedProgLen, loadTime: i.loadTime,
    uid: i.createdByUid, mapIds: i.mapIds, name: i.name, ifindex: i.ifindex, btfId: i.btfId, gpl: i.gplCompatible,
    runTimeNs: i.runTimeNs, runCnt: i.runCnt, recursionMisses: i.recursionMisses, verifiedInsns: i.verifiedInsns,
  };
}

/** The translated (post-verifier) instructions of a program, 8 bytes each. */
export function progXlatedInsns(fd: number): Buffer {
  return bpf.progInfo(fd, { xlated: true }).xlatedInsns ?? Buffer.alloc(0);
}

/** Reads bpf_map_info. */
export function mapInfo(fd: number): MapInfo {
  const i = bpf.mapInfo(fd);
  return {
    type: i.type, id: i.id, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags,
    name: i.name, ifindex: i.ifindex, btfVmlinuxValueTypeId: i.btfVmlinuxValueTypeId, btfId: i.btfId,
    btfKeyTypeId: i.btfKeyTypeId, btfValueTypeId: i.btfValueTypeId,
  };
}

/**
 * Asks the kernel what BPF program is attached through fd `fd` of process
 * `pid`. Undefined when that fd is not a perf event / raw tracepoint with a
 * program (the common case while walking /proc).
 */
export function taskFdQuery(pid: number, fd: number): TaskFdInfo | undefined {
  try {
    return bpf.taskFdQuery(pid, fd);
  } catch (e) {
    if (e instanceof SyscallError) return undefined;
    throw e;
  }
}

/** The key after `prev` (the first key when prev is undefined); undefined at the end. */
export function mapNextKey(fd: number, keySize: number, prev: Buffer | undefined): Buffer | undefined {
  const next = Buffer.alloc(keySize);
  return bpf.mapGetNextKey(fd, prev ?? null, next) ? next : undefined;
}

/** Looks a key up; returns the value bytes, or the errno (positive) when the lookup fails. */
export function mapLookup(fd: number, key: Buffer, valueBytes: number): Buffer | number {
  const value = Buffer.alloc(valueBytes);
  try {
    return bpf.mapLookupElem(fd, key, value) ? value : ENOENT;
  } catch (e) {
    if (e instanceof SyscallError) return e.errno;
    throw e;
  }
}

/**
 * Turns on run_time_ns/run_cnt accounting for every program while the
 * returned fd stays open (BPF_STATS_RUN_TIME). Close it to turn them off.
 */
export function enableRunTimeStats(): number {
  return bpf.enableStats(0);
}

/** Closes an fd obtained from this module. */
export function closeFd(fd: number): void {
  bpf.closeFd(fd);
}

/**
 * The BTF type id of the program's first function (func_info[0]), or 0 when
 * the program has no BTF function info. Its name is the untruncated program
 * name (the info struct's name is cut at 15 characters).
 */
export function progMainFuncTypeId(fd: number): number {
  const I = BPF_PROG_INFO;
  const first = Buffer.alloc(BPF_PROG_INFO_SIZE);
  bpf.objGetInfoByFd(fd, first);
  const nr = first.readUInt32LE(I.nr_func_info);
  const rec = first.readUInt32LE(I.func_info_rec_size);
  if (!nr || !first.readUInt32LE(I.btf_id) || rec < 8) return 0;
  const recs = Buffer.alloc(8);
  const info = Buffer.alloc(BPF_PROG_INFO_SIZE);
  info.writeUInt32LE(8, I.func_info_rec_size); // only insn_off and type_id of one record
  info.writeUInt32LE(1, I.nr_func_info);
  bpf.objGetInfoByFd(fd, info, [[info, I.func_info, recs]]);
  return recs.readUInt32LE(4);
}
