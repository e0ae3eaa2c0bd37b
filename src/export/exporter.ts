/**
 * The exporter: several scripts and tools running in one process, their maps
 * served as Prometheus metrics over HTTP (GET /metrics; nothing else is
 * accepted, and nothing received over HTTP is ever compiled or run).
 *
 * Maps are read only when scraped, one map at a time (a batched lookup per
 * map), handing the event loop back between maps so event delivery from the
 * ring buffers keeps running; concurrent scrapes share one read.
 *
 * @example
 *   import { exporter } from 'tsbpf';
 *   const ex = await exporter({ scripts: [{ name: 'sys', program: 'tracepoint:raw_syscalls:sys_enter { @calls[comm] = count(); }' }] });
 *   // curl http://127.0.0.1:9435/metrics  →  sys_calls_total{comm="bash"} 42
 *   await ex.close();
 */
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ScriptArtifact, UserMapSpec } from '../lang/artifact';
import type { ScriptRuntime } from '../runtime/run';
import type { MapDump } from '../runtime/format/maps';
import { ConfigError, DEFAULT_LISTEN, DEFAULT_SERIES_LIMIT, parseListen, readTrustedFile, type ExporterOptions, type MapOptions, type ScriptSource } from './config';
import { instrumentScript, SUM_SUFFIX, type MapInfo, type NamedKey } from './instrument';
import type { Value } from '../runtime/values';
import { diskNameOf, listDisks, type Disk } from '../tools/common/disks';
import { syscallName } from '../tools/common/syscalls';
import { contentType, distinctNames, familyFromMap, labelValue, negotiate, renderFamilies, sanitizeName, type ExpositionFormat, type MetricFamily } from './metrics';
import { sdNotify } from './notify';

/** One map served as a metric. */
interface ExportedMap {
  spec: UserMapSpec;
  sum?: UserMapSpec;
  name: string;
  labels: string[];
  /** Key components labelled by name rather than number (instrument.ts). */
  named: Array<NamedKey | undefined>;
  help: string;
}

/** A compiled source, before it runs. */
interface Prepared {
  prefix: string;
  artifact: ScriptArtifact;
  maps: ExportedMap[];
}

interface Running extends Prepared {
  rt: ScriptRuntime;
  ended: Promise<number>;
  readErrors: number;
}

/** Metric names the exporter's own metrics use. */
const SELF_METRICS = ['tsbpf_events_lost', 'tsbpf_probes_attached', 'tsbpf_map_read_errors', 'tsbpf_series_dropped', 'tsbpf_scrape_duration_seconds', 'tsbpf_scrapes'];

function defaultPrefix(s: ScriptSource): string {
  if (s.name) return s.name;
  if (s.tool) return s.tool;
  if (s.file) return path.basename(s.file).replace(/\.bt$/, '');
  return 'script';
}

/** Compiles one source: its text (a tool's generated program), instrumented, and which maps become which metrics. */
async function prepare(s: ScriptSource, prefix: string): Promise<Prepared> {
  const { compile } = require('../lang/compile') as typeof import('../lang/compile');
  let text: string;
  let sourceName: string;
  let compileOpts: { params?: string[]; pid?: number; unsafe?: boolean } = { params: s.params };
  if (s.tool !== undefined) {
    const { getTool } = require('../tools/registry') as typeof import('../tools/registry');
    const { takeToolProgram } = require('../tools/common/script') as typeof import('../tools/common/script');
    const tool = getTool(s.tool);
    if (!tool) throw new ConfigError(`unknown tool '${s.tool}' (see 'tsbpf tools')`);
    const taken = await takeToolProgram(() => tool.run(s.args ?? []));
    if (!taken) throw new ConfigError(`${s.tool} ${(s.args ?? []).join(' ')}: the tool runs no program with these flags, so there is nothing to export`);
    text = taken.program;
    sourceName = `${s.tool}.bt`;
    compileOpts = { ...taken.compile, params: taken.compile?.params ?? s.params };
  } else if (s.file !== undefined) {
    text = readTrustedFile(s.file, 'script');
    sourceName = s.file;
  } else {
    text = s.program ?? '';
    sourceName = 'stdin';
  }
  const noSum = new Set(Object.entries(s.maps ?? {}).filter(([, o]) => o.sum === false).map(([name]) => name));
  const inst = instrumentScript(text, sourceName, { noSum });
  const artifact = compile({ name: sourceName, text: inst.text }, compileOpts);
  if (artifact.unsafe) throw new ConfigError(`${sourceName}: the script uses unsafe functions (system, signal), which the exporter does not run`);
  if (!artifact.programs.some((p) => p.attach.some((a) => a.kind !== 'begin' && a.kind !== 'end'))) {
    throw new ConfigError(`${sourceName}: the script has only BEGIN/END, so it would end at once: an exporter needs probes that keep running`);
  }
  const byName = new Map(artifact.userMaps.map((m) => [m.name, m]));
  for (const name of Object.keys(s.maps ?? {})) {
    if (!byName.has(name)) throw new ConfigError(`${s.tool ?? sourceName} has no map ${name} (it has ${artifact.userMaps.map((m) => m.name).filter((n) => !n.endsWith(SUM_SUFFIX)).join(', ') || 'none'})`);
  }
  const maps: ExportedMap[] = [];
  for (const spec of artifact.userMaps) {
    if (spec.name.endsWith(SUM_SUFFIX) && inst.maps.has(spec.name.slice(0, -SUM_SUFFIX.length))) continue; // a companion
    const o: MapOptions = s.maps?.[spec.name] ?? {};
    if (o.skip) continue;
    // a tool's plain maps are its bookkeeping (start timestamps...), not results
    if (s.tool !== undefined && spec.aggregation.kind === 'scalar' && !s.maps?.[spec.name]) continue;
    const info: MapInfo | undefined = inst.maps.get(spec.name);
    const local = spec.name.slice(1);
    const name = sanitizeName(o.name ?? (local ? `${prefix}_${local}` : prefix));
    const keyCount = spec.key === null ? 0 : spec.multiKey && spec.key.kind === 'tuple' ? spec.key.fields.length : 1;
    const given = o.labels ?? info?.labels ?? [];
    // valid and distinct whatever the config says; `__` names are Prometheus' own
    const labels = distinctNames(Array.from({ length: keyCount }, (_, i) => sanitizeName(given[i] ?? `key${i}`).replace(/^__+/, 'key_')));
    const named = labels.map((_, i) => info?.named[i]);
    maps.push({ spec, sum: info?.sumMap ? byName.get(info.sumMap) : undefined, name, labels, named, help: o.help ?? info?.help ?? spec.name });
  }
  if (maps.length === 0) {
    throw new ConfigError(`${s.tool ?? sourceName}: no map to serve (metrics come from maps: count(), sum(), hist()...; printf output is not a metric)`);
  }
  return { prefix, artifact, maps };
}

/** A syscall number as its name (`read`), as syscount prints it. */
function syscallNamer(v: Value): string {
  return v.kind === 'int' ? syscallName(Number(v.value)) : labelValue(v);
}

export class Exporter {
  private readonly opts: ExporterOptions;
  private readonly scripts: Running[] = [];
  private server: http.Server | undefined;
  private closing: Promise<void> | undefined;
  private inFlight: Promise<MetricFamily[]> | undefined;
  private scrapes = 0;
  private lastDropped = new Map<string, number>();
  private endedResolve: ((code: number) => void) | undefined;
  /** Resolves with an exit code once the exporter stopped: close(), or a script ended on its own (code 1). */
  readonly done: Promise<number>;

  private constructor(opts: ExporterOptions) {
    this.opts = opts;
    this.done = new Promise((res) => (this.endedResolve = res));
  }

  /** Compiles and attaches every script, then listens; on any failure detaches what started and throws. */
  static async start(opts: ExporterOptions): Promise<Exporter> {
    const ex = new Exporter(opts);
    try {
      await ex.startScripts();
      if (opts.listen !== false) await ex.listen(opts.listen ?? DEFAULT_LISTEN);
    } catch (e) {
      await ex.close();
      throw e;
    }
    sdNotify(`READY=1\nSTATUS=serving ${ex.scripts.length} script${ex.scripts.length === 1 ? '' : 's'}${ex.server ? ` on ${ex.url}` : ''}`);
    return ex;
  }

  private message(s: string): void {
    (this.opts.message ?? ((x) => process.stderr.write(x)))(s);
  }

  private async startScripts(): Promise<void> {
    if (this.opts.scripts.length === 0) throw new ConfigError('nothing to export: give a script file, -e PROGRAM or a tool (or scripts in --config)');
    const prepared: Prepared[] = [];
    const names = new Map<string, string>(SELF_METRICS.map((n) => [n, 'tsbpf itself']));
    const prefixes = new Map<string, number>();
    for (const s of this.opts.scripts) {
      let prefix = sanitizeName(defaultPrefix(s));
      const n = (prefixes.get(prefix) ?? 0) + 1;
      prefixes.set(prefix, n);
      if (n > 1) {
        if (s.name) throw new ConfigError(`two scripts are named '${prefix}': metric prefixes must differ`);
        prefix = `${prefix}${n}`;
      }
      const p = await prepare(s, prefix);
      for (const m of p.maps) {
        const base = m.name.replace(/_total$/, '');
        const other = names.get(base);
        if (other) throw new ConfigError(`metric ${m.name} (map ${m.spec.name} of ${prefix}) would collide with one of ${other}: name the map or script differently`);
        names.set(base, prefix);
      }
      prepared.push(p);
    }
    const { ScriptRuntime } = require('../runtime/run') as typeof import('../runtime/run');
    for (const p of prepared) {
      let onStarted: () => void = () => undefined;
      const started = new Promise<void>((res) => (onStarted = res));
      const rt = new ScriptRuntime(p.artifact, {
        quiet: true,
        handleSignals: false,
        write: this.opts.write,
        message: this.opts.message,
        onStart: () => onStarted(),
        onExit: () => undefined, // the maps are served, not printed
      });
      const ended = rt.run();
      const run: Running = { ...p, rt, ended, readErrors: 0 };
      // resolves with 'started' or throws the attach error
      await Promise.race([started, ended.then((code) => {
        throw new ConfigError(`${p.prefix}: the script ended at once (exit code ${code}): an exporter needs probes that keep running`);
      })]);
      this.scripts.push(run);
      ended.then(
        (code) => this.scriptEnded(run, `ended (exit code ${code})`),
        (e: unknown) => this.scriptEnded(run, `failed: ${(e as Error).message}`),
      );
    }
  }

  private scriptEnded(r: Running, how: string): void {
    if (this.closing) return;
    this.message(`tsbpf export: ${r.prefix} ${how}; stopping\n`);
    void this.close(1);
  }

  private async listen(spec: string): Promise<void> {
    const { host, port } = parseListen(spec);
    const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => void this.handle(req, res));
    server.maxConnections = 64;
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        rej(new ConfigError(`cannot listen on ${spec}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : e.message}`)));
      server.listen(port, host, () => res());
    });
  }

  /** The URL of /metrics (once listening). */
  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) return '';
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('only GET and HEAD\n');
      return;
    }
    if (url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('tsbpf export: metrics at /metrics\n');
      return;
    }
    if (url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    const format = negotiate(req.headers.accept);
    try {
      const body = await this.metrics(format);
      res.writeHead(200, { 'Content-Type': contentType(format), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`tsbpf export: ${(e as Error).message}\n`);
    }
  }

  /** Every metric, as the exposition format asks. */
  async metrics(format: ExpositionFormat = 'text'): Promise<string> {
    if (!this.inFlight) {
      this.inFlight = this.collect().finally(() => (this.inFlight = undefined));
    }
    return renderFamilies(await this.inFlight, format);
  }

  private async collect(): Promise<MetricFamily[]> {
    const t0 = process.hrtime.bigint();
    const families: MetricFamily[] = [];
    const dropped = new Map<string, number>();
    const limit = this.opts.seriesLimit ?? DEFAULT_SERIES_LIMIT;
    const namers = { disk: this.deviceNamer(), syscall: syscallNamer };
    for (const r of this.scripts) {
      for (const m of r.maps) {
        if (this.closing) break;
        let dump: MapDump;
        let sums: MapDump | undefined;
        try {
          dump = r.rt.dumpMap(m.spec);
          sums = m.sum ? r.rt.dumpMap(m.sum) : undefined;
        } catch {
          r.readErrors++;
          continue;
        }
        const labelValues = m.named.map((k) => (k ? namers[k] : undefined));
        const c = familyFromMap(dump, { name: m.name, help: m.help, labels: m.labels, labelValues }, { seriesLimit: limit }, sums);
        if (c.family) families.push(c.family);
        if (c.dropped) dropped.set(m.name, c.dropped);
        // let the ring buffers' events through between maps
        await new Promise((res) => setImmediate(res));
      }
    }
    this.lastDropped = dropped;
    this.scrapes++;
    families.push(...this.selfMetrics(Number(process.hrtime.bigint() - t0) / 1e9));
    return families;
  }

  /** A dev_t key as the device's name (`vda`), else MAJOR:MINOR; devices listed once per scrape, when a map needs them. */
  private deviceNamer(): (v: Value) => string {
    let disks: Disk[] | undefined;
    return (v) => {
      if (v.kind !== 'int') return labelValue(v);
      const dev = Number(v.value);
      disks ??= listDisks();
      return diskNameOf(dev, disks) ?? `${Math.floor(dev / 2 ** 20)}:${dev % 2 ** 20}`;
    };
  }

  private selfMetrics(seconds: number): MetricFamily[] {
    const perScript = (name: string, value: (r: Running) => bigint | number) =>
      this.scripts.map((r) => `${name}{script="${r.prefix}"} ${value(r)}`);
    return [
      { name: 'tsbpf_events_lost', type: 'counter', help: 'Events the kernel could not hand over (ring buffer full), per script.', lines: perScript('tsbpf_events_lost_total', (r) => r.rt.lostEvents()) },
      { name: 'tsbpf_probes_attached', type: 'gauge', help: 'Probes attached, per script.', lines: perScript('tsbpf_probes_attached', (r) => r.rt.probesAttached) },
      { name: 'tsbpf_map_read_errors', type: 'counter', help: 'Map reads that failed, per script.', lines: perScript('tsbpf_map_read_errors_total', (r) => r.readErrors) },
      {
        name: 'tsbpf_series_dropped', type: 'gauge', help: 'Series left out of the last scrape because the metric has more than the series limit.',
        lines: [...this.lastDropped].map(([metric, n]) => `tsbpf_series_dropped{metric="${metric}"} ${n}`),
      },
      { name: 'tsbpf_scrape_duration_seconds', type: 'gauge', help: 'Time this scrape spent reading and converting the maps.', lines: [`tsbpf_scrape_duration_seconds ${seconds}`] },
      { name: 'tsbpf_scrapes', type: 'counter', help: 'Scrapes served.', lines: [`tsbpf_scrapes_total ${this.scrapes}`] },
    ];
  }

  /** Stops serving, detaches every probe, frees every map; idempotent. */
  close(code = 0): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        sdNotify('STOPPING=1');
        const server = this.server;
        if (server) {
          await new Promise<void>((res) => {
            server.close(() => res());
            server.closeAllConnections();
          });
        }
        for (const r of this.scripts) r.rt.stop();
        await Promise.allSettled(this.scripts.map((r) => r.ended));
        this.endedResolve?.(code);
      })();
    }
    return this.closing;
  }
}

/** Starts an exporter (see Exporter.start). */
export function exporter(opts: ExporterOptions): Promise<Exporter> {
  return Exporter.start(opts);
}
