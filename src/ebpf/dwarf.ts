/**
 * A reader for the DWARF debug information of user binaries (versions 2 to
 * 5): function parameters with their C types, for uprobe `args` and `-lv`,
 * and line tables, for `uprobe:BIN@file.c:LINE`. Split DWARF is followed to
 * its `.dwo` files or `.dwp` package; stripped binaries are matched with
 * their separate debug file (debugFileFor, below).
 *
 * Types come out as BTF (btf-builder.ts), so `args.foo->a` through a user
 * struct uses the same Btf code as a kernel struct. Only the types that
 * function parameters reach are converted.
 *
 * Every read is bounds-checked: a debug file is data another user may have
 * written. A malformed file gives a DwarfError, which callers treat as "no
 * debug information" with one sentence.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { Btf } from './btf';
import { BtfBuilder, type BuilderMember } from './btf-builder';
import { ElfFile, type ElfSection } from './elf';
import { debugFileFor } from './debugfile';

export class DwarfError extends UserError {}

// DWARF constants (DWARF 5 standard, section 7; GNU extensions for DWARF 4 split units)
const TAG = {
  array: 0x01, class: 0x02, enumeration: 0x04, formalParameter: 0x05, lexicalBlock: 0x0b, member: 0x0d,
  pointer: 0x0f, reference: 0x10, compileUnit: 0x11, structure: 0x13, subroutineType: 0x15, typedef: 0x16,
  union: 0x17, unspecifiedParameters: 0x18, inlinedSubroutine: 0x1d, subrange: 0x21, baseType: 0x24,
  const: 0x26, enumerator: 0x28, subprogram: 0x2e, volatile: 0x35, restrict: 0x37, namespace: 0x39,
  unspecifiedType: 0x3b, rvalueReference: 0x42, atomic: 0x47, skeletonUnit: 0x4a,
} as const;
const AT = {
  sibling: 0x01, name: 0x03, byteSize: 0x0b, bitOffset: 0x0c, bitSize: 0x0d, stmtList: 0x10, lowPc: 0x11,
  compDir: 0x1b, constValue: 0x1c, upperBound: 0x2f, abstractOrigin: 0x31, count: 0x37,
  dataMemberLocation: 0x38, declaration: 0x3c, encoding: 0x3e, external: 0x3f, specification: 0x47,
  type: 0x49, dataBitOffset: 0x6b, linkageName: 0x6e, strOffsetsBase: 0x72, addrBase: 0x73, dwoName: 0x76,
  gnuDwoName: 0x2130, gnuDwoId: 0x2131, gnuAddrBase: 0x2133, mipsLinkageName: 0x2007,
} as const;
const FORM = {
  addr: 0x01, block2: 0x03, block4: 0x04, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08, block: 0x09,
  block1: 0x0a, data1: 0x0b, flag: 0x0c, sdata: 0x0d, strp: 0x0e, udata: 0x0f, refAddr: 0x10, ref1: 0x11,
  ref2: 0x12, ref4: 0x13, ref8: 0x14, refUdata: 0x15, indirect: 0x16, secOffset: 0x17, exprloc: 0x18,
  flagPresent: 0x19, strx: 0x1a, addrx: 0x1b, refSup4: 0x1c, strpSup: 0x1d, data16: 0x1e, lineStrp: 0x1f,
  refSig8: 0x20, implicitConst: 0x21, loclistx: 0x22, rnglistx: 0x23, refSup8: 0x24, strx1: 0x25,
  strx2: 0x26, strx3: 0x27, strx4: 0x28, addrx1: 0x29, addrx2: 0x2a, addrx3: 0x2b, addrx4: 0x2c,
  gnuAddrIndex: 0x1f01, gnuStrIndex: 0x1f02, gnuRefAlt: 0x1f20, gnuStrpAlt: 0x1f21,
} as const;
const ATE = { boolean: 0x02, float: 0x04, signed: 0x05, signedChar: 0x06, unsigned: 0x07, unsignedChar: 0x08, utf: 0x10 } as const;
const NAMED_TYPE_TAGS = new Map<number, 'struct' | 'union' | 'enum' | 'typedef'>([
  [TAG.structure, 'struct'], [TAG.class, 'struct'], [TAG.union, 'union'], [TAG.enumeration, 'enum'], [TAG.typedef, 'typedef'],
]);
const UT = { compile: 1, type: 2, partial: 3, skeleton: 4, splitCompile: 5, splitType: 6 } as const;

/** Cursor over a buffer; every read checks the bounds. */
class Reader {
  constructor(readonly buf: Buffer, public pos = 0, readonly end = buf.length) {}
  private need(n: number): number {
    const p = this.pos;
    if (n < 0 || p + n > this.end) throw new DwarfError('malformed DWARF: a read runs past the end of its section');
    this.pos = p + n;
    return p;
  }
  u8(): number { return this.buf[this.need(1)]; }
  u16(): number { return this.buf.readUInt16LE(this.need(2)); }
  u24(): number { const p = this.need(3); return this.buf[p] | (this.buf[p + 1] << 8) | (this.buf[p + 2] << 16); }
  u32(): number { return this.buf.readUInt32LE(this.need(4)); }
  u64(): bigint { return this.buf.readBigUInt64LE(this.need(8)); }
  i8(): number { return this.buf.readInt8(this.need(1)); }
  uleb(): bigint {
    let r = 0n, shift = 0n;
    for (;;) {
      const b = this.u8();
      if (shift < 64n) r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return r;
    }
  }
  sleb(): bigint {
    let r = 0n, shift = 0n, b: number;
    do {
      b = this.u8();
      if (shift < 64n) r |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (b & 0x40 && shift < 64n) r -= 1n << shift;
    return BigInt.asIntN(64, r);
  }
  ulebN(): number { return Number(BigInt.asUintN(53, this.uleb())); }
  cstr(): string {
    const s = this.pos;
    const e = this.buf.indexOf(0, s);
    if (e < 0 || e >= this.end) throw new DwarfError('malformed DWARF: an unterminated string');
    this.pos = e + 1;
    return this.buf.toString('utf8', s, e);
  }
  bytes(n: number): Buffer { const p = this.need(n); return this.buf.subarray(p, p + n); }
  skip(n: number): void { this.need(n); }
  /** An offset of the unit's format (4 bytes in 32-bit DWARF, 8 in 64-bit). */
  offset(is64: boolean): number { return is64 ? Number(BigInt.asUintN(53, this.u64())) : this.u32(); }
}

function cstrAt(buf: Buffer | undefined, off: number): string {
  if (!buf || off < 0 || off >= buf.length) throw new DwarfError('malformed DWARF: a string offset out of range');
  const e = buf.indexOf(0, off);
  return buf.toString('utf8', off, e < 0 ? buf.length : e);
}

interface AbbrevAttr { name: number; form: number; implicit?: bigint }
interface Abbrev { tag: number; children: boolean; attrs: AbbrevAttr[] }

type AttrValue = bigint | string | Buffer | { ref: number };

interface Die {
  offset: number;
  tag: number;
  children: boolean;
  attrs: Map<number, AttrValue>;
  /** Offset just after this DIE's attributes (its first child, if any). */
  next: number;
}

/** The debug sections a unit reads from (the executable's, or a .dwo's / one .dwp contribution's). */
interface Sections {
  info: Buffer;
  abbrev: Buffer;
  str?: Buffer;
  lineStr?: Buffer;
  strOffsets?: Buffer;
  addr?: Buffer;
  line?: Buffer;
}

interface Unit {
  sections: Sections;
  /** Offset of the unit header in `sections.info`, and of its first DIE / its end. */
  start: number;
  dieStart: number;
  end: number;
  version: number;
  unitType: number;
  addrSize: number;
  is64: boolean;
  abbrevs: Map<number, Abbrev>;
  dwoId?: bigint;
  strOffsetsBase: number;
  addrBase: number;
  /** For a split unit, the skeleton whose .debug_addr and line table it uses. */
  skeleton?: Unit;
}

function parseAbbrevs(buf: Buffer, off: number): Map<number, Abbrev> {
  const r = new Reader(buf, off);
  const out = new Map<number, Abbrev>();
  for (;;) {
    const code = r.ulebN();
    if (code === 0) return out;
    const tag = r.ulebN();
    const children = r.u8() === 1;
    const attrs: AbbrevAttr[] = [];
    for (;;) {
      const name = r.ulebN();
      const form = r.ulebN();
      if (name === 0 && form === 0) break;
      attrs.push(form === FORM.implicitConst ? { name, form, implicit: r.sleb() } : { name, form });
    }
    out.set(code, { tag, children, attrs });
  }
}

/** A parameter of a function from DWARF, typed in DebugInfo.btf. */
export interface DwarfParam {
  name: string;
  type: number;
}

export interface DwarfFunction {
  name: string;
  /** Link-time address of its entry, when the DIE has one. */
  address?: bigint;
  params: DwarfParam[];
  returnType: number;
}

export interface LineRow {
  address: bigint;
  file: string;
  line: number;
}

/** The debug information of one binary. */
export class DebugInfo {
  private readonly units: Unit[] = [];
  private readonly builder = new BtfBuilder();
  /** DIE identity (unit index, offset) → BTF id, for the types converted so far. */
  private readonly typeIds = new Map<string, number>();
  private readonly funcs = new Map<string, { unit: Unit; die: Die }>();
  /** Named type definitions ('struct Foo', 'typedef FILE', ...), the first of each name. */
  private readonly namedTypes = new Map<string, { unit: Unit; offset: number }>();
  private btfCache?: Btf;
  private readonly convertedFuncs = new Map<string, DwarfFunction>();

  private constructor(readonly path: string) {}

  /** Reads `elf`'s own DWARF (null when it has none); `dir` is where split .dwo files are looked for. */
  static fromElf(elf: ElfFile, binaryPath = elf.path): DebugInfo | null {
    const sec = (name: string): Buffer | undefined => {
      const s = elf.section(name);
      return s ? sectionBytes(elf, s) : undefined;
    };
    const info = sec('.debug_info');
    const abbrev = sec('.debug_abbrev');
    if (!info || !abbrev || info.length === 0) return null;
    const d = new DebugInfo(elf.path);
    const sections: Sections = {
      info, abbrev, str: sec('.debug_str'), lineStr: sec('.debug_line_str'), strOffsets: sec('.debug_str_offsets'),
      addr: sec('.debug_addr'), line: sec('.debug_line'),
    };
    d.readUnits(sections, binaryPath);
    return d;
  }

  /** Functions with parameters known (defined or declared with a prototype). */
  functionNames(): string[] {
    return [...this.funcs.keys()];
  }

  /** A function's parameters and return type, or undefined when the DWARF does not describe it. */
  func(name: string): DwarfFunction | undefined {
    const hit = this.convertedFuncs.get(name);
    if (hit) return hit;
    const f = this.funcs.get(name);
    if (!f) return undefined;
    const params: DwarfParam[] = [];
    for (const c of this.children(f.unit, f.die)) {
      if (c.tag !== TAG.formalParameter) continue;
      params.push({ name: this.str(f.unit, c.attrs.get(AT.name)) ?? '', type: this.typeOf(f.unit, c) });
    }
    const low = f.die.attrs.get(AT.lowPc);
    const fn: DwarfFunction = { name, params, returnType: this.typeOf(f.unit, f.die), address: typeof low === 'bigint' ? low : undefined };
    this.convertedFuncs.set(name, fn);
    this.btfCache = undefined;
    return fn;
  }

  /** The BTF id of a named type (`tag` struct, union, enum or typedef), converted on first use. */
  findType(tag: 'struct' | 'union' | 'enum' | 'typedef', name: string): number | undefined {
    const t = this.namedTypes.get(`${tag} ${name}`);
    if (!t) return undefined;
    const before = this.builder.nextId;
    const id = this.convert(t.unit, t.offset);
    if (this.builder.nextId !== before) this.btfCache = undefined;
    return id;
  }

  /** The BTF of every type converted so far (call after func() or findType()). */
  btf(): Btf {
    return (this.btfCache ??= Btf.parse(this.builder.build()));
  }

  /** Rows of the line tables whose file's name is `file` (a base name or a path suffix) at `line`. */
  lineAddresses(file: string, line: number): bigint[] {
    const out: bigint[] = [];
    const seen = new Set<number>();
    for (const u of this.units) {
      const unit = u.skeleton ?? u;
      const lineBuf = unit.sections.line;
      const root = this.die(unit, unit.dieStart);
      const stmt = root.attrs.get(AT.stmtList);
      if (!lineBuf || typeof stmt !== 'bigint' || seen.has(Number(stmt))) continue;
      seen.add(Number(stmt));
      const compDir = this.str(unit, root.attrs.get(AT.compDir)) ?? '';
      for (const seq of readLineProgram(lineBuf, Number(stmt), unit.sections, compDir)) {
        // the first row of the line in each sequence: where execution of that line begins
        const hit = seq.find((r) => r.line === line && sameFile(r.file, file));
        if (hit) out.push(hit.address);
      }
    }
    return [...new Set(out)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private readUnits(sections: Sections, binaryPath: string): void {
    const r = new Reader(sections.info);
    while (r.pos < sections.info.length) {
      const u = readUnitHeader(r, sections);
      r.pos = u.end;
      if (u.unitType === UT.type || u.unitType === UT.splitType) continue;
      const root = this.die(u, u.dieStart);
      this.setBases(u, root);
      const dwoName = this.str(u, root.attrs.get(AT.dwoName) ?? root.attrs.get(AT.gnuDwoName));
      if (dwoName !== undefined && (u.unitType === UT.skeleton || root.tag === TAG.skeletonUnit || root.tag === TAG.compileUnit)) {
        const dwoId = u.dwoId ?? (typeof root.attrs.get(AT.gnuDwoId) === 'bigint' ? root.attrs.get(AT.gnuDwoId) as bigint : undefined);
        const compDir = this.str(u, root.attrs.get(AT.compDir)) ?? '';
        const split = loadSplitUnit(binaryPath, compDir, dwoName, dwoId);
        this.units.push(u);
        if (split) {
          split.skeleton = u;
          split.addrBase = u.addrBase;
          this.units.push(split);
          this.indexFunctions(split);
        }
        continue;
      }
      this.units.push(u);
      this.indexFunctions(u);
    }
  }

  private setBases(u: Unit, root: Die): void {
    const sob = root.attrs.get(AT.strOffsetsBase);
    if (typeof sob === 'bigint') u.strOffsetsBase = Number(sob);
    const ab = root.attrs.get(AT.addrBase) ?? root.attrs.get(AT.gnuAddrBase);
    if (typeof ab === 'bigint') u.addrBase = Number(ab);
  }

  private indexFunctions(u: Unit): void {
    // Walk every DIE of the unit once; remember subprograms by name. Definitions
    // (with an address) win over declarations.
    const root = this.die(u, u.dieStart);
    if (u.skeleton === undefined) this.setBases(u, root);
    else if (u.unitType === UT.splitCompile || root.tag === TAG.compileUnit) this.setBases(u, root);
    let pos = root.next;
    let depth = root.children ? 1 : 0;
    while (depth > 0 && pos < u.end) {
      const r = new Reader(u.sections.info, pos, u.end);
      const code = r.ulebN();
      if (code === 0) {
        depth--;
        pos = r.pos;
        continue;
      }
      const d = this.die(u, pos);
      pos = d.next;
      const typeTag = NAMED_TYPE_TAGS.get(d.tag);
      if (typeTag && !d.attrs.has(AT.declaration)) {
        const n = this.str(u, d.attrs.get(AT.name));
        if (n && !this.namedTypes.has(`${typeTag} ${n}`)) this.namedTypes.set(`${typeTag} ${n}`, { unit: u, offset: d.offset });
      }
      if (d.tag === TAG.subprogram) {
        const name = this.str(u, d.attrs.get(AT.name));
        const spec = d.attrs.get(AT.specification) ?? d.attrs.get(AT.abstractOrigin);
        const specName = name ?? (spec && typeof spec === 'object' && 'ref' in spec ? this.str(u, this.die(u, spec.ref).attrs.get(AT.name)) : undefined);
        if (specName) {
          const prev = this.funcs.get(specName);
          const defined = d.attrs.has(AT.lowPc);
          if (!prev || (defined && !prev.die.attrs.has(AT.lowPc))) this.funcs.set(specName, { unit: u, die: d });
        }
      }
      if (d.children) depth++;
    }
  }

  /** Decodes the DIE at `off` of unit `u`. */
  private die(u: Unit, off: number): Die {
    const r = new Reader(u.sections.info, off, u.end);
    const code = r.ulebN();
    const ab = u.abbrevs.get(code);
    if (!ab) throw new DwarfError(`malformed DWARF: unknown abbreviation ${code} at offset ${off}`);
    const attrs = new Map<number, AttrValue>();
    for (const a of ab.attrs) {
      const v = this.readForm(u, r, a.form, a.implicit);
      if (!attrs.has(a.name)) attrs.set(a.name, v);
    }
    return { offset: off, tag: ab.tag, children: ab.children, attrs, next: r.pos };
  }

  private *children(u: Unit, parent: Die): Generator<Die> {
    if (!parent.children) return;
    let pos = parent.next;
    while (pos < u.end) {
      const r = new Reader(u.sections.info, pos, u.end);
      if (r.ulebN() === 0) return;
      const d = this.die(u, pos);
      yield d;
      pos = d.children ? this.skipChildren(u, d) : d.next;
    }
  }

  /** Offset just past `d`'s subtree. */
  private skipChildren(u: Unit, d: Die): number {
    const sib = d.attrs.get(AT.sibling);
    if (sib && typeof sib === 'object' && 'ref' in sib && sib.ref > d.offset) return sib.ref;
    let pos = d.next;
    let depth = 1;
    while (depth > 0) {
      if (pos >= u.end) throw new DwarfError('malformed DWARF: a DIE tree runs past its unit');
      const r = new Reader(u.sections.info, pos, u.end);
      if (r.ulebN() === 0) {
        depth--;
        pos = r.pos;
        continue;
      }
      const c = this.die(u, pos);
      pos = c.next;
      if (c.children) depth++;
    }
    return pos;
  }

  private readForm(u: Unit, r: Reader, form: number, implicit?: bigint): AttrValue {
    switch (form) {
      case FORM.addr: return u.addrSize === 8 ? r.u64() : BigInt(r.u32());
      case FORM.data1: case FORM.ref1: case FORM.flag: case FORM.strx1: case FORM.addrx1: return this.formValue(u, form, BigInt(r.u8()));
      case FORM.data2: case FORM.ref2: case FORM.strx2: case FORM.addrx2: return this.formValue(u, form, BigInt(r.u16()));
      case FORM.strx3: case FORM.addrx3: return this.formValue(u, form, BigInt(r.u24()));
      case FORM.data4: case FORM.ref4: case FORM.strx4: case FORM.addrx4: case FORM.refSup4: return this.formValue(u, form, BigInt(r.u32()));
      case FORM.data8: case FORM.ref8: case FORM.refSig8: case FORM.refSup8: return this.formValue(u, form, r.u64());
      case FORM.data16: return r.bytes(16);
      case FORM.sdata: return r.sleb();
      case FORM.udata: case FORM.refUdata: case FORM.strx: case FORM.addrx: case FORM.gnuAddrIndex: case FORM.gnuStrIndex:
      case FORM.loclistx: case FORM.rnglistx:
        return this.formValue(u, form, r.uleb());
      case FORM.string: return r.cstr();
      case FORM.strp: return cstrAt(u.sections.str, r.offset(u.is64));
      case FORM.lineStrp: return cstrAt(u.sections.lineStr ?? u.skeleton?.sections.lineStr, r.offset(u.is64));
      case FORM.strpSup: case FORM.gnuStrpAlt: case FORM.gnuRefAlt: r.offset(u.is64); return '';
      // an offset from the start of .debug_info, not of the unit
      case FORM.refAddr: return { ref: u.version <= 2 ? (u.addrSize === 8 ? Number(r.u64()) : r.u32()) : r.offset(u.is64) };
      case FORM.secOffset: return BigInt(r.offset(u.is64));
      case FORM.exprloc: case FORM.block: return r.bytes(r.ulebN());
      case FORM.block1: return r.bytes(r.u8());
      case FORM.block2: return r.bytes(r.u16());
      case FORM.block4: return r.bytes(r.u32());
      case FORM.flagPresent: return 1n;
      case FORM.implicitConst: return implicit ?? 0n;
      case FORM.indirect: return this.readForm(u, r, r.ulebN());
      default: throw new DwarfError(`unsupported DWARF attribute form 0x${form.toString(16)}`);
    }
  }

  private formValue(u: Unit, form: number, v: bigint): AttrValue {
    switch (form) {
      case FORM.ref1: case FORM.ref2: case FORM.ref4: case FORM.ref8: case FORM.refUdata:
        return { ref: u.start + Number(v) };
      case FORM.strx: case FORM.strx1: case FORM.strx2: case FORM.strx3: case FORM.strx4: case FORM.gnuStrIndex:
        return this.indexedString(u, Number(v));
      case FORM.addrx: case FORM.addrx1: case FORM.addrx2: case FORM.addrx3: case FORM.addrx4: case FORM.gnuAddrIndex:
        return this.indexedAddress(u, Number(v));
      default:
        return v;
    }
  }

  private indexedString(u: Unit, i: number): string {
    const so = u.sections.strOffsets;
    if (!so) throw new DwarfError('malformed DWARF: an indexed string without .debug_str_offsets');
    // DWARF 4 split units (GNU) have no header: their base is 0
    const base = u.strOffsetsBase || (u.version >= 5 ? (u.is64 ? 16 : 8) : 0);
    const r = new Reader(so, base + i * (u.is64 ? 8 : 4));
    return cstrAt(u.sections.str, r.offset(u.is64));
  }

  private indexedAddress(u: Unit, i: number): bigint {
    const addr = u.skeleton?.sections.addr ?? u.sections.addr;
    if (!addr) return 0n; // no .debug_addr: the value is not needed for types
    const r = new Reader(addr, u.addrBase + i * u.addrSize);
    return u.addrSize === 8 ? r.u64() : BigInt(r.u32());
  }

  private str(u: Unit, v: AttrValue | undefined): string | undefined {
    return typeof v === 'string' ? v : undefined;
  }

  private num(v: AttrValue | undefined): number | undefined {
    return typeof v === 'bigint' ? Number(v) : undefined;
  }

  /** The BTF id of DIE `d`'s DW_AT_type (0: void). */
  private typeOf(u: Unit, d: Die): number {
    const t = d.attrs.get(AT.type);
    if (!t || typeof t !== 'object' || !('ref' in t)) return 0;
    return this.convert(u, t.ref);
  }

  private depth = 0;

  /** Converts the type DIE at `off` to BTF (once per DIE). */
  private convert(u: Unit, off: number): number {
    const key = `${this.units.indexOf(u)}:${off}`;
    const known = this.typeIds.get(key);
    if (known !== undefined) return known;
    const id = this.builder.reserve();
    this.typeIds.set(key, id);
    // a crafted file could chain types deeper than the JS stack; C types are never this deep
    if (this.depth > 200) throw new DwarfError('malformed DWARF: types nested more than 200 levels deep');
    this.depth++;
    try {
      this.convertInto(u, off, id);
    } finally {
      this.depth--;
    }
    return id;
  }

  private convertInto(u: Unit, off: number, id: number): void {
    const d = this.die(u, off);
    const b = this.builder;
    const name = this.str(u, d.attrs.get(AT.name)) ?? '';
    const size = this.num(d.attrs.get(AT.byteSize)) ?? 0;
    switch (d.tag) {
      case TAG.baseType: {
        const enc = this.num(d.attrs.get(AT.encoding)) ?? ATE.signed;
        if (enc === ATE.float) b.float(name, size, id);
        else b.int(name, size, { signed: enc === ATE.signed || enc === ATE.signedChar, char: enc === ATE.signedChar || enc === ATE.unsignedChar, bool: enc === ATE.boolean }, id);
        break;
      }
      case TAG.pointer: case TAG.reference: case TAG.rvalueReference:
        b.ref('ptr', '', this.typeOf(u, d), id);
        break;
      case TAG.typedef: b.ref('typedef', name, this.typeOf(u, d), id); break;
      case TAG.const: b.ref('const', '', this.typeOf(u, d), id); break;
      case TAG.volatile: b.ref('volatile', '', this.typeOf(u, d), id); break;
      case TAG.restrict: b.ref('restrict', '', this.typeOf(u, d), id); break;
      case TAG.atomic: b.ref('typedef', `_Atomic ${name}`, this.typeOf(u, d), id); break;
      case TAG.structure: case TAG.class: case TAG.union: {
        const kind = d.tag === TAG.union ? 'union' : 'struct';
        if (d.attrs.has(AT.declaration)) {
          b.fwd(name, kind === 'union', id);
          break;
        }
        const members: BuilderMember[] = [];
        for (const c of this.children(u, d)) {
          if (c.tag !== TAG.member || c.attrs.has(0x3c /* declaration: a static member */)) continue;
          members.push(this.member(u, c));
        }
        b.struct(kind, name, size, members, id);
        break;
      }
      case TAG.enumeration: {
        const values: { name: string; value: bigint }[] = [];
        let signed = false;
        for (const c of this.children(u, d)) {
          if (c.tag !== TAG.enumerator) continue;
          const v = c.attrs.get(AT.constValue);
          const value = typeof v === 'bigint' ? v : 0n;
          if (value < 0n) signed = true;
          values.push({ name: this.str(u, c.attrs.get(AT.name)) ?? '', value });
        }
        b.enum(name, size || 4, signed, values, id);
        break;
      }
      case TAG.array: {
        const elem = this.typeOf(u, d);
        const dims: number[] = [];
        for (const c of this.children(u, d)) {
          if (c.tag !== TAG.subrange) continue;
          const count = this.num(c.attrs.get(AT.count));
          const upper = c.attrs.get(AT.upperBound);
          dims.push(count ?? (typeof upper === 'bigint' ? Number(upper) + 1 : 0));
        }
        // int a[2][3] is an array of 2 arrays of 3; build from the innermost dimension out
        let inner = elem;
        for (let i = dims.length - 1; i > 0; i--) inner = b.array(inner, this.indexType(), dims[i]);
        b.array(inner, this.indexType(), dims[0] ?? 0, id);
        break;
      }
      case TAG.subroutineType: {
        const params: { name: string; type: number }[] = [];
        for (const c of this.children(u, d)) {
          if (c.tag === TAG.formalParameter) params.push({ name: '', type: this.typeOf(u, c) });
          else if (c.tag === TAG.unspecifiedParameters) params.push({ name: '', type: 0 });
        }
        b.funcProto(this.typeOf(u, d), params, id);
        break;
      }
      default:
        // unspecified types (void in C++, nullptr_t) and anything else: an opaque 8-byte integer
        b.int(name || 'void', size || 8, {}, id);
    }
  }

  private indexTypeId?: number;
  private indexType(): number {
    return (this.indexTypeId ??= this.builder.int('__ARRAY_SIZE_TYPE__', 4));
  }

  private member(u: Unit, c: Die): BuilderMember {
    const name = this.str(u, c.attrs.get(AT.name)) ?? '';
    const type = this.typeOf(u, c);
    const bitSize = this.num(c.attrs.get(AT.bitSize)) ?? 0;
    let byteOffset = 0;
    const loc = c.attrs.get(AT.dataMemberLocation);
    if (typeof loc === 'bigint') byteOffset = Number(loc);
    else if (Buffer.isBuffer(loc)) byteOffset = memberLocationExpr(loc);
    let bitOffset = byteOffset * 8;
    const dbo = this.num(c.attrs.get(AT.dataBitOffset));
    if (dbo !== undefined) bitOffset = dbo;
    else if (bitSize) {
      // DWARF 2/3: DW_AT_bit_offset counts from the most significant bit of the storage unit
      const storage = this.num(c.attrs.get(AT.byteSize)) ?? 4;
      const bo = this.num(c.attrs.get(AT.bitOffset));
      if (bo !== undefined) bitOffset = byteOffset * 8 + storage * 8 - bo - bitSize;
    }
    return { name, type, bitOffset, bitfieldSize: bitSize };
  }
}

/** DW_AT_data_member_location as an expression: DW_OP_plus_uconst N (what compilers emit), else 0. */
function memberLocationExpr(expr: Buffer): number {
  const r = new Reader(expr);
  if (expr.length && r.u8() === 0x23) return r.ulebN();
  return 0;
}

function readUnitHeader(r: Reader, sections: Sections): Unit {
  const start = r.pos;
  let len = r.u32();
  let is64 = false;
  if (len === 0xffffffff) {
    is64 = true;
    len = Number(BigInt.asUintN(53, r.u64()));
  } else if (len >= 0xfffffff0) throw new DwarfError('malformed DWARF: a reserved unit length');
  const end = r.pos + len;
  if (end > sections.info.length) throw new DwarfError('malformed DWARF: a unit runs past .debug_info');
  const version = r.u16();
  if (version < 2 || version > 5) throw new DwarfError(`unsupported DWARF version ${version}`);
  let unitType: number = UT.compile;
  let addrSize: number;
  let abbrevOff: number;
  let dwoId: bigint | undefined;
  if (version >= 5) {
    unitType = r.u8();
    addrSize = r.u8();
    abbrevOff = r.offset(is64);
    if (unitType === UT.skeleton || unitType === UT.splitCompile) dwoId = r.u64();
    else if (unitType === UT.type || unitType === UT.splitType) { r.u64(); r.offset(is64); }
  } else {
    abbrevOff = r.offset(is64);
    addrSize = r.u8();
  }
  if (addrSize !== 4 && addrSize !== 8) throw new DwarfError(`unsupported DWARF address size ${addrSize}`);
  if (abbrevOff >= sections.abbrev.length) throw new DwarfError('malformed DWARF: an abbreviation offset out of range');
  return {
    sections, start, dieStart: r.pos, end, version, unitType, addrSize, is64, abbrevs: parseAbbrevs(sections.abbrev, abbrevOff),
    dwoId, strOffsetsBase: 0, addrBase: 0,
  };
}

function sameFile(rowFile: string, want: string): boolean {
  return rowFile === want || rowFile.endsWith('/' + want) || path.basename(rowFile) === want;
}

/** Decompresses an SHF_COMPRESSED (ELFCOMPRESS_ZLIB) section; other sections are returned as read. */
function sectionBytes(elf: ElfFile, s: ElfSection): Buffer {
  const raw = elf.sectionData(s);
  const SHF_COMPRESSED = 0x800n;
  if ((s.flags & SHF_COMPRESSED) === 0n) return raw;
  // Elf64_Chdr: ch_type u32, reserved u32, ch_size u64, ch_addralign u64
  if (raw.length < 24 || raw.readUInt32LE(0) !== 1) throw new DwarfError(`${elf.path}: section ${s.name} is compressed with an unsupported method`);
  const size = Number(raw.readBigUInt64LE(8));
  if (size > 1 << 30) throw new DwarfError(`${elf.path}: section ${s.name} is too large`);
  // Loaded here: every script run loads this module, and node:zlib costs ~3 ms of start-up.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zlib = require('node:zlib') as typeof import('node:zlib');
  return zlib.inflateSync(raw.subarray(24), { maxOutputLength: size });
}

/** The .dwo file of a skeleton unit, or its contribution in the binary's .dwp package. */
function loadSplitUnit(binaryPath: string, compDir: string, dwoName: string, dwoId: bigint | undefined): Unit | null {
  const dir = path.dirname(binaryPath);
  const candidates = path.isAbsolute(dwoName) ? [dwoName] : [path.join(compDir, dwoName), path.join(dir, dwoName), path.join(dir, path.basename(dwoName))];
  for (const p of candidates) {
    const u = readSplitFile(p, dwoId, false);
    if (u) return u;
  }
  return readSplitFile(`${binaryPath}.dwp`, dwoId, true);
}

function readSplitFile(p: string, dwoId: bigint | undefined, isPackage: boolean): Unit | null {
  let elf: ElfFile;
  try {
    if (!fs.statSync(p).isFile()) return null;
    elf = ElfFile.open(p);
  } catch {
    return null;
  }
  const sec = (name: string): Buffer | undefined => {
    const s = elf.section(name);
    return s ? sectionBytes(elf, s) : undefined;
  };
  const info = sec('.debug_info.dwo');
  const abbrev = sec('.debug_abbrev.dwo');
  if (!info || !abbrev) return null;
  let sections: Sections = { info, abbrev, str: sec('.debug_str.dwo'), strOffsets: sec('.debug_str_offsets.dwo'), line: sec('.debug_line.dwo') };
  let strOffsetsBase = 0;
  if (isPackage) {
    const index = sec('.debug_cu_index');
    if (!index || dwoId === undefined) return null;
    const c = dwpContribution(index, dwoId);
    if (!c) return null;
    const slice = (b: Buffer | undefined, x?: { offset: number; size: number }): Buffer | undefined =>
      b && x ? (x.offset + x.size <= b.length ? b.subarray(x.offset, x.offset + x.size) : undefined) : b;
    sections = {
      info: slice(info, c.info) ?? info, abbrev: slice(abbrev, c.abbrev) ?? abbrev, str: sections.str,
      strOffsets: slice(sections.strOffsets, c.strOffsets), line: slice(sections.line, c.line),
    };
    strOffsetsBase = 0;
  }
  const r = new Reader(sections.info);
  while (r.pos < sections.info.length) {
    const u = readUnitHeader(r, sections);
    r.pos = u.end;
    if (u.unitType === UT.type || u.unitType === UT.splitType) continue;
    if (dwoId !== undefined && u.dwoId !== undefined && u.dwoId !== dwoId) continue;
    u.strOffsetsBase = strOffsetsBase;
    return u;
  }
  return null;
}

/** Section contributions of the unit `dwoId` in a .dwp's .debug_cu_index (versions 2 and 5). */
function dwpContribution(index: Buffer, dwoId: bigint): { info?: Span; abbrev?: Span; line?: Span; strOffsets?: Span } | null {
  const r = new Reader(index);
  const version = r.u32() & 0xffff; // v5: u16 version + u16 padding; v2: u32
  const nSections = r.u32();
  const nUnits = r.u32();
  const nSlots = r.u32();
  if (nSlots > 1 << 24 || nSections > 64 || nUnits > nSlots) throw new DwarfError('malformed .debug_cu_index');
  const hashes = r.pos;
  const indices = hashes + 8 * nSlots;
  let row = -1;
  for (let i = 0; i < nSlots; i++) {
    const h = new Reader(index, hashes + 8 * i).u64();
    if (h === dwoId) {
      row = new Reader(index, indices + 4 * i).u32();
      break;
    }
  }
  if (row <= 0 || row > nUnits) return null;
  const ids = new Reader(index, indices + 4 * nSlots);
  const sectionIds: number[] = [];
  for (let i = 0; i < nSections; i++) sectionIds.push(ids.u32());
  const offsets = ids.pos;
  const sizes = offsets + 4 * nSections * nUnits;
  const out: { info?: Span; abbrev?: Span; line?: Span; strOffsets?: Span } = {};
  sectionIds.forEach((id, col) => {
    const span = {
      offset: new Reader(index, offsets + 4 * ((row - 1) * nSections + col)).u32(),
      size: new Reader(index, sizes + 4 * ((row - 1) * nSections + col)).u32(),
    };
    // DW_SECT_*: INFO 1, ABBREV 3, LINE 4, STR_OFFSETS 6 (the same ids in versions 2 and 5)
    if (id === 1) out.info = span;
    else if (id === 3) out.abbrev = span;
    else if (id === 4) out.line = span;
    else if (id === 6) out.strOffsets = span;
  });
  void version;
  return out;
}

interface Span { offset: number; size: number }

/** Runs a line-number program; returns its sequences of rows. */
function readLineProgram(buf: Buffer, off: number, sections: Sections, compDir: string): LineRow[][] {
  const r = new Reader(buf, off);
  let len = r.u32();
  let is64 = false;
  if (len === 0xffffffff) {
    is64 = true;
    len = Number(BigInt.asUintN(53, r.u64()));
  }
  const end = r.pos + len;
  if (end > buf.length) throw new DwarfError('malformed DWARF: a line program runs past .debug_line');
  const version = r.u16();
  if (version < 2 || version > 5) throw new DwarfError(`unsupported line table version ${version}`);
  let addrSize = 8;
  if (version >= 5) {
    addrSize = r.u8();
    r.u8(); // segment selector size
  }
  const headerLen = r.offset(is64);
  const programStart = r.pos + headerLen;
  const minInst = r.u8();
  if (version >= 4) r.u8(); // maximum operations per instruction (VLIW only)
  const defaultIsStmt = r.u8() !== 0;
  const lineBase = r.i8();
  const lineRange = r.u8();
  const opcodeBase = r.u8();
  if (lineRange === 0) throw new DwarfError('malformed DWARF: line_range 0');
  const stdLens: number[] = [];
  for (let i = 1; i < opcodeBase; i++) stdLens.push(r.u8());
  const dirs: string[] = [];
  const files: string[] = [];
  if (version >= 5) {
    const entries = (): Map<number, AttrValue>[] => {
      const nFormats = r.u8();
      const formats: [number, number][] = [];
      for (let i = 0; i < nFormats; i++) formats.push([r.ulebN(), r.ulebN()]);
      const n = r.ulebN();
      const out: Map<number, AttrValue>[] = [];
      for (let i = 0; i < n; i++) {
        const m = new Map<number, AttrValue>();
        for (const [ct, form] of formats) m.set(ct, lineForm(r, form, is64, sections));
        out.push(m);
      }
      return out;
    };
    for (const d of entries()) dirs.push(String(d.get(1) ?? ''));
    for (const f of entries()) {
      const name = String(f.get(1) ?? '');
      const dir = dirs[Number(f.get(2) ?? 0n)] ?? '';
      files.push(path.isAbsolute(name) ? name : path.join(dir, name));
    }
  } else {
    dirs.push(compDir);
    for (;;) {
      const d = r.cstr();
      if (!d) break;
      dirs.push(d);
    }
    files.push(''); // file numbers start at 1 before DWARF 5
    for (;;) {
      const name = r.cstr();
      if (!name) break;
      const dir = dirs[r.ulebN()] ?? '';
      r.uleb();
      r.uleb();
      files.push(path.isAbsolute(name) ? name : path.join(dir, name));
    }
  }
  r.pos = programStart;
  const seqs: LineRow[][] = [];
  let rows: LineRow[] = [];
  let address = 0n, file = 1, line = 1, isStmt = defaultIsStmt;
  const reset = () => { address = 0n; file = 1; line = 1; isStmt = defaultIsStmt; };
  const emit = () => { if (isStmt) rows.push({ address, file: files[file] ?? '', line }); };
  while (r.pos < end) {
    const op = r.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      address += BigInt(Math.floor(adj / lineRange) * minInst);
      line += lineBase + (adj % lineRange);
      emit();
    } else if (op === 0) {
      const n = r.ulebN();
      const next = r.pos + n;
      const ext = n ? r.u8() : 0;
      if (ext === 1) {
        seqs.push(rows);
        rows = [];
        reset();
      } else if (ext === 2) address = addrSize === 8 && n >= 9 ? r.u64() : BigInt(r.u32());
      r.pos = next;
    } else {
      switch (op) {
        case 1: emit(); break; // copy
        case 2: address += BigInt(r.ulebN() * minInst); break;
        case 3: line += Number(r.sleb()); break;
        case 4: file = r.ulebN(); break;
        case 5: r.uleb(); break;
        case 6: isStmt = !isStmt; break;
        case 7: case 10: case 11: break;
        case 8: address += BigInt(Math.floor((255 - opcodeBase) / lineRange) * minInst); break;
        case 9: address += BigInt(r.u16()); break;
        case 12: r.uleb(); break;
        default:
          for (let i = 0; i < (stdLens[op - 1] ?? 0); i++) r.uleb();
      }
    }
  }
  if (rows.length) seqs.push(rows);
  return seqs;
}

function lineForm(r: Reader, form: number, is64: boolean, s: Sections): AttrValue {
  switch (form) {
    case FORM.string: return r.cstr();
    case FORM.lineStrp: return cstrAt(s.lineStr, r.offset(is64));
    case FORM.strp: return cstrAt(s.str, r.offset(is64));
    case FORM.udata: return r.uleb();
    case FORM.data1: return BigInt(r.u8());
    case FORM.data2: return BigInt(r.u16());
    case FORM.data4: return BigInt(r.u32());
    case FORM.data8: return r.u64();
    case FORM.data16: return r.bytes(16);
    case FORM.block: return r.bytes(r.ulebN());
    default: throw new DwarfError(`unsupported form 0x${form.toString(16)} in a line table header`);
  }
}

const cache = new Map<string, DebugInfo | null>();

/**
 * The debug information of `binary` (null when none is found). Parsed once
 * per process and binary; a malformed file throws DwarfError.
 */
export function debugInfoFor(binary: string, searchDirs: readonly string[] = []): DebugInfo | null {
  const key = `${binary}\0${searchDirs.join('\0')}`;
  if (cache.has(key)) return cache.get(key) ?? null;
  const elf = ElfFile.open(binary);
  const file = debugFileFor(binary, elf, searchDirs);
  let info: DebugInfo | null = null;
  if (file) {
    try {
      info = DebugInfo.fromElf(file === binary ? elf : ElfFile.open(file), binary);
    } catch (e) {
      if (e instanceof DwarfError) throw new DwarfError(`${file}: ${e.message}`);
      throw e;
    }
  }
  cache.set(key, info);
  return info;
}
