/**
 * Library short names → paths, the way `uprobe:libc:getaddrinfo` and bcc's
 * `-l c` resolve them: first a running process's own mappings (when a pid is
 * given), then /etc/ld.so.cache, then the usual library directories.
 *
 * /etc/ld.so.cache format ("glibc-ld.so.cache1.1", glibc ≥ 2.32 writes only
 * this one): a 48-byte header (magic+version 20 bytes, nlibs u32,
 * len_strings u32, flags u8, 3 pad, extension offset u32, 3 unused u32)
 * followed by nlibs 24-byte entries (flags i32, key u32, value u32,
 * osversion u32, hwcap u64). key/value are offsets of NUL-terminated strings
 * from the start of the new-format header. Older caches put a
 * "ld.so-1.7.0" table (12-byte entries) first; the new table follows it,
 * 8-byte aligned.
 *
 * @example
 *   resolveLibrary('c')     // '/lib/x86_64-linux-gnu/libc.so.6'
 *   resolveLibrary('libc')  // same
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { hostArch } from '../arch';
import { X86_64 } from '../arch/x86_64';

export interface LdCacheEntry {
  /** Soname, e.g. 'libc.so.6'. */
  readonly name: string;
  readonly path: string;
  readonly flags: number;
}

/** The library could not be found anywhere. */
export class LibraryNotFoundError extends UserError {
  constructor(readonly library: string) {
    super(`library '${library}' not found (searched the process maps, /etc/ld.so.cache and the standard directories); give its full path instead`);
    this.name = 'LibraryNotFoundError';
  }
}

const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const OLD_MAGIC = 'ld.so-1.7.0';
/** FLAG_ELF_LIBC6 in the low byte, the architecture's FLAG_*_LIB64 in the arch byte. */
const FLAG_TYPE_MASK = 0x00ff;
const FLAG_ELF_LIBC6 = 0x0003;
const FLAG_ARCH_MASK = 0xff00;
/** This machine's architecture (x86-64's where tsbpf has no description: as before). */
const arch = hostArch() ?? X86_64;

function cstr(buf: Buffer, off: number): string {
  const e = buf.indexOf(0, off);
  return buf.toString('utf8', off, e < 0 ? buf.length : e);
}

/** Parses an ld.so.cache image. Returns [] for an unknown format. */
export function parseLdCache(buf: Buffer): LdCacheEntry[] {
  let start = 0;
  if (buf.toString('latin1', 0, OLD_MAGIC.length) === OLD_MAGIC) {
    const n = buf.readUInt32LE(12);
    start = (16 + n * 12 + 7) & ~7;
  }
  if (buf.length < start + 48 || buf.toString('latin1', start, start + NEW_MAGIC.length) !== NEW_MAGIC) return [];
  const n = buf.readUInt32LE(start + 20);
  const out: LdCacheEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = start + 48 + i * 24;
    if (e + 24 > buf.length) break;
    const flags = buf.readInt32LE(e);
    const key = buf.readUInt32LE(e + 4);
    const value = buf.readUInt32LE(e + 8);
    if (start + key >= buf.length || start + value >= buf.length) continue;
    out.push({ name: cstr(buf, start + key), path: cstr(buf, start + value), flags });
  }
  return out;
}

let cached: { mtimeMs: number; entries: LdCacheEntry[] } | undefined;

/** Entries of /etc/ld.so.cache for this architecture (64-bit libc6), re-read when the file changes. */
export function ldCache(file = '/etc/ld.so.cache'): LdCacheEntry[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return [];
  }
  if (file === '/etc/ld.so.cache' && cached && cached.mtimeMs === st.mtimeMs) return cached.entries;
  const all = parseLdCache(fs.readFileSync(file));
  const entries = all.filter((e) => (e.flags & FLAG_TYPE_MASK) === FLAG_ELF_LIBC6 && (e.flags & FLAG_ARCH_MASK) === arch.ldCacheArchFlag);
  if (file === '/etc/ld.so.cache') cached = { mtimeMs: st.mtimeMs, entries };
  return entries;
}

const searchDirs = [`/lib/${arch.multiarch}`, `/usr/lib/${arch.multiarch}`, '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'];

/** 'c' and 'libc' both mean libc.so*; 'libc.so.6' is matched exactly. */
function matches(soname: string, lib: string): boolean {
  if (soname === lib) return true;
  const stem = lib.startsWith('lib') ? lib : `lib${lib}`;
  return soname.startsWith(`${stem}.so`);
}

/**
 * Resolves a library name (a path, a soname like 'libc.so.6', or a short
 * name like 'c' / 'libc' / 'pthread') to a file path. With a pid, the
 * library that process has mapped wins (containers, custom builds).
 * Throws LibraryNotFoundError.
 */
export function resolveLibrary(lib: string, pid?: number): string {
  if (lib.includes('/')) {
    if (!fs.existsSync(lib)) throw new LibraryNotFoundError(lib);
    return lib;
  }
  if (pid !== undefined) {
    try {
      for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        const p = line.split(/\s+/).slice(5).join(' ');
        if (p.startsWith('/') && matches(path.basename(p), lib)) return p;
      }
    } catch {
      // The process may be gone; fall through to the system-wide lookup.
    }
  }
  const hits = ldCache().filter((e) => matches(e.name, lib));
  if (hits.length) {
    // Prefer a versioned soname (libc.so.6) over a development link (libfoo.so,
    // possibly a linker script), then the shortest.
    const rank = (e: LdCacheEntry): number => (e.name.endsWith('.so') ? 1000 : 0) + e.name.length;
    hits.sort((a, b) => rank(a) - rank(b));
    return hits[0].path;
  }
  for (const dir of searchDirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const rank = (n: string): number => (n.endsWith('.so') ? 1000 : 0) + n.length;
    const found = names.filter((n) => matches(n, lib)).sort((a, b) => rank(a) - rank(b))[0];
    if (found) return path.join(dir, found);
  }
  throw new LibraryNotFoundError(lib);
}
