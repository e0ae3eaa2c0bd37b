/**
 * Writes a BTF blob. The DWARF reader (dwarf.ts) turns a user binary's debug
 * types into BTF with it, so user types are read through the same Btf class
 * (and the same member/offset/typeName code) as the kernel's.
 *
 * Encoding (include/uapi/linux/btf.h): a 24-byte header, then the type
 * section (12-byte common header per type + kind-specific trailer), then the
 * string section, which starts with an empty string.
 */
import { BTF_KIND, BTF_MAGIC } from './btf';

export interface BuilderMember {
  name: string;
  type: number;
  bitOffset: number;
  /** Width of a bitfield; 0 for an ordinary member. */
  bitfieldSize: number;
}

export class BtfBuilder {
  private readonly types: Buffer[] = [];
  private readonly strings: Buffer[] = [Buffer.from([0])];
  private strLen = 1;
  private readonly strOffsets = new Map<string, number>();

  /** Id the next added type gets (ids start at 1; 0 is void). */
  get nextId(): number {
    return this.types.length + 1;
  }

  private str(s: string): number {
    if (!s) return 0;
    let off = this.strOffsets.get(s);
    if (off === undefined) {
      off = this.strLen;
      const b = Buffer.from(s + '\0', 'utf8');
      this.strings.push(b);
      this.strLen += b.length;
      this.strOffsets.set(s, off);
    }
    return off;
  }

  private add(name: string, kind: number, vlen: number, sizeOrType: number, trailer: number[] = [], kindFlag = false): number {
    const b = Buffer.alloc(12 + 4 * trailer.length);
    b.writeUInt32LE(this.str(name), 0);
    b.writeUInt32LE(((kindFlag ? 1 : 0) << 31 | (kind & 0x1f) << 24 | (vlen & 0xffff)) >>> 0, 4);
    b.writeUInt32LE(sizeOrType >>> 0, 8);
    trailer.forEach((v, i) => b.writeUInt32LE(v >>> 0, 12 + 4 * i));
    this.types.push(b);
    return this.types.length;
  }

  /** Reserves an id now (for recursive types) and fills it in later with `set`. */
  reserve(): number {
    this.types.push(Buffer.alloc(0));
    return this.types.length;
  }

  private set(id: number, build: () => number): number {
    const saved = this.types.length;
    build();
    const b = this.types.pop() as Buffer;
    if (this.types.length !== saved) throw new Error('BtfBuilder.set: the builder added more than one type');
    this.types[id - 1] = b;
    return id;
  }

  int(name: string, size: number, opts: { signed?: boolean; char?: boolean; bool?: boolean } = {}, id?: number): number {
    const enc = (opts.signed ? 1 : 0) | (opts.char ? 2 : 0) | (opts.bool ? 4 : 0);
    const make = () => this.add(name, BTF_KIND.INT, 0, size, [(enc << 24) | Math.min(size * 8, 128)]);
    return id ? this.set(id, make) : make();
  }

  float(name: string, size: number, id?: number): number {
    const make = () => this.add(name, BTF_KIND.FLOAT, 0, size);
    return id ? this.set(id, make) : make();
  }

  /** ptr, typedef, const, volatile, restrict: a kind that only refers to another type. */
  ref(kind: 'ptr' | 'typedef' | 'const' | 'volatile' | 'restrict', name: string, type: number, id?: number): number {
    const k = { ptr: BTF_KIND.PTR, typedef: BTF_KIND.TYPEDEF, const: BTF_KIND.CONST, volatile: BTF_KIND.VOLATILE, restrict: BTF_KIND.RESTRICT }[kind];
    const make = () => this.add(kind === 'ptr' ? '' : name, k, 0, type);
    return id ? this.set(id, make) : make();
  }

  array(elem: number, index: number, nelems: number, id?: number): number {
    const make = () => this.add('', BTF_KIND.ARRAY, 0, 0, [elem, index, nelems]);
    return id ? this.set(id, make) : make();
  }

  struct(kind: 'struct' | 'union', name: string, size: number, members: BuilderMember[], id?: number): number {
    const bitfields = members.some((m) => m.bitfieldSize > 0);
    const trailer: number[] = [];
    for (const m of members) {
      trailer.push(this.str(m.name), m.type, bitfields ? ((m.bitfieldSize & 0xff) << 24) | (m.bitOffset & 0xffffff) : m.bitOffset);
    }
    const make = () => this.add(name, kind === 'struct' ? BTF_KIND.STRUCT : BTF_KIND.UNION, members.length, size, trailer, bitfields);
    return id ? this.set(id, make) : make();
  }

  fwd(name: string, union: boolean, id?: number): number {
    const make = () => this.add(name, BTF_KIND.FWD, 0, 0, [], union);
    return id ? this.set(id, make) : make();
  }

  enum(name: string, size: number, signed: boolean, values: { name: string; value: bigint }[], id?: number): number {
    const wide = values.some((v) => v.value > 0xffffffffn || v.value < -0x80000000n);
    const trailer: number[] = [];
    for (const v of values) {
      const u = BigInt.asUintN(64, v.value);
      if (wide) trailer.push(this.str(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
      else trailer.push(this.str(v.name), Number(BigInt.asUintN(32, v.value)));
    }
    const make = () => this.add(name, wide ? BTF_KIND.ENUM64 : BTF_KIND.ENUM, values.length, size, trailer, signed);
    return id ? this.set(id, make) : make();
  }

  funcProto(returnType: number, params: { name: string; type: number }[], id?: number): number {
    const trailer: number[] = [];
    for (const p of params) trailer.push(this.str(p.name), p.type);
    const make = () => this.add('', BTF_KIND.FUNC_PROTO, params.length, returnType, trailer);
    return id ? this.set(id, make) : make();
  }

  /** linkage: 0 static, 1 global. */
  func(name: string, proto: number, linkage: number): number {
    return this.add(name, BTF_KIND.FUNC, linkage, proto);
  }

  build(): Buffer {
    for (let i = 0; i < this.types.length; i++) {
      // a reserved id that was never filled: make it an int so the blob stays well-formed
      if (this.types[i].length === 0) this.set(i + 1, () => this.add('', BTF_KIND.INT, 0, 8, [64]));
    }
    const types = Buffer.concat(this.types);
    const strs = Buffer.concat(this.strings);
    const hdr = Buffer.alloc(24);
    hdr.writeUInt16LE(BTF_MAGIC, 0);
    hdr[2] = 1;
    hdr[3] = 0;
    hdr.writeUInt32LE(24, 4);
    hdr.writeUInt32LE(0, 8);
    hdr.writeUInt32LE(types.length, 12);
    hdr.writeUInt32LE(types.length, 16);
    hdr.writeUInt32LE(strs.length, 20);
    return Buffer.concat([hdr, types, strs]);
  }
}
