/**
 * A lazy ELF64 little-endian reader. Opening a file reads only the ELF header,
 * the section headers and the program headers; section contents (symbol
 * tables, notes) are read from disk when first asked for. Files can be large
 * (libc, node itself), so nothing is mapped or read whole.
 *
 * Parsed files are cached by (path, device, inode, mtime): a rebuilt binary at
 * the same path is parsed again, an unchanged one is not.
 *
 * @example
 *   const elf = ElfFile.open('/bin/bash');
 *   const off = elf.symbolFileOffset('readline'); // uprobe offset
 *   const hit = elf.symbolAt(0x4a1b2n);            // address -> symbol+offset
 */
import * as fs from 'node:fs';
import { UserError } from '../errors';

/** The file is not an ELF64 little-endian object, or is malformed. */
export class ElfError extends UserError {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ElfError';
    this.path = path;
  }
}

/** A symbol the user asked for is not in the file. */
export class SymbolNotFoundError extends UserError {
  readonly path: string;
  readonly symbol: string;
  constructor(path: string, symbol: string, hint = '') {
    super(`symbol '${symbol}' not found in ${path}${hint}`);
    this.name = 'SymbolNotFoundError';
    this.path = path;
    this.symbol = symbol;
  }
}

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const PT_LOAD = 1;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PF_X = 1;
export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;

export type SymbolType = 'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'COMMON' | 'TLS' | 'IFUNC' | 'UNKNOWN';
export type SymbolBind = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'UNIQUE' | 'UNKNOWN';

const symTypes: Record<number, SymbolType> = { 0: 'NOTYPE', 1: 'OBJECT', 2: 'FUNC', 3: 'SECTION', 4: 'FILE', 5: 'COMMON', 6: 'TLS', 10: 'IFUNC' };
const symBinds: Record<number, SymbolBind> = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK', 10: 'UNIQUE' };

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: bigint;
  /** Virtual address when loaded (0 for non-allocated sections). */
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
}

export interface ProgramHeader {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

export interface ElfSymbol {
  readonly name: string;
  /** st_value: a virtual address for executables and shared objects. */
  readonly value: number;
  readonly size: number;
  readonly type: SymbolType;
  readonly bind: SymbolBind;
  /** Section index (st_shndx); 0 means undefined (imported). */
  readonly shndx: number;
  /** Which table it came from. */
  readonly table: '.symtab' | '.dynsym';
}

/** An ELF note (name, type, descriptor bytes). */
export interface ElfNote {
  readonly name: string;
  readonly type: number;
  readonly desc: Buffer;
}

/** Result of an address lookup. */
export interface SymbolHit {
  readonly symbol: ElfSymbol;
  readonly offset: number;
}

/**
 * Converts a glob (`*`, `?`, `[abc]`, `[!a-z]`) into an anchored RegExp, the
 * wildcard syntax bpftrace accepts in probe names.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** True when the pattern contains glob metacharacters. */
export function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Reads up to `length` bytes at `offset`; never past the end of the file (sizes come from the file itself). */
function readAt(fd: number, offset: number, length: number): Buffer {
  const size = fs.fstatSync(fd).size;
  if (!(offset >= 0) || offset >= size || !(length > 0)) return Buffer.alloc(0);
  length = Math.min(length, size - offset);
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

function u64(buf: Buffer, off: number): number {
  // Offsets, sizes and user-space addresses fit comfortably in 2^53.
  const v = buf.readBigUInt64LE(off);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Number(v & 0x1fffffffffffffn);
}

interface CacheEntry { key: string; elf: ElfFile }
const cache = new Map<string, CacheEntry>();

export class ElfFile {
  readonly path: string;
  /** e_type: ET_EXEC (2), ET_DYN (3) ... */
  readonly type: number;
  readonly machine: number;
  readonly entry: number;
  readonly sections: readonly ElfSection[];
  readonly programHeaders: readonly ProgramHeader[];
  private readonly sectionsByName = new Map<string, ElfSection>();
  private symtabCache?: ElfSymbol[];
  private dynsymCache?: ElfSymbol[];
  private allCache?: ElfSymbol[];
  private byAddr?: ElfSymbol[];
  private byName?: Map<string, ElfSymbol[]>;
  private buildIdCache?: string | null;

  /**
   * Opens (or returns the cached parse of) an ELF file. Throws ElfError when
   * the file is not a 64-bit little-endian ELF.
   */
  static open(path: string): ElfFile {
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (e) {
      throw new ElfError(path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const key = `${st.dev}:${st.ino}:${st.mtimeMs}:${st.size}`;
    const hit = cache.get(path);
    if (hit && hit.key === key) return hit.elf;
    const elf = new ElfFile(path);
    cache.set(path, { key, elf });
    return elf;
  }

  /** Drops all cached parses (tests, long-running daemons). */
  static clearCache(): void {
    cache.clear();
  }

  private constructor(path: string) {
    this.path = path;
    const fd = this.openFd();
    try {
      const eh = readAt(fd, 0, 64);
      if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(path, 'not an ELF file');
      if (eh[4] !== 2) throw new ElfError(path, 'only 64-bit ELF files are supported');
      if (eh[5] !== 1) throw new ElfError(path, 'only little-endian ELF files are supported');
      this.type = eh.readUInt16LE(16);
      this.machine = eh.readUInt16LE(18);
      this.entry = u64(eh, 24);
      const phoff = u64(eh, 32);
      const shoff = u64(eh, 40);
      const phentsize = eh.readUInt16LE(54);
      let phnum = eh.readUInt16LE(56);
      const shentsize = eh.readUInt16LE(58);
      let shnum = eh.readUInt16LE(60);
      let shstrndx = eh.readUInt16LE(62);

      const raw: Omit<ElfSection, 'name'>[] = [];
      const nameOffs: number[] = [];
      if (shoff !== 0) {
        // Extended numbering: real counts live in section header 0.
        if (shnum === 0 || shstrndx === 0xffff || phnum === 0xffff) {
          const s0 = readAt(fd, shoff, shentsize);
          if (shnum === 0) shnum = u64(s0, 32);
          if (shstrndx === 0xffff) shstrndx = s0.readUInt32LE(40);
          if (phnum === 0xffff) phnum = s0.readUInt32LE(44);
        }
        if (shnum > 0 && shentsize < 64) throw new ElfError(path, `malformed ELF file: section header entries of ${shentsize} bytes (64 expected)`);
        const sh = readAt(fd, shoff, shnum * shentsize);
        if (sh.length < shnum * shentsize) throw new ElfError(path, 'truncated section headers');
        for (let i = 0; i < shnum; i++) {
          const o = i * shentsize;
          nameOffs.push(sh.readUInt32LE(o));
          raw.push({
            index: i,
            type: sh.readUInt32LE(o + 4),
            flags: sh.readBigUInt64LE(o + 8),
            addr: u64(sh, o + 16),
            offset: u64(sh, o + 24),
            size: u64(sh, o + 32),
            link: sh.readUInt32LE(o + 40),
            info: sh.readUInt32LE(o + 44),
            addralign: u64(sh, o + 48),
            entsize: u64(sh, o + 56),
          });
        }
      }
      let names: Buffer | undefined;
      if (shstrndx > 0 && shstrndx < raw.length) names = readAt(fd, raw[shstrndx].offset, raw[shstrndx].size);
      this.sections = raw.map((s, i) => {
        let name = '';
        if (names) {
          const start = nameOffs[i];
          const end = names.indexOf(0, start);
          name = names.toString('latin1', start, end < 0 ? names.length : end);
        }
        return { ...s, name };
      });
      for (const s of this.sections) if (!this.sectionsByName.has(s.name)) this.sectionsByName.set(s.name, s);

      const phs: ProgramHeader[] = [];
      if (phoff !== 0 && phnum > 0) {
        if (phentsize < 56) throw new ElfError(path, `malformed ELF file: program header entries of ${phentsize} bytes (56 expected)`);
        const ph = readAt(fd, phoff, phnum * phentsize);
        for (let i = 0; i < phnum && (i + 1) * phentsize <= ph.length; i++) {
          const o = i * phentsize;
          phs.push({
            type: ph.readUInt32LE(o),
            flags: ph.readUInt32LE(o + 4),
            offset: u64(ph, o + 8),
            vaddr: u64(ph, o + 16),
            paddr: u64(ph, o + 24),
            filesz: u64(ph, o + 32),
            memsz: u64(ph, o + 40),
            align: u64(ph, o + 48),
          });
        }
      }
      this.programHeaders = phs;
    } catch (e) {
      // a size or offset in the file that points outside it: one sentence, not a RangeError
      if (e instanceof RangeError) throw new ElfError(path, 'malformed ELF file: a header or table points outside the file');
      throw e;
    } finally {
      fs.closeSync(fd);
    }
  }

  private openFd(): number {
    try {
      return fs.openSync(this.path, 'r');
    } catch (e) {
      throw new ElfError(this.path, `cannot open: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }

  /** ET_DYN: a position-independent executable or shared library (loaded at a bias). */
  get isDyn(): boolean {
    return this.type === ET_DYN;
  }

  /** A position-independent executable: ET_DYN with a program interpreter. */
  get isPIE(): boolean {
    return this.type === ET_DYN && this.programHeaders.some((p) => p.type === PT_INTERP);
  }

  /** PT_LOAD segments in file order. */
  get loadSegments(): ProgramHeader[] {
    return this.programHeaders.filter((p) => p.type === PT_LOAD);
  }

  section(name: string): ElfSection | undefined {
    return this.sectionsByName.get(name);
  }

  /** Reads a section's bytes from disk (empty for SHT_NOBITS). */
  sectionData(sec: ElfSection | string): Buffer {
    const s = typeof sec === 'string' ? this.section(sec) : sec;
    if (!s) throw new ElfError(this.path, `no section ${String(sec)}`);
    if (s.type === SHT_NOBITS || s.size === 0) return Buffer.alloc(0);
    const fd = this.openFd();
    try {
      return readAt(fd, s.offset, s.size);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Reads bytes at a file offset. */
  readAt(offset: number, length: number): Buffer {
    const fd = this.openFd();
    try {
      return readAt(fd, offset, length);
    } finally {
      fs.closeSync(fd);
    }
  }

  private readSymbolTable(name: '.symtab' | '.dynsym'): ElfSymbol[] {
    return malformedIsElfError(this.path, () => this.readSymbols(name));
  }

  private readSymbols(name: '.symtab' | '.dynsym'): ElfSymbol[] {
    const sec = this.section(name);
    if (!sec || sec.type === SHT_NOBITS) return [];
    const strSec = this.sections[sec.link];
    if (!strSec) return [];
    const data = this.sectionData(sec);
    const strs = this.sectionData(strSec);
    const ent = Math.max(sec.entsize, 24); // smaller entries would overlap: read them as the standard 24
    const out: ElfSymbol[] = [];
    // Entry 0 is the reserved null symbol.
    for (let o = ent; o + 24 <= data.length; o += ent) {
      const nameOff = data.readUInt32LE(o);
      const info = data[o + 4];
      const shndx = data.readUInt16LE(o + 6);
      let symName = '';
      if (nameOff !== 0 && nameOff < strs.length) {
        const end = strs.indexOf(0, nameOff);
        symName = strs.toString('utf8', nameOff, end < 0 ? strs.length : end);
      }
      out.push({
        name: symName,
        value: u64(data, o + 8),
        size: u64(data, o + 16),
        type: symTypes[info & 0xf] ?? 'UNKNOWN',
        bind: symBinds[info >> 4] ?? 'UNKNOWN',
        shndx,
        table: name,
      });
    }
    return out;
  }

  /** All entries of `.symtab` (empty when the file is stripped). */
  symtab(): ElfSymbol[] {
    return (this.symtabCache ??= this.readSymbolTable('.symtab'));
  }

  /** All entries of `.dynsym`. */
  dynsym(): ElfSymbol[] {
    return (this.dynsymCache ??= this.readSymbolTable('.dynsym'));
  }

  /**
   * Defined, named symbols from `.symtab` and `.dynsym`, de-duplicated by
   * (name, value). Undefined (imported) symbols are left out.
   */
  symbols(): ElfSymbol[] {
    if (this.allCache) return this.allCache;
    const seen = new Set<string>();
    const out: ElfSymbol[] = [];
    for (const s of [...this.symtab(), ...this.dynsym()]) {
      if (!s.name || s.shndx === SHN_UNDEF) continue;
      if (s.type === 'FILE' || s.type === 'SECTION') continue;
      const k = `${s.name}\0${s.value}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(s);
    }
    return (this.allCache = out);
  }

  private nameIndex(): Map<string, ElfSymbol[]> {
    if (this.byName) return this.byName;
    const m = new Map<string, ElfSymbol[]>();
    const add = (k: string, s: ElfSymbol): void => {
      const l = m.get(k);
      if (l) l.push(s);
      else m.set(k, [s]);
    };
    for (const s of this.symbols()) {
      add(s.name, s);
      // .symtab can carry versioned names (memcpy@GLIBC_2.2.5); users write the bare name.
      const at = s.name.indexOf('@');
      if (at > 0) add(s.name.slice(0, at), s);
    }
    return (this.byName = m);
  }

  /**
   * The defined symbol with this exact name, preferring functions and global
   * definitions over local ones (several static functions may share a name).
   */
  symbol(name: string): ElfSymbol | undefined {
    const l = this.nameIndex().get(name);
    if (!l) return undefined;
    const rank = (s: ElfSymbol): number =>
      (s.type === 'FUNC' || s.type === 'IFUNC' ? 0 : 2) + (s.bind === 'LOCAL' ? 1 : 0);
    return [...l].sort((a, b) => rank(a) - rank(b))[0];
  }

  /** Defined symbols whose names match a glob (`*`, `?`, `[..]`), sorted by name. */
  findSymbols(glob: string, opts: { functionsOnly?: boolean } = {}): ElfSymbol[] {
    const re = globToRegExp(glob);
    const out: ElfSymbol[] = [];
    const seen = new Set<string>();
    for (const s of this.symbols()) {
      if (opts.functionsOnly && s.type !== 'FUNC' && s.type !== 'IFUNC') continue;
      if (!re.test(s.name) || seen.has(s.name)) continue;
      seen.add(s.name);
      out.push(s);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The PT_LOAD segment whose memory image covers this virtual address. */
  segmentForVaddr(vaddr: number): ProgramHeader | undefined {
    return this.loadSegments.find((p) => vaddr >= p.vaddr && vaddr < p.vaddr + p.memsz);
  }

  /** The PT_LOAD segment whose file image covers this file offset. */
  segmentForOffset(offset: number): ProgramHeader | undefined {
    return this.loadSegments.find((p) => offset >= p.offset && offset < p.offset + p.filesz);
  }

  /** Link-time virtual address → file offset (what uprobes attach to). */
  vaddrToFileOffset(vaddr: number): number | undefined {
    const seg = this.segmentForVaddr(vaddr);
    if (seg) return vaddr - seg.vaddr + seg.offset;
    // Objects without program headers (relocatable .o): go through the section.
    const sec = this.sections.find((s) => s.addr !== 0 && vaddr >= s.addr && vaddr < s.addr + s.size && s.type !== SHT_NOBITS);
    return sec ? vaddr - sec.addr + sec.offset : undefined;
  }

  /** File offset → link-time virtual address. */
  fileOffsetToVaddr(offset: number): number | undefined {
    const seg = this.segmentForOffset(offset);
    return seg ? offset - seg.offset + seg.vaddr : undefined;
  }

  /**
   * File offset of a symbol, for attaching a uprobe (`uprobe:/bin/bash:readline`).
   * Throws SymbolNotFoundError when absent.
   */
  symbolFileOffset(name: string): number {
    const s = this.symbol(name);
    if (!s) throw new SymbolNotFoundError(this.path, name, this.symtab().length === 0 ? ' (the file has no .symtab: is it stripped?)' : '');
    const off = this.vaddrToFileOffset(s.value);
    if (off === undefined) throw new ElfError(this.path, `symbol '${name}' at 0x${s.value.toString(16)} is not in a loadable segment`);
    return off;
  }

  private sortedByAddr(): ElfSymbol[] {
    if (this.byAddr) return this.byAddr;
    const l = this.symbols().filter((s) => (s.type === 'FUNC' || s.type === 'IFUNC' || s.type === 'OBJECT' || s.type === 'NOTYPE') && s.value !== 0 && s.shndx !== SHN_ABS);
    // At equal addresses prefer sized, global functions: the name people expect.
    const rank = (s: ElfSymbol): number =>
      (s.type === 'FUNC' || s.type === 'IFUNC' ? 0 : 4) + (s.size > 0 ? 0 : 2) + (s.bind === 'LOCAL' ? 1 : 0);
    l.sort((a, b) => a.value - b.value || rank(a) - rank(b));
    const dedup: ElfSymbol[] = [];
    for (const s of l) if (!dedup.length || dedup[dedup.length - 1].value !== s.value) dedup.push(s);
    return (this.byAddr = dedup);
  }

  /**
   * The symbol containing a link-time virtual address, by binary search. A
   * symbol with size 0 covers addresses up to the next symbol.
   */
  symbolAt(vaddr: number): SymbolHit | undefined {
    const l = this.sortedByAddr();
    let lo = 0;
    let hi = l.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (l[mid].value <= vaddr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    // A sized symbol that ends before vaddr may sit inside a bigger one (aliases, nested labels).
    for (let i = found; i >= 0 && i > found - 8; i--) {
      const s = l[i];
      if (s.size === 0 ? i === found : vaddr < s.value + s.size) return { symbol: s, offset: vaddr - s.value };
    }
    return undefined;
  }

  /** Parses every note in a section (or all SHT_NOTE sections when no name is given). */
  notes(sectionName?: string): ElfNote[] {
    const secs = sectionName ? [this.section(sectionName)].filter((s): s is ElfSection => !!s) : this.sections.filter((s) => s.type === SHT_NOTE);
    const out: ElfNote[] = [];
    for (const s of secs) out.push(...malformedIsElfError(this.path, () => parseNotes(this.sectionData(s), s.addralign >= 8 ? 8 : 4)));
    return out;
  }

  /** The GNU build-id as lowercase hex, or undefined. */
  buildId(): string | undefined {
    if (this.buildIdCache === undefined) {
      let id: string | null = null;
      const candidates = this.section('.note.gnu.build-id') ? this.notes('.note.gnu.build-id') : this.notes();
      for (const n of candidates) if (n.name === 'GNU' && n.type === 3) { id = n.desc.toString('hex'); break; }
      this.buildIdCache = id;
    }
    return this.buildIdCache ?? undefined;
  }
}

/** Splits a note section into notes; `align` is 4 for normal notes, 8 for some GNU properties. */
export function parseNotes(buf: Buffer, align = 4): ElfNote[] {
  const out: ElfNote[] = [];
  // sizes are u32 from the file: no 32-bit bit tricks (0xffffffff would wrap negative and loop forever)
  const pad = (n: number): number => Math.ceil(n / align) * align;
  let o = 0;
  while (o + 12 <= buf.length) {
    const namesz = buf.readUInt32LE(o);
    const descsz = buf.readUInt32LE(o + 4);
    const type = buf.readUInt32LE(o + 8);
    const nameStart = o + 12;
    const descStart = nameStart + pad(namesz);
    if (descStart + descsz > buf.length) break;
    const name = buf.toString('latin1', nameStart, nameStart + Math.max(0, namesz - 1));
    out.push({ name, type, desc: buf.subarray(descStart, descStart + descsz) });
    o = descStart + pad(descsz);
  }
  return out;
}

/**
 * Runs a parse of `path`'s bytes; an out-of-bounds read (a size or offset in
 * the file that points outside it) becomes one sentence instead of a RangeError.
 */
export function malformedIsElfError<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof RangeError) throw new ElfError(path, 'malformed ELF file: a header or table points outside the file');
    throw e;
  }
}

/** File offset of a symbol in an ELF file (for uprobes). */
export function symbolFileOffset(path: string, name: string): number {
  return ElfFile.open(path).symbolFileOffset(name);
}

/** Defined symbols of a file matching a glob, sorted by name. */
export function findSymbols(path: string, glob: string, opts: { functionsOnly?: boolean } = {}): ElfSymbol[] {
  return ElfFile.open(path).findSymbols(glob, opts);
}

/** True for position-independent executables and shared objects (ET_DYN). */
export function isPIE(path: string): boolean {
  return ElfFile.open(path).isDyn;
}

/** GNU build-id of a file as hex, or undefined. */
export function buildId(path: string): string | undefined {
  return ElfFile.open(path).buildId();
}
