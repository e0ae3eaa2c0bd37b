/**
 * A writer for minimal x86-64 ELF shared objects: functions in `.text`,
 * zero-initialised writable variables, small read-only marker sections and
 * non-allocated note sections, with a dynamic symbol table so the dynamic
 * linker (`dlopen`, `dlsym`) and tracers can find everything by name.
 *
 * The layout keeps every virtual address equal to its file offset (one page
 * per segment: headers and symbol tables read-only, `.text` read+execute,
 * `.dynamic` and the variables read+write), so whichever of the two a tool
 * uses — a USDT note's address, a uprobe's file offset, a semaphore's
 * ref_ctr_offset — it gets the same number. Nothing needs relocating: there
 * are no imports and no absolute addresses in the image.
 *
 * @example
 *   const so = buildSharedObject({
 *     soname: 'libdemo.so',
 *     functions: [{ name: 'demo', code: Uint8Array.of(0x90, 0xc3) }],
 *     variables: { section: '.probes', items: [{ name: 'demo_semaphore', size: 2 }] },
 *   });
 *   fs.writeFileSync('libdemo.so', so.image);
 */

export interface SoFunction {
  readonly name: string;
  /** Machine code; placed 16-byte aligned, padded with int3. */
  readonly code: Uint8Array;
}

export interface SoVariable {
  readonly name: string;
  /** Bytes; the variable is zero-initialised and aligned to its size (at most 8). */
  readonly size: number;
}

/** A non-allocated SHT_NOTE entry: owner name, type and descriptor bytes. */
export interface SoNote {
  readonly owner: string;
  readonly type: number;
  readonly desc: Uint8Array;
}

/** Where things ended up; addresses are link-time (and equal to file offsets). */
export interface SoLayout {
  /** Address of a function or variable by name. */
  symbol(name: string): number;
  /** Address of an allocated section by name (e.g. a marker section). */
  section(name: string): number;
}

export interface SharedObjectSpec {
  /** DT_SONAME. */
  readonly soname: string;
  readonly functions: readonly SoFunction[];
  /** Writable variables, all in one section (e.g. `.probes` for USDT semaphores). */
  readonly variables?: { readonly section: string; readonly items: readonly SoVariable[] };
  /** Read-only allocated sections of the given sizes, filled with zeros (e.g. `.stapsdt.base`). */
  readonly markers?: readonly { readonly name: string; readonly size: number }[];
  /** Note sections, built once the layout is known (notes usually record addresses). */
  readonly notes?: (layout: SoLayout) => readonly { readonly section: string; readonly notes: readonly SoNote[] }[];
}

export interface SharedObject {
  readonly image: Buffer;
  readonly layout: SoLayout;
}

const PAGE = 0x1000;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const DYN_SIZE = 16;

const ET_DYN = 3;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_GNU_STACK = 0x6474e551;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;
const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_HASH = 5;
const SHT_DYNAMIC = 6;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const SHF_WRITE = 1n;
const SHF_ALLOC = 2n;
const SHF_EXECINSTR = 4n;
const STB_GLOBAL = 1;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const DT_NULL = 0;
const DT_HASH = 4;
const DT_STRTAB = 5;
const DT_SYMTAB = 6;
const DT_STRSZ = 10;
const DT_SYMENT = 11;
const DT_SONAME = 14;

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The System V ELF symbol hash (gABI), used by DT_HASH. */
export function elfHash(name: string): number {
  let h = 0;
  for (const c of Buffer.from(name, 'utf8')) {
    h = ((h << 4) + c) >>> 0;
    const g = h & 0xf0000000;
    if (g) h ^= g >>> 24;
    h &= ~g >>> 0;
  }
  return h >>> 0;
}

/** A string table: NUL first, each distinct string once. */
class StringTable {
  private readonly parts: Buffer[] = [Buffer.alloc(1)];
  private readonly offsets = new Map<string, number>();
  private size = 1;
  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const b = Buffer.from(`${s}\0`, 'utf8');
    const off = this.size;
    this.parts.push(b);
    this.offsets.set(s, off);
    this.size += b.length;
    return off;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface SectionRecord {
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  data?: Buffer;
}

function encodeNotes(notes: readonly SoNote[]): Buffer {
  const out: Buffer[] = [];
  for (const n of notes) {
    const owner = Buffer.from(`${n.owner}\0`, 'utf8');
    const head = Buffer.alloc(12);
    head.writeUInt32LE(owner.length, 0);
    head.writeUInt32LE(n.desc.length, 4);
    head.writeUInt32LE(n.type, 8);
    out.push(head, owner, Buffer.alloc(align(owner.length, 4) - owner.length));
    out.push(Buffer.from(n.desc), Buffer.alloc(align(n.desc.length, 4) - n.desc.length));
  }
  return Buffer.concat(out);
}

/** Lays out and encodes the shared object described by `spec`. */
export function buildSharedObject(spec: SharedObjectSpec): SharedObject {
  const names = new Set<string>();
  for (const n of [...spec.functions.map((f) => f.name), ...(spec.variables?.items ?? []).map((v) => v.name)]) {
    if (!n || names.has(n)) throw new Error(`shared object symbol names must be distinct and non-empty: '${n}'`);
    names.add(n);
  }
  const variables = spec.variables?.items ?? [];
  const markers = spec.markers ?? [];
  const dynstr = new StringTable();
  const sonameOff = dynstr.add(spec.soname);

  // Section indexes are fixed by this order; notes and .shstrtab follow.
  const HASH = 1;
  const DYNSYM = 2;
  const DYNSTR = 3;
  const firstMarker = 4;
  const TEXT = firstMarker + markers.length;
  const DYNAMIC = TEXT + 1;
  const VARS = spec.variables ? DYNAMIC + 1 : -1;

  // Page 0 (R): headers, .hash, .dynsym, .dynstr, markers.
  const phnum = 5;
  let at = EHDR_SIZE + phnum * PHDR_SIZE;
  const nsyms = 1 + spec.functions.length + variables.length;
  const nbucket = Math.max(1, nsyms);
  const hashOff = align(at, 8);
  const hashSize = 4 * (2 + nbucket + nsyms);
  const dynsymOff = align(hashOff + hashSize, 8);
  const dynstrOff = dynsymOff + nsyms * SYM_SIZE;
  // .dynstr's size is known once every name is added: add them now.
  const symNames = [...spec.functions.map((f) => f.name), ...variables.map((v) => v.name)].map((n) => dynstr.add(n));
  const dynstrBytes = dynstr.bytes();
  at = dynstrOff + dynstrBytes.length;
  const markerAddr = new Map<string, number>();
  for (const m of markers) {
    at = align(at, 8);
    markerAddr.set(m.name, at);
    at += m.size;
  }
  const page0End = at;

  // Page 1 (R+X): .text.
  const textOff = align(page0End, PAGE);
  const funcAddr = new Map<string, number>();
  at = textOff;
  for (const f of spec.functions) {
    at = align(at, 16);
    funcAddr.set(f.name, at);
    at += f.code.length;
  }
  const textSize = Math.max(1, at - textOff);

  // Page 2 (R+W): .dynamic, variables.
  const dataOff = align(textOff + textSize, PAGE);
  const dynamicOff = dataOff;
  const dynEntries: [number, number][] = [
    [DT_HASH, hashOff], [DT_STRTAB, dynstrOff], [DT_SYMTAB, dynsymOff],
    [DT_STRSZ, dynstrBytes.length], [DT_SYMENT, SYM_SIZE], [DT_SONAME, sonameOff], [DT_NULL, 0],
  ];
  const dynamicSize = dynEntries.length * DYN_SIZE;
  const varAddr = new Map<string, number>();
  at = dynamicOff + dynamicSize;
  const varsOff = align(at, 8);
  at = varsOff;
  for (const v of variables) {
    if (!Number.isInteger(v.size) || v.size <= 0) throw new Error(`variable '${v.name}' needs a positive size`);
    at = align(at, Math.min(8, 2 ** Math.floor(Math.log2(v.size))));
    varAddr.set(v.name, at);
    at += v.size;
  }
  const varsSize = at - varsOff;
  const dataEnd = at;

  const layout: SoLayout = {
    symbol(name) {
      const a = funcAddr.get(name) ?? varAddr.get(name);
      if (a === undefined) throw new Error(`no symbol '${name}' in the shared object`);
      return a;
    },
    section(name) {
      if (name === '.text') return textOff;
      if (spec.variables && name === spec.variables.section) return varsOff;
      const a = markerAddr.get(name);
      if (a === undefined) throw new Error(`no allocated section '${name}' in the shared object`);
      return a;
    },
  };

  // Non-allocated tail: notes, .shstrtab, section headers.
  const sections: SectionRecord[] = [
    { name: '', type: 0, flags: 0n, offset: 0, size: 0, link: 0, info: 0, addralign: 0, entsize: 0 },
    { name: '.hash', type: SHT_HASH, flags: SHF_ALLOC, offset: hashOff, size: hashSize, link: DYNSYM, info: 0, addralign: 8, entsize: 4 },
    { name: '.dynsym', type: SHT_DYNSYM, flags: SHF_ALLOC, offset: dynsymOff, size: nsyms * SYM_SIZE, link: DYNSTR, info: 1, addralign: 8, entsize: SYM_SIZE },
    { name: '.dynstr', type: SHT_STRTAB, flags: SHF_ALLOC, offset: dynstrOff, size: dynstrBytes.length, link: 0, info: 0, addralign: 1, entsize: 0 },
    ...markers.map((m) => ({ name: m.name, type: SHT_PROGBITS, flags: SHF_ALLOC, offset: markerAddr.get(m.name) as number, size: m.size, link: 0, info: 0, addralign: 1, entsize: 0 })),
    { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, offset: textOff, size: textSize, link: 0, info: 0, addralign: 16, entsize: 0 },
    { name: '.dynamic', type: SHT_DYNAMIC, flags: SHF_ALLOC | SHF_WRITE, offset: dynamicOff, size: dynamicSize, link: DYNSTR, info: 0, addralign: 8, entsize: DYN_SIZE },
  ];
  if (spec.variables) {
    sections.push({ name: spec.variables.section, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, offset: varsOff, size: varsSize, link: 0, info: 0, addralign: 8, entsize: 0 });
  }
  at = dataEnd;
  for (const group of spec.notes?.(layout) ?? []) {
    const data = encodeNotes(group.notes);
    at = align(at, 4);
    sections.push({ name: group.section, type: SHT_NOTE, flags: 0n, offset: at, size: data.length, link: 0, info: 0, addralign: 4, entsize: 0, data });
    at += data.length;
  }
  const shstrtab = new StringTable();
  const nameOffs = sections.map((s) => shstrtab.add(s.name));
  const shstrndx = sections.length;
  nameOffs.push(shstrtab.add('.shstrtab'));
  const shstrBytes = shstrtab.bytes();
  sections.push({ name: '.shstrtab', type: SHT_STRTAB, flags: 0n, offset: at, size: shstrBytes.length, link: 0, info: 0, addralign: 1, entsize: 0, data: shstrBytes });
  at += shstrBytes.length;
  const shoff = align(at, 8);
  const image = Buffer.alloc(shoff + sections.length * SHDR_SIZE);

  // ELF header.
  image.set([0x7f, 0x45, 0x4c, 0x46, 2 /* 64-bit */, 1 /* LE */, 1 /* EV_CURRENT */, 0 /* SYSV */], 0);
  image.writeUInt16LE(ET_DYN, 16);
  image.writeUInt16LE(EM_X86_64, 18);
  image.writeUInt32LE(1, 20);
  image.writeBigUInt64LE(0n, 24); // no entry point
  image.writeBigUInt64LE(BigInt(EHDR_SIZE), 32);
  image.writeBigUInt64LE(BigInt(shoff), 40);
  image.writeUInt32LE(0, 48);
  image.writeUInt16LE(EHDR_SIZE, 52);
  image.writeUInt16LE(PHDR_SIZE, 54);
  image.writeUInt16LE(phnum, 56);
  image.writeUInt16LE(SHDR_SIZE, 58);
  image.writeUInt16LE(sections.length, 60);
  image.writeUInt16LE(shstrndx, 62);

  // Program headers: three loads, the dynamic section, and a non-executable stack
  // (without PT_GNU_STACK the dynamic linker would make the whole process's stack executable).
  const phdrs: [number, number, number, number, number][] = [
    // type, flags, offset (= vaddr), filesz (= memsz), align
    [PT_LOAD, PF_R, 0, page0End, PAGE],
    [PT_LOAD, PF_R | PF_X, textOff, textSize, PAGE],
    [PT_LOAD, PF_R | PF_W, dataOff, dataEnd - dataOff, PAGE],
    [PT_DYNAMIC, PF_R | PF_W, dynamicOff, dynamicSize, 8],
    [PT_GNU_STACK, PF_R | PF_W, 0, 0, 16],
  ];
  phdrs.forEach(([type, flags, off, size, al], i) => {
    const o = EHDR_SIZE + i * PHDR_SIZE;
    image.writeUInt32LE(type, o);
    image.writeUInt32LE(flags, o + 4);
    image.writeBigUInt64LE(BigInt(off), o + 8);
    image.writeBigUInt64LE(BigInt(off), o + 16);
    image.writeBigUInt64LE(BigInt(off), o + 24);
    image.writeBigUInt64LE(BigInt(size), o + 32);
    image.writeBigUInt64LE(BigInt(size), o + 40);
    image.writeBigUInt64LE(BigInt(al), o + 48);
  });

  // .dynsym: the null symbol, then functions and variables (all global).
  const syms: { nameOff: number; info: number; shndx: number; value: number; size: number; hashName: string }[] = [];
  spec.functions.forEach((f, i) => syms.push({ nameOff: symNames[i], info: (STB_GLOBAL << 4) | STT_FUNC, shndx: TEXT, value: funcAddr.get(f.name) as number, size: f.code.length, hashName: f.name }));
  variables.forEach((v, i) => syms.push({ nameOff: symNames[spec.functions.length + i], info: (STB_GLOBAL << 4) | STT_OBJECT, shndx: VARS, value: varAddr.get(v.name) as number, size: v.size, hashName: v.name }));
  syms.forEach((s, i) => {
    const o = dynsymOff + (i + 1) * SYM_SIZE;
    image.writeUInt32LE(s.nameOff, o);
    image[o + 4] = s.info;
    image[o + 5] = 0; // STV_DEFAULT
    image.writeUInt16LE(s.shndx, o + 6);
    image.writeBigUInt64LE(BigInt(s.value), o + 8);
    image.writeBigUInt64LE(BigInt(s.size), o + 16);
  });

  // .hash: buckets hold the first symbol of each chain, chains link the rest.
  image.writeUInt32LE(nbucket, hashOff);
  image.writeUInt32LE(nsyms, hashOff + 4);
  const bucketAt = (b: number): number => hashOff + 8 + 4 * b;
  const chainAt = (i: number): number => hashOff + 8 + 4 * nbucket + 4 * i;
  syms.forEach((s, k) => {
    const index = k + 1;
    const b = elfHash(s.hashName) % nbucket;
    // Prepend to the bucket's chain.
    image.writeUInt32LE(image.readUInt32LE(bucketAt(b)), chainAt(index));
    image.writeUInt32LE(index, bucketAt(b));
  });

  image.set(dynstrBytes, dynstrOff);
  // int3 between functions, so a stray jump traps instead of running on.
  image.fill(0xcc, textOff, textOff + textSize);
  for (const f of spec.functions) image.set(f.code, funcAddr.get(f.name) as number);
  dynEntries.forEach(([tag, val], i) => {
    image.writeBigInt64LE(BigInt(tag), dynamicOff + i * DYN_SIZE);
    image.writeBigUInt64LE(BigInt(val), dynamicOff + i * DYN_SIZE + 8);
  });
  for (const s of sections) if (s.data) image.set(s.data, s.offset);

  sections.forEach((s, i) => {
    const o = shoff + i * SHDR_SIZE;
    const alloc = (s.flags & SHF_ALLOC) !== 0n;
    image.writeUInt32LE(nameOffs[i], o);
    image.writeUInt32LE(s.type, o + 4);
    image.writeBigUInt64LE(s.flags, o + 8);
    image.writeBigUInt64LE(BigInt(alloc ? s.offset : 0), o + 16);
    image.writeBigUInt64LE(BigInt(s.offset), o + 24);
    image.writeBigUInt64LE(BigInt(s.size), o + 32);
    image.writeUInt32LE(s.link, o + 40);
    image.writeUInt32LE(s.info, o + 44);
    image.writeBigUInt64LE(BigInt(s.addralign), o + 48);
    image.writeBigUInt64LE(BigInt(s.entsize), o + 56);
  });
  return { image, layout };
}
