/**
 * `map list` / `map dump`: every BPF map with the fields and text layout of
 * `bpftool map show`, and element dumps as `bpftool map dump` prints them
 * without BTF (hex bytes, per-CPU values one line per CPU).
 */
import * as fs from 'node:fs';
import { MAP_TYPE, MAP_TYPE_NAMES, closeFd, mapFdById, mapIds, mapInfo, mapLookup, mapNextKey, type MapInfo } from './bpfinfo';
import { bpfObjectRefs, fdinfo, type ObjRef } from './procfs';
import type { JsonValue } from './json';
import { PROG_TYPE_NAMES } from './bpfinfo';

export interface MapEntry extends MapInfo {
  memlock?: number;
  frozen: boolean;
  /** For prog_array maps: the program type and JIT state the array is bound to. */
  ownerProgType?: number;
  ownerJited?: boolean;
  pids: ObjRef[];
}

/** Thrown when a requested map id does not exist. */
export class NoSuchMapError extends Error {
  constructor(readonly id: number) {
    super(`there is no BPF map with id ${id}`);
    this.name = 'NoSuchMapError';
  }
}

export function mapTypeName(type: number): string | undefined {
  return MAP_TYPE_NAMES[type];
}

/** Reads the maps with the given ids (all maps when omitted). */
export function listMaps(ids?: number[]): MapEntry[] {
  const refs = bpfObjectRefs().maps;
  const out: MapEntry[] = [];
  for (const id of ids ?? mapIds()) {
    const fd = mapFdById(id);
    if (fd === undefined) {
      if (ids) throw new NoSuchMapError(id);
      continue;
    }
    try {
      const info = mapInfo(fd);
      const fi = fdinfo('self', fd);
      const ml = fi.get('memlock');
      const opt = fi.get('owner_prog_type');
      const oj = fi.get('owner_jited');
      out.push({
        ...info,
        memlock: ml === undefined ? undefined : Number(ml),
        frozen: Number(fi.get('frozen') ?? 0) !== 0,
        ownerProgType: info.type === MAP_TYPE.PROG_ARRAY && opt !== undefined ? Number(opt) : undefined,
        ownerJited: info.type === MAP_TYPE.PROG_ARRAY && oj !== undefined ? Number(oj) !== 0 : undefined,
        pids: refs.get(id) ?? [],
      });
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

function header(m: MapInfo): string {
  const t = mapTypeName(m.type);
  let s = `${m.id}: ${t ? `${t}  ` : `type ${m.type}  `}`;
  if (m.name) s += `name ${m.name}  `;
  s += `flags 0x${m.flags.toString(16)}`;
  if (m.ifindex) s += `  offloaded_to ifindex ${m.ifindex}`;
  return s + '\n';
}

/** The `bpftool map show` text block for one map (ends with a newline). */
export function formatMapPlain(m: MapEntry): string {
  let s = header(m);
  s += `\tkey ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}`;
  if (m.memlock !== undefined) s += `  memlock ${m.memlock}B`;
  if (m.ownerProgType !== undefined || m.ownerJited !== undefined) {
    s += '\n\t';
    if (m.ownerProgType !== undefined) s += `owner_prog_type ${PROG_TYPE_NAMES[m.ownerProgType] ?? m.ownerProgType}  `;
    if (m.ownerJited !== undefined) s += `owner${m.ownerJited ? '' : ' not'} jited`;
  }
  if (m.btfId || m.frozen) s += '\n\t';
  if (m.btfId) s += `btf_id ${m.btfId}`;
  if (m.frozen) s += `${m.btfId ? '  ' : ''}frozen`;
  if (m.pids.length) s += `\n\tpids ${m.pids.map((r) => `${r.comm}(${r.pid})`).join(', ')}`;
  return s + '\n';
}

/** The `bpftool -j map show` object for one map. */
export function mapJson(m: MapEntry): JsonValue {
  return {
    id: m.id,
    type: mapTypeName(m.type) ?? m.type,
    name: m.name || undefined,
    flags: m.flags,
    dev: m.ifindex ? { ifindex: m.ifindex } : undefined,
    bytes_key: m.keySize,
    bytes_value: m.valueSize,
    max_entries: m.maxEntries,
    bytes_memlock: m.memlock,
    owner_prog_type: m.ownerProgType === undefined ? undefined : (PROG_TYPE_NAMES[m.ownerProgType] ?? m.ownerProgType),
    owner_jited: m.ownerJited,
    frozen: m.frozen ? 1 : 0,
    btf_id: m.btfId || undefined,
    pids: m.pids.length ? m.pids.map((r) => ({ pid: r.pid, comm: r.comm })) : undefined,
  };
}

/** Number of possible CPUs (per-CPU map values hold one slot per possible CPU). */
export function possibleCpus(): number {
  const text = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  let max = -1;
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    max = Math.max(max, b ?? a);
  }
  return max + 1;
}

export function isPerCpu(type: number): boolean {
  return type === MAP_TYPE.PERCPU_HASH || type === MAP_TYPE.PERCPU_ARRAY ||
    type === MAP_TYPE.LRU_PERCPU_HASH || type === MAP_TYPE.PERCPU_CGROUP_STORAGE;
}

/** One dumped element: key bytes and either a value, per-CPU values or the lookup errno. */
export interface MapElement {
  key: Buffer;
  value?: Buffer;
  perCpu?: Buffer[];
  errno?: number;
}

/** Thrown when a map's values cannot be read from user space at all. */
export class UnreadableMapError extends Error {
  constructor(readonly map: MapInfo) {
    super(`map ${map.id} (${mapTypeName(map.type) ?? `type ${map.type}`}) has no user-space readable elements`);
    this.name = 'UnreadableMapError';
  }
}

/** Walks every element of map `id` (keys in the kernel's iteration order). */
export function dumpMap(id: number): { info: MapInfo; elements: MapElement[] } {
  const fd = mapFdById(id);
  if (fd === undefined) throw new NoSuchMapError(id);
  try {
    const info = mapInfo(fd);
    const perCpu = isPerCpu(info.type);
    const ncpu = perCpu ? possibleCpus() : 1;
    const step = perCpu ? Math.ceil(info.valueSize / 8) * 8 : info.valueSize;
    const elements: MapElement[] = [];
    let prev: Buffer | undefined;
    // Bounded so a map whose keys keep changing under us cannot loop forever.
    for (let n = 0; n <= info.maxEntries + 1; n++) {
      const key = mapNextKey(fd, info.keySize, prev);
      if (!key) break;
      const v = mapLookup(fd, key, Math.max(step * ncpu, 1));
      if (typeof v === 'number') {
        const mapOfX = info.type === MAP_TYPE.PROG_ARRAY || info.type === MAP_TYPE.ARRAY_OF_MAPS || info.type === MAP_TYPE.HASH_OF_MAPS;
        if (!(mapOfX && v === 2)) elements.push({ key, errno: v });
      } else if (perCpu) {
        const vals: Buffer[] = [];
        for (let c = 0; c < ncpu; c++) vals.push(v.subarray(c * step, c * step + info.valueSize));
        elements.push({ key, perCpu: vals });
      } else {
        elements.push({ key, value: v.subarray(0, info.valueSize) });
      }
      prev = key;
    }
    return { info, elements };
  } finally {
    closeFd(fd);
  }
}

/** bpftool's hex layout: bytes separated by spaces, an extra space every 8, a newline every 16. */
export function hexBytes(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    if (i) s += i % 16 === 0 ? '\n' : i % 8 === 0 ? '  ' : ' ';
    s += b[i].toString(16).padStart(2, '0');
  }
  return s;
}

const errnoText: Record<number, string> = { 1: 'Operation not permitted', 2: '<no entry>', 13: 'Permission denied', 22: 'Invalid argument', 95: 'Operation not supported', 524: 'Unknown error 524' };

/** `bpftool map dump` text for the elements of one map, ending with "Found N elements". */
export function formatDumpPlain(info: MapInfo, elements: MapElement[]): string {
  let s = '';
  let found = 0;
  for (const e of elements) {
    if (e.errno !== undefined) {
      const msg = errnoText[e.errno] ?? `errno ${e.errno}`;
      const brk = info.keySize > 16 || msg.length > 16;
      const single = info.keySize + msg.length <= 24 && !brk;
      s += `key:${brk ? '\n' : ' '}${hexBytes(e.key)}${single ? '  ' : '\n'}value:${brk ? '\n' : ' '}${msg}\n`;
      continue;
    }
    found++;
    if (e.perCpu) {
      if (info.keySize) s += `key:\n${hexBytes(e.key)}\n`;
      if (info.valueSize) {
        e.perCpu.forEach((v, c) => {
          s += `value (CPU ${String(c).padStart(2, '0')}):${info.valueSize > 16 ? '\n' : ' '}${hexBytes(v)}\n`;
        });
      }
    } else {
      const brk = info.keySize > 16 || info.valueSize > 16;
      const single = info.keySize + info.valueSize <= 24 && !brk;
      if (info.keySize) s += `key:${brk ? '\n' : ' '}${hexBytes(e.key)}${single ? '  ' : '\n'}`;
      if (info.valueSize && e.value) s += `value:${brk ? '\n' : ' '}${hexBytes(e.value)}`;
      s += '\n';
    }
  }
  return s + `Found ${found} element${found !== 1 ? 's' : ''}\n`;
}

const hexJson = (b: Uint8Array): JsonValue => Array.from(b, (x) => `0x${x.toString(16).padStart(2, '0')}`);

/** `bpftool -j map dump` array for the elements of one map. */
export function dumpJson(elements: MapElement[]): JsonValue {
  return elements.map((e): JsonValue => {
    if (e.errno !== undefined) return { key: hexJson(e.key), value: { error: e.errno === 2 ? 'No such file or directory' : (errnoText[e.errno] ?? `errno ${e.errno}`) } };
    if (e.perCpu) return { key: hexJson(e.key), values: e.perCpu.map((v, cpu) => ({ cpu, value: hexJson(v) })) };
    return { key: hexJson(e.key), value: hexJson(e.value ?? Buffer.alloc(0)) };
  });
}
