/**
 * Kernel feature probes. Each probe asks the running kernel (by creating a
 * tiny map, loading a two-instruction program, or looking at sysfs/tracefs)
 * and caches the answer. `requireFeature` turns a missing feature into one
 * sentence the user can act on.
 *
 * @example
 *   requireFeature('kprobes'); // throws MissingFeatureError on kernels without CONFIG_KPROBES
 *   if (hasFeature('ringbuf')) { ... }
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { MapType, ProgType, AttachType, mapCreate, progLoad, bpfRaw, Cmd, closeFd, ProgLoadError, cstr } from './bpf';
import { dynamicPmu, pmuType } from './perf';
import { hasProbeEvents, hasTracefs } from './tracefs';
import { SyscallError } from './errno';
import { native } from './native';
import { VMLINUX_BTF, vmlinuxBtfBytes } from './vmlinux';
import { EnvironmentError, InternalError } from '../errors';

/** A kernel feature tsbpf needs is missing; the message names it and says why. */
export class MissingFeatureError extends EnvironmentError {
  readonly feature: string;
  constructor(feature: string, message?: string) {
    super(message ?? describeMissing(feature));
    this.name = 'MissingFeatureError';
    this.feature = feature;
  }
}

// mov64 r0, 0; exit
const RETURN_ZERO = Buffer.from('b700000000000000' + '9500000000000000', 'hex');

function callHelperThenReturn(helperId: number): Buffer {
  const b = Buffer.alloc(24);
  b[0] = 0x85; // call
  b.writeInt32LE(helperId, 4);
  RETURN_ZERO.copy(b, 8);
  return b;
}

/**
 * A probe that cannot answer: the kernel refused to even try (EPERM/EACCES,
 * typically when not root). Without this, "refused" read as "missing" for
 * maps (ringbuf "no" as nobody) and as "present" for helpers (bpf_cookie "yes").
 */
class CannotTell extends InternalError {}

const EPERM = 1;
const EACCES = 13;

/** Refusals decide nothing for an unprivileged caller; for root they are the kernel's answer (e.g. fentry refused). */
function cannotTell(errno: number): boolean {
  return (errno === EPERM || errno === EACCES) && process.geteuid?.() !== 0;
}

function refused(errno: number, what: string): never {
  throw new CannotTell(`${what} was refused (${errno === EPERM ? 'EPERM' : 'EACCES'}): only root can tell`);
}

/** Rethrows a refusal as CannotTell; other errors answer "no". */
function noUnlessRefused(e: unknown): false {
  if (e instanceof SyscallError && cannotTell(e.errno)) refused(e.errno, 'a test bpf(2) call');
  if (e instanceof CannotTell) throw e;
  return false;
}

function tryLoad(type: number, insns: Buffer, extra: { expectedAttachType?: number; attachBtfId?: number } = {}): { ok: boolean; errno: number; log: string } {
  let r: { ok: boolean; errno: number; log: string };
  try {
    const { fd } = progLoad({ type, insns, license: 'GPL', ...extra });
    closeFd(fd);
    return { ok: true, errno: 0, log: '' };
  } catch (e) {
    if (e instanceof ProgLoadError) r = { ok: false, errno: e.errno, log: e.log };
    else if (e instanceof SyscallError) r = { ok: false, errno: e.errno, log: '' };
    else throw e;
  }
  if (cannotTell(r.errno)) refused(r.errno, 'loading a test program');
  return r;
}

function tryMap(type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0): boolean {
  try {
    closeFd(mapCreate({ type, keySize, valueSize, maxEntries, flags }));
    return true;
  } catch (e) {
    if (e instanceof SyscallError) {
      if (cannotTell(e.errno)) refused(e.errno, 'creating a test map');
      return false;
    }
    throw e;
  }
}

const progTypeNames: Record<string, number> = {
  socket_filter: ProgType.SOCKET_FILTER, kprobe: ProgType.KPROBE, tracepoint: ProgType.TRACEPOINT,
  raw_tracepoint: ProgType.RAW_TRACEPOINT, perf_event: ProgType.PERF_EVENT, syscall: ProgType.SYSCALL,
};

/** Whether the kernel accepts programs of this type (tracing/LSM/EXT need a target and are probed separately). */
export function hasProgType(type: number): boolean {
  return definitely(() => progTypeKnown(type));
}

function progTypeKnown(type: number): boolean {
  return cached(`prog_type:${type}`, () => {
    const r = tryLoad(type, RETURN_ZERO);
    // A type the kernel does not know is EINVAL with no log; anything else (e.g. a
    // context complaint) still proves the type exists.
    return r.ok || !(r.errno === 22 && r.log === '');
  });
}

/** Whether the kernel can create maps of this type. */
export function hasMapType(type: number): boolean {
  return definitely(() => mapTypeKnown(type));
}

function mapTypeKnown(type: number): boolean {
  return cached(`map_type:${type}`, () => {
    const page = native().pageSize;
    switch (type) {
      case MapType.RINGBUF: return tryMap(type, 0, 0, page);
      case MapType.PERF_EVENT_ARRAY: return tryMap(type, 4, 4, 1);
      case MapType.STACK_TRACE: return tryMap(type, 4, 8 * 127, 1);
      default: return tryMap(type, 4, 8, 1);
    }
  });
}

/** Whether programs of `progType` may call helper `helperId` (libbpf's approach: the verifier names unknown helpers). */
export function hasHelper(helperId: number, progType: number = ProgType.KPROBE): boolean {
  return definitely(() => helperKnown(helperId, progType));
}

function helperKnown(helperId: number, progType: number): boolean {
  return cached(`helper:${progType}:${helperId}`, () => {
    const r = tryLoad(progType, callHelperThenReturn(helperId));
    if (r.ok) return true;
    return !/invalid func|unknown func|program of this type cannot use helper/.test(r.log);
  });
}

// ---------------------------------------------------------------------------
// vmlinux BTF: a minimal FUNC lookup, enough for feature probes. The full BTF
// reader lives in ebpf/btf.ts (sys/ must not import upward).

const BTF_KIND_EXTRA: Record<number, (vlen: number) => number> = {
  1: () => 4, 3: () => 12, 4: (v) => v * 12, 5: (v) => v * 12, 6: (v) => v * 8, 13: (v) => v * 8,
  14: () => 4, 15: (v) => v * 12, 17: () => 4, 19: (v) => v * 12,
};

let vmlinuxFuncs: Map<string, number> | null | undefined;

/** BTF type id of the kernel function `name` in /sys/kernel/btf/vmlinux, or undefined. */
export function vmlinuxFuncBtfId(name: string): number | undefined {
  if (vmlinuxFuncs === undefined) {
    try {
      vmlinuxFuncs = scanBtfFuncs(vmlinuxBtfBytes());
    } catch {
      vmlinuxFuncs = null;
    }
  }
  return vmlinuxFuncs?.get(name);
}

/** Map of FUNC name → type id from a raw BTF blob. */
export function scanBtfFuncs(b: Buffer): Map<string, number> {
  const out = new Map<string, number>();
  if (b.readUInt16LE(0) !== 0xeb9f) return out;
  const hdrLen = b.readUInt32LE(4);
  const typeOff = hdrLen + b.readUInt32LE(8);
  const typeEnd = typeOff + b.readUInt32LE(12);
  const strOff = hdrLen + b.readUInt32LE(16);
  let p = typeOff;
  let id = 1;
  while (p + 12 <= typeEnd) {
    const nameOff = b.readUInt32LE(p);
    const info = b.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === 12 && nameOff) {
      const s = strOff + nameOff;
      out.set(b.toString('latin1', s, b.indexOf(0, s)), id);
    }
    p += 12 + (BTF_KIND_EXTRA[kind]?.(vlen) ?? 0);
    id++;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Named features

interface FeatureDef {
  probe: () => boolean;
  /** One sentence for MissingFeatureError. */
  missing: string;
}

const FENTRY_TARGETS = ['bpf_fentry_test1', 'do_nanosleep', 'ksys_read', 'vfs_read'];

function probeFentry(): boolean {
  const target = FENTRY_TARGETS.map((n) => vmlinuxFuncBtfId(n)).find((id) => id !== undefined);
  if (target === undefined) return false;
  return tryLoad(ProgType.TRACING, RETURN_ZERO, { expectedAttachType: AttachType.TRACE_FENTRY, attachBtfId: target }).ok;
}

function probeBatch(): boolean {
  let fd = -1;
  try {
    fd = mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    const a = Buffer.alloc(144);
    const keys = Buffer.alloc(16);
    const vals = Buffer.alloc(16);
    const out = Buffer.alloc(4);
    a.writeUInt32LE(4, 32);
    a.writeUInt32LE(fd, 36);
    const r = bpfRaw(Cmd.MAP_LOOKUP_BATCH, a, [[a, 8, out], [a, 16, keys], [a, 24, vals]]);
    return r >= 0 || r === -2; // ENOENT: empty map, batch supported
  } catch (e) {
    return noUnlessRefused(e);
  } finally {
    closeFd(fd);
  }
}

function probeUprobeMulti(): boolean {
  let prog = -1;
  try {
    prog = progLoad({ type: ProgType.KPROBE, insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_UPROBE_MULTI }).fd;
  } catch (e) {
    return noUnlessRefused(e);
  }
  try {
    // libbpf's trick: a uprobe_multi link on "/" must fail with EBADF when the attach type exists.
    const a = Buffer.alloc(144);
    const offs = Buffer.alloc(8);
    a.writeUInt32LE(prog, 0);
    a.writeUInt32LE(AttachType.TRACE_UPROBE_MULTI, 8);
    a.writeUInt32LE(1, 48);
    const r = bpfRaw(Cmd.LINK_CREATE, a, [[a, 16, cstr('/')], [a, 24, offs]]);
    if (r >= 0) { closeFd(r); return true; }
    return r === -9;
  } finally {
    closeFd(prog);
  }
}

/**
 * The attach type can exist while the link cannot (kernels without
 * CONFIG_FPROBE, e.g. Debian's 6.1 cloud kernel, answer EOPNOTSUPP). An empty
 * kprobe_multi link (no symbols) fails with EINVAL exactly when it is supported.
 */
function probeKprobeMulti(): boolean {
  let prog = -1;
  try {
    prog = progLoad({ type: ProgType.KPROBE, insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_KPROBE_MULTI }).fd;
  } catch (e) {
    return noUnlessRefused(e);
  }
  try {
    const a = Buffer.alloc(144);
    a.writeUInt32LE(prog, 0);
    a.writeUInt32LE(AttachType.TRACE_KPROBE_MULTI, 8);
    const r = bpfRaw(Cmd.LINK_CREATE, a, []);
    if (r >= 0) { closeFd(r); return true; }
    return r === -22;
  } finally {
    closeFd(prog);
  }
}

const kprobeWhy = 'this kernel is built without CONFIG_KPROBES (no kprobe PMU and no kprobe_events)';

const FEATURES: Record<string, FeatureDef> = {
  tracefs: { probe: hasTracefs, missing: 'tracefs is not available: it is neither mounted nor mountable (need root)' },
  btf_vmlinux: { probe: () => fs.existsSync(VMLINUX_BTF), missing: 'kernel BTF is not available: /sys/kernel/btf/vmlinux is missing (CONFIG_DEBUG_INFO_BTF is off)' },
  kprobe_pmu: { probe: () => dynamicPmu('kprobe') !== undefined, missing: 'the kprobe PMU is not available: /sys/bus/event_source/devices/kprobe is missing' },
  kprobe_events: { probe: () => hasProbeEvents('kprobe'), missing: 'kprobe_events is not available in tracefs' },
  kprobes: { probe: () => dynamicPmu('kprobe') !== undefined || hasProbeEvents('kprobe'), missing: `kprobes are not available: ${kprobeWhy}` },
  uprobe_pmu: { probe: () => dynamicPmu('uprobe') !== undefined, missing: 'the uprobe PMU is not available: /sys/bus/event_source/devices/uprobe is missing' },
  uprobe_events: { probe: () => hasProbeEvents('uprobe'), missing: 'uprobe_events is not available in tracefs' },
  uprobes: { probe: () => dynamicPmu('uprobe') !== undefined || hasProbeEvents('uprobe'), missing: 'uprobes are not available: this kernel is built without CONFIG_UPROBE_EVENTS (no uprobe PMU and no uprobe_events)' },
  uprobe_ref_ctr: { probe: () => dynamicPmu('uprobe')?.refCtrOffsetShift !== undefined, missing: 'USDT semaphores are not supported: the uprobe PMU has no ref_ctr_offset (kernel older than 4.20)' },
  hardware_events: { probe: () => pmuType('cpu') !== undefined, missing: 'hardware perf events are not available: there is no CPU PMU (common in virtual machines)' },
  hardware_breakpoints: { probe: () => pmuType('breakpoint') !== undefined, missing: 'hardware breakpoints (watchpoints) are not available: there is no breakpoint PMU (CONFIG_HAVE_HW_BREAKPOINT is off)' },
  fentry: { probe: probeFentry, missing: 'fentry/fexit are not available: loading a tracing program is refused by this kernel (no BTF trampoline support or locked down)' },
  ringbuf: { probe: () => mapTypeKnown(MapType.RINGBUF), missing: 'BPF ring buffers are not available: this kernel is older than 5.8' },
  perf_event_array: { probe: () => mapTypeKnown(MapType.PERF_EVENT_ARRAY), missing: 'perf event array maps are not available' },
  percpu_maps: { probe: () => mapTypeKnown(MapType.PERCPU_HASH) && mapTypeKnown(MapType.PERCPU_ARRAY), missing: 'per-CPU maps are not available' },
  lru_hash: { probe: () => mapTypeKnown(MapType.LRU_HASH), missing: 'LRU hash maps are not available' },
  stack_trace: { probe: () => mapTypeKnown(MapType.STACK_TRACE), missing: 'stack trace maps are not available (CONFIG_PERF_EVENTS off?)' },
  batch_lookup: { probe: probeBatch, missing: 'batched map lookups are not available (kernel older than 5.6)' },
  bpf_cookie: { probe: () => helperKnown(174, ProgType.KPROBE), missing: 'BPF cookies are not available: bpf_get_attach_cookie is missing (kernel older than 5.15)' },
  uprobe_multi: { probe: probeUprobeMulti, missing: 'uprobe_multi links are not available (kernel older than 6.6)' },
  kprobe_multi: {
    probe: () => (dynamicPmu('kprobe') !== undefined || hasProbeEvents('kprobe')) && probeKprobeMulti(),
    missing: `kprobe_multi links are not available: ${kprobeWhy} or the kernel is older than 5.18`,
  },
  raw_tracepoint: { probe: () => progTypeKnown(ProgType.RAW_TRACEPOINT), missing: 'raw tracepoint programs are not available' },
  syscall_prog: { probe: () => progTypeKnown(ProgType.SYSCALL), missing: 'BPF_PROG_TYPE_SYSCALL programs are not available (kernel older than 5.14)' },
};

/** Names accepted by hasFeature/requireFeature. */
export const featureNames: readonly string[] = Object.keys(FEATURES);

/** A feature answer: 'unknown' says why the probe could not decide (e.g. not root). */
export type FeatureState = { readonly state: 'yes' } | { readonly state: 'no' } | { readonly state: 'unknown'; readonly error: string };

const cache = new Map<string, FeatureState>();

function answer(key: string, probe: () => boolean): FeatureState {
  let v = cache.get(key);
  if (v === undefined) {
    try {
      v = probe() ? { state: 'yes' } : { state: 'no' };
    } catch (e) {
      // a probe that fails in an unexpected way answers no, as before; one that was refused cannot tell
      v = e instanceof CannotTell ? { state: 'unknown', error: e.message } : { state: 'no' };
    }
    cache.set(key, v);
  }
  return v;
}

/** A yes/no question answered "no" when it cannot be decided. */
function definitely(q: () => boolean): boolean {
  try {
    return q();
  } catch (e) {
    if (e instanceof CannotTell) return false;
    throw e;
  }
}

function cached(key: string, probe: () => boolean): boolean {
  const v = answer(key, probe);
  if (v.state === 'unknown') throw new CannotTell(v.error);
  return v.state === 'yes';
}

/** Whether the running kernel has `feature` (one of featureNames): yes, no, or unknown with the reason; cached. */
export function featureState(feature: string): FeatureState {
  const def = FEATURES[feature];
  if (!def) throw new Error(`unknown feature '${feature}' (known: ${featureNames.join(', ')})`);
  return answer(`feature:${feature}`, def.probe);
}

/** Whether the running kernel definitely has `feature` (one of featureNames); cached. */
export function hasFeature(feature: string): boolean {
  return featureState(feature).state === 'yes';
}

function describeMissing(feature: string): string {
  return FEATURES[feature]?.missing ?? `${feature} is not available on this kernel`;
}

/** Throws MissingFeatureError unless the kernel has `feature` (naming the reason when it cannot tell). */
export function requireFeature(feature: string): void {
  const s = featureState(feature);
  if (s.state === 'unknown') throw new MissingFeatureError(feature, `cannot tell whether ${feature} is available: ${s.error}`);
  if (s.state === 'no') throw new MissingFeatureError(feature);
}

/** For tests: forget cached answers. */
export function resetFeatureCache(): void {
  cache.clear();
}

/** The running kernel's release, e.g. '6.18.44'. */
export function kernelRelease(): string {
  return os.release();
}

export interface FeatureReport {
  release: string;
  features: Record<string, boolean>;
  progTypes: Record<string, boolean>;
}

/** Every named feature and program type with its answer, for `tsbpf --info`-style diagnostics. */
export function featureReport(): FeatureReport {
  const features: Record<string, boolean> = {};
  for (const f of featureNames) features[f] = hasFeature(f);
  const progTypes: Record<string, boolean> = {};
  for (const [n, t] of Object.entries(progTypeNames)) progTypes[n] = hasProgType(t);
  return { release: kernelRelease(), features, progTypes };
}
