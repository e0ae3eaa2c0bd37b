/**
 * The language's type model and memory layout, shared by every stage: the
 * checker assigns these types, the code generator lays values out by them,
 * and ValueType is the layout the runtime decodes (ScriptArtifact).
 *
 * This module imports nothing, so any module may use it without a cycle.
 *
 * In memory (map keys and values, tuples, event records) every integer takes
 * 8 bytes, sign- or zero-extended from its type; that keeps every field
 * aligned and the records simple to decode.
 */

export type StackMode = 'bpftrace' | 'perf' | 'raw';

/** The part of a tracepoint field an `args.array[i]` access needs (sys/tracefs TracepointField has it). */
export interface ArrayField {
  offset: number;
  size: number;
}

/**
 * A C type in memory, as pointers see it: what `*p`, `p->m`, `p[i]` and the
 * scale of `p + n` need. Records name a kernel BTF type (`btf`) or a
 * definition written in the script (no `btf`); ctypes.ts lays them out.
 */
/**
 * An enum type (`enum Foo` of the script, or of kernel BTF): its name and its
 * enumerators by value (the value's unsigned 64-bit decimal text), so its
 * values print as names (bpftrace 0.26).
 */
export interface EnumInfo {
  name: string;
  names: Record<string, string>;
}

export type CType =
  | { kind: 'int'; size: 1 | 2 | 4 | 8; signed: boolean; enum?: EnumInfo }
  | { kind: 'void' }
  | { kind: 'ptr'; to: CType }
  /** `btf`: its id in kernel BTF, or with `file` in the BTF made from that binary's DWARF (uprobes). */
  | { kind: 'record'; tag: 'struct' | 'union'; name: string; btf?: number; file?: string }
  /** `btf`: from BTF (kernel or a binary's), whose char arrays are strings of their own length (bpftrace). */
  | { kind: 'array'; elem: CType; length: number; btf?: true };

/** Which memory a pointer points into: bpf_probe_read_kernel or bpf_probe_read_user reads it. */
export type AddrSpace = 'kernel' | 'user';

/** What a pointer-typed integer points to. */
export interface PointerInfo {
  to: CType;
  space: AddrSpace;
}

/** The type of a value as the compiler sees it. */
export type Type =
  /**
   * `ptr`: the value is a pointer to `ptr.to` (`p->member`, `*p`, `p[i]`,
   * `p + n` scaled by the pointee's size; printed in hex). With `embedded`
   * it is not a value but the address of the record or array `ptr.to` held
   * inside another one (`curtask->se` in `curtask->se.vruntime`, `*p` of a
   * struct pointer).
   */
  /** `enum`: a value of that enum type (prints as its enumerator's name; arithmetic makes a plain integer). */
  | { kind: 'int'; size: 1 | 2 | 4 | 8; signed: boolean; ptr?: PointerInfo; embedded?: boolean; bool?: true; enum?: EnumInfo }
  /**
   * `trailer`: a str() read that may have been cut (F60): printed with this
   * text after it when it fills its buffer but the NUL (bpftrace 0.26's `..`).
   */
  /** `charArray`: a char array member or element read as a string: its C length (what is copied, and its sizeof). */
  | { kind: 'string'; size: number; trailer?: string; charArray?: number }
  /** `names`: a record `(a=1, b=2)` (S27), a tuple whose fields have names (`$r.a`), printed `{ .a = 1, .b = 2 }`. */
  | { kind: 'tuple'; fields: Type[]; offsets: number[]; size: number; names?: string[] }
  | { kind: 'buffer'; size: number }
  /** The `args` record of a tracepoint. */
  | { kind: 'ctx' }
  /** A fixed array field of `args` (only indexable). */
  | { kind: 'array'; elem: Type; elemSize: number; length: number; field: ArrayField }
  | { kind: 'kstack' | 'ustack'; mode: StackMode; limit: number }
  | { kind: 'ksym' | 'usym' | 'username' | 'probe' }
  /** `format`: set for strftime() values, which print as formatted time. */
  | { kind: 'timestamp'; format?: string }
  | { kind: 'inet' }
  /**
   * A value type a builtin defines (NamedValueTypeDef, registered in
   * lang/builtins.ts): a u64 held in a register, printed as text in user space.
   */
  | { kind: 'named'; name: string }
  /**
   * A C struct, union or array held by value (`$s = *p`, `@a = p->arr`): its
   * `size` bytes copied from memory, laid out as C lays them out (`layout`
   * says how to print them). Pointers inside point into `space`.
   */
  | { kind: 'cdata'; c: CType; size: number; space: AddrSpace; layout: ValueType }
  | { kind: 'none' };

/**
 * The decoded type of a value in a record or a map key/value, as the runtime
 * sees it. Sizes are in bytes as laid out in memory by the generated code.
 */
export type ValueType =
  /** `pointer`: printed in hex (`0x36`), as bpftrace 0.23+ prints pointers. */
  /** `enum`: printed as the enumerator's name where bpftrace prints enums symbolically (text output, printf %s). */
  | { kind: 'int'; size: 1 | 2 | 4 | 8; signed: boolean; pointer?: boolean; enum?: EnumInfo }
  | { kind: 'bool' }
  /** `trailer`: appended when the string fills all but the last byte (a cut str() read, F60). */
  | { kind: 'string'; size: number; trailer?: string }
  | { kind: 'buffer'; size: number } // u32 length followed by `size` bytes (buf())
  | { kind: 'tuple'; size: number; fields: { offset: number; type: ValueType }[] }
  /** u64 stack id into the stack map `stackMap` (an index into ScriptArtifact.maps); the pid for ustack is recorded separately. */
  | { kind: 'kstack' | 'ustack'; stackMap: number; mode: 'bpftrace' | 'perf' | 'raw'; limit: number }
  | { kind: 'ksym' | 'kaddr' } // u64 kernel address, printed as a symbol
  | { kind: 'usym' } // u64 address followed by u64 pid (16 bytes)
  | { kind: 'inet'; size: number } // u32 family (AF_INET/AF_INET6) + 16 bytes address (ntop)
  | { kind: 'username' } // u64 uid, printed as a user name
  | { kind: 'probe' } // u64 index into ScriptArtifact.probeNames
  /** u64 ns; with `format` (a strftime() value) it prints as that formatted wall-clock time. */
  | { kind: 'timestamp'; mode: 'boot' | 'monotonic' | 'realtime'; format?: string }
  /** u64 shown through the value type `name`'s definition (Type 'named'). */
  | { kind: 'named'; name: string }
  /** A C struct/union by value: members at their C offsets (`bits`: a bitfield `width` bits wide starting `shift` bits into the byte at `offset`); printed `{ .a = 1, .b = 2 }`. */
  | { kind: 'record'; size: number; fields: { name: string; offset: number; type: ValueType; bits?: { shift: number; width: number } }[] }
  /** A C array by value: `length` elements `elemSize` bytes apart; printed `[1,2,3]`. */
  | { kind: 'carray'; size: number; elem: ValueType; elemSize: number; length: number }
  | { kind: 'none' };

export const INT64: Type = { kind: 'int', size: 8, signed: true };
export const UINT64: Type = { kind: 'int', size: 8, signed: false };
export const NONE: Type = { kind: 'none' };
/**
 * bpftrace 0.24+'s bool: an integer 0 or 1 (comparisons, `!`, `&&`, `||`, true/false,
 * has_key, strcontains) that prints as `true`/`false` (text and JSON).
 */
export const BOOL: Type = { kind: 'int', size: 8, signed: false, bool: true };
export const isBool = (t: Type): boolean => t.kind === 'int' && t.bool === true;

/** Types held in a register (the rest are blocks of memory). */
export function isScalar(t: Type): boolean {
  return t.kind === 'int' || t.kind === 'kstack' || t.kind === 'ksym' || t.kind === 'username' || t.kind === 'probe' || t.kind === 'timestamp' || t.kind === 'named';
}

/** Size of a type's memory layout (ints are always stored in 8 bytes). */
export function memSize(t: Type): number {
  switch (t.kind) {
    case 'int':
    case 'kstack':
    case 'ksym':
    case 'username':
    case 'probe':
    case 'timestamp':
    case 'named':
      return 8;
    case 'string':
      return t.size;
    case 'tuple':
    case 'cdata':
      return t.size;
    case 'buffer':
      return align8(4 + t.size);
    case 'ustack':
    case 'usym':
      return 16;
    case 'inet':
      return 24;
    // not values in memory: `args` itself, a whole args array, nothing
    case 'ctx':
    case 'array':
    case 'none':
      return 0;
  }
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Bytes a value takes as a tuple field: an integer its own width (a bool
 * one byte), as in a C struct; anything else its memory layout.
 */
export function fieldSize(t: Type): number {
  if (t.kind === 'int') return t.bool ? 1 : t.size;
  return memSize(t);
}

function fieldAlign(t: Type): number {
  switch (t.kind) {
    case 'int':
      return fieldSize(t);
    case 'string':
      return 1;
    case 'tuple':
      return t.fields.reduce((a, f) => Math.max(a, fieldAlign(f)), 1);
    default:
      return 8;
  }
}

/**
 * Builds a tuple type laid out like a C struct, as bpftrace does: each field
 * at its own alignment, the size a multiple of the largest
 * (`((int8)1, (int16)1, (int32)1)` takes 8 bytes, `((int8)1, "abc")` 5).
 */
export function tupleType(fields: Type[], names?: string[]): Type {
  const offsets: number[] = [];
  let off = 0;
  let align = 1;
  for (const f of fields) {
    const a = fieldAlign(f);
    off = Math.ceil(off / a) * a;
    offsets.push(off);
    off += fieldSize(f);
    align = Math.max(align, a);
  }
  const size = Math.ceil(off / align) * align;
  return names ? { kind: 'tuple', fields, offsets, size, names } : { kind: 'tuple', fields, offsets, size };
}

/** Whether two tuple types put the same fields at the same places (a value of one can be copied as bytes into the other). */
export function sameLayout(a: Type, b: Type): boolean {
  if (a.kind === 'tuple' && b.kind === 'tuple') {
    const order = (a.names ?? []).join(',') === (b.names ?? []).join(',');
    return order && a.size === b.size && a.fields.length === b.fields.length && a.fields.every((f, i) => a.offsets[i] === b.offsets[i] && sameLayout(f, b.fields[i]));
  }
  if (a.kind === 'int' && b.kind === 'int') return fieldSize(a) === fieldSize(b);
  return memSize(a) === memSize(b);
}

/** The artifact's ValueType for a type's memory layout. */
export function valueTypeOf(t: Type, stackMap = -1): ValueType {
  switch (t.kind) {
    case 'int':
      if (t.bool) return { kind: 'bool' };
      if (t.ptr && !t.embedded) return { kind: 'int', size: 8, signed: false, pointer: true };
      return t.enum ? { kind: 'int', size: 8, signed: t.signed, enum: t.enum } : { kind: 'int', size: 8, signed: t.signed };
    case 'string':
      return t.trailer !== undefined ? { kind: 'string', size: t.size, trailer: t.trailer } : { kind: 'string', size: t.size };
    case 'tuple': {
      const names = t.names;
      // a record decodes and prints like a C struct held by value: `{ .a = 1 }`, a JSON object
      if (names) return { kind: 'record', size: t.size, fields: t.fields.map((f, i) => ({ name: names[i], offset: t.offsets[i], type: fieldValueType(f, stackMap) })) };
      return { kind: 'tuple', size: t.size, fields: t.fields.map((f, i) => ({ offset: t.offsets[i], type: fieldValueType(f, stackMap) })) };
    }
    case 'buffer':
      return { kind: 'buffer', size: t.size };
    case 'kstack':
    case 'ustack':
      return { kind: t.kind, stackMap, mode: t.mode, limit: t.limit };
    case 'ksym':
      return { kind: 'ksym' };
    case 'usym':
      return { kind: 'usym' };
    case 'username':
      return { kind: 'username' };
    case 'probe':
      return { kind: 'probe' };
    case 'timestamp':
      return t.format === undefined ? { kind: 'timestamp', mode: 'boot' } : { kind: 'timestamp', mode: 'boot', format: t.format };
    case 'inet':
      return { kind: 'inet', size: 24 };
    case 'named':
      return { kind: 'named', name: t.name };
    case 'cdata':
      return t.layout;
    case 'ctx':
    case 'array':
    case 'none':
      return { kind: 'none' };
  }
}

/** A tuple field's ValueType: integers at their own width (fieldSize). */
function fieldValueType(t: Type, stackMap: number): ValueType {
  const v = valueTypeOf(t, stackMap);
  return v.kind === 'int' && t.kind === 'int' ? { ...v, size: t.size } : v;
}

/** Byte size of a ValueType as laid out by the code generator. */
export function sizeOf(t: ValueType): number {
  switch (t.kind) {
    case 'int':
      return t.size;
    case 'bool':
      return 1;
    case 'string':
    case 'tuple':
    case 'record':
    case 'carray':
      return t.size;
    case 'buffer':
      return 4 + t.size;
    case 'kstack':
    case 'ustack':
      return t.kind === 'ustack' ? 16 : 8; // ustack: stack id + pid
    case 'ksym':
    case 'kaddr':
    case 'username':
    case 'probe':
    case 'timestamp':
    case 'named':
      return 8;
    case 'usym':
      return 16;
    case 'inet':
      return t.size;
    case 'none':
      return 0;
  }
}

export function typeName(t: Type): string {
  switch (t.kind) {
    case 'int':
      if (t.bool) return 'bool';
      if (t.enum) return `enum ${t.enum.name}`;
      if (t.ptr) return t.embedded ? cTypeName(t.ptr.to) : `${cTypeName(t.ptr.to)} *`;
      return `${t.signed ? '' : 'unsigned '}int${t.size * 8}`;
    case 'string':
      return `string[${t.size}]`;
    case 'tuple':
      if (t.names) return `record { ${t.fields.map((f, i) => `${typeName(f)} ${t.names![i]}`).join(', ')} }`;
      return `(${t.fields.map(typeName).join(', ')})`;
    case 'buffer':
      return `buffer[${t.size}]`;
    case 'array':
      return `${typeName(t.elem)}[${t.length}]`;
    case 'kstack':
    case 'ustack':
      return `${t.kind}(${t.mode}, ${t.limit})`;
    case 'ctx':
      return 'args';
    case 'named':
      return t.name;
    case 'cdata':
      return cTypeName(t.c);
    default:
      return t.kind;
  }
}

/** A C type as bpftrace names it in messages: `int32`, `struct point *`, `uint8[4]`. */
export function cTypeName(c: CType): string {
  switch (c.kind) {
    case 'int':
      return c.enum ? `enum ${c.enum.name}` : `${c.signed ? '' : 'u'}int${c.size * 8}`;
    case 'void':
      return 'void';
    case 'ptr':
      return `${cTypeName(c.to)} *`;
    case 'record':
      return `${c.tag} ${c.name}`;
    case 'array':
      return `${cTypeName(c.elem)}[${c.length}]`;
  }
}

export function sameShape(a: Type, b: Type): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'named' && b.kind === 'named') return a.name === b.name;
  if (a.kind === 'cdata' && b.kind === 'cdata') return a.size === b.size && cTypeName(a.c) === cTypeName(b.c);
  if (a.kind === 'tuple' && b.kind === 'tuple') return sameNames(a.names, b.names) && a.fields.length === b.fields.length && a.fields.every((f, i) => sameShape(f, b.fields[sourceField(a, b, i)]));
  return true;
}

/**
 * Whether two tuples agree on field names: both plain tuples, or records with
 * the same names (in any order: bpftrace assigns `(b=1, a=2)` to a record
 * `(a, b)` field by field by name).
 */
function sameNames(a: string[] | undefined, b: string[] | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((n) => b.includes(n));
}

/** Which field of tuple `from` goes into field `i` of tuple `to` (records match by name). */
export function sourceField(to: Extract<Type, { kind: 'tuple' }>, from: Extract<Type, { kind: 'tuple' }>, i: number): number {
  return to.names && from.names ? from.names.indexOf(to.names[i]) : i;
}

/** Widens two types of the same shape to one that holds both (longest string, fieldwise tuples); undefined when incompatible. */
export function unify(a: Type, b: Type): Type | undefined {
  if (a.kind === 'int' && b.kind === 'int') {
    if (a.bool !== b.bool) return { kind: 'int', size: 8, signed: a.signed };
    // an enum and anything but the same enum: a plain integer (`@[ONE + 1] = 1; @[ONE] = 2` prints @[1])
    if (a.enum?.name !== b.enum?.name) return { kind: 'int', size: a.size === b.size ? a.size : 8, signed: a.signed, ...(a.ptr ? { ptr: a.ptr } : {}) };
    return a.size === b.size ? a : { kind: 'int', size: 8, signed: a.signed };
  }
  if (a.kind === 'string' && b.kind === 'string') {
    const trailer = a.trailer ?? b.trailer;
    return trailer !== undefined ? { kind: 'string', size: Math.max(a.size, b.size), trailer } : { kind: 'string', size: Math.max(a.size, b.size) };
  }
  if (a.kind === 'buffer' && b.kind === 'buffer') return { kind: 'buffer', size: Math.max(a.size, b.size) };
  if (a.kind === 'tuple' && b.kind === 'tuple') {
    if (a.fields.length !== b.fields.length || !sameNames(a.names, b.names)) return undefined;
    const fs: Type[] = [];
    for (let i = 0; i < a.fields.length; i++) {
      const u = unify(a.fields[i], b.fields[sourceField(a, b, i)]);
      if (!u) return undefined;
      fs.push(u);
    }
    return tupleType(fs, a.names);
  }
  if (a.kind === 'named' && b.kind === 'named') return a.name === b.name ? a : undefined;
  if (a.kind === 'cdata' && b.kind === 'cdata') return cTypeName(a.c) === cTypeName(b.c) && a.size === b.size ? a : undefined;
  if (a.kind === 'kstack' && b.kind === 'kstack') return a;
  if (a.kind === 'ustack' && b.kind === 'ustack') return a;
  if (a.kind === b.kind && a.kind !== 'ctx' && a.kind !== 'array' && a.kind !== 'none') return a;
  return undefined;
}

/** Stored form of a value: integers always widen to 64 bits. */
export function storedType(t: Type): Type {
  if (t.kind === 'int') {
    if (t.bool) return BOOL;
    if (t.ptr && !t.embedded) return { kind: 'int', size: 8, signed: false, ptr: t.ptr };
    return t.enum ? { kind: 'int', size: 8, signed: t.signed, enum: t.enum } : { kind: 'int', size: 8, signed: t.signed };
  }
  if (t.kind === 'tuple') return tupleType(t.fields.map(storedField), t.names);
  return t;
}

/** Stored form of a tuple field: integers keep their width (C layout), pointers and nested tuples as stored. */
export function storedField(t: Type): Type {
  if (t.kind === 'int') {
    if (t.ptr && !t.embedded) return { kind: 'int', size: 8, signed: false, ptr: t.ptr };
    return t.bool ? t : t.enum ? { kind: 'int', size: t.size, signed: t.signed, enum: t.enum } : { kind: 'int', size: t.size, signed: t.signed };
  }
  return storedType(t);
}

export function isStorable(t: Type): boolean {
  if (t.kind === 'int') return !t.embedded;
  return t.kind !== 'ctx' && t.kind !== 'array' && t.kind !== 'none';
}

/** Whether a key or value layout holds a stack id (then the script needs the stack map). */
export function hasStack(t: Type | null): boolean {
  if (!t) return false;
  if (t.kind === 'kstack' || t.kind === 'ustack') return true;
  return t.kind === 'tuple' && t.fields.some(hasStack);
}

/** Integer type names usable in casts. */
export const CAST_TYPES: Record<string, Type> = {
  int8: { kind: 'int', size: 1, signed: true }, uint8: { kind: 'int', size: 1, signed: false },
  int16: { kind: 'int', size: 2, signed: true }, uint16: { kind: 'int', size: 2, signed: false },
  int32: { kind: 'int', size: 4, signed: true }, uint32: { kind: 'int', size: 4, signed: false },
  int64: { kind: 'int', size: 8, signed: true }, uint64: { kind: 'int', size: 8, signed: false },
  char: { kind: 'int', size: 1, signed: true }, short: { kind: 'int', size: 2, signed: true },
  int: { kind: 'int', size: 4, signed: true }, long: { kind: 'int', size: 8, signed: true },
  u8: { kind: 'int', size: 1, signed: false }, u16: { kind: 'int', size: 2, signed: false },
  u32: { kind: 'int', size: 4, signed: false }, u64: { kind: 'int', size: 8, signed: false },
  s8: { kind: 'int', size: 1, signed: true }, s16: { kind: 'int', size: 2, signed: true },
  s32: { kind: 'int', size: 4, signed: true }, s64: { kind: 'int', size: 8, signed: true },
  bool: { kind: 'int', size: 1, signed: false, bool: true },
};
