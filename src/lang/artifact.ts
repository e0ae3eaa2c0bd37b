/**
 * What the compiler hands to the runtime: a compiled script as pure data.
 * Nothing here depends on open file descriptors; the runtime creates the maps,
 * patches their fds into the programs, loads, attaches, and decodes records
 * with the layouts described here.
 *
 * Event records: every record sent through the event ring buffer starts with
 * a u64 event id (index into `events`), followed by the event's fields at the
 * offsets given in its EventSpec (offsets count from the start of the record,
 * so the first field is at offset 8 or later).
 */
import type { Config } from './config';
import type { Insn } from '../ebpf/asm';
import type { SourceFile, Span } from './ast';

export type MapKind =
  | 'hash'
  | 'percpu_hash'
  | 'array'
  | 'percpu_array'
  | 'lru_hash'
  | 'lru_percpu_hash'
  | 'ringbuf'
  | 'stack_trace'
  | 'perf_event_array';

export interface MapSpec {
  /** Kernel-visible name (≤ 15 chars), e.g. 'AT_x' for @x, 'events', 'scratch'. */
  name: string;
  kind: MapKind;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** Entries the runtime writes before loading programs (hex-encoded key and value), e.g. lookup tables. */
  initial?: { key: string; value: string }[];
  /** A fact of the machine the loader writes at key 0 as a u64 before loading programs (ncpus: 'possibleCpus'). */
  hostValue?: HostValue;
}

/** Facts of the machine a program reads as a constant the loader fills in (a one-entry array map). */
export type HostValue = 'possibleCpus';

export type { ValueType } from './types';
export { sizeOf } from './types';
import type { ValueType } from './types';

export interface FieldSpec {
  offset: number;
  type: ValueType;
}

/** What happens to a record of this event id in userspace. */
export type EventSpec =
  /**
   * `diagnostic`: errorf()/warnf() (bpftrace 0.24+): the text goes to stderr as
   * `FILE:LINE:COLS: ERROR: text` naming the call, like a compile diagnostic.
   */
  | { kind: 'printf'; format: string; fields: FieldSpec[]; diagnostic?: { severity: 'ERROR' | 'WARNING'; line: number; cols: string } }
  | { kind: 'time'; format: string | null }
  | { kind: 'exit'; code: FieldSpec | null }
  /** print(@map[, top[, div]]) */
  | { kind: 'printMap'; userMap: number; top: number; div: number }
  /** print(value) of a non-map expression */
  | { kind: 'printValue'; field: FieldSpec }
  | { kind: 'clear' | 'zero'; userMap: number }
  | { kind: 'system'; format: string; fields: FieldSpec[] }
  | { kind: 'cat'; format: string; fields: FieldSpec[] }
  /** join(): `tid` is the thread that sent it (tools match it to the thread's printf events); `field` the elements. */
  | { kind: 'join'; tid: FieldSpec; field: FieldSpec; separator: string; maxArgs: number; argSize: number }
  | { kind: 'strftime'; format: string; field: FieldSpec }
  /**
   * A process (u32 pid at `pid`) whose user addresses (ustack, usym, func in
   * uprobes) will be printed later: snapshot its mappings now, while it lives.
   * Sent once per pid.
   */
  | { kind: 'capture'; pid: FieldSpec };

/** How a user-visible @map is stored and printed. */
export type Aggregation =
  | { kind: 'scalar' } // plain assignment: @x = expr
  | { kind: 'count' }
  | { kind: 'sum' }
  /**
   * min/max: value is 16 bytes, s64 value then u64 "set" flag (non-zero once
   * this CPU saw the key): per-CPU slots that never saw the key read as zero
   * and must not win the cross-CPU reduction.
   */
  | { kind: 'min' }
  | { kind: 'max' }
  | { kind: 'avg' } // value: s64 sum, u64 count (16 bytes)
  | { kind: 'stats' } // value: s64 sum, u64 count (16 bytes); printed as count/average/total
  | { kind: 'hist'; bits: number } // key gets an extra u64 bucket index appended
  | { kind: 'lhist'; min: bigint; max: bigint; step: bigint } // likewise
  /**
   * tseries(v, interval, n[, fn]): the key gets the u64 slot (epoch % n) appended;
   * each CPU's value is {s64 value, u64 meta, u64 epoch} (24 bytes), epoch =
   * now / intervalNs; meta is the timestamp (no fn), the count (avg) or a
   * "set" flag (min/max).
   */
  | { kind: 'tseries'; intervalNs: bigint; intervals: bigint; fn: TseriesFn };

/** How tseries() combines the values written within one interval ('last': the last one wins). */
export type TseriesFn = 'last' | 'avg' | 'max' | 'min' | 'sum';

export interface UserMapSpec {
  /** As written, with the @: '@', '@x'. */
  name: string;
  /** Index into ScriptArtifact.maps. */
  map: number;
  /** Key layout; null for a map written without keys (stored under a zero u64 key). */
  key: ValueType | null;
  /**
   * True when written with several keys, `@m[k1, k2]`: the key is then a
   * tuple whose elements print as separate keys (`@m[a, b]`). A single key
   * that is itself a tuple, `@m[(a, b)]`, prints as one (`@m[(a, b)]`).
   */
  multiKey?: boolean;
  /** Value layout (count/sum: { int, 8, signed }; min/max/avg/stats: 16 bytes as documented on Aggregation; hist/lhist: u64 count). */
  value: ValueType;
  aggregation: Aggregation;
  /** True when values are per-CPU and must be combined in userspace (sum/min/max across CPUs). */
  percpu: boolean;
  /**
   * Set for a key-less aggregation kept in a one-entry per-CPU array (key u32 0) instead of a hash
   * (issue 17; lang/aggregations.ts KeylessArray): the entry always exists, so when `presentAt` is
   * set, each CPU's value has a u64 there, after the aggregation's layout, that is non-zero once
   * that CPU ran it; no CPU's flag set = no entry. With `buckets` (key-less hist/lhist), the array
   * has one entry per bucket index (key u32 = the index), each flagged; the entries whose flag
   * some CPU set are what a hash keyed by the bucket would hold.
   */
  keylessArray?: KeylessLayout;
}

/** The layout of a key-less aggregation kept in a per-CPU array (UserMapSpec.keylessArray). */
export interface KeylessLayout {
  presentAt?: number;
  buckets?: number;
}

export type AttachSpec =
  | { kind: 'begin' } // run once through BPF_PROG_TEST_RUN before anything else
  | { kind: 'end' } // run once at exit (Ctrl-C, exit(), -c command ended)
  /** `serves`: how many probes as written this one attachment stands for (merged syscall tracepoints; default 1). */
  | { kind: 'tracepoint'; category: string; event: string; serves?: number }
  | { kind: 'raw_tracepoint'; event: string }
  /** `alternative`: a sentence naming a tracepoint that observes the same event, for the error when kprobes are missing. */
  /** `cookie` (kprobe, uprobe): the bpf_get_attach_cookie() value, set when one program serves several points and reads `probe` from it. */
  | { kind: 'kprobe'; func: string; offset: number; retprobe: boolean; module?: string; alternative?: string; cookie?: number }
  /** `usdtLocation` k > 0: the k-th further location of one USDT probe (bpftrace counts the probe once in 'Attached N probes'). */
  | { kind: 'uprobe'; path: string; offset: number; retprobe: boolean; pid?: number; refCtrOffset?: number; symbol?: string; cookie?: number; usdtLocation?: number }
  | { kind: 'fentry' | 'fexit'; func: string; alternative?: string }
  /**
   * perf event on every CPU (profile:hz:99 → software cpu-clock, frequency 99), or on one process (`pid`);
   * `pidOfCommand`: on the -c command's process (started stopped, resumed once attached);
   * `breakpoint`: a hardware breakpoint (PERF_TYPE_BREAKPOINT) on `length` bytes at `address`, `mode` HW_BREAKPOINT_R/W/X bits.
   */
  | { kind: 'perf'; type: number; config: number; frequency?: number; period?: number; allCpus: boolean; pid?: number; pidOfCommand?: boolean; breakpoint?: { address: number; length: number; mode: number } }
  /** interval:ms:N → one timer (software cpu-clock, period in ns) on one CPU */
  | { kind: 'interval'; periodNs: number };

export type ProgramType = 'tracepoint' | 'raw_tracepoint' | 'kprobe' | 'perf_event' | 'tracing';

export interface ProgramSpec {
  /** Kernel-visible program name (≤ 15 chars). */
  name: string;
  type: ProgramType;
  /** For 'tracing' programs: 'fentry' | 'fexit'. */
  expectedAttachType?: string;
  /** Where this program attaches: one program may serve several attach points (same code). */
  attach: AttachSpec[];
  /**
   * Instructions. Map references are `lddw` with src_reg PSEUDO_MAP_FD (or
   * MAP_VALUE) whose imm holds the index into ScriptArtifact.maps; the runtime
   * replaces the index with the map's fd before loading.
   */
  insns: Insn[];
  /** Source span of each instruction slot (null where none), to map verifier errors back to the script. */
  sourceMap: (Span | null)[];
  /** Index of the probe (in Program.probes) this came from. */
  probeIndex: number;
  /**
   * Present when the program has callback subprograms (for ($kv : @map), len(@map)):
   * the start of each function (the main one first, at 0) and its name, to be
   * described in BTF func_info at load (ebpf/programs.ts loadProgram `functions`).
   */
  functions?: { insn: number; name: string }[];
}

export interface ScriptArtifact {
  source: SourceFile;
  maps: MapSpec[];
  programs: ProgramSpec[];
  events: EventSpec[];
  userMaps: UserMapSpec[];
  /** Index of the event ring buffer in `maps`, or -1 if the script sends no events. */
  eventRing: number;
  /** Index of a per-CPU array (1 entry, u64) counting failed ring-buffer reserves, or -1. */
  lossCounter: number;
  /**
   * With an event ring: index of an array (1 entry, u64) the programs pass as
   * bpf_ringbuf_submit's flags: 1 (BPF_RB_NO_WAKEUP) while the reader drains
   * on a timer, 0 (the kernel's own choice) otherwise (ebpf/events.ts RingCoalesce).
   */
  ringQuiet?: number;
  /**
   * Index of a per-CPU array (one u64 per user map, by UserMapSpec index)
   * counting failed updates of that map (full at max_map_keys: E2BIG, or
   * ENOMEM), or -1 when the script updates no map.
   */
  mapErrorCounter?: number;
  /**
   * With -k: a per-CPU array (one u64 per site) counting failed memory reads,
   * and each site's helper and source position.
   */
  helperErrors?: { map: number; sites: { helper: string; line: number; col: number }[] };
  /** cpid: an array map (1 × u64) the runtime writes the -c command's pid into before attaching. */
  commandPidMap?: number;
  /** Probe names for the `probe` builtin (index → 'tracepoint:syscalls:sys_enter_read'). */
  probeNames: string[];
  /** The configuration (lang/config.ts): the config block and BPFTRACE_* environment over the defaults. */
  config: Config;
  /** True if the script uses unsafe actions (system, signal) — requires --unsafe. */
  unsafe: boolean;
  /** Warnings the compiler produced (printed to stderr, compile still succeeded). */
  warnings: string[];
}
