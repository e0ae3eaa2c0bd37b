/**
 * Attaching loaded programs to events. Every attach returns a Link whose
 * close() detaches; links are registered with the cleanup registry, so
 * nothing (in particular no tracefs probe entry) outlives the process.
 *
 * Method choice per kind, first that works:
 *  - tracepoint: perf_event_open(PERF_TYPE_TRACEPOINT) + BPF_LINK_CREATE (cookie
 *    support), else PERF_EVENT_IOC_SET_BPF
 *  - kprobe/uprobe: the kprobe/uprobe PMU, else a tracefs *_events entry
 *  - raw tracepoint, fentry/fexit/tp_btf: BPF_RAW_TRACEPOINT_OPEN
 *
 * @example
 *   const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
 *   ...
 *   link.close();
 */
import * as fs from 'node:fs';
import * as sys from '../sys/bpf';
import { AttachType } from '../sys/bpf';
import { SyscallError } from '../sys/errno';
import * as perf from '../sys/perf';
import { PerfType } from '../sys/perf';
import * as tracefs from '../sys/tracefs';
import { hasFeature, MissingFeatureError } from '../sys/features';
import { track, untrack, type Closable } from './cleanup';
import type { Program } from './programs';

/** An attachment; close() detaches (idempotent). */
export interface Link extends Closable {
  /** 'tracepoint', 'raw_tracepoint', 'kprobe', 'kretprobe', 'uprobe', 'uretprobe', 'perf_event', 'tracing'. */
  readonly kind: string;
  /** What it is attached to, for messages and listings. */
  readonly target: string;
  /** How: 'link', 'perf_ioctl', 'pmu', 'tracefs', 'raw_tp_open'. */
  readonly method: string;
  /** The fds this link owns (perf event fds and/or a BPF link fd). */
  readonly fds: readonly number[];
  /** Like close(), but the fds close on libuv's thread pool (see closeLinksConcurrently). */
  closeConcurrently?(): Promise<void>;
}

type ProgRef = Program | { fd: number };

class FdLink implements Link {
  readonly kind: string;
  readonly target: string;
  readonly method: string;
  readonly fds: number[];
  private probeEvent: tracefs.ProbeEvent | undefined;
  private closed = false;
  /** The fds not closed yet, in closing order. */
  private readonly openFds: number[];

  constructor(kind: string, target: string, method: string, fds: number[], probeEvent?: tracefs.ProbeEvent) {
    this.kind = kind;
    this.target = target;
    this.method = method;
    this.fds = fds;
    this.openFds = [...fds];
    this.probeEvent = probeEvent;
    track(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrack(this);
    // Fds first: tracefs refuses to delete a probe event that a perf event still uses (EBUSY).
    for (const fd of this.openFds.splice(0)) sys.closeFd(fd);
    if (this.probeEvent) {
      const ev = this.probeEvent;
      this.probeEvent = undefined;
      tracefs.removeProbeEvent(ev);
    }
  }

  async closeConcurrently(): Promise<void> {
    // Still tracked meanwhile: an exit in between closes what is left (an fd is taken off the list before its close starts).
    while (!this.closed && this.openFds.length > 0) {
      const fd = this.openFds.shift() as number;
      await new Promise<void>((res) => fs.close(fd, () => res()));
    }
    this.close();
  }
}

const EINVAL = 22;

export interface PerfAttachOptions {
  /** Value returned by bpf_get_attach_cookie() (needs BPF_LINK_CREATE, kernel 5.15+). */
  cookie?: bigint;
}

/** kprobe/uprobe mechanism: 'auto' (PMU, else tracefs), or force one. */
export type ProbeMethod = 'auto' | 'pmu' | 'tracefs';

/**
 * Attaches prog to an open perf event fd: BPF_LINK_CREATE when possible (it
 * carries the cookie), else PERF_EVENT_IOC_SET_BPF. Returns the fds to own
 * (the perf fd, plus the link fd when one was made) and the method used.
 */
function bindPerfEvent(prog: ProgRef, perfFd: number, o: PerfAttachOptions): { fds: number[]; method: string } {
  try {
    const linkFd = sys.linkCreate({ progFd: prog.fd, targetFd: perfFd, attachType: AttachType.PERF_EVENT, perfEventCookie: o.cookie ?? 0n });
    try {
      perf.perfEnable(perfFd);
    } catch (e) {
      sys.closeFd(linkFd);
      throw e;
    }
    return { fds: [linkFd, perfFd], method: 'link' };
  } catch (e) {
    // Kernels before 5.15 lack perf links; without a cookie the ioctl does the same job.
    if (!(e instanceof SyscallError) || (e.errno !== EINVAL && e.errno !== 95 && e.errno !== 524) || o.cookie) throw e;
  }
  perf.perfSetBpf(perfFd, prog.fd);
  perf.perfEnable(perfFd);
  return { fds: [perfFd], method: 'perf_ioctl' };
}

function withPerfFd<T>(fd: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    sys.closeFd(fd);
    throw e;
  }
}

/** Attaches a tracepoint program to CATEGORY:EVENT. */
export function attachTracepoint(prog: ProgRef, category: string, event: string, o: PerfAttachOptions = {}): Link {
  const id = tracefs.tracepointId(category, event);
  // One event is enough: the program hangs off the tracepoint itself and runs on every CPU.
  const fd = perf.perfEventOpen({ type: PerfType.TRACEPOINT, config: BigInt(id), samplePeriod: 1n, wakeupEvents: 1 }, -1, 0);
  const bound = withPerfFd(fd, () => bindPerfEvent(prog, fd, o));
  return new FdLink('tracepoint', `${category}:${event}`, bound.method, bound.fds);
}

/** Attaches a raw tracepoint program (BPF_PROG_TYPE_RAW_TRACEPOINT) to a tracepoint by name, e.g. 'sys_enter'. */
export function attachRawTracepoint(prog: ProgRef, name: string): Link {
  const fd = sys.rawTracepointOpen(name, prog.fd);
  return new FdLink('raw_tracepoint', name, 'raw_tp_open', [fd]);
}

/** Attaches a tracing program (fentry/fexit/tp_btf); the target was fixed at load time. */
export function attachTracing(prog: ProgRef & { name?: string }, target = ''): Link {
  const fd = sys.rawTracepointOpen(null, prog.fd);
  return new FdLink('tracing', target || prog.name || '', 'raw_tp_open', [fd]);
}

export interface KprobeOptions extends PerfAttachOptions {
  retprobe?: boolean;
  /** Offset into the function. */
  offset?: number;
  /** kretprobes via tracefs: concurrent instances (0: kernel default). */
  maxActive?: number;
  method?: ProbeMethod;
}

/**
 * Attaches a kprobe program to many kernel functions with one kprobe_multi
 * link (kernel 5.18+). The program must have been loaded with expected attach
 * type BPF_TRACE_KPROBE_MULTI. `cookies[i]` is bpf_get_attach_cookie() in
 * calls of `symbols[i]`.
 *
 * @example
 *   const prog = loadProgram({ type: 'kprobe', insns, expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
 *   const link = attachKprobeMulti(prog, ['vfs_read', 'vfs_write']);
 */
export function attachKprobeMulti(prog: ProgRef, symbols: readonly string[], o: { retprobe?: boolean; cookies?: readonly bigint[] } = {}): Link {
  if (!hasFeature('kprobe_multi')) throw new MissingFeatureError('kprobe_multi');
  const fd = sys.linkCreateKprobeMulti({ progFd: prog.fd, syms: symbols, retprobe: o.retprobe, cookies: o.cookies });
  return new FdLink(o.retprobe ? 'kretprobe' : 'kprobe', `${symbols.length} functions`, 'kprobe_multi', [fd]);
}

/** Attaches a kprobe program to a kernel function (kprobe PMU, else kprobe_events). */
export function attachKprobe(prog: ProgRef, symbol: string, o: KprobeOptions = {}): Link {
  const kind = o.retprobe ? 'kretprobe' : 'kprobe';
  const target = o.offset ? `${symbol}+${o.offset}` : symbol;
  const method = o.method ?? 'auto';
  const pmu = method === 'tracefs' ? undefined : perf.dynamicPmu('kprobe');
  if (!pmu && method === 'pmu') throw new MissingFeatureError('kprobe_pmu');
  if (pmu) {
    const config = o.retprobe ? 1n << BigInt(pmu.retprobeBit ?? 0) : 0n;
    const fd = perf.perfEventOpen({ type: pmu.type, config, config1Str: symbol, config2: BigInt(o.offset ?? 0), samplePeriod: 1n, wakeupEvents: 1 }, -1, 0);
    const bound = withPerfFd(fd, () => bindPerfEvent(prog, fd, o));
    return new FdLink(kind, target, bound.method === 'link' ? 'pmu+link' : 'pmu', bound.fds);
  }
  if (tracefs.hasProbeEvents('kprobe')) {
    const ev = tracefs.addKprobeEvent(symbol, o.offset ?? 0, o.retprobe ?? false, o.maxActive ?? 0);
    return attachProbeEvent(prog, ev, kind, target, o);
  }
  throw new MissingFeatureError(method === 'tracefs' ? 'kprobe_events' : 'kprobes');
}

export interface UprobeOptions extends PerfAttachOptions {
  retprobe?: boolean;
  /** Only this process (default: every process mapping the file). */
  pid?: number;
  /** USDT semaphore: file offset of the u16 counter the kernel increments while attached. */
  refCtrOffset?: bigint;
  method?: ProbeMethod;
}

/** Attaches a uprobe program at a file offset of an ELF file (uprobe PMU, else uprobe_events). */
export function attachUprobe(prog: ProgRef, path: string, fileOffset: bigint, o: UprobeOptions = {}): Link {
  const kind = o.retprobe ? 'uretprobe' : 'uprobe';
  const target = `${path}:0x${fileOffset.toString(16)}`;
  const method = o.method ?? 'auto';
  const pmu = method === 'tracefs' ? undefined : perf.dynamicPmu('uprobe');
  if (!pmu && method === 'pmu') throw new MissingFeatureError('uprobe_pmu');
  if (pmu) {
    let config = o.retprobe ? 1n << BigInt(pmu.retprobeBit ?? 0) : 0n;
    if (o.refCtrOffset) {
      if (pmu.refCtrOffsetShift === undefined) throw new MissingFeatureError('uprobe_ref_ctr');
      config |= o.refCtrOffset << BigInt(pmu.refCtrOffsetShift);
    }
    const pid = o.pid ?? -1;
    const fd = perf.perfEventOpen({ type: pmu.type, config, config1Str: path, config2: fileOffset, samplePeriod: 1n, wakeupEvents: 1 }, pid, pid >= 0 ? -1 : 0);
    const bound = withPerfFd(fd, () => bindPerfEvent(prog, fd, o));
    return new FdLink(kind, target, bound.method === 'link' ? 'pmu+link' : 'pmu', bound.fds);
  }
  if (tracefs.hasProbeEvents('uprobe')) {
    const ev = tracefs.addUprobeEvent(path, fileOffset, o.retprobe ?? false, o.refCtrOffset);
    return attachProbeEvent(prog, ev, kind, target, o, o.pid);
  }
  throw new MissingFeatureError(method === 'tracefs' ? 'uprobe_events' : 'uprobes');
}

function attachProbeEvent(prog: ProgRef, ev: tracefs.ProbeEvent, kind: string, target: string, o: PerfAttachOptions, pid?: number): Link {
  let fd: number;
  try {
    const p = pid ?? -1;
    fd = perf.perfEventOpen({ type: PerfType.TRACEPOINT, config: BigInt(ev.id), samplePeriod: 1n, wakeupEvents: 1 }, p, p >= 0 ? -1 : 0);
  } catch (e) {
    tracefs.removeProbeEvent(ev);
    throw e;
  }
  let bound: { fds: number[]; method: string };
  try {
    bound = bindPerfEvent(prog, fd, o);
  } catch (e) {
    sys.closeFd(fd);
    tracefs.removeProbeEvent(ev);
    throw e;
  }
  return new FdLink(kind, target, 'tracefs', bound.fds, ev);
}

export interface PerfEventOptions {
  /** PerfType.SOFTWARE / HARDWARE / ... */
  type: number;
  config: bigint | number;
  /** Samples per second on each CPU (e.g. 99 for profiling); or give samplePeriod. */
  frequency?: number;
  samplePeriod?: bigint | number;
  /** Only this process (default: every process, one event per online CPU). */
  pid?: number;
  /** Restrict to these CPUs (default: all online). */
  cpus?: readonly number[];
  /** PERF_TYPE_BREAKPOINT: watch `length` bytes at `address` for accesses of `mode` (HW_BREAKPOINT_R 1 | W 2, or X 4). */
  breakpoint?: { address: bigint | number; length: number; mode: number };
  /** Count only what user code does (exclude_kernel, exclude_hv): a watchpoint then ignores the kernel's own accesses. */
  userOnly?: boolean;
}

/** Attaches a perf_event program to a software/hardware event on every online CPU (or one pid). */
export function attachPerfEvent(prog: ProgRef, o: PerfEventOptions): Link {
  if (o.type === PerfType.HARDWARE && !hasFeature('hardware_events')) throw new MissingFeatureError('hardware_events');
  if (o.type === PerfType.BREAKPOINT && !hasFeature('hardware_breakpoints')) throw new MissingFeatureError('hardware_breakpoints');
  const attr: perf.PerfEventAttrOptions = { type: o.type, config: BigInt(o.config) };
  if (o.breakpoint) {
    // bp_addr and bp_len share config1/config2's slots in perf_event_attr
    attr.bpType = o.breakpoint.mode;
    attr.config1 = BigInt(o.breakpoint.address);
    attr.config2 = BigInt(o.breakpoint.length);
  }
  if (o.userOnly) attr.flags = perf.AttrFlag.EXCLUDE_KERNEL | perf.AttrFlag.EXCLUDE_HV;
  if (o.frequency !== undefined) attr.sampleFreq = BigInt(o.frequency);
  else attr.samplePeriod = BigInt(o.samplePeriod ?? 1);
  const targets: Array<[number, number]> = o.pid !== undefined ? [[o.pid, -1]] : (o.cpus ?? perf.onlineCpus()).map((c) => [-1, c]);
  const fds: number[] = [];
  try {
    for (const [pid, cpu] of targets) {
      const fd = perf.perfEventOpen(attr, pid, cpu);
      fds.push(fd);
      perf.perfSetBpf(fd, prog.fd);
      perf.perfEnable(fd);
    }
  } catch (e) {
    for (const fd of fds) sys.closeFd(fd);
    throw e;
  }
  const what = o.breakpoint
    ? `breakpoint 0x${o.breakpoint.address.toString(16)} len ${o.breakpoint.length} mode ${o.breakpoint.mode}${o.pid !== undefined ? ` pid ${o.pid}` : ''}`
    : `type ${o.type} config ${o.config} ${o.frequency !== undefined ? `freq ${o.frequency}` : `period ${o.samplePeriod ?? 1}`}`;
  return new FdLink('perf_event', what, 'perf_ioctl', fds);
}


/**
 * Closes links at the same time, each one's fds in order on libuv's thread
 * pool: detaching a tracepoint waits for an RCU grace period (tens of ms on a
 * loaded host), so one after the other, ending a 4-tracepoint tool took 300-500 ms.
 */
export async function closeLinksConcurrently(links: readonly Link[]): Promise<void> {
  await Promise.all(links.map((l) => (l.closeConcurrently ? l.closeConcurrently() : Promise.resolve(l.close()))));
}

/** Closes several links, newest first, continuing past failures (the first error is rethrown). */
export function closeLinks(links: readonly Link[]): void {
  let first: unknown;
  for (const l of [...links].reverse()) {
    try {
      l.close();
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}
