/**
 * Resources shared by all programs of one script: the maps (user maps, the
 * event ring, the loss counter, the stack map, ...), the event table and the
 * probe names. Programs ask for them by index; each is created on first use.
 */
import type { Program, Span } from '../ast';
import { walk } from '../visit';
import type { EventSpec, HostValue, KeylessLayout, MapSpec, UserMapSpec } from '../artifact';
import { CompileError } from '../diagnostics';
import type { MapInfo } from '../semantic';
import type { SharedResources } from '../feature';
import type { Target } from '../../target/target';
import { AGGREGATIONS, type AggregationDef } from '../aggregations';
import { hasStack, memSize, valueTypeOf } from '../types';

/**
 * Maps (`@x`) that delete(@x) or len(@x) names: they stay hashes even without keys,
 * since a per-CPU array's one entry can be neither deleted by a probe nor counted.
 */
export function keylessHashes(program: Program): Set<string> {
  const out = new Set<string>();
  walk([program], (n) => {
    if (n.kind === 'Call' && (n.name === 'delete' || n.name === 'len') && n.args[0]?.kind === 'MapRef') out.add(`@${n.args[0].name}`);
  });
  return out;
}

/** Resources shared by all programs of one script. */
export class Shared implements SharedResources {
  readonly maps: MapSpec[] = [];
  readonly events: EventSpec[] = [];
  readonly userMaps: UserMapSpec[] = [];
  private readonly userMapIndex = new Map<string, number>();
  ringIndex = -1;
  lossIndex = -1;
  stackIndex = -1;
  startIndex = -1;
  readonly probeNames: string[] = [];

  constructor(
    readonly mapInfos: Map<string, MapInfo>,
    readonly opts: {
      strlen: number; maxMapKeys: number; ringSize: number; stackLimit: number; target: Target; helperErrors?: boolean;
      /** Key-less maps kept in hashes whatever their aggregation (see keylessHashes()). */
      keylessHashes?: ReadonlySet<string>;
    },
    readonly params: string[],
  ) {}

  addMap(spec: MapSpec): number {
    this.maps.push(spec);
    return this.maps.length - 1;
  }

  /** The user map's index into `maps`, creating it on first use. */
  userMap(name: string): { index: number; info: MapInfo } {
    const info = this.mapInfos.get(name);
    if (!info) throw new CompileError(`undefined map: ${name}`, null);
    let um = this.userMapIndex.get(name);
    if (um === undefined) {
      const agg = info.agg;
      const def = agg.kind === 'scalar' ? undefined : AGGREGATIONS[agg.kind];
      // aggregations are per CPU (lang/aggregations.ts); hist/lhist keys carry the bucket index after the key
      const percpu = def !== undefined || !!info.decl?.percpu;
      const keySize = (info.key ? memSize(info.key) : 8) + (def?.keyExtra ?? 0);
      const kname = `AT_${name.slice(1)}`.slice(0, 15);
      const valueSize = def ? def.valueSize(info.value) : Math.max(8, memSize(info.value));
      // A key-less aggregation in a one-entry per-CPU array: the kernel inlines its lookup
      // (issue 17); not for a map the script deletes or measures with len(), which see entries.
      const array = !info.key && !this.opts.keylessHashes?.has(name) ? def?.keylessArray : undefined;
      // hist/lhist: one entry per bucket index (the key is the index)
      const buckets = array && def?.keylessBuckets ? (def as AggregationDef).keylessBuckets?.(agg as never) : undefined;
      const keylessArray: KeylessLayout | undefined = array
        ? { presentAt: array === 'flagged' ? valueSize : undefined, ...(buckets ? { buckets } : {}) } : undefined;
      const index = this.addMap(keylessArray
        ? { name: kname, kind: 'percpu_array', keySize: 4, valueSize: valueSize + (array === 'flagged' ? 8 : 0), maxEntries: buckets ?? 1 }
        : { name: kname, kind: `${info.decl?.lru ? 'lru_' : ''}${percpu ? 'percpu_hash' : 'hash'}`, keySize, valueSize, maxEntries: info.decl?.maxEntries ?? this.opts.maxMapKeys });
      if (keylessArray) this.keylessArrays.set(index, keylessArray);
      // The key/value layouts name the stack map: create it before describing them.
      if (hasStack(info.key) || hasStack(info.value)) this.stacks();
      // hist/lhist keys carry the bucket index in 8 more bytes, which the runtime strips
      const key = info.key ? valueTypeOf(info.key, this.stackIndex) : null;
      this.userMaps.push({ name, map: index, key, multiKey: info.multiKey, value: valueTypeOf(info.value, this.stackIndex), aggregation: agg, percpu, ...(keylessArray ? { keylessArray } : {}) });
      um = this.userMaps.length - 1;
      this.userMapIndex.set(name, um);
    }
    return { index: this.userMaps[um].map, info };
  }

  private readonly keylessArrays = new Map<number, KeylessLayout>();

  /** The layout of the key-less aggregation kept in kernel map `index` as a one-entry per-CPU array, or undefined. */
  keylessArray(index: number): KeylessLayout | undefined {
    return this.keylessArrays.get(index);
  }

  userMapNumber(name: string): number {
    this.userMap(name);
    return this.userMapIndex.get(name) as number;
  }

  ring(): number {
    if (this.ringIndex < 0) this.ringIndex = this.addMap({ name: 'events', kind: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: this.opts.ringSize });
    return this.ringIndex;
  }

  quietIndex = -1;
  /** The ring's submit flags, kept by the reader (ScriptArtifact.ringQuiet). */
  ringQuiet(): number {
    if (this.quietIndex < 0) this.quietIndex = this.addMap({ name: 'ring_quiet', kind: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
    return this.quietIndex;
  }

  loss(): number {
    if (this.lossIndex < 0) this.lossIndex = this.addMap({ name: 'lost', kind: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 });
    return this.lossIndex;
  }

  private mapErrorIndex = -1;
  private helperErrorIndex = -1;
  private readonly helperSites: { helper: string; line: number; col: number }[] = [];

  /** -k: the counter slot of one memory-read call site (the map is sized once all sites are known). */
  helperErrorSite(helper: string, span: Span | null): { map: number; site: number } {
    if (this.helperErrorIndex < 0) this.helperErrorIndex = this.addMap({ name: 'helper_errors', kind: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 });
    this.helperSites.push({ helper, line: span?.line ?? 0, col: span?.col ?? 0 });
    return { map: this.helperErrorIndex, site: this.helperSites.length - 1 };
  }

  /** The -k counters for the artifact (undefined without -k or without reads). */
  helperErrorInfo(): { map: number; sites: { helper: string; line: number; col: number }[] } | undefined {
    if (this.helperErrorIndex < 0) return undefined;
    this.maps[this.helperErrorIndex].maxEntries = Math.max(1, this.helperSites.length);
    return { map: this.helperErrorIndex, sites: this.helperSites };
  }

  /** Per-CPU u64 counters of failed updates, one per user map (UserMapSpec index). */
  mapErrors(): number {
    if (this.mapErrorIndex < 0) {
      this.mapErrorIndex = this.addMap({ name: 'map_errors', kind: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: Math.max(1, this.mapInfos.size) });
    }
    return this.mapErrorIndex;
  }

  get mapErrorCounter(): number {
    return this.mapErrorIndex;
  }

  /** The UserMapSpec index of the user map stored in kernel map `mapIndex`. */
  userMapOf(mapIndex: number): number {
    const um = this.userMaps.findIndex((u) => u.map === mapIndex);
    if (um < 0) throw new CompileError(`internal: map ${mapIndex} is not a user map`, null);
    return um;
  }

  stacks(): number {
    if (this.stackIndex < 0) {
      this.stackIndex = this.addMap({ name: 'stacks', kind: 'stack_trace', keySize: 4, valueSize: 8 * this.opts.stackLimit, maxEntries: 4096 });
    }
    return this.stackIndex;
  }

  /** Array map (1 × u64) holding the script's start time for `elapsed`, written by a synthetic BEGIN program. */
  start(): number {
    if (this.startIndex < 0) this.startIndex = this.addMap({ name: 'start', kind: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
    return this.startIndex;
  }

  commandPidIndex = -1;
  commandPid(): number {
    if (this.commandPidIndex < 0) this.commandPidIndex = this.addMap({ name: 'cpid', kind: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
    return this.commandPidIndex;
  }

  /**
   * The array map (1 × u32) exit() sets in the kernel; every probe but END
   * tests it first, so nothing runs between exit() and user space reading the
   * exit record (a 1 ms interval fired again before). -1: the script never
   * calls exit(), and no probe pays for the test. Created before any program is
   * generated (compile.ts), since probes generated before the exit() need it too.
   */
  exitFlagIndex = -1;
  exitFlag(): number {
    if (this.exitFlagIndex < 0) this.exitFlagIndex = this.addMap({ name: 'exiting', kind: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    return this.exitFlagIndex;
  }

  private hostValues = new Map<HostValue, number>();
  hostValue(name: HostValue): number {
    let i = this.hostValues.get(name);
    if (i === undefined) {
      i = this.addMap({ name: name.slice(0, 15), kind: 'array', keySize: 4, valueSize: 8, maxEntries: 1, hostValue: name });
      this.hostValues.set(name, i);
    }
    return i;
  }

  private seenIndex = -1;
  private captureEvent = -1;

  /** LRU set of pids already announced to userspace for symbol capture, and the event announcing one. */
  capture(): { map: number; event: number } {
    if (this.seenIndex < 0) {
      this.seenIndex = this.addMap({ name: 'seen_pids', kind: 'lru_hash', keySize: 4, valueSize: 1, maxEntries: 16384 });
      this.captureEvent = this.addEvent({ kind: 'capture', pid: { offset: 8, type: { kind: 'int', size: 4, signed: false } } });
    }
    return { map: this.seenIndex, event: this.captureEvent };
  }

  addEvent(e: EventSpec): number {
    this.events.push(e);
    return this.events.length - 1;
  }
}
