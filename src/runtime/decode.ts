/**
 * Turns bytes written by generated BPF code (event records, map keys and
 * values) into the formatter's Value model, using the layouts the compiler
 * described in the artifact. Symbol and stack resolution is delegated to a
 * Resolver so this module stays testable without a kernel.
 */
import type { ValueType } from '../lang/artifact';
import * as V from './values';
import { strftime } from './format/strftime';
import { namedValueType } from '../lang/builtins';
import { decodeBytes } from './text';

/** What decoding needs from the outside world. */
export interface Resolver {
  /** Frames of stack `id` in stack map `stackMap` (kernel stack, or user stack of `pid`). */
  stack(kind: 'kstack' | 'ustack', stackMap: number, id: number, pid: number, mode: 'bpftrace' | 'perf' | 'raw', limit: number): V.StackValue;
  ksym(addr: bigint): string;
  usym(pid: number, addr: bigint): string;
  username(uid: number): string;
  probeName(index: number): string;
  /** Boot-time ns → ns since the epoch (for strftime() values); optional for resolvers that never see them. */
  bootToRealtime?(bootNs: bigint): bigint;
}

/** Reads an unsigned/signed little-endian integer of `size` bytes at `off`. */
export function readInt(b: Buffer, off: number, size: number, signed: boolean): bigint {
  switch (size) {
    case 1:
      return BigInt(signed ? b.readInt8(off) : b.readUInt8(off));
    case 2:
      return BigInt(signed ? b.readInt16LE(off) : b.readUInt16LE(off));
    case 4:
      return BigInt(signed ? b.readInt32LE(off) : b.readUInt32LE(off));
    default:
      return signed ? b.readBigInt64LE(off) : b.readBigUInt64LE(off);
  }
}

/** A C string of at most `size` bytes, cut at the first NUL. */
export function readCString(b: Buffer, off: number, size: number): string {
  const end = Math.min(b.length, off + size);
  let n = b.indexOf(0, off);
  if (n < 0 || n > end) n = end;
  return decodeBytes(b, off, n); // bytes kept as they are (text.ts): UTF-8 stays UTF-8
}

/** Decodes one value of type `t` found at `off` in `b`. */
export function decodeValue(b: Buffer, off: number, t: ValueType, r: Resolver): V.Value {
  switch (t.kind) {
    case 'int':
      if (t.pointer) return V.ptr(readInt(b, off, t.size, false));
      if (t.enum) {
        const v = readInt(b, off, t.size, t.signed);
        const name = t.enum.names[BigInt.asUintN(64, v).toString()];
        return name === undefined ? V.int(v, (t.size * 8) as V.IntBits, t.signed) : { kind: 'int', value: v, bits: (t.size * 8) as V.IntBits, signed: t.signed, name };
      }
      return V.int(readInt(b, off, t.size, t.signed), (t.size * 8) as V.IntBits, t.signed);
    case 'bool':
      return V.bool(b.readUInt8(off) !== 0);
    case 'string': {
      const s = readCString(b, off, t.size);
      // a str() read that filled its buffer was cut (bpftrace 0.26 prints its str_trunc_trailer)
      return V.str(t.trailer !== undefined && t.size > 1 && b.indexOf(0, off) === off + t.size - 1 ? s + t.trailer : s);
    }
    case 'buffer': {
      const len = Math.min(b.readUInt32LE(off), t.size);
      return V.buf(Uint8Array.from(b.subarray(off + 4, off + 4 + len)));
    }
    case 'tuple':
      return V.tuple(t.fields.map((f) => decodeValue(b, off + f.offset, f.type, r)));
    case 'kstack':
    case 'ustack': {
      const id = Number(b.readBigInt64LE(off));
      const pid = t.kind === 'ustack' ? Number(b.readBigUInt64LE(off + 8)) : 0;
      return r.stack(t.kind, t.stackMap, id, pid, t.mode, t.limit);
    }
    case 'ksym':
      return V.sym(r.ksym(b.readBigUInt64LE(off)), 'ksym');
    case 'kaddr':
      return V.sym(r.ksym(b.readBigUInt64LE(off)), 'ksym');
    case 'usym':
      return V.sym(r.usym(Number(b.readBigUInt64LE(off + 8)), b.readBigUInt64LE(off)), 'usym');
    case 'inet': {
      const family = b.readUInt32LE(off);
      const len = family === 10 ? 16 : 4; // AF_INET6 = 10
      return V.inet(Uint8Array.from(b.subarray(off + 4, off + 4 + len)));
    }
    case 'username':
      return V.sym(r.username(Number(b.readBigUInt64LE(off))), 'username');
    case 'probe':
      return V.sym(r.probeName(Number(b.readBigUInt64LE(off))), 'probe');
    case 'timestamp': {
      // strftime(fmt, ns) values carry their format and print as text (compiler: builtins.ts strftime)
      const ns = b.readBigUInt64LE(off);
      if (t.format === undefined) return V.int(ns, 64, false);
      return V.sym(strftime(t.format, r.bootToRealtime ? r.bootToRealtime(ns) : ns), 'timestamp');
    }
    case 'named':
      return V.sym(namedValueType(t.name).text(b.readBigUInt64LE(off)), 'named');
    case 'record':
      return V.record(t.fields.map((f) => [f.name, f.bits ? V.uint(readBits(b, off + f.offset, f.bits.shift, f.bits.width)) : decodeValue(b, off + f.offset, f.type, r)] as const));
    case 'carray': {
      const items: V.Value[] = [];
      for (let i = 0; i < t.length; i++) items.push(decodeValue(b, off + i * t.elemSize, t.elem, r));
      return V.array(items);
    }
    case 'none':
      return V.none;
  }
}

/** A bitfield: `width` bits starting `shift` bits into the byte at `off` (little-endian bit order). */
function readBits(b: Buffer, off: number, shift: number, width: number): bigint {
  let v = 0n;
  const n = Math.ceil((shift + width) / 8);
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(off + i < b.length ? b[off + i] : 0);
  return (v >> BigInt(shift)) & ((1n << BigInt(width)) - 1n);
}

/** Splits a tuple-typed key into its elements (multi-key maps print `@m[a, b]`). */
export function keyValues(b: Buffer, t: ValueType | null, r: Resolver): V.Value[] {
  if (t === null) return [];
  const v = decodeValue(b, 0, t, r);
  return v.kind === 'tuple' ? [...v.items] : [v];
}
