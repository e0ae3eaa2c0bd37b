/**
 * Targets made of recorded answers: `RecordingTarget` wraps another target
 * and writes down every answer it gives; `RecordedTarget` replays such a
 * recording and nothing else. Unit tests compile against a recording
 * (test/fixtures/target/), so they give the same result on any machine and
 * as any user, without reading /sys or /proc.
 *
 * A question the recording has no answer for is an error that says so (never
 * a guess): re-record with `TSBPF_RECORD_TARGET=1 node test/run.js unit` as
 * root on a machine with tracefs and BTF.
 */
import { ARCHES } from '../arch';
import { UnknownTracepointError, type TracepointFormat, type TracepointName } from '../sys/tracefs';
import type { FeatureAnswer, KernelBtf, Target } from './target';

/** JSON with bigints spelled {"$bigint": "123"} and undefined as {"$undefined": true}. */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One recorded answer: a value, or the message of the error it threw (with the error's kind, for the ones callers tell apart). */
export type RecordedAnswer = { value: Json } | { error: string; unknownTracepoint?: TracepointName };

export interface TargetRecording {
  description: string;
  release: string;
  /** Arch name ('x86_64'). */
  arch: string;
  /** `method(args)` of the BTF → answer. */
  btf: Record<string, RecordedAnswer>;
  /** The error btf() threw, when the kernel had no BTF. */
  btfError?: string;
  kernelSymbols: Record<string, RecordedAnswer>;
  kprobeFunctions?: string[];
  tracepointCategories?: string[];
  /** `categoryGlob:eventGlob` → matches. */
  tracepoints: Record<string, RecordedAnswer>;
  /** `category:event` → format. */
  tracepointFormats: Record<string, RecordedAnswer>;
  features: Record<string, FeatureAnswer>;
  syscallNumbers?: [string, number][] | null;
}

/** The BTF queries a target answers; the type check below fails when KernelBtf gains one this list lacks. */
const BTF_METHODS = ['enumerator', 'find', 'findMember', 'findPrefix', 'funcParams', 'kind', 'memberOffset', 'resolve', 'sizeOf', 'type', 'typeName'] as const;
type MissingBtfMethod = Exclude<keyof KernelBtf, (typeof BTF_METHODS)[number]>;
const allBtfMethodsListed: MissingBtfMethod extends never ? true : never = true;
void allBtfMethodsListed;

function toJson(v: unknown): Json {
  if (v === undefined) return { $undefined: true };
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) o[k] = toJson(x);
    return o;
  }
  throw new Error(`cannot record a ${typeof v}`);
}

function fromJson(v: Json): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v && typeof v === 'object') {
    if (v.$undefined === true) return undefined;
    if (typeof v.$bigint === 'string') return BigInt(v.$bigint);
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = fromJson(x);
    return o;
  }
  return v;
}

function callKey(method: string, args: readonly unknown[]): string {
  return `${method}${JSON.stringify(args.map(toJson))}`;
}

/** Runs `f`, writing its value or error into `log[key]`. */
function record<T>(log: Record<string, RecordedAnswer>, key: string, f: () => T): T {
  try {
    const v = f();
    log[key] = { value: toJson(v) };
    return v;
  } catch (e) {
    const a: RecordedAnswer = { error: (e as Error).message };
    if (e instanceof UnknownTracepointError) a.unknownTracepoint = { category: e.category, event: e.event };
    log[key] = a;
    throw e;
  }
}

function replay(rec: TargetRecording, log: Record<string, RecordedAnswer>, key: string, what: string): unknown {
  const a = log[key];
  if (!a) throw new Error(`the recorded target (${rec.description}) has no answer for ${what} ${key}: re-record it (TSBPF_RECORD_TARGET=1 node test/run.js unit, as root)`);
  if ('error' in a) {
    if (a.unknownTracepoint) throw new UnknownTracepointError(a.unknownTracepoint.category, a.unknownTracepoint.event);
    throw new Error(a.error);
  }
  return fromJson(a.value);
}

/** Wraps a target and records every answer it gives (see recording()). */
export class RecordingTarget implements Target {
  private readonly rec: TargetRecording;
  private btfProxy: KernelBtf | undefined;

  constructor(private readonly inner: Target, previous?: TargetRecording) {
    this.rec = previous && previous.release === inner.release
      ? previous
      : { description: '', release: inner.release, arch: inner.arch.name, btf: {}, kernelSymbols: {}, tracepoints: {}, tracepointFormats: {}, features: {} };
    this.rec.description = `a recording of ${inner.description}`;
  }

  get description(): string {
    return this.inner.description;
  }

  get release(): string {
    return this.inner.release;
  }

  get arch(): Target['arch'] {
    return this.inner.arch;
  }

  /** Everything answered so far (and what `previous` held), as JSON-ready data. */
  recording(): TargetRecording {
    return this.rec;
  }

  btf(): KernelBtf {
    if (this.btfProxy) return this.btfProxy;
    let btf: KernelBtf;
    try {
      btf = this.inner.btf();
    } catch (e) {
      this.rec.btfError = (e as Error).message;
      throw e;
    }
    const log = this.rec.btf;
    const proxy: Record<string, (...args: unknown[]) => unknown> = {};
    for (const m of BTF_METHODS) {
      const f = btf[m] as (...args: unknown[]) => unknown;
      proxy[m] = (...args: unknown[]) => record(log, callKey(m, args), () => f.apply(btf, args));
    }
    return (this.btfProxy = proxy as unknown as KernelBtf);
  }

  kernelSymbolAddress(name: string): bigint | undefined {
    return record(this.rec.kernelSymbols, name, () => this.inner.kernelSymbolAddress(name));
  }

  kprobeFunctions(): readonly string[] {
    const v = this.inner.kprobeFunctions();
    this.rec.kprobeFunctions = [...v];
    return v;
  }

  tracepointCategories(): readonly string[] {
    const v = this.inner.tracepointCategories();
    this.rec.tracepointCategories = [...v];
    return v;
  }

  tracepoints(categoryGlob = '*', eventGlob = '*'): TracepointName[] {
    return record(this.rec.tracepoints, `${categoryGlob}:${eventGlob}`, () => this.inner.tracepoints(categoryGlob, eventGlob));
  }

  tracepointFormat(category: string, event: string): TracepointFormat {
    return record(this.rec.tracepointFormats, `${category}:${event}`, () => this.inner.tracepointFormat(category, event));
  }

  feature(name: string): FeatureAnswer {
    const a = this.inner.feature(name);
    this.rec.features[name] = a;
    return a;
  }

  syscallNumbers(): ReadonlyMap<string, number> | null {
    const v = this.inner.syscallNumbers();
    this.rec.syscallNumbers = v ? [...v] : null;
    return v;
  }
}

/** A target that answers only from a recording. */
export class RecordedTarget implements Target {
  readonly description: string;
  readonly release: string;
  readonly arch: Target['arch'];
  private readonly btfReplay: KernelBtf;

  constructor(private readonly rec: TargetRecording) {
    this.description = rec.description;
    this.release = rec.release;
    const arch = ARCHES.find((a) => a.name === rec.arch);
    if (!arch) throw new Error(`the recorded target's architecture '${rec.arch}' is not one tsbpf knows`);
    this.arch = arch;
    const proxy: Record<string, (...args: unknown[]) => unknown> = {};
    for (const m of BTF_METHODS) proxy[m] = (...args: unknown[]) => replay(rec, rec.btf, callKey(m, args), 'the BTF query');
    this.btfReplay = proxy as unknown as KernelBtf;
  }

  btf(): KernelBtf {
    if (this.rec.btfError !== undefined) throw new Error(this.rec.btfError);
    return this.btfReplay;
  }

  kernelSymbolAddress(name: string): bigint | undefined {
    return replay(this.rec, this.rec.kernelSymbols, name, 'the kernel symbol') as bigint | undefined;
  }

  kprobeFunctions(): readonly string[] {
    return this.need(this.rec.kprobeFunctions, 'the kprobe function list');
  }

  tracepointCategories(): readonly string[] {
    return this.need(this.rec.tracepointCategories, 'the tracepoint categories');
  }

  tracepoints(categoryGlob = '*', eventGlob = '*'): TracepointName[] {
    return replay(this.rec, this.rec.tracepoints, `${categoryGlob}:${eventGlob}`, 'the tracepoint list') as TracepointName[];
  }

  tracepointFormat(category: string, event: string): TracepointFormat {
    return replay(this.rec, this.rec.tracepointFormats, `${category}:${event}`, 'the tracepoint format') as TracepointFormat;
  }

  feature(name: string): FeatureAnswer {
    return this.need(this.rec.features[name], `the feature ${name}`);
  }

  syscallNumbers(): ReadonlyMap<string, number> | null {
    const v = this.need(this.rec.syscallNumbers, 'the syscall numbers');
    return v === null ? null : new Map(v);
  }

  private need<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new Error(`the recorded target (${this.rec.description}) has no answer for ${what}: re-record it (TSBPF_RECORD_TARGET=1 node test/run.js unit, as root)`);
    return v;
  }
}
