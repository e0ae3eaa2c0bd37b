/**
 * A lazy reader for kernel BTF: /sys/kernel/btf/vmlinux and module BTF
 * (/sys/kernel/btf/<module>, split BTF whose ids and strings continue those
 * of vmlinux).
 *
 * Opening reads the blob and makes one cheap pass recording where each type
 * starts (a Uint32Array, 4 bytes per type); types are decoded on demand and
 * the name → ids index is built the first time a name is looked up.
 *
 * @example
 *   const btf = Btf.vmlinux();
 *   btf.memberOffset('task_struct', 'pid');          // byte offset
 *   btf.memberAccess('task_struct', 'mm.arg_start');  // offsets with a pointer hop
 *   btf.typeName(btf.find('task_struct', 'struct')!); // 'struct task_struct'
 */
import * as fs from 'node:fs';
import { EnvironmentError, UserError } from '../errors';
import { native, type NativeAddon } from '../sys/native';
import { VMLINUX_BTF, vmlinuxBtfBytes } from '../sys/vmlinux';

export const BTF_MAGIC = 0xeb9f;

export const BTF_KIND = {
  UNKN: 0, INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8,
  VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15,
  FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export type BtfKindName =
  | 'void' | 'int' | 'ptr' | 'array' | 'struct' | 'union' | 'enum' | 'fwd' | 'typedef'
  | 'volatile' | 'const' | 'restrict' | 'func' | 'func_proto' | 'var' | 'datasec'
  | 'float' | 'decl_tag' | 'type_tag' | 'enum64';

const kindNames: BtfKindName[] = [
  'void', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
];

/** Malformed BTF, or an unsupported version. */
export class BtfError extends EnvironmentError {
  constructor(message: string) {
    super(message);
    this.name = 'BtfError';
  }
}

/** A type or member named by the user does not exist. */
export class BtfNotFoundError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'BtfNotFoundError';
  }
}

export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Offset from the start of the struct, in bits. */
  readonly bitOffset: number;
  /** Width of a bitfield in bits; 0 for ordinary members. */
  readonly bitfieldSize: number;
}

export interface BtfEnumValue {
  readonly name: string;
  readonly value: bigint;
}

export interface BtfParam {
  readonly name: string;
  /** 0 for a trailing `...` (variadic). */
  readonly type: number;
}

export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

interface Base { readonly id: number; readonly name: string }
export type BtfType =
  | (Base & { kind: 'void' })
  | (Base & { kind: 'int'; size: number; signed: boolean; char: boolean; bool: boolean; bits: number; bitOffset: number })
  | (Base & { kind: 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag'; type: number })
  | (Base & { kind: 'array'; type: number; indexType: number; nelems: number })
  | (Base & { kind: 'struct' | 'union'; size: number; members: BtfMember[] })
  | (Base & { kind: 'enum' | 'enum64'; size: number; signed: boolean; values: BtfEnumValue[] })
  | (Base & { kind: 'fwd'; union: boolean })
  | (Base & { kind: 'func'; type: number; linkage: number })
  | (Base & { kind: 'func_proto'; returnType: number; params: BtfParam[] })
  | (Base & { kind: 'var'; type: number; linkage: number })
  | (Base & { kind: 'datasec'; size: number; vars: BtfVarSecinfo[] })
  | (Base & { kind: 'float'; size: number })
  | (Base & { kind: 'decl_tag'; type: number; componentIdx: number });

/**
 * How to reach a (possibly nested) member. `steps` are byte offsets; between
 * two consecutive steps a pointer is loaded and followed. For `task_struct`
 * + `mm.arg_start`: steps = [offsetof(task_struct, mm), offsetof(mm_struct, arg_start)].
 */
export interface BtfAccess {
  readonly steps: number[];
  /** Bit offset of the final member inside the last struct (steps[-1] * 8 for non-bitfields). */
  readonly bitOffset: number;
  readonly bitfieldSize: number;
  /** Type id of the final member. */
  readonly type: number;
}

/** Trailing bytes after the 12-byte common header, per kind (vlen-scaled where noted). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case BTF_KIND.INT: return 4;
    case BTF_KIND.ARRAY: return 12;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION: return 12 * vlen;
    case BTF_KIND.ENUM: return 8 * vlen;
    case BTF_KIND.FUNC_PROTO: return 8 * vlen;
    case BTF_KIND.VAR: return 4;
    case BTF_KIND.DATASEC: return 12 * vlen;
    case BTF_KIND.DECL_TAG: return 4;
    case BTF_KIND.ENUM64: return 12 * vlen;
    case BTF_KIND.PTR: case BTF_KIND.FWD: case BTF_KIND.TYPEDEF: case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST: case BTF_KIND.RESTRICT: case BTF_KIND.FUNC: case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG: return 0;
    default: return -1;
  }
}

/** Bytes after a type's 12-byte header: EXTRA_FIXED[kind] + EXTRA_PER_MEMBER[kind] * vlen (-1: unknown kind). */
const EXTRA_FIXED = new Int32Array(32).map((_, kind) => extraBytes(kind, 0));
const EXTRA_PER_MEMBER = new Int32Array(32).map((_, kind) => (extraBytes(kind, 0) < 0 ? 0 : extraBytes(kind, 1) - extraBytes(kind, 0)));

/** Candidate string offsets searched for one by one; more are matched in one pass over all types. */
const NATIVE_SEARCHES = 8;

/** The index of `pos` in the sorted record starts, or -1 when no record starts there. */
function recordIndex(starts: Uint32Array, pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = starts[mid];
    if (v === pos) return mid;
    if (v < pos) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Distinct names looked up by scanning before the whole name index is built instead. */
const SCANS_BEFORE_INDEX = 24;

/** A Uint32Array over the buffer's bytes, when it is word-aligned and the host little-endian (BTF here is). */
/** The addon's BTF walk; undefined without the addon (pure uses of this module) or with an older build of it. */
function nativeScan(): NativeAddon['btfScan'] {
  try {
    return native().btfScan;
  } catch {
    return undefined;
  }
}

function wordView(buf: Buffer): Uint32Array | undefined {
  if ((buf.byteOffset & 3) !== 0 || !LITTLE_ENDIAN) return undefined;
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let vmlinuxCache: Btf | undefined;
const moduleCache = new Map<string, Btf>();

export class Btf {
  /** The base BTF for split (module) BTF. */
  readonly base?: Btf;
  /** Id of this blob's first type (1 for vmlinux; base.nextId for modules). */
  readonly firstId: number;
  /** One past the highest type id. */
  readonly nextId: number;
  private readonly buf: Buffer;
  private readonly typesStart: number;
  private readonly typesLen: number;
  private readonly strStart: number;
  private readonly strLen: number;
  /** First string offset owned by this blob (base.strEnd for split BTF). */
  private readonly strBase: number;
  private readonly offsets: Uint32Array;
  /** Each type's name offset (the first word of its record), by id - firstId. */
  private readonly nameOffs: Uint32Array;
  private nameIdx?: Map<string, number | number[]>;
  /** Names looked up by scanning before the full index was built (see findAll). */
  private readonly scanned = new Map<string, number[]>();
  private readonly decoded = new Map<number, BtfType>();

  /** Parses a BTF blob; pass `base` for split BTF (kernel modules). */
  static parse(buf: Buffer, base?: Btf): Btf {
    return new Btf(buf, base);
  }

  /** Reads and parses a BTF file (the kernel's own through sys/vmlinux, read once per process). */
  static load(path: string, base?: Btf): Btf {
    let buf: Buffer;
    try {
      buf = path === VMLINUX_BTF ? vmlinuxBtfBytes() : fs.readFileSync(path);
    } catch (e) {
      throw new BtfError(`cannot read BTF from ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` +
        ((e as NodeJS.ErrnoException).code === 'ENOENT' ? ' (this kernel has no BTF: CONFIG_DEBUG_INFO_BTF is not set)' : ''));
    }
    return new Btf(buf, base);
  }

  /** The running kernel's BTF, parsed once per process. */
  static vmlinux(): Btf {
    return (vmlinuxCache ??= Btf.load(VMLINUX_BTF));
  }

  /** A loaded module's split BTF on top of vmlinux. */
  static module(name: string): Btf {
    let m = moduleCache.get(name);
    if (!m) {
      if (!/^[\w-]+$/.test(name)) throw new BtfError(`bad module name '${name}'`);
      m = Btf.load(`/sys/kernel/btf/${name}`, Btf.vmlinux());
      moduleCache.set(name, m);
    }
    return m;
  }

  private constructor(buf: Buffer, base?: Btf) {
    this.buf = buf;
    this.base = base;
    if (buf.length < 24 || buf.readUInt16LE(0) !== BTF_MAGIC) throw new BtfError('not a BTF blob (bad magic; only little-endian BTF is supported)');
    if (buf[2] !== 1) throw new BtfError(`unsupported BTF version ${buf[2]}`);
    const hdrLen = buf.readUInt32LE(4);
    const typeOff = buf.readUInt32LE(8);
    const typeLen = buf.readUInt32LE(12);
    const strOff = buf.readUInt32LE(16);
    this.strLen = buf.readUInt32LE(20);
    this.typesStart = hdrLen + typeOff;
    this.typesLen = typeLen;
    this.strStart = hdrLen + strOff;
    if (this.typesStart + typeLen > buf.length || this.strStart + this.strLen > buf.length) throw new BtfError('truncated BTF blob');
    this.firstId = base ? base.nextId : 1;
    this.strBase = base ? base.strBase + base.strLen : 0;

    // First pass: where each type starts and its name offset (findAll scans those).
    // Records are whole 32-bit words, so when the type section is word-aligned the
    // walk reads through a Uint32Array view, several times faster than Buffer reads:
    // this runs over the ~130k types of vmlinux in every tool's start-up.
    let offs = new Uint32Array(Math.max(1024, (typeLen / 24) | 0));
    let names = new Uint32Array(offs.length);
    const end = this.typesStart + typeLen;
    // The addon walks vmlinux in well under 1 ms against ~10 ms of CPU here; on
    // anything unusual it answers -1 and the walk below reports it.
    const scanned = LITTLE_ENDIAN ? nativeScan()?.(buf, this.typesStart, end, EXTRA_FIXED, EXTRA_PER_MEMBER, offs, names) ?? -1 : -1;
    let n = scanned < 0 ? 0 : scanned;
    const words = (this.typesStart & 3) === 0 ? wordView(buf) : undefined;
    let p = scanned < 0 ? this.typesStart : end;
    while (p < end) {
      if (p + 12 > end) throw new BtfError(`truncated type at byte ${p}`);
      const info = words ? words[(p >>> 2) + 1] : buf.readUInt32LE(p + 4);
      const kind = (info >>> 24) & 0x1f;
      const fixed = EXTRA_FIXED[kind];
      if (fixed < 0) throw new BtfError(`unknown BTF kind ${kind} (type id ${this.firstId + n})`);
      if (n === offs.length) {
        const grown = new Uint32Array(offs.length * 2);
        grown.set(offs);
        offs = grown;
        const grownNames = new Uint32Array(grown.length);
        grownNames.set(names);
        names = grownNames;
      }
      names[n] = words ? words[p >>> 2] : buf.readUInt32LE(p);
      offs[n++] = p;
      p += 12 + fixed + EXTRA_PER_MEMBER[kind] * (info & 0xffff);
    }
    this.nameOffs = names.subarray(0, n);
    this.offsets = offs.subarray(0, n);
    this.nextId = this.firstId + n;
  }

  /** Number of types in this blob (not counting void or base types). */
  get typeCount(): number {
    return this.offsets.length;
  }

  /** A string from the string section (base strings for split BTF). */
  str(off: number): string {
    if (off < this.strBase) {
      if (!this.base) throw new BtfError(`string offset ${off} out of range`);
      return this.base.str(off);
    }
    const s = this.strStart + off - this.strBase;
    const e = this.buf.indexOf(0, s);
    return this.buf.toString('latin1', s, e < 0 || e > this.strStart + this.strLen ? this.strStart + this.strLen : e);
  }

  private owner(id: number): Btf {
    if (id >= this.firstId) {
      if (id >= this.nextId) throw new BtfNotFoundError(`BTF type id ${id} out of range (max ${this.nextId - 1})`);
      return this;
    }
    if (!this.base) throw new BtfNotFoundError(`BTF type id ${id} out of range`);
    return this.base.owner(id);
  }

  private at(id: number): number {
    return this.offsets[id - this.firstId];
  }

  /** Kind number (BTF_KIND.*) of a type; 0 for void. */
  kindNum(id: number): number {
    if (id === 0) return 0;
    const o = this.owner(id);
    return (o.buf.readUInt32LE(o.at(id) + 4) >>> 24) & 0x1f;
  }

  kind(id: number): BtfKindName {
    return kindNames[this.kindNum(id)];
  }

  /** The type's own name ('' for anonymous types and void). */
  name(id: number): string {
    if (id === 0) return '';
    const o = this.owner(id);
    const off = o.buf.readUInt32LE(o.at(id));
    return off ? o.str(off) : '';
  }

  /** Decodes a type (cached). */
  type(id: number): BtfType {
    if (id === 0) return { id: 0, name: 'void', kind: 'void' };
    const o = this.owner(id);
    if (o !== this) return o.type(id);
    const hit = this.decoded.get(id);
    if (hit) return hit;
    const t = this.decode(id);
    this.decoded.set(id, t);
    return t;
  }

  private decode(id: number): BtfType {
    const b = this.buf;
    const p = this.at(id);
    const name = this.name(id);
    const info = b.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = (info >>> 31) === 1;
    const sizeOrType = b.readUInt32LE(p + 8);
    const x = p + 12;
    switch (kind) {
      case BTF_KIND.INT: {
        const v = b.readUInt32LE(x);
        const enc = (v >>> 24) & 0xf;
        return { id, name, kind: 'int', size: sizeOrType, signed: (enc & 1) !== 0, char: (enc & 2) !== 0, bool: (enc & 4) !== 0, bits: v & 0xff, bitOffset: (v >>> 16) & 0xff };
      }
      case BTF_KIND.PTR: return { id, name, kind: 'ptr', type: sizeOrType };
      case BTF_KIND.TYPEDEF: return { id, name, kind: 'typedef', type: sizeOrType };
      case BTF_KIND.VOLATILE: return { id, name, kind: 'volatile', type: sizeOrType };
      case BTF_KIND.CONST: return { id, name, kind: 'const', type: sizeOrType };
      case BTF_KIND.RESTRICT: return { id, name, kind: 'restrict', type: sizeOrType };
      case BTF_KIND.TYPE_TAG: return { id, name, kind: 'type_tag', type: sizeOrType };
      case BTF_KIND.ARRAY:
        return { id, name, kind: 'array', type: b.readUInt32LE(x), indexType: b.readUInt32LE(x + 4), nelems: b.readUInt32LE(x + 8) };
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = x + i * 12;
          const off = b.readUInt32LE(m + 8);
          members.push({
            name: this.strOrEmpty(b.readUInt32LE(m)),
            type: b.readUInt32LE(m + 4),
            // kind_flag: high 8 bits hold the bitfield size, low 24 the bit offset.
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          });
        }
        return { id, name, kind: kind === BTF_KIND.STRUCT ? 'struct' : 'union', size: sizeOrType, members };
      }
      case BTF_KIND.ENUM: {
        const values: BtfEnumValue[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = x + i * 8;
          values.push({ name: this.strOrEmpty(b.readUInt32LE(m)), value: kflag ? BigInt(b.readInt32LE(m + 4)) : BigInt(b.readUInt32LE(m + 4)) });
        }
        return { id, name, kind: 'enum', size: sizeOrType, signed: kflag, values };
      }
      case BTF_KIND.ENUM64: {
        const values: BtfEnumValue[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = x + i * 12;
          const u = (BigInt(b.readUInt32LE(m + 8)) << 32n) | BigInt(b.readUInt32LE(m + 4));
          values.push({ name: this.strOrEmpty(b.readUInt32LE(m)), value: kflag ? BigInt.asIntN(64, u) : u });
        }
        return { id, name, kind: 'enum64', size: sizeOrType, signed: kflag, values };
      }
      case BTF_KIND.FWD: return { id, name, kind: 'fwd', union: kflag };
      case BTF_KIND.FUNC: return { id, name, kind: 'func', type: sizeOrType, linkage: vlen };
      case BTF_KIND.FUNC_PROTO: {
        const params: BtfParam[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = x + i * 8;
          params.push({ name: this.strOrEmpty(b.readUInt32LE(m)), type: b.readUInt32LE(m + 4) });
        }
        return { id, name, kind: 'func_proto', returnType: sizeOrType, params };
      }
      case BTF_KIND.VAR: return { id, name, kind: 'var', type: sizeOrType, linkage: b.readUInt32LE(x) };
      case BTF_KIND.DATASEC: {
        const vars: BtfVarSecinfo[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = x + i * 12;
          vars.push({ type: b.readUInt32LE(m), offset: b.readUInt32LE(m + 4), size: b.readUInt32LE(m + 8) });
        }
        return { id, name, kind: 'datasec', size: sizeOrType, vars };
      }
      case BTF_KIND.FLOAT: return { id, name, kind: 'float', size: sizeOrType };
      case BTF_KIND.DECL_TAG: return { id, name, kind: 'decl_tag', type: sizeOrType, componentIdx: b.readInt32LE(x) };
      default: throw new BtfError(`unknown BTF kind ${kind} (type id ${id})`);
    }
  }

  private strOrEmpty(off: number): string {
    return off ? this.str(off) : '';
  }

  private index(): Map<string, number | number[]> {
    if (this.nameIdx) return this.nameIdx;
    const m = new Map<string, number | number[]>();
    const b = this.buf;
    // One latin1 decode of the whole string section, then cheap slices: far
    // faster than a Buffer decode per name.
    const all = b.toString('latin1', this.strStart, this.strStart + this.strLen);
    const own = this.strBase;
    for (let i = 0; i < this.nameOffs.length; i++) {
      const off = this.nameOffs[i];
      if (off === 0) continue;
      let s: string;
      if (off >= own) {
        const at = off - own;
        const e = all.indexOf('\0', at);
        s = all.slice(at, e < 0 ? all.length : e);
      } else s = this.str(off);
      const id = this.firstId + i;
      const cur = m.get(s);
      if (cur === undefined) m.set(s, id);
      else if (typeof cur === 'number') m.set(s, [cur, id]);
      else cur.push(id);
    }
    return (this.nameIdx = m);
  }

  /**
   * Own type ids named `name`. The first lookups scan for it instead of building
   * the name index: a tool needs a handful of vmlinux names (task_struct, a few
   * more), and indexing all ~130k names first cost ~40 ms of its start-up.
   */
  private ownIds(name: string): readonly number[] {
    if (!this.nameIdx && !this.base && this.scanned.size < SCANS_BEFORE_INDEX) {
      let ids = this.scanned.get(name);
      if (!ids) this.scanned.set(name, (ids = this.scanName(name)));
      return ids;
    }
    const hit = this.index().get(name);
    return hit === undefined ? [] : typeof hit === 'number' ? [hit] : hit;
  }

  /**
   * Ids whose name is exactly `name`: every string offset where `name` and its
   * NUL stand (a name may also be the tail of a longer string), then the types
   * whose name offset is one of them.
   */
  private scanName(name: string): number[] {
    const ids: number[] = [];
    // No BTF name is empty, holds a NUL or a character beyond latin1 (as the index decodes them).
    if (name === '' || /[^\x01-\xff]/.test(name)) return ids;
    const needle = Buffer.from(`${name}\0`, 'latin1');
    const strEnd = this.strStart + this.strLen;
    const at: number[] = [];
    for (let i = this.buf.indexOf(needle, this.strStart); i >= 0 && i + needle.length <= strEnd; i = this.buf.indexOf(needle, i + 1)) {
      at.push(i - this.strStart + this.strBase);
    }
    if (!at.length) return ids;
    if (at.length > NATIVE_SEARCHES) {
      const offs = new Set(at);
      const names = this.nameOffs;
      for (let i = 0; i < names.length; i++) if (names[i] !== 0 && offs.has(names[i])) ids.push(this.firstId + i);
      return ids;
    }
    // A type's name offset is the first word of its record: search the type section
    // for the offset's four bytes (Buffer.indexOf runs natively, far faster than a
    // JavaScript loop over every type in a cold process) and keep the hits that are
    // record starts.
    const needleWord = Buffer.alloc(4);
    const typesEnd = this.typesStart + this.typesLen;
    for (const off of at) {
      needleWord.writeUInt32LE(off);
      for (let q = this.buf.indexOf(needleWord, this.typesStart); q >= 0 && q + 4 <= typesEnd; q = this.buf.indexOf(needleWord, q + 1)) {
        const i = recordIndex(this.offsets, q);
        if (i >= 0) ids.push(this.firstId + i);
      }
    }
    return at.length > 1 ? ids.sort((a, b) => a - b) : ids;
  }

  /** Ids of the types of `kind` whose name starts with `prefix` (own types first, then base types). */
  findPrefix(prefix: string, kind: BtfKindName): number[] {
    const ids: number[] = [];
    for (const [name, hit] of this.index()) {
      if (!name.startsWith(prefix)) continue;
      for (const id of typeof hit === 'number' ? [hit] : hit) if (this.kind(id) === kind) ids.push(id);
    }
    return this.base ? [...ids, ...this.base.findPrefix(prefix, kind)] : ids;
  }

  /** All type ids with this name (own types first, then base types). */
  findAll(name: string, kind?: BtfKindName): number[] {
    let ids = [...this.ownIds(name)];
    if (kind) ids = ids.filter((id) => this.kind(id) === kind);
    return this.base ? [...ids, ...this.base.findAll(name, kind)] : ids;
  }

  /**
   * The id of a named type. With a kind, only that kind; without, a
   * complete definition is preferred over a forward declaration.
   */
  find(name: string, kind?: BtfKindName): number | undefined {
    const ids = this.findAll(name, kind);
    if (kind || ids.length <= 1) return ids[0];
    return ids.find((id) => this.kind(id) !== 'fwd') ?? ids[0];
  }

  /**
   * Looks up a type written the C way: 'struct task_struct', 'union bpf_attr',
   * 'enum bpf_cmd', 'u64', or a bare struct name.
   */
  findType(cName: string): number | undefined {
    const m = /^(struct|union|enum)\s+(\w+)$/.exec(cName.trim());
    if (m) {
      if (m[1] === 'enum') return this.find(m[2], 'enum') ?? this.find(m[2], 'enum64');
      return this.find(m[2], m[1] as 'struct' | 'union');
    }
    const n = cName.trim();
    return this.find(n, 'typedef') ?? this.find(n, 'int') ?? this.find(n, 'struct') ?? this.find(n, 'union') ?? this.find(n, 'float') ?? this.find(n);
  }

  /** Skips const/volatile/restrict/type_tag (keeps typedefs). */
  skipModifiers(id: number): number {
    for (;;) {
      const k = this.kindNum(id);
      if (k !== BTF_KIND.CONST && k !== BTF_KIND.VOLATILE && k !== BTF_KIND.RESTRICT && k !== BTF_KIND.TYPE_TAG) return id;
      id = this.refType(id);
    }
  }

  /** Skips modifiers and typedefs down to the underlying type. */
  resolve(id: number): number {
    for (let guard = 0; guard < 64; guard++) {
      const k = this.kindNum(id);
      if (k !== BTF_KIND.CONST && k !== BTF_KIND.VOLATILE && k !== BTF_KIND.RESTRICT && k !== BTF_KIND.TYPE_TAG && k !== BTF_KIND.TYPEDEF) return id;
      id = this.refType(id);
    }
    throw new BtfError(`type chain too deep at id ${id}`);
  }

  /** The `type` field of a ptr/typedef/modifier/func/var. */
  private refType(id: number): number {
    const o = this.owner(id);
    return o.buf.readUInt32LE(o.at(id) + 8);
  }

  /** sizeof(type) in bytes. */
  sizeOf(id: number): number {
    const t = this.type(this.resolve(id));
    switch (t.kind) {
      case 'int': case 'struct': case 'union': case 'enum': case 'enum64': case 'float': case 'datasec': return t.size;
      case 'ptr': return 8;
      case 'array': return t.nelems * this.sizeOf(t.type);
      case 'var': return this.sizeOf(t.type);
      default: return 0;
    }
  }

  /** Members of a struct/union (through typedefs and modifiers). */
  members(id: number): BtfMember[] {
    const t = this.type(this.resolve(id));
    if (t.kind !== 'struct' && t.kind !== 'union') throw new BtfError(`${this.typeName(id)} is not a struct or union`);
    return t.members;
  }

  private enumeratorIdx?: Map<string, bigint>;

  /** The value of the enumerator called `name` in any enum (the first one declared; own types before base types). */
  enumerator(name: string): bigint | undefined {
    if (!this.enumeratorIdx) {
      const m = new Map<string, bigint>();
      for (let id = this.firstId; id < this.nextId; id++) {
        const k = this.kind(id);
        if (k !== 'enum' && k !== 'enum64') continue;
        for (const v of this.enumValues(id)) if (!m.has(v.name)) m.set(v.name, v.value);
      }
      this.enumeratorIdx = m;
    }
    return this.enumeratorIdx.get(name) ?? this.base?.enumerator(name);
  }

  /** Enumerators of an enum/enum64. */
  enumValues(id: number): BtfEnumValue[] {
    const t = this.type(this.resolve(id));
    if (t.kind !== 'enum' && t.kind !== 'enum64') throw new BtfError(`${this.typeName(id)} is not an enum`);
    return t.values;
  }

  /** Parameters of a func (or func_proto), with names and type ids. */
  funcParams(id: number): { returnType: number; params: BtfParam[] } {
    let t = this.type(id);
    if (t.kind === 'func') t = this.type(t.type);
    if (t.kind !== 'func_proto') throw new BtfError(`type ${id} is not a function`);
    return { returnType: t.returnType, params: t.params };
  }

  /**
   * Finds a member by name in a struct/union, looking inside anonymous
   * struct/union members the way C does. Returns the bit offset from the
   * start of the outer struct.
   */
  findMember(structId: number, name: string): BtfMember | undefined {
    const ms = this.members(structId);
    for (const m of ms) if (m.name === name) return this.normalizeBitfield(m);
    for (const m of ms) {
      if (m.name !== '') continue;
      const k = this.kind(this.resolve(m.type));
      if (k !== 'struct' && k !== 'union') continue;
      const inner = this.findMember(m.type, name);
      if (inner) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
    }
    return undefined;
  }

  /** Old-style bitfields (kind_flag clear) carry width and offset in the INT type. */
  private normalizeBitfield(m: BtfMember): BtfMember {
    if (m.bitfieldSize) return m;
    const t = this.type(this.resolve(m.type));
    if (t.kind === 'int' && (t.bitOffset !== 0 || t.bits !== t.size * 8)) {
      return { ...m, bitOffset: m.bitOffset + t.bitOffset, bitfieldSize: t.bits };
    }
    return m;
  }

  private structId(s: string | number): number {
    if (typeof s === 'number') return s;
    const id = /^(struct|union)\s/.test(s) ? this.findType(s) : this.find(s, 'struct') ?? this.find(s, 'union') ?? this.findType(s);
    if (id === undefined) throw new BtfNotFoundError(`no type '${s}' in kernel BTF`);
    return id;
  }

  /**
   * Resolves a member path: `pid`, `mm.arg_start` (follows the `mm` pointer),
   * `se.vruntime` (embedded struct), `comm[2]` (array element); `->` is
   * accepted as a separator too.
   */
  memberAccess(struct: string | number, path: string): BtfAccess {
    let cur = this.structId(struct);
    const steps: number[] = [0];
    let bitOffset = 0;
    let bitfieldSize = 0;
    let type = cur;
    const parts = path.replace(/->/g, '.').split('.').filter(Boolean);
    if (!parts.length) throw new BtfNotFoundError('empty member path');
    for (let pi = 0; pi < parts.length; pi++) {
      const pm = /^(\w+)((?:\[\d+\])*)$/.exec(parts[pi]);
      if (!pm) throw new BtfNotFoundError(`bad member path component '${parts[pi]}'`);
      let base = this.resolve(cur);
      if (this.kind(base) === 'ptr') {
        // Reaching through a pointer: load it, continue from offset 0 of the pointee.
        if (bitfieldSize) throw new BtfError(`'${parts[pi - 1]}' is a bitfield`);
        steps.push(0);
        bitOffset = 0;
        base = this.resolve(this.refType(base));
      }
      const k = this.kind(base);
      if (k !== 'struct' && k !== 'union') throw new BtfNotFoundError(`${this.typeName(cur)} has no members (looking for '${pm[1]}')`);
      const m = this.findMember(base, pm[1]);
      if (!m) throw new BtfNotFoundError(`${this.typeName(base)} has no member '${pm[1]}'`);
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      type = m.type;
      for (const idx of pm[2].matchAll(/\[(\d+)\]/g)) {
        const arr = this.type(this.resolve(type));
        if (arr.kind !== 'array') throw new BtfError(`'${pm[1]}' is not an array`);
        const i = Number(idx[1]);
        if (i >= arr.nelems && arr.nelems > 0) throw new BtfError(`index ${i} out of bounds for ${this.typeName(type)}`);
        bitOffset += i * this.sizeOf(arr.type) * 8;
        type = arr.type;
      }
      steps[steps.length - 1] = Math.floor(bitOffset / 8);
      cur = type;
    }
    return { steps, bitOffset, bitfieldSize, type };
  }

  /**
   * Byte offset of a member, e.g. memberOffset('task_struct', 'pid') or
   * memberOffset('task_struct', 'se.vruntime'). Throws when the path goes
   * through a pointer (use memberAccess) or ends at a bitfield.
   */
  memberOffset(struct: string | number, path: string): number {
    const a = this.memberAccess(struct, path);
    if (a.steps.length > 1) throw new BtfError(`'${path}' goes through a pointer; use memberAccess() to get each hop`);
    if (a.bitfieldSize) throw new BtfError(`'${path}' is a bitfield (bit offset ${a.bitOffset}, ${a.bitfieldSize} bits)`);
    return a.steps[0];
  }

  /**
   * C spelling of a type: 'struct task_struct *', 'const char *', 'char[16]',
   * 'int (*)(void *)'. With `declName`, a declaration: 'char comm[16]'.
   */
  typeName(id: number, declName = ''): string {
    return this.declare(id, declName, 0).trim();
  }

  private declare(id: number, inner: string, depth: number): string {
    if (depth > 32) return '...';
    const join = (base: string): string => (inner === '' ? base : inner.startsWith('[') || inner.startsWith('(') && !inner.startsWith('(*') ? base + inner : `${base} ${inner}`);
    const t = this.type(id);
    switch (t.kind) {
      case 'void': return join('void');
      case 'int': case 'float': case 'typedef': return join(t.name);
      case 'struct': case 'union': return join(`${t.kind} ${t.name || '(anon)'}`);
      case 'enum': case 'enum64': return join(`enum ${t.name || '(anon)'}`);
      case 'fwd': return join(`${t.union ? 'union' : 'struct'} ${t.name}`);
      case 'const': case 'volatile': case 'restrict': {
        const target = this.skipModifiers(t.type);
        if (this.kindNum(target) === BTF_KIND.PTR) return this.declare(t.type, inner === '' ? t.kind : `${t.kind} ${inner}`, depth + 1);
        return `${t.kind} ${this.declare(t.type, inner, depth + 1)}`;
      }
      case 'type_tag': return this.declare(t.type, inner, depth + 1);
      case 'ptr': {
        const tk = this.kind(this.skipModifiers(t.type));
        const star = inner === '' ? '*' : inner.startsWith('const') || inner.startsWith('volatile') || inner.startsWith('restrict') ? `* ${inner}` : `*${inner}`;
        return this.declare(t.type, tk === 'array' || tk === 'func_proto' ? `(${star})` : star, depth + 1);
      }
      case 'array': return this.declare(t.type, `${inner}[${t.nelems}]`, depth + 1);
      case 'func_proto': {
        const ps = t.params.map((p) => (p.type === 0 ? '...' : this.typeName(p.type)));
        return this.declare(t.returnType, `${inner}(${ps.length ? ps.join(', ') : 'void'})`, depth + 1);
      }
      case 'func': return this.declare(t.type, t.name, depth + 1);
      case 'var': return this.declare(t.type, t.name, depth + 1);
      case 'datasec': return `SEC ${t.name}`;
      case 'decl_tag': return `__tag(${t.name})`;
    }
  }

  /**
   * One type in `bpftool btf dump ... format raw` text form (lines joined by
   * '\n'), for bpftool-style introspection and for cross-checking the decoder.
   */
  formatRaw(id: number): string {
    const t = this.type(id);
    const q = (n: string): string => `'${n || '(anon)'}'`;
    const head = `[${id}] ${t.kind.toUpperCase()} ${q(t.name)}`;
    const linkage = (l: number): string => ['static', 'global', 'extern'][l] ?? String(l);
    switch (t.kind) {
      case 'void': return '[0] VOID';
      case 'int': {
        const enc = t.signed ? 'SIGNED' : t.char ? 'CHAR' : t.bool ? 'BOOL' : '(none)';
        return `${head} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${enc}`;
      }
      case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag':
        return `${head} type_id=${t.type}`;
      case 'array': return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
      case 'struct': case 'union':
        return [`${head} size=${t.size} vlen=${t.members.length}`, ...t.members.map((m) =>
          `\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`)].join('\n');
      case 'enum': case 'enum64': {
        const suffix = t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : '';
        return [`${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
          ...t.values.map((v) => `\t${q(v.name)} val=${v.value}${suffix}`)].join('\n');
      }
      case 'fwd': return `${head} fwd_kind=${t.union ? 'union' : 'struct'}`;
      case 'func': return `${head} type_id=${t.type} linkage=${linkage(t.linkage)}`;
      case 'func_proto':
        return [`${head} ret_type_id=${t.returnType} vlen=${t.params.length}`, ...t.params.map((p) => `\t${q(p.name)} type_id=${p.type}`)].join('\n');
      case 'var': return `${head} type_id=${t.type}, linkage=${linkage(t.linkage)}`;
      case 'datasec':
        return [`${head} size=${t.size} vlen=${t.vars.length}`, ...t.vars.map((v) =>
          `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${this.kind(v.type).toUpperCase()} ${q(this.name(v.type))})`)].join('\n');
      case 'float': return `${head} size=${t.size}`;
      case 'decl_tag': return `${head} type_id=${t.type} component_idx=${t.componentIdx}`;
    }
  }

  /**
   * A function's signature with parameter names, as `bpftrace -lv` shows it:
   * `int vfs_open(const struct path * path, struct file * file)`.
   */
  funcSignature(id: number): string {
    const t = this.type(id);
    const { returnType, params } = this.funcParams(id);
    const ps = params.map((p) => (p.type === 0 ? '...' : this.typeName(p.type, p.name)));
    return `${this.typeName(returnType)} ${t.name}(${ps.join(', ')})`;
  }
}
