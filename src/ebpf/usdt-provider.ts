/**
 * USDT probes defined by a Node.js program at run time, visible to every
 * tracer that reads SystemTap SDT notes (tsbpf, bpftrace, bcc's trace and
 * tplist): what libstapsdt offers C programs, with no C library.
 *
 * `enable()` generates a small x86-64 shared object with one function per
 * probe — its body is the probe site, a `nop` then `ret` — a `.note.stapsdt`
 * entry per probe naming the provider, the probe, the argument registers and
 * a semaphore in `.probes`; writes it into a fresh private directory
 * (mkdtemp, mode 0700) and dlopen()s it, so /proc/PID/maps shows it and
 * `-p PID` discovery finds it. `fire()` reads the probe's semaphore — which
 * the kernel raises while a tracer has the probe attached — straight from the
 * mapped object and returns at once when it is 0; only then does it run the
 * callback and call the probe function with the arguments in registers
 * (rdi, rsi, rdx, rcx, r8, r9; a string as a pointer to a NUL-terminated copy).
 *
 * @example
 *   import { usdt } from 'tsbpf';
 *   const provider = usdt.provider('myapp');
 *   const probe = provider.probe('firstProbe', 'int', 'string');
 *   provider.enable();
 *   probe.fire(() => [42, 'My little string']);   // the callback runs only while traced
 *   provider.disable();
 *   // tsbpf trace -p PID 'u::firstProbe "%d - %s", arg1, arg2'
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSharedObject, type SoNote } from './elfwriter';
import { native, type DlHandle, type SymHandle } from '../sys/native';
import { UserError } from '../errors';

/** Integer argument types (C's stdint names without `_t`) and strings. */
export type UsdtArgType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'string';

/** What a probe's argument callback may return per argument. */
export type UsdtArgValue = number | bigint | string;

interface ArgKind { readonly size: 1 | 2 | 4 | 8; readonly signed: boolean; readonly string: boolean }

const ARG_KINDS: Readonly<Record<UsdtArgType, ArgKind>> = {
  int8: { size: 1, signed: true, string: false },
  uint8: { size: 1, signed: false, string: false },
  int16: { size: 2, signed: true, string: false },
  uint16: { size: 2, signed: false, string: false },
  int32: { size: 4, signed: true, string: false },
  uint32: { size: 4, signed: false, string: false },
  int64: { size: 8, signed: true, string: false },
  uint64: { size: 8, signed: false, string: false },
  string: { size: 8, signed: false, string: true },
};

/** C spellings accepted too, as Node's libstapsdt binding took them. */
const ARG_ALIASES: Readonly<Record<string, UsdtArgType>> = {
  int: 'int32', 'unsigned int': 'uint32', long: 'int64', 'unsigned long': 'uint64', 'char *': 'string', 'const char *': 'string',
  int8_t: 'int8', uint8_t: 'uint8', int16_t: 'int16', uint16_t: 'uint16', int32_t: 'int32', uint32_t: 'uint32', int64_t: 'int64', uint64_t: 'uint64',
};

/** The stapsdt convention: at most six arguments, in the x86-64 integer argument registers. */
export const USDT_MAX_ARGS = 6;
const ARG_REGS = ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'] as const;

/** Provider and probe names become C identifiers in the note and symbol names. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Bad use of the provider API: one sentence saying what to change. */
export class UsdtProviderError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsdtProviderError';
  }
}

function argType(t: string, probe: string): UsdtArgType {
  const norm = t.trim().replace(/\s+/g, ' ').replace(/([^ ])\*$/, '$1 *');
  if (norm in ARG_KINDS) return norm as UsdtArgType;
  const alias = ARG_ALIASES[norm];
  if (alias) return alias;
  throw new UsdtProviderError(`probe '${probe}': unknown argument type '${t}' (use ${Object.keys(ARG_KINDS).join(', ')}, or int / char *)`);
}

/** The argument string of a probe's note, e.g. `-4@%rdi 8@%rsi` for (int32, string). */
export function usdtArgSpec(types: readonly UsdtArgType[]): string {
  return types.map((t, i) => `${ARG_KINDS[t].signed ? '-' : ''}${ARG_KINDS[t].size}@%${ARG_REGS[i]}`).join(' ');
}

/** Probe site: the uprobe goes on the nop; the arguments are still in their registers there. */
const PROBE_FUNCTION_CODE = Uint8Array.of(0x90 /* nop */, 0xc3 /* ret */);

/** One `.note.stapsdt` entry (type 3): pc, `.stapsdt.base`, semaphore, then provider, name, args. */
function stapsdtNote(pc: number, base: number, semaphore: number, provider: string, name: string, args: string): SoNote {
  const head = Buffer.alloc(24);
  head.writeBigUInt64LE(BigInt(pc), 0);
  head.writeBigUInt64LE(BigInt(base), 8);
  head.writeBigUInt64LE(BigInt(semaphore), 16);
  return { owner: 'stapsdt', type: 3, desc: Buffer.concat([head, Buffer.from(`${provider}\0${name}\0${args}\0`, 'utf8')]) };
}

/** Names of what the generated object defines for a probe. */
function semaphoreSymbol(provider: string, probe: string): string {
  return `${provider}_${probe}_semaphore`;
}

/**
 * The shared object for a provider's probes: function `NAME` per probe, its
 * semaphore `PROVIDER_NAME_semaphore` (u16) in `.probes`, the notes.
 */
export function buildProviderObject(provider: string, probes: readonly { name: string; types: readonly UsdtArgType[] }[]): Buffer {
  return buildSharedObject({
    soname: `${provider}.so`,
    functions: probes.map((p) => ({ name: p.name, code: PROBE_FUNCTION_CODE })),
    variables: { section: '.probes', items: probes.map((p) => ({ name: semaphoreSymbol(provider, p.name), size: 2 })) },
    markers: [{ name: '.stapsdt.base', size: 1 }],
    notes: (layout) => [{
      section: '.note.stapsdt',
      notes: probes.map((p) => stapsdtNote(layout.symbol(p.name), layout.section('.stapsdt.base'), layout.symbol(semaphoreSymbol(provider, p.name)), provider, p.name, usdtArgSpec(p.types))),
    }],
  }).image;
}

/** Directories of enabled providers, removed at exit (a process killed by a signal leaves its own: see sweepStale). */
const liveDirs = new Set<string>();
let exitHookInstalled = false;
const DIR_PREFIX = 'tsbpf-usdt-';

/**
 * Removes provider directories left behind by processes of ours that died
 * without running exit handlers (SIGKILL, an unhandled signal). Only
 * directories named for a process that no longer exists, owned by us, not
 * symbolic links.
 */
function sweepStale(tmp: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  const ours = new RegExp(`^${DIR_PREFIX}(\\d+)-`);
  for (const n of names) {
    const m = ours.exec(n);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // still running (or not ours to signal): leave it
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    const p = path.join(tmp, n);
    try {
      const st = fs.lstatSync(p);
      if (st.isDirectory() && (uid === undefined || st.uid === uid)) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // raced with its owner or another sweeper
    }
  }
}

function removeDir(dir: string): void {
  liveDirs.delete(dir);
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // already gone
  }
}

function describeValue(v: unknown): string {
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'string') return 'a string';
  return v === null ? 'null' : typeof v;
}

/** A fresh semaphore that reads 0: what fire() sees while the provider is not enabled. */
const idleSemaphore = (): Uint16Array => new Uint16Array(1);

/** A probe of a provider; fire() it where the event happens. */
export class ProviderProbe {
  readonly provider: string;
  readonly name: string;
  readonly types: readonly UsdtArgType[];
  /** The semaphore in the loaded object (kernel-raised while traced), or a zero stand-in. */
  private semaphore: Uint16Array = idleSemaphore();
  private site?: SymHandle;

  /** @internal use UsdtProvider.probe() */
  constructor(provider: string, name: string, types: readonly UsdtArgType[]) {
    this.provider = provider;
    this.name = name;
    this.types = types;
  }

  /** True while a tracer has this probe enabled (its semaphore is non-zero). */
  get traced(): boolean {
    return this.semaphore[0] !== 0;
  }

  /**
   * Fires the probe. `args` runs only while a tracer has the probe enabled;
   * it returns one value per declared argument (an integer or bigint for an
   * integer type — passed as 64 bits, the tracer reads the declared width —
   * a string for `string`; a probe without arguments needs no callback).
   * Untraced, this is one memory load.
   */
  fire(args?: () => readonly UsdtArgValue[]): void {
    if (this.semaphore[0] === 0) return;
    this.fireWith(args ? args() : []);
  }

  private fireWith(values: readonly UsdtArgValue[]): void {
    const site = this.site;
    if (!site) return; // disabled from inside the callback
    if (!Array.isArray(values) || values.length !== this.types.length) {
      throw new TypeError(`probe ${this.provider}:${this.name} takes ${this.types.length} argument${this.types.length === 1 ? '' : 's'} (${this.types.join(', ')}), the callback returned ${Array.isArray(values) ? values.length : 'no array'}`);
    }
    this.types.forEach((t, i) => {
      const v = values[i];
      const ok = ARG_KINDS[t].string ? typeof v === 'string' : typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
      if (!ok) throw new TypeError(`probe ${this.provider}:${this.name}: argument ${i + 1} must be ${ARG_KINDS[t].string ? 'a string' : 'an integer or bigint'}, got ${describeValue(v)}`);
    });
    native().symCall(site, ...values);
  }

  /** @internal the provider binds the probe to its loaded object, or (no arguments) unbinds it. */
  bind(site?: SymHandle, semaphore?: Uint16Array): void {
    this.site = site;
    this.semaphore = semaphore ?? idleSemaphore();
  }
}

export interface ProviderOptions {
  /** Where the private directory holding the object is created; default os.tmpdir(). Must allow executable mappings. */
  dir?: string;
}

/** A USDT provider: a set of probes that appear to tracers as one shared object. */
export class UsdtProvider {
  readonly name: string;
  private readonly probeList: ProviderProbe[] = [];
  private readonly dir: string;
  private loaded?: { lib: DlHandle; dir: string; path: string };

  constructor(name: string, opts: ProviderOptions = {}) {
    if (!NAME.test(name)) throw new UsdtProviderError(`provider name '${name}' must be a C identifier (letters, digits, _; at most 64 characters)`);
    this.name = name;
    this.dir = opts.dir ?? os.tmpdir();
  }

  /** Declares a probe; up to six argument types (see UsdtArgType; `int` and `char *` are accepted too). */
  probe(name: string, ...types: (UsdtArgType | string)[]): ProviderProbe {
    if (this.loaded) throw new UsdtProviderError(`provider '${this.name}' is enabled: declare probe '${name}' before enable() (or disable() first)`);
    if (!NAME.test(name)) throw new UsdtProviderError(`probe name '${name}' must be a C identifier (letters, digits, _; at most 64 characters)`);
    if (this.probeList.some((p) => p.name === name)) throw new UsdtProviderError(`provider '${this.name}' already has a probe '${name}'`);
    const clash = this.probeList.find((p) => semaphoreSymbol(this.name, p.name) === name || semaphoreSymbol(this.name, name) === p.name);
    if (clash) throw new UsdtProviderError(`probe name '${name}' clashes with the symbols of probe '${clash.name}' (each probe defines NAME and ${this.name}_NAME_semaphore)`);
    if (types.length > USDT_MAX_ARGS) throw new UsdtProviderError(`probe '${name}' has ${types.length} arguments; USDT probes take at most ${USDT_MAX_ARGS}`);
    const p = new ProviderProbe(this.name, name, types.map((t) => argType(t, name)));
    this.probeList.push(p);
    return p;
  }

  get probes(): readonly ProviderProbe[] {
    return this.probeList;
  }

  get enabled(): boolean {
    return this.loaded !== undefined;
  }

  /** The generated object's path while enabled (what tracers see in /proc/PID/maps). */
  get path(): string | undefined {
    return this.loaded?.path;
  }

  /** Generates, writes and loads the object: from now on tracers can attach to the probes. Idempotent. */
  enable(): void {
    if (this.loaded) return;
    if (process.arch !== 'x64') throw new UsdtProviderError(`USDT providers are implemented for x86-64 only, not ${process.arch}`);
    sweepStale(this.dir);
    const image = buildProviderObject(this.name, this.probeList);
    let dir: string;
    try {
      dir = fs.mkdtempSync(path.join(this.dir, `${DIR_PREFIX}${process.pid}-`)); // mode 0700
    } catch (e) {
      throw new UsdtProviderError(`cannot create a directory for provider '${this.name}' in ${this.dir}: ${(e as Error).message}`);
    }
    liveDirs.add(dir);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const d of [...liveDirs]) removeDir(d);
      });
    }
    const file = path.join(dir, `${this.name}.so`);
    const lib = (() => {
      try {
        fs.writeFileSync(file, image, { mode: 0o600, flag: 'wx' });
      } catch (e) {
        removeDir(dir);
        throw new UsdtProviderError(`cannot write the object of provider '${this.name}' (${file}): ${(e as Error).message}`);
      }
      const h = native().dlopen(file);
      if (typeof h === 'string') {
        removeDir(dir);
        throw new UsdtProviderError(`cannot load the object of provider '${this.name}': ${h}${/map|permitted/i.test(h) ? ` (is ${this.dir} mounted noexec? pass { dir } to usdt.provider())` : ''}`);
      }
      return h;
    })();
    const n = native();
    for (const p of this.probeList) {
      const site = n.dlsym(lib, p.name);
      const sema = n.dlsym(lib, semaphoreSymbol(this.name, p.name));
      if (!site || !sema) {
        n.dlclose(lib);
        removeDir(dir);
        throw new UsdtProviderError(`the generated object of provider '${this.name}' lacks symbols of probe '${p.name}'`);
      }
      p.bind(site, new Uint16Array(n.symView(sema, 2)));
    }
    this.loaded = { lib, dir, path: file };
  }

  /** Unloads and deletes the object: the probes are gone, fire() is a no-op until enable() again. */
  disable(): void {
    const l = this.loaded;
    if (!l) return;
    this.loaded = undefined;
    for (const p of this.probeList) p.bind();
    native().dlclose(l.lib);
    removeDir(l.dir);
  }
}

/** A new provider named `name` (a C identifier); declare probes, then enable(). */
export function provider(name: string, opts?: ProviderOptions): UsdtProvider {
  return new UsdtProvider(name, opts);
}
