/**
 * The decoded value model: what the runtime glue hands to the formatters after
 * reading a map entry or an event record from the kernel.
 *
 * Decoding (byte layouts, per-CPU reduction, symbol lookup, stack-id lookup)
 * is the glue's job; formatting is ours. Each kind below corresponds to one
 * bpftrace type whose printed form differs from the others:
 *
 * | kind     | bpftrace types                          | text form                      |
 * |----------|-----------------------------------------|--------------------------------|
 * | `int`    | integers, pointers                      | decimal (pointers: `0x..`)     |
 * | `str`    | string (`str()`, `comm`, literals)      | the text, unquoted             |
 * | `buf`    | `buf()`                                 | printable ASCII kept, else `\xNN` |
 * | `tuple`  | tuples                                  | `(1, a, -3)`                   |
 * | `array`  | C arrays                                | `[1,2]`                        |
 * | `record` | C structs                               | `{ .a = 1, .b = 2 }`           |
 * | `stack`  | `kstack`, `ustack`                      | one indented frame per line    |
 * | `sym`    | ksym, usym, username, probe, strftime, macaddr, cgroup_path, strerror | already-resolved text |
 * | `inet`   | `ntop()`                                | `127.0.0.1`, `fe80::1`         |
 * | `none`   | no value                                | empty                          |
 *
 * Integers are `bigint` so 64-bit values survive; `bits`/`signed` say how the
 * kernel stored them, which matters for sorting (bpftrace compares key bytes
 * unsigned) and for printf length modifiers.
 *
 * @example
 * const key: Value[] = [str('bash'), int(42n)];
 * valueText(tuple([int(1n), str('two')])); // "(1, two)"
 */
import { isRawByteAt, rawByteJsonEscape } from './text';

/** Width in bits of a kernel integer. */
export type IntBits = 8 | 16 | 32 | 64;

/** An integer as the kernel stored it. `value` is already sign-interpreted (a signed -1 is `-1n`). */
export interface IntValue {
  readonly kind: 'int';
  readonly value: bigint;
  readonly bits: IntBits;
  readonly signed: boolean;
  /** A pointer-typed value: printed in hex (`0x36`), as bpftrace 0.23+ prints pointers (0.17: in map keys only). */
  readonly pointer?: boolean;
  /** A bool (0 or 1): printed `true`/`false` in text and JSON, as bpftrace 0.24+; printf %d gives the number. */
  readonly bool?: boolean;
  /** An enum value's enumerator: printed instead of the number in text (print, maps, printf %s), not in JSON (bpftrace 0.26). */
  readonly name?: string;
}
/** A NUL-terminated kernel string, already cut at the first NUL and decoded. */
export interface StrValue { readonly kind: 'str'; readonly value: string }
/** Raw bytes from `buf()`. */
export interface BufValue { readonly kind: 'buf'; readonly bytes: Uint8Array }
export interface TupleValue { readonly kind: 'tuple'; readonly items: readonly Value[] }
export interface ArrayValue { readonly kind: 'array'; readonly items: readonly Value[] }
export interface RecordValue { readonly kind: 'record'; readonly fields: ReadonlyArray<readonly [string, Value]> }
/**
 * A symbolized stack, innermost frame first. `frames` are the symbol strings
 * exactly as they should appear (`vfs_read+5`, `0x7ffd1234`, or in perf mode
 * `syscall+25 (/usr/lib/libc.so.6)`). Perf mode also needs `addrs` (one per frame).
 */
export interface StackValue {
  readonly kind: 'stack';
  readonly frames: readonly string[];
  readonly mode?: 'bpftrace' | 'perf' | 'raw';
  readonly addrs?: readonly bigint[];
}
/** Which resolver produced a `sym` value; only affects sorting and nothing else. */
export type SymOrigin = 'ksym' | 'usym' | 'username' | 'probe' | 'timestamp' | 'mac' | 'cgroup_path' | 'strerror' | 'named';
/** A value bpftrace resolves to text in userspace (symbol names, user names, strftime output...). */
export interface SymValue { readonly kind: 'sym'; readonly text: string; readonly origin: SymOrigin }
/** An address from `ntop()`: 4 bytes (AF_INET) or 16 bytes (AF_INET6), network order. */
export interface InetValue { readonly kind: 'inet'; readonly bytes: Uint8Array }
export interface NoneValue { readonly kind: 'none' }

export type Value =
  | IntValue | StrValue | BufValue | TupleValue | ArrayValue | RecordValue
  | StackValue | SymValue | InetValue | NoneValue;

// ---- constructors (small conveniences for the glue and for tests) ----

/** A signed 64-bit integer unless told otherwise. */
export function int(value: bigint | number, bits: IntBits = 64, signed = true): IntValue {
  return { kind: 'int', value: BigInt(value), bits, signed };
}
export function uint(value: bigint | number, bits: IntBits = 64): IntValue {
  return { kind: 'int', value: BigInt(value), bits, signed: false };
}
export function ptr(value: bigint | number): IntValue {
  return { kind: 'int', value: BigInt(value), bits: 64, signed: false, pointer: true };
}
export function bool(value: boolean): IntValue {
  return { kind: 'int', value: value ? 1n : 0n, bits: 8, signed: false, bool: true };
}
export function str(value: string): StrValue { return { kind: 'str', value }; }
export function buf(bytes: Uint8Array | readonly number[]): BufValue {
  return { kind: 'buf', bytes: bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes) };
}
export function tuple(items: readonly Value[]): TupleValue { return { kind: 'tuple', items }; }
export function array(items: readonly Value[]): ArrayValue { return { kind: 'array', items }; }
export function record(fields: ReadonlyArray<readonly [string, Value]>): RecordValue { return { kind: 'record', fields }; }
export function stack(frames: readonly string[], mode: 'bpftrace' | 'perf' | 'raw' = 'bpftrace', addrs?: readonly bigint[]): StackValue {
  return { kind: 'stack', frames, mode, addrs };
}
export function sym(text: string, origin: SymOrigin = 'ksym'): SymValue { return { kind: 'sym', text, origin }; }
export function inet(bytes: Uint8Array | readonly number[]): InetValue {
  return { kind: 'inet', bytes: bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes) };
}
export const none: NoneValue = { kind: 'none' };

// ---- text forms ----

/**
 * bpftrace's buffer rendering (hex_format_buffer): printable ASCII (32..126)
 * kept, other bytes as `\xNN`. `keepAscii=false` escapes everything (`%rx`);
 * `escapeHex=false` gives space-separated bare hex (`%rh`).
 */
export function hexFormatBuffer(bytes: Uint8Array, keepAscii = true, escapeHex = true): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (keepAscii && b >= 32 && b <= 126) s += String.fromCharCode(b);
    else if (escapeHex) s += '\\x' + hex2(b);
    else s += hex2(b) + (i === bytes.length - 1 ? '' : ' ');
  }
  return s;
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/** inet_ntop(3) as glibc formats it (RFC 5952 zero compression, embedded IPv4 for ::a.b.c.d and ::ffff:a.b.c.d). */
export function inetNtop(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return '';
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1]);
  // Longest run of zero words (length >= 2), first one on ties, as glibc does.
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) { curBase = i; curLen = 1; } else curLen++;
      if (curLen > bestLen) { bestBase = curBase; bestLen = curLen; }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      return out;
    }
    out += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

function stackText(s: StackValue, indent: number): string {
  let out = '\n';
  const pad = ' '.repeat(indent);
  s.frames.forEach((f, i) => {
    if (s.mode === 'perf') {
      const a = s.addrs?.[i] ?? 0n;
      out += '\t' + BigInt.asUintN(64, a).toString(16) + ' ' + f + '\n';
    } else if (s.mode === 'raw') out += f + '\n'; // bare addresses start the line, as bpftrace prints them
    else out += pad + f + '\n';
  });
  return out;
}

/**
 * A value as bpftrace prints it in a map value, in `print(value)` and for
 * printf's `%s` (stacks indented by 8 spaces, strings unquoted).
 */
export function valueText(v: Value): string {
  switch (v.kind) {
    case 'int': return v.bool ? String(v.value !== 0n) : v.pointer ? '0x' + BigInt.asUintN(64, v.value).toString(16) : v.name ?? v.value.toString();
    case 'str': return v.value;
    case 'buf': return hexFormatBuffer(v.bytes);
    case 'tuple': return '(' + v.items.map(valueText).join(', ') + ')';
    case 'array': return '[' + v.items.map(valueText).join(',') + ']';
    case 'record': return '{ ' + v.fields.map(([n, f]) => '.' + n + ' = ' + valueText(f)).join(', ') + ' }';
    case 'stack': return stackText(v, 8);
    case 'sym': return v.text;
    case 'inet': return inetNtop(v.bytes);
    case 'none': return '';
  }
}

/**
 * A value as bpftrace prints it inside a map key `@m[...]`: integers as
 * numbers of their width and signedness, pointers in hex, stacks indented by 4.
 */
export function keyText(v: Value, symbolic = true): string {
  switch (v.kind) {
    case 'int':
      if (v.pointer) return '0x' + BigInt.asUintN(64, v.value).toString(16);
      if (v.bool || (v.name !== undefined && symbolic)) return valueText(v);
      // unsigned keys print unsigned, as bpftrace 0.26 does (0.17-0.23 printed @a[18446744073709551615] as @a[-1])
      return (v.signed ? BigInt.asIntN(v.bits, v.value) : BigInt.asUintN(v.bits, v.value)).toString();
    case 'stack': return stackText(v, 4);
    case 'array': return '[' + v.items.map((x) => keyText(x, symbolic)).join(',') + ']';
    case 'record': return '{ ' + v.fields.map(([n, f]) => '.' + n + ' = ' + keyText(f, symbolic)).join(', ') + ' }';
    case 'tuple': return '(' + v.items.map((x) => keyText(x, symbolic)).join(', ') + ')';
    default: return valueText(v);
  }
}

/** JSON string escaping as bpftrace does it, except bytes >= 0x80 pass through (0.17 emitted invalid `\uffffffXX`). */
export function jsonEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22: out += '\\"'; break;
      case 0x5c: out += '\\\\'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      default:
        out += c <= 0x1f ? '\\u' + c.toString(16).padStart(4, '0') : isRawByteAt(s, i) ? rawByteJsonEscape(c) : s[i];
    }
  }
  return out;
}

/**
 * A value in bpftrace's `-f json` output. Textual kinds are quoted;
 * tuples and arrays become JSON arrays, records JSON objects.
 * (0.17 left strftime/macaddr/cgroup_path/strerror unquoted, producing
 * invalid JSON; we quote them.)
 */
export function valueJson(v: Value): string {
  switch (v.kind) {
    case 'int': return v.bool ? String(v.value !== 0n) : v.value.toString();
    case 'tuple': return '[' + v.items.map(valueJson).join(',') + ']';
    case 'array': return '[' + v.items.map(valueJson).join(',') + ']';
    case 'record': return '{' + v.fields.map(([n, f]) => '"' + jsonEscape(n) + '": ' + valueJson(f)).join(', ') + '}';
    case 'none': return 'null';
    default: return '"' + jsonEscape(valueText(v)) + '"';
  }
}

// ---- ordering ----

/**
 * Compares two map keys the way bpftrace 0.17 orders maps by key
 * (BPFtrace::sort_by_key): component by component, integers as unsigned
 * numbers of their width, strings bytewise; other kinds do not take part
 * (they compare equal, so a stable sort keeps the kernel's iteration order).
 */
export function compareKeys(a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareKeyPart(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

function compareKeyPart(a: Value, b: Value): number {
  if (a.kind === 'int' && b.kind === 'int') {
    const x = BigInt.asUintN(a.bits, a.value), y = BigInt.asUintN(b.bits, b.value);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind === 'str' && b.kind === 'str') return compareBytes(Buffer.from(a.value), Buffer.from(b.value));
  // structs and arrays held by value: member by member, element by element
  if (a.kind === 'record' && b.kind === 'record') return compareKeys(a.fields.map((f) => f[1]), b.fields.map((f) => f[1]));
  if ((a.kind === 'array' || a.kind === 'tuple') && a.kind === b.kind) return compareKeys(a.items, (b as typeof a).items);
  return 0;
}

/**
 * Compares two keys by their kernel byte encoding (little-endian integers,
 * NUL-padded strings), the order of a C++ std::map over raw key bytes, which
 * bpftrace 0.17 uses before sorting hist/lhist/avg/stats maps by total.
 */
export function compareKeyBytes(a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i], y = b[i];
    let c = 0;
    if (x.kind === 'int' && y.kind === 'int') c = compareBytes(intBytes(x), intBytes(y));
    else if (x.kind === 'str' && y.kind === 'str') c = compareBytes(Buffer.from(x.value), Buffer.from(y.value));
    if (c !== 0) return c;
  }
  return 0;
}

function intBytes(v: IntValue): Uint8Array {
  const u = BigInt.asUintN(v.bits, v.value);
  const out = new Uint8Array(v.bits / 8);
  for (let i = 0; i < out.length; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
