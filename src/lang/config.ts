/**
 * bpftrace's configuration (0.26, C34-C49): every key, its type and default,
 * in one table. A script sets keys in its `config = { key = value; ... }`
 * block (a key may also be spelled as its environment name,
 * `BPFTRACE_STACK_MODE`); the environment variable `BPFTRACE_<KEY>` is read
 * after the block and wins, as in bpftrace. Unknown keys are errors; renamed
 * keys (strlen) warn and apply to their new name.
 *
 * @example
 * resolveConfig([{ key: 'stack_mode', value: 'raw', ... }], {}).values.stack_mode // 'raw'
 */
import type { ConfigEntry, Span } from './ast';

/** bpftrace's BPF license strings, in the order its error message lists them. */
export const LICENSES = ['Dual MIT/GPL', 'Dual BSD/GPL', 'Dual MPL/GPL', 'GPL and additional rights', 'GPL v2', 'GPL'] as const;

const UNSTABLE = ['enable', 'warn', 'error'] as const;

type KeyDef =
  | { kind: 'int'; dflt: number }
  | { kind: 'bool'; dflt: boolean }
  | { kind: 'string'; dflt: string }
  | { kind: 'enum'; dflt: string; values: readonly string[]; message: string };

const enumKey = (dflt: string, values: readonly string[], message: string): Extract<KeyDef, { kind: 'enum' }> => ({ kind: 'enum', dflt, values, message });

/**
 * The keys. max_strlen keeps tsbpf's default (64; strings live on the
 * 512-byte BPF stack, at most 200 bytes); the others are bpftrace 0.26's.
 */
const KEYS = {
  cache_user_symbols: enumKey('per_pid', ['per_pid', 'per_program', 'none'], 'Invalid value for cache_user_symbols: valid values are PER_PID, PER_PROGRAM, and NONE.'),
  cpp_demangle: { kind: 'bool', dflt: true },
  lazy_symbolication: { kind: 'bool', dflt: true },
  license: enumKey('GPL', LICENSES, ''),
  log_size: { kind: 'int', dflt: 1000000 },
  max_bpf_progs: { kind: 'int', dflt: 1024 },
  max_cat_bytes: { kind: 'int', dflt: 10240 },
  max_map_keys: { kind: 'int', dflt: 4096 },
  max_probes: { kind: 'int', dflt: 1024 },
  max_strlen: { kind: 'int', dflt: 64 },
  on_stack_limit: { kind: 'int', dflt: 32 },
  perf_rb_pages: { kind: 'int', dflt: 0 },
  stack_mode: enumKey('bpftrace', ['bpftrace', 'perf', 'raw', 'build_id'], 'Invalid value for stack_mode: valid values are bpftrace, perf, raw, and build_id.'),
  str_trunc_trailer: { kind: 'string', dflt: '..' },
  missing_probes: enumKey('error', ['ignore', 'warn', 'error'], 'Invalid value for missing_probes: valid values are ignore, warn, and error.'),
  print_maps_on_exit: { kind: 'bool', dflt: true },
  use_blazesym: { kind: 'bool', dflt: false },
  show_debug_info: { kind: 'bool', dflt: false },
  unstable_import_statement: enumKey('error', UNSTABLE, 'Invalid value for unstable config: valid values are enable, warn, and error.'),
  unstable_tseries: enumKey('warn', UNSTABLE, 'Invalid value for unstable config: valid values are enable, warn, and error.'),
  unstable_typeinfo: enumKey('error', UNSTABLE, 'Invalid value for unstable config: valid values are enable, warn, and error.'),
  unstable_dw_ustack: enumKey('warn', UNSTABLE, 'Invalid value for unstable config: valid values are enable, warn, and error.'),
} satisfies Record<string, KeyDef>;

export type ConfigKey = keyof typeof KEYS;
type ValueOf<D> = D extends { kind: 'int' } ? number : D extends { kind: 'bool' } ? boolean : string;
export type Config = { -readonly [K in ConfigKey]: ValueOf<(typeof KEYS)[K]> };

/** Old names that 0.26 still takes, with a warning. */
const RENAMED: Readonly<Record<string, ConfigKey>> = {
  strlen: 'max_strlen', no_cpp_demangle: 'cpp_demangle', cat_bytes_max: 'max_cat_bytes', map_keys_max: 'max_map_keys',
};
/** Names bpftrace reads only from the environment. */
const ENV_ONLY = new Set(['btf', 'kernel_build', 'kernel_source', 'vmlinux']);
/** Keys that once existed and are ignored now (a warning). */
const DEPRECATED = new Set(['symbol_source', 'max_type_res_iterations', 'unstable_addr', 'unstable_import', 'unstable_macro', 'unstable_map_decl']);
/** bpftrace 0.17's environment names, still read when the 0.26 name is not set. */
const OLD_ENV: Readonly<Record<string, ConfigKey>> = { BPFTRACE_STRLEN: 'max_strlen', BPFTRACE_MAP_KEYS_MAX: 'max_map_keys' };

export interface ConfigProblem {
  message: string;
  span: Span | null;
}

export interface ResolvedConfig {
  values: Config;
  /** The keys set by the script or the environment (the rest are defaults). */
  set: Set<ConfigKey>;
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

export function configDefaults(): Config {
  const out: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(KEYS)) out[k] = d.dflt;
  return out as Config;
}

/** Every key with its value, for the `config()` builtin. */
export function configKeys(): ConfigKey[] {
  return Object.keys(KEYS) as ConfigKey[];
}

/** The config block's entries, then the environment's BPFTRACE_<KEY> variables over them. */
export function resolveConfig(entries: readonly ConfigEntry[], env: NodeJS.ProcessEnv): ResolvedConfig {
  const r: ResolvedConfig = { values: configDefaults(), set: new Set(), errors: [], warnings: [] };
  for (const e of entries) {
    let key = e.key.toLowerCase().replace(/^bpftrace_/, '');
    if (DEPRECATED.has(key)) {
      r.warnings.push({ message: `${e.key} is deprecated and has no effect`, span: e.span });
      continue;
    }
    if (ENV_ONLY.has(key)) {
      r.errors.push({ message: `${e.key}: can only be set as an environment variable`, span: e.span });
      continue;
    }
    const renamed = RENAMED[key];
    if (renamed) {
      r.warnings.push({ message: `${e.key} has been renamed, please use ${renamed}`, span: e.span });
      key = renamed;
    }
    if (!(key in KEYS)) {
      r.errors.push({ message: `${e.key}: not a known configuration option`, span: e.span });
      continue;
    }
    const bad = setKey(r, key as ConfigKey, e.value);
    if (bad) r.errors.push({ message: bad, span: e.span });
  }
  const fromEnv = new Set<ConfigKey>();
  for (const key of configKeys()) {
    const v = env[`BPFTRACE_${key.toUpperCase()}`];
    if (v === undefined) continue;
    fromEnv.add(key);
    const bad = setKey(r, key, v);
    if (bad) r.errors.push({ message: bad.startsWith(`${key}: `) ? `BPFTRACE_${key.toUpperCase()}${bad.slice(key.length)}` : bad, span: null });
  }
  for (const [name, key] of Object.entries(OLD_ENV)) {
    const v = env[name];
    if (v !== undefined && !fromEnv.has(key) && !setKey(r, key, v)) fromEnv.add(key);
  }
  return r;
}

/** Sets one key from a config value (integer, or a name/string); returns bpftrace's message when the value is wrong. */
function setKey(r: ResolvedConfig, key: ConfigKey, value: bigint | string): string | undefined {
  const d: KeyDef = KEYS[key];
  const vals = r.values as Record<string, unknown>;
  const text = typeof value === 'string' ? value : value.toString();
  switch (d.kind) {
    case 'int': {
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(text.trim())) return `${key}: expecting a number, got ${text}`;
      vals[key] = Number(BigInt(text.trim()));
      break;
    }
    case 'bool': {
      const t = text.toLowerCase();
      if (t === 'true' || t === '1') vals[key] = true;
      else if (t === 'false' || t === '0') vals[key] = false;
      else if (typeof value === 'bigint') vals[key] = value !== 0n;
      else return `${key}: Invalid bool value: valid values are true, false, 1 or 0.`;
      break;
    }
    case 'string':
      vals[key] = text;
      break;
    case 'enum': {
      if (key === 'license') {
        if (!(d.values as readonly string[]).includes(text)) {
          return `Invalid value for license. Found: ${text}. Valid values: ${LICENSES.join(', ')}. Read more about BPF programs and licensing: https://docs.kernel.org/bpf/bpf_licensing.html#using-bpf-programs-in-the-linux-kernel`;
        }
        vals[key] = text;
        break;
      }
      let t = text.toLowerCase();
      // unstable_* and cache_user_symbols take booleans too, as bpftrace reads them
      if (d.values === UNSTABLE) t = t === 'true' || t === '1' ? 'enable' : t === 'false' || t === '0' ? 'error' : t;
      if (key === 'cache_user_symbols') t = t === '0' ? 'none' : t === '1' ? d.dflt : t;
      if (!d.values.includes(t)) return `${key}: ${d.message}`;
      vals[key] = t;
      break;
    }
  }
  r.set.add(key);
  return undefined;
}
