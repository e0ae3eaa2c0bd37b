/**
 * `prog list` / `prog show`: every loaded BPF program with the fields and
 * text layout of `bpftool prog show` (plain and JSON).
 */
import { native } from '../sys/native';
import { PROG_TYPE_NAMES, closeFd, progFdById, progIds, progInfo, progMainFuncTypeId, type ProgInfo } from './bpfinfo';
import { btfGetFdById, btfInfo } from '../sys/bpf';
import { Btf } from '../ebpf/btf';
import { bpfObjectRefs, fdinfo, type ObjRef } from './procfs';
import type { JsonValue } from './json';
import { UserError } from '../errors';

/** One program as listed: kernel info plus what only the fd or /proc can tell. */
export interface ProgEntry extends ProgInfo {
  /** bytes charged to memlock (from fdinfo), when the kernel reports it. */
  memlock?: number;
  /** Processes holding an fd to the program. */
  pids: ObjRef[];
}

/** Thrown when a requested program id does not exist. */
export class NoSuchProgramError extends UserError {
  constructor(readonly id: number) {
    super(`there is no BPF program with id ${id}`);
    this.name = 'NoSuchProgramError';
  }
}

/**
 * Reads the programs with the given ids (all programs when omitted). Programs
 * that unload while we walk are skipped, except when asked for by id.
 */
export function listPrograms(ids?: number[]): ProgEntry[] {
  // Taken before we open anything so our own fds do not show up as holders.
  const refs = bpfObjectRefs().progs;
  const wanted = ids ?? progIds();
  const out: ProgEntry[] = [];
  for (const id of wanted) {
    const fd = progFdById(id);
    if (fd === undefined) {
      if (ids) throw new NoSuchProgramError(id);
      continue;
    }
    try {
      const info = progInfo(fd);
      info.name = fullName(fd, info);
      const ml = fdinfo('self', fd).get('memlock');
      out.push({ ...info, memlock: ml === undefined ? undefined : Number(ml), pids: refs.get(id) ?? [] });
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

/**
 * The kernel keeps 15 characters of a program's name; like bpftool, recover
 * the whole name from the program's BTF when it was cut. Any failure keeps
 * the short name: this is cosmetics, never a reason to fail a listing.
 */
function fullName(fd: number, info: ProgInfo): string {
  if (info.name.length < 15 || !info.btfId) return info.name;
  let btfFd = -1;
  try {
    const typeId = progMainFuncTypeId(fd);
    if (!typeId) return info.name;
    btfFd = btfGetFdById(info.btfId);
    const data = btfInfo(btfFd, true).data;
    if (!data) return info.name;
    const t = Btf.parse(data).type(typeId);
    return t.kind === 'func' && t.name ? t.name : info.name;
  } catch {
    return info.name;
  } finally {
    if (btfFd >= 0) closeFd(btfFd);
  }
}

export function progTypeName(type: number): string | undefined {
  return PROG_TYPE_NAMES[type];
}

/** Wall-clock seconds since the epoch for a CLOCK_BOOTTIME timestamp in ns. */
export function bootNsToEpochSeconds(bootNs: bigint): number {
  const n = native();
  const real = n.clockNs(0);
  const boot = n.clockNs(7);
  return Number((real - boot + bootNs) / 1_000_000_000n);
}

/** strftime("%FT%T%z") in local time, as bpftool prints loaded_at. */
export function formatLocalIso(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const p = (x: number, w = 2): string => String(x).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `${sign}${p(Math.floor(a / 60))}${p(a % 60)}`;
}

/** The `bpftool prog show` text block for one program (ends with a newline). */
export function formatProgPlain(p: ProgEntry): string {
  const type = progTypeName(p.type);
  let s = `${p.id}: ${type ? `${type}  ` : `type ${p.type}  `}`;
  if (p.name) s += `name ${p.name}  `;
  s += `tag ${p.tag}`;
  if (p.ifindex) s += `  offloaded_to ifindex ${p.ifindex}`;
  if (p.gpl) s += '  gpl';
  if (p.runTimeNs) s += ` run_time_ns ${p.runTimeNs} run_cnt ${p.runCnt}`;
  if (p.recursionMisses) s += ` recursion_misses ${p.recursionMisses}`;
  s += '\n';
  if (p.loadTime) s += `\tloaded_at ${formatLocalIso(bootNsToEpochSeconds(p.loadTime))}  uid ${p.uid}\n`;
  s += `\txlated ${p.xlatedLen}B`;
  s += p.jitedLen ? `  jited ${p.jitedLen}B` : '  not jited';
  if (p.memlock !== undefined) s += `  memlock ${p.memlock}B`;
  if (p.mapIds.length) s += `  map_ids ${p.mapIds.join(',')}`;
  if (p.btfId) s += `\n\tbtf_id ${p.btfId}`;
  if (p.pids.length) s += `\n\tpids ${p.pids.map((r) => `${r.comm}(${r.pid})`).join(', ')}`;
  return s + '\n';
}

/** The `bpftool -j prog show` object for one program. */
export function progJson(p: ProgEntry): JsonValue {
  const type = progTypeName(p.type);
  return {
    id: p.id,
    type: type ?? p.type,
    name: p.name || undefined,
    tag: p.tag,
    gpl_compatible: p.gpl,
    run_time_ns: p.runTimeNs ? p.runTimeNs : undefined,
    run_cnt: p.runTimeNs ? p.runCnt : undefined,
    recursion_misses: p.recursionMisses ? p.recursionMisses : undefined,
    dev: p.ifindex ? { ifindex: p.ifindex } : undefined,
    loaded_at: p.loadTime ? bootNsToEpochSeconds(p.loadTime) : undefined,
    uid: p.loadTime ? p.uid : undefined,
    bytes_xlated: p.xlatedLen,
    jited: p.jitedLen > 0,
    bytes_jited: p.jitedLen ? p.jitedLen : undefined,
    bytes_memlock: p.memlock,
    map_ids: p.mapIds.length ? p.mapIds : undefined,
    btf_id: p.btfId || undefined,
    pids: p.pids.length ? p.pids.map((r) => ({ pid: r.pid, comm: r.comm })) : undefined,
  };
}
