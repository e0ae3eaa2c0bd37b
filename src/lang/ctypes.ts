/**
 * C types for pointers, casts, sizeof and offsetof: the types a script names
 * (`int32 *`, `struct point *`, `struct task_struct`), the kernel's from BTF,
 * and the layout of structs written in the script (x86-64 ABI: each member
 * aligned to its own alignment, the struct to its largest member).
 */
import type { TypeDef } from './ast';
import type { KernelBtf } from '../target/target';
import type { AddrSpace, CType, EnumInfo, Type, ValueType } from './types';
import { UserError } from '../errors';
import { enumKey, scriptEnums } from './enums';

export class CTypeError extends UserError {}

/**
 * Types from the DWARF of the binaries a script's uprobes probe (as BTF,
 * lang/providers/uprobe-dwarf.ts): what `(struct Foo *)arg0` and the
 * uprobe `args` of those binaries name.
 */
export interface UserTypes {
  /** The first probed binary that defines `tag name`, and the type's id in its BTF. */
  find(tag: 'struct' | 'union' | 'enum' | 'typedef', name: string): { file: string; id: number } | undefined;
  btf(file: string): KernelBtf;
}

/** Where a record's layout is: the script's definition, or an id in kernel BTF or in a binary's. */
type RecordSource = 'script' | { btf: KernelBtf; id: number; file?: string };

/** A member of a record: where it is and what it holds. */
export interface CMember {
  offset: number;
  type: CType;
  /** Set for a bitfield member (width in bits), which cannot be read. */
  bits?: number;
  /** A bitfield's first bit in the byte at `offset`. */
  bitShift?: number;
}

/** Integer type names of C and of bpftrace: size and signedness. */
const C_INTS: Record<string, [1 | 2 | 4 | 8, boolean]> = {
  char: [1, true], 'signed char': [1, true], 'unsigned char': [1, false], bool: [1, false], _Bool: [1, false],
  int8_t: [1, true], uint8_t: [1, false], u8: [1, false], s8: [1, true], __u8: [1, false], __s8: [1, true], int8: [1, true], uint8: [1, false],
  short: [2, true], 'short int': [2, true], 'unsigned short': [2, false], 'unsigned short int': [2, false],
  int16_t: [2, true], uint16_t: [2, false], u16: [2, false], s16: [2, true], __u16: [2, false], __s16: [2, true], int16: [2, true], uint16: [2, false],
  int: [4, true], signed: [4, true], 'signed int': [4, true], unsigned: [4, false], 'unsigned int': [4, false],
  int32_t: [4, true], uint32_t: [4, false], u32: [4, false], s32: [4, true], __u32: [4, false], __s32: [4, true], int32: [4, true], uint32: [4, false],
  float: [4, true], pid_t: [4, true], uid_t: [4, false], gid_t: [4, false],
  long: [8, true], 'long int': [8, true], 'unsigned long': [8, false], 'unsigned long int': [8, false], 'long long': [8, true], 'long long int': [8, true],
  'unsigned long long': [8, false], 'unsigned long long int': [8, false],
  int64_t: [8, true], uint64_t: [8, false], u64: [8, false], s64: [8, true], __u64: [8, false], __s64: [8, true], int64: [8, true], uint64: [8, false],
  double: [8, true], size_t: [8, false], ssize_t: [8, true], off_t: [8, true], loff_t: [8, true],
};

interface ScriptRecord {
  size: number;
  align: number;
  members: Map<string, CMember>;
}

/**
 * The C types a script can name, from its own definitions first, then the
 * kernel's BTF. One per compilation; records are looked up lazily by name
 * (script) or id (BTF), so a pointer to a struct never expands the struct.
 */
export class CTypes {
  private readonly layouts = new Map<string, ScriptRecord>();

  constructor(private readonly defs: readonly TypeDef[], private readonly kernelBtf: () => KernelBtf | null, private readonly userTypes: UserTypes | null = null) {}

  /**
   * The type `base` followed by `pointerDepth` stars; undefined when the name
   * is unknown. A struct or union is looked up only when its layout is needed
   * (a member, a size), so naming one costs nothing; `typedefs: false` does
   * not look typedef names up in kernel BTF either (loading it is not free).
   */
  named(base: string, pointerDepth: number, typedefs = true): CType | undefined {
    let t = this.base(base.replace(/\b(const|volatile)\b/g, '').replace(/\s+/g, ' ').trim(), typedefs);
    if (!t) return undefined;
    for (let i = 0; i < pointerDepth; i++) t = { kind: 'ptr', to: t };
    return t;
  }

  private base(name: string, typedefs: boolean): CType | undefined {
    if (name === 'void') return { kind: 'void' };
    const int = C_INTS[name];
    if (int) return { kind: 'int', size: int[0], signed: int[1] };
    const m = /^(struct|union|enum) (\w+)$/.exec(name);
    if (m && m[1] !== 'enum') return { kind: 'record', tag: m[1] as 'struct' | 'union', name: m[2] };
    // a script's enum: an int as C lays it out (4 bytes), its values named
    const own = m ? scriptEnums(this.defs).byName.get(m[2]) : undefined;
    if (own) return { kind: 'int', size: 4, signed: false, enum: own };
    const btf = typedefs || m ? this.kernelBtf() : null;
    const id = !btf ? undefined : m ? btf.find(m[2], 'enum') ?? btf.find(m[2], 'enum64') : btf.find(name, 'typedef');
    if (id !== undefined) return this.fromBtf(id);
    // then the probed binaries' typedefs and enums (reading their DWARF only when the kernel has no such name)
    const user = typedefs || m ? this.userTypes?.find(m ? 'enum' : 'typedef', m ? m[2] : name) : undefined;
    return user ? this.fromBtf(user.id, user.file) : undefined;
  }

  /** Where a record's layout comes from: the script's definition, else kernel BTF (its id); a message when neither has it. */
  private recordSource(rec: Extract<CType, { kind: 'record' }>): RecordSource {
    if (rec.btf !== undefined) {
      if (rec.file !== undefined) {
        if (!this.userTypes) throw new CTypeError(`${rec.tag} ${rec.name} comes from ${rec.file}, whose types this compilation does not read`);
        return { btf: this.userTypes.btf(rec.file), id: rec.btf, file: rec.file };
      }
      const k = this.kernelBtf();
      if (k) return { btf: k, id: rec.btf };
    }
    // the script's definition, then the kernel's BTF, then the probed binaries' DWARF (which can
    // take seconds to index for a large library: only for names the kernel does not have)
    if (this.defs.some((d) => d.tag === rec.tag && d.name === rec.name) || this.inlineNames.has(`${rec.tag} ${rec.name}`)) return 'script';
    const btf = this.kernelBtf();
    const id = btf?.find(rec.name, rec.tag);
    if (btf && id !== undefined) return { btf, id };
    const user = this.userTypes?.find(rec.tag, rec.name);
    if (user && this.userTypes) return { btf: this.userTypes.btf(user.file), id: user.id, file: user.file };
    throw new CTypeError(`unknown type: ${rec.tag} ${rec.name}${btf ? '' : ' (no script definition, and kernel BTF is unavailable)'}`);
  }

  /** A BTF type (the kernel's, or with `file` that binary's) as a C type (typedefs and qualifiers looked through). */
  fromBtf(id: number, file?: string): CType {
    const btf = file === undefined ? this.kernelBtf() : this.userTypes?.btf(file);
    if (!btf) return { kind: 'void' };
    const rid = btf.resolve(id);
    const kind = btf.kind(rid);
    if (kind === 'struct' || kind === 'union') {
      // by id and name only: reading the whole type would decode every member (task_struct has hundreds)
      const rec: CType = { kind: 'record', tag: kind, name: btf.typeName(rid).replace(/^(struct|union) /, ''), btf: rid };
      return file !== undefined ? { ...rec, file } : rec;
    }
    const t = btf.type(rid);
    switch (t.kind) {
      case 'int':
        return { kind: 'int', size: intSize(t.size), signed: t.signed && !t.bool };
      case 'enum':
      case 'enum64': {
        // a named enum's values print as their names (bpftrace 0.26); an anonymous one is a plain integer
        const info = t.name ? this.btfEnum(btf, rid, t.name, t.values) : undefined;
        return info ? { kind: 'int', size: intSize(t.size), signed: t.signed, enum: info } : { kind: 'int', size: intSize(t.size), signed: t.signed };
      }
      case 'ptr':
        return { kind: 'ptr', to: this.fromBtf(t.type, file) };
      case 'array':
        return { kind: 'array', elem: this.fromBtf(t.type, file), length: t.nelems, btf: true };
      default:
        return { kind: 'void' };
    }
  }

  private readonly btfEnums = new Map<KernelBtf, Map<number, EnumInfo>>();

  /** The EnumInfo of BTF enum `id` (one object per enum, however often it is named). */
  private btfEnum(btf: KernelBtf, id: number, name: string, values: readonly { name: string; value: bigint }[]): EnumInfo {
    let byId = this.btfEnums.get(btf);
    if (!byId) this.btfEnums.set(btf, (byId = new Map()));
    let info = byId.get(id);
    if (!info) {
      info = { name, names: {} };
      for (const v of values) if (!(enumKey(v.value) in info.names)) info.names[enumKey(v.value)] = v.name;
      byId.set(id, info);
    }
    return info;
  }

  /** sizeof in bytes (void counts as 1, as in GNU C pointer arithmetic). */
  sizeOf(c: CType): number {
    switch (c.kind) {
      case 'int':
        return c.size;
      case 'void':
        return 1;
      case 'ptr':
        return 8;
      case 'array':
        return c.length * this.sizeOf(c.elem);
      case 'record': {
        const src = this.recordSource(c);
        if (src !== 'script') return src.btf.sizeOf(src.id);
        return this.scriptRecord(c.tag, c.name, new Set()).size;
      }
    }
  }

  /** Member `name` of a record; a message when it has none. */
  member(rec: Extract<CType, { kind: 'record' }>, name: string): CMember | string {
    const src = this.recordSource(rec);
    if (src === 'script') return this.scriptRecord(rec.tag, rec.name, new Set()).members.get(name) ?? `${rec.tag} ${rec.name} has no member '${name}'`;
    const m = src.btf.findMember(src.id, name);
    if (!m) return `${src.btf.typeName(src.id)} has no member '${name}'`;
    return { offset: Math.floor(m.bitOffset / 8), type: this.fromBtf(m.type, src.file), ...(m.bitfieldSize ? { bits: m.bitfieldSize } : {}) };
  }

  /** Byte offset of `a.b.c` in a record (offsetof). */
  offsetOf(rec: Extract<CType, { kind: 'record' }>, path: string): number {
    let cur: CType = rec;
    let total = 0;
    for (const part of path.split('.')) {
      if (cur.kind !== 'record') throw new CTypeError(`'${part}' is not in a struct or union`);
      const m = this.member(cur, part);
      if (typeof m === 'string') throw new CTypeError(m);
      total += m.offset;
      cur = m.type;
    }
    return total;
  }

  private scriptRecord(tag: string, name: string, seen: Set<string>): ScriptRecord {
    const key = `${tag} ${name}`;
    const done = this.layouts.get(key);
    if (done) return done;
    const def = this.defs.find((d) => d.name === name && d.tag === tag);
    if (!def) throw new CTypeError(`unknown type: ${key}`);
    if (seen.has(key)) throw new CTypeError(`${key} contains itself`);
    seen.add(key);
    const toks = cTokens(def.body);
    const open = toks.indexOf('{');
    let close = toks.lastIndexOf('}');
    if (open < 0 || close < open) throw new CTypeError(`cannot read the definition of ${key}`);
    // `__attribute__((packed))` after the body: members at byte 1 alignment
    const packed = toks.slice(close + 1).includes('packed');
    const rec = this.layoutBody(toks, open + 1, close, tag === 'union', packed, key, seen);
    seen.delete(key);
    this.layouts.set(key, rec);
    return rec;
  }

  private anonCount = 0;

  /**
   * Lays out the member declarations in toks[from, to) (C text of a struct or
   * union body): `int a, *b, c[4][2]; unsigned x : 3; struct { int m; } y;`
   * (a missing `;` before the closing brace is accepted, as bpftrace does).
   * Inline struct bodies become records of their own (anonymous ones named
   * `(anonymous)`); an anonymous member without a name puts its members in this record.
   */
  private layoutBody(toks: string[], from: number, to: number, union: boolean, packed: boolean, key: string, seen: Set<string>): ScriptRecord {
    const members = new Map<string, CMember>();
    let bitpos = 0; // next free bit (structs)
    let align = 1;
    let size = 0;
    const bad = (): never => {
      throw new CTypeError(`cannot read the member declarations of ${key}`);
    };
    let i = from;
    const place = (mname: string, t: CType, bits: number | undefined): void => {
      let [tsize, talign] = this.sizeAlign(t, seen);
      if (packed) talign = 1;
      let bitOff: number;
      if (bits !== undefined) {
        if (t.kind !== 'int') throw new CTypeError(`${key}.${mname}: a bitfield must be an integer`);
        const unit = tsize * 8;
        if (bits > unit) throw new CTypeError(`${key}.${mname}: the bitfield is wider than its type`);
        bitOff = union ? 0 : bitpos;
        // a bitfield does not straddle a boundary of its type's alignment (GCC, x86-64), unless packed
        if (!packed && Math.floor(bitOff / unit) !== Math.floor((bitOff + bits - 1) / unit)) bitOff = Math.ceil(bitOff / unit) * unit;
        if (!union) bitpos = bitOff + bits;
        size = Math.max(size, Math.ceil((bitOff + bits) / 8));
      } else {
        const at = union ? 0 : Math.ceil(Math.ceil(bitpos / 8) / talign) * talign;
        bitOff = at * 8;
        if (!union) bitpos = (at + tsize) * 8;
        size = Math.max(size, at + tsize);
      }
      align = Math.max(align, talign);
      if (mname === '') return;
      const m: CMember = { offset: Math.floor(bitOff / 8), type: t };
      if (bits !== undefined) {
        m.bits = bits;
        m.bitShift = bitOff % 8;
      }
      members.set(mname, m);
    };
    while (i < to) {
      if (toks[i] === ';') {
        i++;
        continue;
      }
      // the base type: an inline struct/union (named or not), or words (`unsigned long long`, `struct Foo`, `uint8_t`)
      let base: CType | undefined;
      let inline: ScriptRecord | undefined;
      if ((toks[i] === 'struct' || toks[i] === 'union') && (toks[i + 1] === '{' || toks[i + 2] === '{')) {
        const itag = toks[i] as 'struct' | 'union';
        const named = toks[i + 1] !== '{';
        const iname = named ? toks[i + 1] : `(anonymous ${++this.anonCount})`;
        const bo = i + (named ? 2 : 1);
        let depth = 0;
        let j = bo;
        for (; j < to; j++) {
          if (toks[j] === '{') depth++;
          else if (toks[j] === '}' && --depth === 0) break;
        }
        if (j >= to) bad();
        inline = this.layoutBody(toks, bo + 1, j, itag === 'union', packed, `${itag} ${iname}`, seen);
        this.layouts.set(`${itag} ${iname}`, inline);
        this.inlineNames.add(`${itag} ${iname}`);
        base = { kind: 'record', tag: itag, name: iname };
        i = j + 1;
      } else {
        const words: string[] = [];
        while (i < to && /^\w+$/.test(toks[i]) && !(words.length && /^\w+$/.test(toks[i]) && isDeclEnd(toks[i + 1]) && !isTypeWord(words, toks[i]))) words.push(toks[i++]);
        if (!words.length) bad();
        const bn = words.join(' ');
        base = this.named(bn, 0);
        if (!base) throw new CTypeError(`unknown type '${bn}' in ${key}`);
      }
      // declarators: `*p`, `a[2][3]`, `x : 3`, separated by commas
      if (toks[i] === ';' || i >= to) {
        if (inline) for (const [n, m] of inline.members) members.set(n, { ...m, offset: m.offset + Math.ceil(Math.ceil(bitpos / 8) / (packed ? 1 : inline.align)) * (packed ? 1 : inline.align) });
        if (inline && base) place('', base, undefined);
        continue;
      }
      for (;;) {
        let depth = 0;
        while (toks[i] === '*') {
          depth++;
          i++;
        }
        const mname = toks[i++];
        if (!mname || !/^\w+$/.test(mname)) bad();
        let t: CType = base!;
        for (let d = 0; d < depth; d++) t = { kind: 'ptr', to: t };
        const dims: number[] = [];
        while (toks[i] === '[') {
          const n = toks[i + 1] === ']' ? '0' : toks[i + 1];
          if (!/^\d+$/.test(n)) bad();
          dims.push(Number(n));
          i += n === '0' && toks[i + 1] === ']' ? 2 : 3;
        }
        for (let d = dims.length - 1; d >= 0; d--) t = { kind: 'array', elem: t, length: dims[d] };
        let bits: number | undefined;
        if (toks[i] === ':') {
          if (!/^\d+$/.test(toks[i + 1] ?? '')) bad();
          bits = Number(toks[i + 1]);
          i += 2;
        }
        place(mname, t, bits);
        if (toks[i] === ',') {
          i++;
          continue;
        }
        if (toks[i] === ';' || i >= to) break;
        bad();
      }
    }
    if (packed) align = 1;
    return { size: Math.ceil(size / align) * align, align, members };
  }

  /** Script records defined inline in another one's body (`struct { int m; } y;`). */
  private readonly inlineNames = new Set<string>();

  /**
   * How a value of C type `c` held by value prints: members by name at their
   * offsets, arrays element by element, char arrays as strings, pointers in hex.
   */
  layoutOf(c: CType): ValueType {
    switch (c.kind) {
      case 'int':
        return c.enum ? { kind: 'int', size: c.size, signed: c.signed, enum: c.enum } : { kind: 'int', size: c.size, signed: c.signed };
      case 'ptr':
        return { kind: 'int', size: 8, signed: false, pointer: true };
      case 'void':
        return { kind: 'none' };
      case 'array': {
        if (c.elem.kind === 'int' && c.elem.size === 1) return { kind: 'string', size: c.length };
        const elemSize = this.sizeOf(c.elem);
        return { kind: 'carray', size: elemSize * c.length, elem: this.layoutOf(c.elem), elemSize, length: c.length };
      }
      case 'record': {
        const size = this.sizeOf(c);
        const fields: Extract<ValueType, { kind: 'record' }>['fields'] = [];
        const src = this.recordSource(c);
        if (src === 'script') {
          for (const [name, m] of this.scriptRecord(c.tag, c.name, new Set()).members) fields.push(this.fieldLayout(name, m));
        } else {
          const walk = (id: number, base: number): void => {
            const t = src.btf.type(src.btf.resolve(id));
            if (t.kind !== 'struct' && t.kind !== 'union') return;
            for (const m of t.members) {
              // an anonymous struct/union member: its members are this one's (C11)
              if (m.name === '') walk(m.type, base + m.bitOffset);
              else {
                const bitOff = base + m.bitOffset;
                fields.push(this.fieldLayout(m.name, { offset: Math.floor(bitOff / 8), type: this.fromBtf(m.type, src.file), ...(m.bitfieldSize ? { bits: m.bitfieldSize, bitShift: bitOff % 8 } : {}) }));
              }
            }
          };
          walk(src.id, 0);
        }
        return { kind: 'record', size, fields };
      }
    }
  }

  private fieldLayout(name: string, m: CMember): Extract<ValueType, { kind: 'record' }>['fields'][number] {
    if (m.bits !== undefined) return { name, offset: m.offset, type: { kind: 'int', size: 8, signed: false }, bits: { shift: m.bitShift ?? 0, width: m.bits } };
    return { name, offset: m.offset, type: this.layoutOf(m.type) };
  }

  private sizeAlign(t: CType, seen: Set<string>): [number, number] {
    switch (t.kind) {
      case 'array': {
        const [s, a] = this.sizeAlign(t.elem, seen);
        return [s * t.length, a];
      }
      case 'record':
        if (this.recordSource(t) === 'script') {
          const r = this.scriptRecord(t.tag, t.name, seen);
          return [r.size, r.align];
        }
        return [this.sizeOf(t), Math.min(8, largestPow2(this.sizeOf(t)))];
      default: {
        const s = this.sizeOf(t);
        return [s, s];
      }
    }
  }
}

/** The tokens of C text: words, numbers and single punctuation characters, comments dropped. */
function cTokens(text: string): string[] {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ').match(/\w+|[^\s\w]/g) ?? [];
}

/** Whether a token ends a declarator's name (`x;`, `x,`, `x[`, `x:`, `x}`). */
function isDeclEnd(t: string | undefined): boolean {
  return t === undefined || t === ';' || t === ',' || t === '[' || t === ':' || t === '}';
}

/** Words that continue a base type even before a declarator end (`unsigned int;` is not a member named `int`). */
function isTypeWord(words: string[], w: string): boolean {
  return words.length === 1 && (words[0] === 'struct' || words[0] === 'union' || words[0] === 'enum');
}

function intSize(n: number): 1 | 2 | 4 | 8 {
  return ([1, 2, 4, 8].includes(n) ? n : 8) as 1 | 2 | 4 | 8;
}

function largestPow2(n: number): number {
  let p = 1;
  while (p * 2 <= n && n % (p * 2) === 0) p *= 2;
  return p;
}

/**
 * The type of a value of C type `c` read from memory in `space`: integers
 * as themselves, pointers as pointer-typed integers, char arrays as strings;
 * records and other arrays stay in memory (`embedded`: the value is their
 * address, for a member access or an index to continue from).
 */
export function valueOfCType(c: CType, space: AddrSpace): Type | string {
  switch (c.kind) {
    case 'int':
      return c.enum ? { kind: 'int', size: c.size, signed: c.signed, enum: c.enum } : { kind: 'int', size: c.size, signed: c.signed };
    case 'ptr':
      return { kind: 'int', size: 8, signed: false, ptr: { to: c.to, space } };
    case 'record':
      return { kind: 'int', size: 8, signed: false, ptr: { to: c, space }, embedded: true };
    case 'array':
      // a char array as a string, as bpftrace: a script struct's has room for a NUL after all its bytes (`char s[5]`
      // holding "hello" prints hello); a BTF one is a string of its own length (task_struct's comm: string[16], as `comm`)
      if (c.elem.kind === 'int' && c.elem.size === 1) return { kind: 'string', size: c.btf ? c.length : c.length + 1, charArray: c.length };
      return { kind: 'int', size: 8, signed: false, ptr: { to: c, space }, embedded: true };
    case 'void':
      return 'a void value cannot be read';
  }
}

/**
 * Byte offset of `path` (`a` or `a.b.c`) in `tag name` (a script definition, else
 * the kernel's BTF from `kernelBtf`); throws CTypeError with a user-facing message.
 */
export function offsetOf(tag: string, name: string, path: string, defs: readonly TypeDef[], kernelBtf?: () => KernelBtf): number {
  if (defs.some((d) => d.name === name && d.tag === tag)) {
    return new CTypes(defs, () => null).offsetOf({ kind: 'record', tag: tag as 'struct' | 'union', name }, path);
  }
  let btf: KernelBtf;
  try {
    if (!kernelBtf) throw new Error('no kernel given');
    btf = kernelBtf();
  } catch (e) {
    throw new CTypeError(`unknown type ${tag} ${name} (no script definition, and kernel BTF is unavailable: ${(e as Error).message})`);
  }
  const id = btf.find(name, tag === 'union' ? 'union' : 'struct');
  if (id === undefined) throw new CTypeError(`unknown type: ${tag} ${name}`);
  try {
    return btf.memberOffset(id, path);
  } catch (e) {
    throw new CTypeError(`offsetof(${tag} ${name}, ${path}): ${(e as Error).message}`);
  }
}
