/**
 * tracefs: where tracepoints are described (ids, record formats) and where
 * kprobe/uprobe events are created when the perf PMUs for them are missing.
 *
 * Probe events created here are named tsbpf_<pid>_<n>, so they can be found
 * and removed later, also after a crash (removeStaleProbeEvents).
 *
 * @example
 *   const id = tracepointId('syscalls', 'sys_enter_openat');
 *   const fmt = tracepointFormat('syscalls', 'sys_enter_openat'); // fields with offsets
 */
import * as fs from 'node:fs';
import { EnvironmentError, UserError } from '../errors';

/** tracefs cannot be found or mounted. */
export class TracefsError extends EnvironmentError {
  constructor(message: string) {
    super(message);
    this.name = 'TracefsError';
  }
}

/** A tracepoint named by the user does not exist. */
export class UnknownTracepointError extends UserError {
  readonly category: string;
  readonly event: string;
  constructor(category: string, event: string) {
    super(`tracepoint ${category}:${event} does not exist (no ${category}/${event} under tracefs events/)`);
    this.name = 'UnknownTracepointError';
    this.category = category;
    this.event = event;
  }
}

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
let root: string | undefined;

function looksMounted(dir: string): boolean {
  // stat, not existsSync: access(2) drops the capabilities of a non-root user (CAP_DAC_READ_SEARCH)
  for (const f of [`${dir}/events`, `${dir}/available_events`]) {
    try {
      fs.statSync(f);
      return true;
    } catch (e) {
      // tracefs is 0700 root: without the capability the mount point answers EACCES, which is not "not mounted"
      if ((e as NodeJS.ErrnoException).code === 'EACCES') {
        throw new TracefsError(`cannot read tracefs at ${dir}: permission denied (a non-root user needs CAP_DAC_READ_SEARCH to read tracepoints)`);
      }
    }
  }
  return false;
}

/** The tracefs mount point; mounts it at /sys/kernel/tracing when absent and we are root. */
export function tracefsRoot(): string {
  if (root) return root;
  for (const d of CANDIDATES) {
    if (looksMounted(d)) return (root = d);
  }
  if (process.getuid?.() === 0 && fs.existsSync(CANDIDATES[0])) {
    try {
      // Required here: child_process costs every start-up ~5 ms and is needed only to mount.
      const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
      execFileSync('mount', ['-t', 'tracefs', 'nodev', CANDIDATES[0]], { stdio: 'pipe' });
    } catch (e) {
      throw new TracefsError(`tracefs is not mounted and mounting it at ${CANDIDATES[0]} failed: ${(e as Error).message.split('\n')[0]}`);
    }
    if (looksMounted(CANDIDATES[0])) return (root = CANDIDATES[0]);
  }
  throw new TracefsError(`tracefs is not mounted (looked in ${CANDIDATES.join(', ')}); run as root or 'mount -t tracefs nodev /sys/kernel/tracing'`);
}

/** True when tracefs is (or can be made) available. */
export function hasTracefs(): boolean {
  try {
    tracefsRoot();
    return true;
  } catch {
    return false;
  }
}

/** The perf tracepoint id of CATEGORY:EVENT (events/CAT/NAME/id). */
export function tracepointId(category: string, event: string): number {
  try {
    return Number(fs.readFileSync(`${tracefsRoot()}/events/${category}/${event}/id`, 'utf8').trim());
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UnknownTracepointError(category, event);
    throw e;
  }
}

/** True when CATEGORY:EVENT exists. */
export function tracepointExists(category: string, event: string): boolean {
  try {
    return fs.existsSync(`${tracefsRoot()}/events/${category}/${event}/id`);
  } catch {
    return false;
  }
}

/** Converts a shell-style wildcard ('*', '?') to an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

export interface TracepointName {
  category: string;
  event: string;
}

/** Tracepoint categories (directories under events/), sorted. */
export function listCategories(): string[] {
  const dir = `${tracefsRoot()}/events`;
  return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

/**
 * Tracepoints matching category and event wildcards (default '*'), sorted by
 * category then event.
 */
export function listTracepoints(categoryGlob = '*', eventGlob = '*'): TracepointName[] {
  const base = `${tracefsRoot()}/events`;
  const cre = globToRegExp(categoryGlob);
  const ere = globToRegExp(eventGlob);
  const out: TracepointName[] = [];
  for (const category of listCategories()) {
    if (!cre.test(category)) continue;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(`${base}/${category}`, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory() && ere.test(e.name)) out.push({ category, event: e.name });
    }
  }
  out.sort((a, b) => (a.category === b.category ? (a.event < b.event ? -1 : 1) : a.category < b.category ? -1 : 1));
  return out;
}

/** One field of a tracepoint record, as described by its format file. */
export interface TracepointField {
  name: string;
  /** C type without the field name, e.g. 'const char *', 'char', '__data_loc char[]'. */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** `__data_loc` fields hold (u16 offset | u16 length << 16) of dynamic data in the record. */
  dataLoc: boolean;
  /** Element count for fixed arrays (`char comm[16]` → 16). */
  arrayLen?: number;
  /**
   * A parameter's exact type as a BTF id: in kernel BTF (raw tracepoints), or
   * with `file` in the BTF made from that binary's DWARF (uprobes, lang/providers/uprobe-dwarf.ts).
   */
  btfType?: { id: number; file?: string };
}

export interface TracepointFormat {
  category: string;
  event: string;
  id: number;
  /** The common_* header fields. */
  commonFields: TracepointField[];
  /** The event's own fields, in record order. */
  fields: TracepointField[];
  /** The print fmt line, for diagnostics. */
  printFmt: string;
}

/** Parses a tracefs `format` file's text. */
export function parseFormat(text: string, category = '', event = ''): TracepointFormat {
  const fmt: TracepointFormat = { category, event, id: 0, commonFields: [], fields: [], printFmt: '' };
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('ID:')) fmt.id = Number(t.slice(3).trim());
    else if (t.startsWith('print fmt:')) fmt.printFmt = t.slice('print fmt:'.length).trim();
    else if (t.startsWith('field:')) {
      const f = parseFieldLine(t);
      if (f) (f.name.startsWith('common_') ? fmt.commonFields : fmt.fields).push(f);
    }
  }
  return fmt;
}

function parseFieldLine(t: string): TracepointField | undefined {
  const parts = new Map<string, string>();
  for (const p of t.split(';')) {
    const i = p.indexOf(':');
    if (i > 0) parts.set(p.slice(0, i).trim(), p.slice(i + 1).trim());
  }
  const decl = parts.get('field');
  if (!decl) return undefined;
  const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[([^\]]*)\])?$/.exec(decl);
  if (!m) return undefined;
  let type = m[1].trim();
  const name = m[2];
  const dim = m[3];
  const dataLoc = type.startsWith('__data_loc');
  let arrayLen: number | undefined;
  if (dim !== undefined) {
    if (dataLoc || dim === '') type = `${type}[]`;
    else {
      const n = Number(dim);
      if (Number.isFinite(n)) arrayLen = n;
      type = `${type}[${dim}]`;
    }
  }
  const f: TracepointField = {
    name,
    type,
    offset: Number(parts.get('offset') ?? 0),
    size: Number(parts.get('size') ?? 0),
    signed: parts.get('signed') === '1',
    dataLoc,
  };
  if (arrayLen !== undefined) f.arrayLen = arrayLen;
  return f;
}

/** The parsed format of CATEGORY:EVENT. */
export function tracepointFormat(category: string, event: string): TracepointFormat {
  let text: string;
  try {
    text = fs.readFileSync(`${tracefsRoot()}/events/${category}/${event}/format`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UnknownTracepointError(category, event);
    throw e;
  }
  return parseFormat(text, category, event);
}

// ---------------------------------------------------------------------------
// kprobe_events / uprobe_events

export type ProbeEventKind = 'kprobe' | 'uprobe';

/** A probe event created through tracefs; remove it with removeProbeEvent. */
export interface ProbeEvent {
  kind: ProbeEventKind;
  /** 'kprobes' or 'uprobes'. */
  group: string;
  /** tsbpf_<pid>_<n>. */
  event: string;
  /** Perf tracepoint id to open with PERF_TYPE_TRACEPOINT. */
  id: number;
}

const PREFIX = 'tsbpf_';
let counter = 0;

function eventsFile(kind: ProbeEventKind): string {
  return `${tracefsRoot()}/${kind}_events`;
}

/** True when the kernel offers kprobe_events / uprobe_events. */
export function hasProbeEvents(kind: ProbeEventKind): boolean {
  try {
    return fs.existsSync(eventsFile(kind));
  } catch {
    return false;
  }
}

function append(file: string, line: string): void {
  // Append mode matters: opening *_events with truncation deletes every probe on the system.
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, `${line}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

function createProbeEvent(kind: ProbeEventKind, retprobe: boolean, spec: string, maxActive = 0): ProbeEvent {
  const group = kind === 'kprobe' ? 'kprobes' : 'uprobes';
  const event = `${PREFIX}${process.pid}_${counter++}`;
  const file = eventsFile(kind);
  if (!fs.existsSync(file)) throw new TracefsError(`${kind}_events is not available in tracefs`);
  try {
    const head = retprobe ? (maxActive > 0 ? `r${maxActive}` : 'r') : 'p';
    append(file, `${head}:${group}/${event} ${spec}`);
  } catch (e) {
    throw new TracefsError(`cannot create ${kind} event '${spec}': ${(e as Error).message}`);
  }
  let id: number;
  try {
    id = tracepointId(group, event);
  } catch (e) {
    removeProbeEvent({ kind, group, event, id: 0 });
    throw e;
  }
  return { kind, group, event, id };
}

/** Creates a uprobe event on path at a file offset (optionally with a USDT semaphore ref_ctr_offset). */
export function addUprobeEvent(path: string, offset: bigint, retprobe = false, refCtrOffset?: bigint): ProbeEvent {
  const ref = refCtrOffset ? `(0x${refCtrOffset.toString(16)})` : '';
  return createProbeEvent('uprobe', retprobe, `${path}:0x${offset.toString(16)}${ref}`);
}

/** Creates a kprobe event on symbol+offset (or a raw address when symbol is a bigint); maxActive bounds concurrent kretprobe instances. */
export function addKprobeEvent(symbol: string | bigint, offset = 0, retprobe = false, maxActive = 0): ProbeEvent {
  const where = typeof symbol === 'bigint' ? `0x${symbol.toString(16)}` : offset ? `${symbol}+${offset}` : symbol;
  return createProbeEvent('kprobe', retprobe, where, maxActive);
}

/** Removes a probe event; idempotent (a missing event is not an error). */
export function removeProbeEvent(ev: ProbeEvent): void {
  try {
    append(eventsFile(ev.kind), `-:${ev.group}/${ev.event}`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return;
    // EBUSY: still open by a perf event; the caller must close that fd first.
    throw new TracefsError(`cannot remove ${ev.kind} event ${ev.group}/${ev.event}: ${(e as Error).message}`);
  }
}

/** Probe events named tsbpf_* currently defined, with the pid that created them. */
export function listOwnProbeEvents(): Array<ProbeEvent & { pid: number }> {
  const out: Array<ProbeEvent & { pid: number }> = [];
  for (const kind of ['kprobe', 'uprobe'] as const) {
    let text = '';
    try {
      text = fs.readFileSync(eventsFile(kind), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const m = /^[pr]:([^/\s]+)\/(tsbpf_(\d+)_\d+)\s/.exec(line);
      if (m) out.push({ kind, group: m[1], event: m[2], id: 0, pid: Number(m[3]) });
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes tsbpf_* probe events left by processes that no longer exist (e.g. after a kill -9). Returns how many. */
export function removeStaleProbeEvents(): number {
  let n = 0;
  for (const ev of listOwnProbeEvents()) {
    if (ev.pid !== process.pid && !alive(ev.pid)) {
      try {
        removeProbeEvent(ev);
        n++;
      } catch { /* busy: someone still uses it */ }
    }
  }
  return n;
}
