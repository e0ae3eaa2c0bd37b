/**
 * The exporter's configuration: what the library takes (ExporterOptions), and
 * the `--config FILE` YAML that holds the same for a service.
 *
 * ```yaml
 * listen: 127.0.0.1:9435        # default; ":9435" listens on every interface
 * series_limit: 10000           # per metric; the rest are dropped (tsbpf_series_dropped)
 * scripts:
 *   - tool: biolatency          # a tool with its flags ...
 *     args: [-D]
 *     name: disk                # metric prefix (default: the tool's or file's name)
 *     maps:                     # per map: name, labels, help, skip, sum (false: no _sum, no companion sum())
 *       '@lat': { labels: [disk], help: "Block I/O latency, microseconds" }
 *   - file: /etc/tsbpf/syscalls.bt   # ... or a script file ...
 *   - name: sys                      # ... or the program itself
 *     program: |
 *       tracepoint:raw_syscalls:sys_enter { @calls[comm] = count(); }
 * ```
 *
 * A config or script file is code run as root: one that a user other than
 * root (or us) owns or can write is refused.
 */
import * as fs from 'node:fs';
import { UserError } from '../errors';

/** Per-map overrides. */
export interface MapOptions {
  /** Metric name instead of PREFIX_MAP (a counter still gets `_total`). */
  name?: string;
  /** Label names, one per key component. */
  labels?: string[];
  help?: string;
  /** Leave this map out. */
  skip?: boolean;
  /** false: no `_sum` for this histogram, so no companion sum() and no extra work per event (default true). */
  sum?: boolean;
}

/** One metric source: exactly one of `file`, `program` or `tool`. */
export interface ScriptSource {
  /** Metric name prefix: default the file's base name, the tool's name, or `script`. */
  name?: string;
  file?: string;
  program?: string;
  tool?: string;
  /** The tool's flags. */
  args?: string[];
  /** Script parameters ($1, $2, ...). */
  params?: string[];
  maps?: Record<string, MapOptions>;
}

export interface ExporterOptions {
  scripts: ScriptSource[];
  /** `HOST:PORT`, `[V6]:PORT` or `:PORT` (every interface); default 127.0.0.1:9435; false: no HTTP server (call metrics()). */
  listen?: string | false;
  /** Series per metric; default 10000. */
  seriesLimit?: number;
  /** Where the scripts' own output (printf...) goes; default stdout. */
  write?: (s: string) => void;
  /** Where the exporter's messages go; default stderr. */
  message?: (s: string) => void;
}

export const DEFAULT_LISTEN = '127.0.0.1:9435';
export const DEFAULT_SERIES_LIMIT = 10000;

export class ConfigError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError'; // shown as one sentence by the CLI
  }
}

/** Refuses a file holding code that someone other than root or us could have written. */
export function readTrustedFile(file: string, what: string): string {
  let st: fs.Stats;
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      st = fs.fstatSync(fd); // the file we read, not whatever the path points to later
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read ${what} '${file}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`);
  }
  const me = process.geteuid?.() ?? 0;
  if (st.uid !== 0 && st.uid !== me) throw new ConfigError(`refusing ${what} '${file}': it is owned by uid ${st.uid}, and tsbpf would run its code as root`);
  if (st.mode & 0o022) throw new ConfigError(`refusing ${what} '${file}': other users can write it (mode ${(st.mode & 0o777).toString(8)}), and tsbpf would run its code as root`);
  return text;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function only(o: Plain, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new ConfigError(`${where}: unknown key '${k}' (expected ${allowed.join(', ')})`);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${where} must be a non-empty string`);
  return v;
}

function strList(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new ConfigError(`${where} must be a list`);
  return v.map((x, i) => (typeof x === 'number' ? String(x) : str(x, `${where}[${i}]`)));
}

function mapOptions(v: unknown, where: string): MapOptions {
  if (!isPlain(v)) throw new ConfigError(`${where} must be a mapping`);
  only(v, ['name', 'labels', 'help', 'skip', 'sum'], where);
  const m: MapOptions = {};
  if (v.name !== undefined) m.name = str(v.name, `${where}.name`);
  if (v.labels !== undefined) m.labels = strList(v.labels, `${where}.labels`);
  if (v.help !== undefined) m.help = str(v.help, `${where}.help`);
  for (const k of ['skip', 'sum'] as const) {
    if (v[k] === undefined) continue;
    if (typeof v[k] !== 'boolean') throw new ConfigError(`${where}.${k} must be true or false`);
    m[k] = v[k] as boolean;
  }
  return m;
}

function scriptSource(v: unknown, where: string): ScriptSource {
  if (!isPlain(v)) throw new ConfigError(`${where} must be a mapping with one of file, program or tool`);
  only(v, ['name', 'file', 'program', 'tool', 'args', 'params', 'maps'], where);
  const s: ScriptSource = {};
  const kinds = (['file', 'program', 'tool'] as const).filter((k) => v[k] !== undefined);
  if (kinds.length !== 1) throw new ConfigError(`${where} needs exactly one of file, program or tool`);
  if (v.name !== undefined) s.name = str(v.name, `${where}.name`);
  if (v.file !== undefined) s.file = str(v.file, `${where}.file`);
  if (v.program !== undefined) s.program = str(v.program, `${where}.program`);
  if (v.tool !== undefined) s.tool = str(v.tool, `${where}.tool`);
  if (v.args !== undefined) {
    if (s.tool === undefined) throw new ConfigError(`${where}.args is for a tool's flags (use params for a script's $1, $2...)`);
    s.args = strList(v.args, `${where}.args`);
  }
  if (v.params !== undefined) s.params = strList(v.params, `${where}.params`);
  if (v.maps !== undefined) {
    if (!isPlain(v.maps)) throw new ConfigError(`${where}.maps must be a mapping from map names ('@lat') to options`);
    s.maps = {};
    for (const [name, o] of Object.entries(v.maps)) {
      if (!name.startsWith('@')) throw new ConfigError(`${where}.maps: '${name}' is not a map name (they start with @)`);
      s.maps[name] = mapOptions(o, `${where}.maps['${name}']`);
    }
  }
  return s;
}

/** Parses the YAML text of a config file. */
export function parseConfig(text: string, file = 'config'): Omit<ExporterOptions, 'write' | 'message'> {
  const YAML = require('yaml') as typeof import('yaml');
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isPlain(doc)) throw new ConfigError(`${file}: expected a mapping with listen, series_limit and scripts`);
  only(doc, ['listen', 'series_limit', 'scripts'], file);
  const out: Omit<ExporterOptions, 'write' | 'message'> = { scripts: [] };
  if (doc.listen !== undefined) out.listen = str(doc.listen, `${file}: listen`);
  if (doc.series_limit !== undefined) {
    const n = doc.series_limit;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${file}: series_limit must be a positive integer`);
    out.seriesLimit = n;
  }
  if (doc.scripts !== undefined) {
    if (!Array.isArray(doc.scripts)) throw new ConfigError(`${file}: scripts must be a list`);
    out.scripts = doc.scripts.map((s, i) => scriptSource(s, `${file}: scripts[${i}]`));
  }
  return out;
}

/** Where to listen: host and port from `HOST:PORT`, `[V6]:PORT` or `:PORT`. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`--listen '${s}': expected HOST:PORT, [IPV6]:PORT or :PORT (every interface)`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]);
  return { host, port };
}
