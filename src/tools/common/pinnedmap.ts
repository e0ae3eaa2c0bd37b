/**
 * bcc's --cgroupmap / --mntnsmap: a BPF hash map pinned in bpffs whose keys
 * (u64 cgroup ids, or u64 mount namespace inode numbers) say which processes
 * to trace. Whoever pinned the map may add and remove keys while the tool runs.
 *
 * bcc tests the key in the kernel; here each event carries the id and the map
 * is looked up (one bpf syscall) when the event is handled, so changes to the
 * map are seen from the next event on, as in bcc, and the filtered events
 * still cross the ring buffer.
 */
import { MapType, mapInfo, mapLookupElem, objGet } from '../../sys/bpf';
import { ToolError } from '../tool';
import type { OptSpec } from './args';

/** Expression of the current task's mount namespace inode number (bcc's mntnsmap key). */
export const MNTNS_EXPR = 'curtask->nsproxy->mnt_ns->ns.inum';

export const CGROUPMAP_OPTION: OptSpec = {
  long: 'cgroupmap', dest: 'cgroupmap', kind: 'string', metavar: 'CGROUPMAP',
  help: 'trace cgroups in this BPF map only (pinned hash map, u64 cgroup id keys)',
};
export const MNTNSMAP_OPTION: OptSpec = {
  long: 'mntnsmap', dest: 'mntnsmap', kind: 'string', metavar: 'MNTNSMAP',
  help: 'trace mount namespaces in this BPF map only (pinned hash map, u64 mnt ns inode keys)',
};

/** Opens a pinned map and returns a membership test for a u64 key. */
export function pinnedKeySet(path: string, flag: string): (id: bigint) => boolean {
  let fd: number;
  try {
    fd = objGet(path, 1 << 3 /* BPF_F_RDONLY: the tool only looks keys up */);
  } catch (e) {
    throw new ToolError(`${flag}: cannot open pinned BPF map ${path}: ${(e as Error).message}`);
  }
  let info;
  try {
    info = mapInfo(fd);
  } catch {
    throw new ToolError(`${flag}: ${path} is not a BPF map`);
  }
  const hashes: number[] = [MapType.HASH, MapType.LRU_HASH];
  if (!hashes.includes(info.type) || info.keySize !== 8) {
    throw new ToolError(`${flag}: ${path} must be a hash map with 8-byte keys (it is type ${info.type}, key size ${info.keySize})`);
  }
  const key = new BigUint64Array(1);
  const keyBytes = new Uint8Array(key.buffer);
  const value = new Uint8Array(Math.max(info.valueSize, 1));
  return (id) => {
    key[0] = id;
    return mapLookupElem(fd, keyBytes, value);
  };
}

/** The flags' values as the tools keep them. */
export interface PinnedMapFlags {
  cgroupMap?: string;
  mntnsMap?: string;
}

/** The two flags from parsed arguments. */
export function pinnedMapFlags(a: { str(dest: string): string | undefined }): PinnedMapFlags {
  return { cgroupMap: a.str('cgroupmap'), mntnsMap: a.str('mntnsmap') };
}

/** True when --cgroupmap or --mntnsmap was given: the tool's events must then carry both ids. */
export function wantsIds(o: PinnedMapFlags): boolean {
  return o.cgroupMap !== undefined || o.mntnsMap !== undefined;
}

/**
 * The test both flags make of an event's cgroup id and mount namespace inode
 * (undefined when neither flag is given). Opens the maps now: a bad path is
 * refused before tracing starts.
 */
export function idFilter(o: PinnedMapFlags): ((cgroup: bigint, mntns: bigint) => boolean) | undefined {
  if (!wantsIds(o)) return undefined;
  const inCgroups = o.cgroupMap !== undefined ? pinnedKeySet(o.cgroupMap, '--cgroupmap') : undefined;
  const inMntns = o.mntnsMap !== undefined ? pinnedKeySet(o.mntnsMap, '--mntnsmap') : undefined;
  return (cg, ns) => (!inCgroups || inCgroups(cg)) && (!inMntns || inMntns(ns));
}
