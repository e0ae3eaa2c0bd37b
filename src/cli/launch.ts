/**
 * What bin/tsbpf runs: the CLI bundle (dist/tsbpf.js, one file made by
 * scripts/build.js with esbuild) through a V8 code cache, or tsc's output
 * (dist/src/cli/main.js) when the bundle is absent or older than the last tsc
 * build (a developer who edited src/ and ran tsc must run their edit, not a
 * stale bundle).
 *
 * Why: Node's own start is the floor (~50 ms of CPU here); resolving, reading
 * and compiling ~140 modules added ~35 ms to `BEGIN { exit(); }`. One file
 * removes the resolution, the code cache removes most of the compilation
 * (bench/README.md, section 1, has the numbers).
 *
 * The cache (dist/cache/tsbpf-NODEVERSION-ARCH.v8) is V8 bytecode, as trusted
 * as the bundle beside it, so it is only ever written into a directory owned
 * by the running user and writable by nobody else, through an exclusive
 * temporary file and a rename (never through a planted file or link). V8
 * rejects a cache made by another V8 version or other flags; it is then
 * remade once. scripts/build.js removes every cache when it writes a bundle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import Module = require('node:module');

type Main = (argv: string[]) => void;

const DIST = path.join(__dirname, '..', '..');
export const BUNDLE = path.join(DIST, 'tsbpf.js');
export const CACHE_DIR = path.join(DIST, 'cache');

/**
 * V8 rejects a cache made under other V8 flags (--prof, --perf-basic-prof,
 * --expose-gc, --max-old-space-size=...) and this launcher then rewrites it, so
 * one such run made the next plain run compile everything again (+77 ms of CPU
 * measured, 126 against 49 ms over `node -e 0`). Each flag set gets a cache of
 * its own; a plain `bin/tsbpf` run (no flags: it strips NODE_OPTIONS) keeps the
 * plain name.
 */
export function cacheFile(): string {
  const flags = [...process.execArgv.filter((a) => a.startsWith('--')), process.env.NODE_OPTIONS ?? ''].join('\0');
  return path.join(CACHE_DIR, `tsbpf-${process.version}-${process.arch}${flags === '' ? '' : `-${fnv1a(flags)}`}.v8`);
}

/** 32-bit FNV-1a, hex: a file-name key, not a security check (node:crypto would be one more module to load at every start). */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function mtimeMs(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The bundle is used when it exists and no tsc build came after it. */
export function bundleIsCurrent(): boolean {
  const b = mtimeMs(BUNDLE);
  if (b === undefined) return false;
  const tsc = mtimeMs(path.join(DIST, '.tsbuildinfo'));
  return tsc === undefined || b >= tsc;
}

/** Owned by us and writable by no one else: safe to write into as root. */
function ownDirectory(dir: string): boolean {
  try {
    const st = fs.lstatSync(dir);
    return st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function writeCache(data: Buffer): void {
  if (!ownDirectory(DIST)) return;
  try {
    fs.mkdirSync(CACHE_DIR, { mode: 0o755 });
  } catch { /* exists */ }
  if (!ownDirectory(CACHE_DIR)) return;
  const tmp = path.join(CACHE_DIR, `.tmp-${process.pid}`);
  try {
    fs.writeFileSync(tmp, data, { flag: 'wx', mode: 0o644 });
    fs.renameSync(tmp, cacheFile());
  } catch {
    try { fs.unlinkSync(tmp); } catch { /* not created */ }
  }
}

/** Compiles and runs the bundle as a CommonJS module, with the code cache when V8 accepts it. */
export function loadBundle(): { main: Main } {
  // esbuild writes ASCII only (charset: ascii), so latin1 is the same text without UTF-8 decoding.
  const source = fs.readFileSync(BUNDLE, 'latin1');
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile());
  } catch { /* none yet */ }
  // scripts/build.js wraps the bundle in the CommonJS function itself (no Module.wrap copy).
  const script = new vm.Script(source, { filename: BUNDLE, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // Made at exit, so it holds the functions this run compiled too, not only the top level.
    process.once('exit', () => writeCache(script.createCachedData()));
  }
  const wrapper = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const m = { exports: {} as { main: Main } };
  wrapper.call(m.exports, m.exports, Module.createRequire(BUNDLE), m, BUNDLE, DIST);
  return m.exports;
}

export function launch(argv: string[]): void {
  const entry = bundleIsCurrent() ? loadBundle() : (require('./main') as { main: Main });
  entry.main(argv);
}
