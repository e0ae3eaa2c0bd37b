/**
 * perf_event_open(2): the attribute builder, the ioctls tsbpf needs, and the
 * dynamic PMUs (kprobe, uprobe) described under /sys/bus/event_source.
 *
 * @example
 *   const fd = perfEventOpen({ type: PerfType.TRACEPOINT, config: BigInt(tracepointId('syscalls', 'sys_enter_getppid')) }, -1, 0);
 *   perfSetBpf(fd, prog.fd);
 *   perfEnable(fd);
 */
import * as fs from 'node:fs';
import { native, type PointerPatch } from './native';
import { SyscallError } from './errno';

/** perf_type_id. Dynamic PMUs (kprobe/uprobe) have ids read from sysfs. */
export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5 } as const;

/** perf_sw_ids. */
export const SwEvent = {
  CPU_CLOCK: 0, TASK_CLOCK: 1, PAGE_FAULTS: 2, CONTEXT_SWITCHES: 3, CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5, PAGE_FAULTS_MAJ: 6, ALIGNMENT_FAULTS: 7, EMULATION_FAULTS: 8, DUMMY: 9,
  BPF_OUTPUT: 10, CGROUP_SWITCHES: 11,
} as const;

/** perf_hw_id. */
export const HwEvent = {
  CPU_CYCLES: 0, INSTRUCTIONS: 1, CACHE_REFERENCES: 2, CACHE_MISSES: 3, BRANCH_INSTRUCTIONS: 4,
  BRANCH_MISSES: 5, BUS_CYCLES: 6, STALLED_CYCLES_FRONTEND: 7, STALLED_CYCLES_BACKEND: 8, REF_CPU_CYCLES: 9,
} as const;

/** perf_event_sample_format bits. */
export const SampleType = {
  IP: 1 << 0, TID: 1 << 1, TIME: 1 << 2, ADDR: 1 << 3, READ: 1 << 4, CALLCHAIN: 1 << 5, ID: 1 << 6,
  CPU: 1 << 7, PERIOD: 1 << 8, STREAM_ID: 1 << 9, RAW: 1 << 10,
} as const;

/** perf_event_type record kinds. */
export const RecordType = { MMAP: 1, LOST: 2, COMM: 3, EXIT: 4, THROTTLE: 5, UNTHROTTLE: 6, FORK: 7, READ: 8, SAMPLE: 9 } as const;

/** Bits of the flags word at offset 40 of perf_event_attr. */
export const AttrFlag = {
  DISABLED: 1n << 0n, INHERIT: 1n << 1n, PINNED: 1n << 2n, EXCLUSIVE: 1n << 3n, EXCLUDE_USER: 1n << 4n,
  EXCLUDE_KERNEL: 1n << 5n, EXCLUDE_HV: 1n << 6n, EXCLUDE_IDLE: 1n << 7n, MMAP: 1n << 8n, COMM: 1n << 9n,
  FREQ: 1n << 10n, INHERIT_STAT: 1n << 11n, ENABLE_ON_EXEC: 1n << 12n, TASK: 1n << 13n, WATERMARK: 1n << 14n,
  SAMPLE_ID_ALL: 1n << 18n, EXCLUDE_HOST: 1n << 19n, EXCLUDE_GUEST: 1n << 20n, USE_CLOCKID: 1n << 25n,
} as const;

export const PERF_FLAG_FD_CLOEXEC = 1 << 3;

/** PERF_EVENT_IOC_* (x86-64/arm64 encodings). */
export const PerfIoc = { ENABLE: 0x2400, DISABLE: 0x2401, REFRESH: 0x2402, RESET: 0x2403, SET_BPF: 0x40042408 } as const;

export interface PerfEventAttrOptions {
  type: number;
  config?: bigint;
  /** Period (count of events between samples); exclusive with freq. */
  samplePeriod?: bigint;
  /** Samples per second (sets the FREQ flag). */
  sampleFreq?: bigint;
  sampleType?: number;
  readFormat?: number;
  /** Extra flag bits from AttrFlag. */
  flags?: bigint;
  wakeupEvents?: number;
  bpType?: number;
  /** kprobe/uprobe PMUs: pointer to the function name / path (give the string in config1Str). */
  config1?: bigint;
  config2?: bigint;
  clockid?: number;
  sampleMaxStack?: number;
  /** A string whose address goes into config1 (kprobe function name, uprobe path). */
  config1Str?: string;
}

export const PERF_ATTR_SIZE = 128;

/**
 * Lays out struct perf_event_attr (the 128-byte version). Returns the
 * buffer and the pointer patches the addon must apply (config1 strings).
 */
export function buildPerfAttr(o: PerfEventAttrOptions): { attr: Buffer; patches: PointerPatch[] } {
  const a = Buffer.alloc(PERF_ATTR_SIZE);
  const patches: PointerPatch[] = [];
  let flags = o.flags ?? 0n;
  a.writeUInt32LE(o.type, 0);
  a.writeUInt32LE(PERF_ATTR_SIZE, 4);
  a.writeBigUInt64LE(o.config ?? 0n, 8);
  if (o.sampleFreq !== undefined) {
    flags |= AttrFlag.FREQ;
    a.writeBigUInt64LE(o.sampleFreq, 16);
  } else {
    a.writeBigUInt64LE(o.samplePeriod ?? 0n, 16);
  }
  a.writeBigUInt64LE(BigInt(o.sampleType ?? 0), 24);
  a.writeBigUInt64LE(BigInt(o.readFormat ?? 0), 32);
  a.writeBigUInt64LE(flags, 40);
  a.writeUInt32LE(o.wakeupEvents ?? 0, 48);
  a.writeUInt32LE(o.bpType ?? 0, 52);
  if (o.config1Str !== undefined) {
    const s = Buffer.alloc(Buffer.byteLength(o.config1Str) + 1);
    s.write(o.config1Str);
    patches.push([a, 56, s]);
  } else {
    a.writeBigUInt64LE(o.config1 ?? 0n, 56);
  }
  a.writeBigUInt64LE(o.config2 ?? 0n, 64);
  if (o.clockid !== undefined) {
    a.writeInt32LE(o.clockid, 92);
    a.writeBigUInt64LE(flags | AttrFlag.USE_CLOCKID, 40);
  }
  a.writeUInt16LE(o.sampleMaxStack ?? 0, 108);
  return { attr: a, patches };
}

/**
 * perf_event_open(2) → fd (close-on-exec). pid -1 with a cpu means every
 * task on that cpu; pid with cpu -1 means that task on any cpu.
 */
export function perfEventOpen(o: PerfEventAttrOptions, pid: number, cpu: number, groupFd = -1, flags = PERF_FLAG_FD_CLOEXEC): number {
  const { attr, patches } = buildPerfAttr(o);
  const r = native().perfEventOpen(attr, pid, cpu, groupFd, flags, patches);
  if (r < 0) throw new SyscallError('perf_event_open', -r, describe(o, pid, cpu));
  return r;
}

function describe(o: PerfEventAttrOptions, pid: number, cpu: number): string {
  const what = o.config1Str !== undefined ? ` ${o.config1Str}` : '';
  return `type ${o.type} config ${o.config ?? 0n}${what}, pid ${pid}, cpu ${cpu}`;
}

function ioctl(fd: number, req: number, arg: number, what: string): void {
  const r = native().ioctl(fd, req, arg);
  if (r < 0) throw new SyscallError(`ioctl(${what})`, -r);
}

export const perfEnable = (fd: number): void => ioctl(fd, PerfIoc.ENABLE, 0, 'PERF_EVENT_IOC_ENABLE');
export const perfDisable = (fd: number): void => ioctl(fd, PerfIoc.DISABLE, 0, 'PERF_EVENT_IOC_DISABLE');
export const perfReset = (fd: number): void => ioctl(fd, PerfIoc.RESET, 0, 'PERF_EVENT_IOC_RESET');
/** Attaches a BPF program to a perf event (tracepoint, kprobe, uprobe, software/hardware event). */
export const perfSetBpf = (fd: number, progFd: number): void => ioctl(fd, PerfIoc.SET_BPF, progFd, 'PERF_EVENT_IOC_SET_BPF');

const PMU_DIR = '/sys/bus/event_source/devices';

/** Description of a dynamic PMU (kprobe, uprobe): its type id and the config bits its format files name. */
export interface DynamicPmu {
  name: string;
  type: number;
  /** Bit number of the retprobe flag in config. */
  retprobeBit?: number;
  /** Lowest bit of ref_ctr_offset in config (uprobe PMU, usually 32). */
  refCtrOffsetShift?: number;
}

const pmuCache = new Map<string, DynamicPmu | null>();

function parseFormatBit(text: string): number | undefined {
  // "config:0" or "config:32-63"
  const m = /^config:(\d+)(?:-\d+)?\s*$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** The PMU named `name` under /sys/bus/event_source/devices, or undefined when the kernel lacks it. */
export function dynamicPmu(name: string): DynamicPmu | undefined {
  const cached = pmuCache.get(name);
  if (cached !== undefined) return cached ?? undefined;
  let pmu: DynamicPmu | null = null;
  try {
    const type = Number(fs.readFileSync(`${PMU_DIR}/${name}/type`, 'utf8').trim());
    pmu = { name, type };
    try { pmu.retprobeBit = parseFormatBit(fs.readFileSync(`${PMU_DIR}/${name}/format/retprobe`, 'utf8')); } catch { /* optional */ }
    try { pmu.refCtrOffsetShift = parseFormatBit(fs.readFileSync(`${PMU_DIR}/${name}/format/ref_ctr_offset`, 'utf8')); } catch { /* optional */ }
  } catch {
    pmu = null;
  }
  pmuCache.set(name, pmu);
  return pmu ?? undefined;
}

/** Type id of any PMU (e.g. 'cpu' for hardware events), undefined when absent. */
export function pmuType(name: string): number | undefined {
  try {
    return Number(fs.readFileSync(`${PMU_DIR}/${name}/type`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Online CPUs from /sys/devices/system/cpu/online (perf events are opened on each). */
export function onlineCpus(): number[] {
  return parseCpuList(fs.readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}

/** Possible CPUs: per-CPU map values have one slot per possible CPU. */
export function possibleCpus(): number[] {
  return parseCpuList(fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
}

/** "0-3,5,7-8" → [0,1,2,3,5,7,8]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [lo, hi] = part.split('-').map(Number);
    for (let c = lo; c <= (hi ?? lo); c++) out.push(c);
  }
  return out;
}
