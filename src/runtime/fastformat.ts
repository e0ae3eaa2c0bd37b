/**
 * printf events formatted straight from record bytes: decoding and formatting
 * fused into one closure per event id, built once at start-up. At a million
 * events per second the general path (a Value object per field, BigInt for
 * every integer, an array per event) spends more time allocating than
 * formatting; this path reads integers as doubles whenever the printed bits
 * fit in 53 bits and falls back to the general code for everything else, so
 * its output is byte for byte that of formatPrintf(decodeValue(...)).
 *
 * @example
 *   const f = compileRecordFormatter(parseFormat('%d %s\n'), ev.fields, resolver);
 *   const line = f(drained, recordOffset); // "1234 bash\n"
 */
import type { FieldSpec, ValueType } from '../lang/artifact';
import { sizeOf } from '../lang/artifact';
import { decodeValue, type Resolver } from './decode';
import { formatOne, layoutNumber, lengthBits, planFormat, type FormatSpec, type ParsedFormat } from './format/printf';
import * as V from './values';

/** Formats one record found at `base` in `b` (fields at `base + field.offset`). */
export type RecordFormatter = (b: Buffer, base: number) => string;

type FieldFormatter = (b: Buffer, base: number) => string;

const TWO32 = 4294967296;

/**
 * Builds the formatter of a printf event. `fields[i]` feeds conversion i.
 * The record must hold at least `recordSize(fields)` bytes. Undefined when
 * arguments are missing: the general path reports that per event.
 */
export function compileRecordFormatter(parsed: ParsedFormat, fields: readonly FieldSpec[], r: Resolver): RecordFormatter | undefined {
  const { pieces, tail } = planFormat(parsed);
  if (fields.length < pieces.length) return undefined;
  const texts: string[] = [];
  const fns: FieldFormatter[] = [];
  let pending = '';
  pieces.forEach(({ text, spec }, i) => {
    if (!spec) {
      // The argument is consumed but the conversion was printed as text.
      pending += text;
      return;
    }
    const f = fields[i];
    texts.push(pending + text);
    pending = '';
    fns.push(fieldFormatter(spec, f, r));
  });
  const end = pending + tail;
  // Unrolled shapes for the common arities avoid a loop and an array per event.
  switch (fns.length) {
    case 0:
      return () => end;
    case 1: {
      const [t0] = texts;
      const [f0] = fns;
      return (b, o) => t0 + f0(b, o) + end;
    }
    case 2: {
      const [t0, t1] = texts;
      const [f0, f1] = fns;
      return (b, o) => t0 + f0(b, o) + t1 + f1(b, o) + end;
    }
    case 3: {
      const [t0, t1, t2] = texts;
      const [f0, f1, f2] = fns;
      return (b, o) => t0 + f0(b, o) + t1 + f1(b, o) + t2 + f2(b, o) + end;
    }
    default:
      return (b, o) => {
        let s = '';
        for (let i = 0; i < fns.length; i++) s += texts[i] + fns[i](b, o);
        return s + end;
      };
  }
}

/** Bytes a record must have for every field to be read from it. */
export function recordSize(fields: readonly FieldSpec[]): number {
  let n = 0;
  for (const f of fields) n = Math.max(n, f.offset + sizeOf(f.type));
  return n;
}

function general(spec: FormatSpec, f: FieldSpec, r: Resolver): FieldFormatter {
  const { offset, type } = f;
  return (b, o) => formatOne(spec, decodeValue(b, o + offset, type, r));
}

function fieldFormatter(spec: FormatSpec, f: FieldSpec, r: Resolver): FieldFormatter {
  const t = f.type;
  if (t.kind === 'string' && spec.conversion === 's') return stringField(spec, f.offset, t.size);
  if (t.kind === 'int' && (spec.conversion === 'd' || spec.conversion === 'u' || spec.conversion === 'x' || spec.conversion === 'X' || spec.conversion === 'o')) {
    return intField(spec, f.offset, t, general(spec, f, r));
  }
  return general(spec, f, r);
}

function stringField(spec: FormatSpec, offset: number, size: number): FieldFormatter {
  const plain = spec.width === undefined && spec.precision === undefined;
  const read = (b: Buffer, o: number): string => {
    const start = o + offset;
    const limit = start + size;
    let end = b.indexOf(0, start);
    if (end < 0 || end > limit) end = limit;
    return b.toString('latin1', start, end);
  };
  if (plain) return read;
  return (b, o) => formatOne(spec, V.str(read(b, o)));
}

/**
 * Integers: C's printf sees the 64-bit argument and prints its low 8/16/32/64
 * bits (by length modifier) as signed (%d) or unsigned. Low 32 bits come from
 * one 32-bit read; 64-bit values use two and go through BigInt only when the
 * magnitude needs more than 53 bits.
 */
function intField(spec: FormatSpec, offset: number, t: Extract<ValueType, { kind: 'int' }>, slow: FieldFormatter): FieldFormatter {
  const bits = lengthBits(spec.length);
  const signedConv = spec.conversion === 'd';
  const base = spec.conversion === 'o' ? 8 : spec.conversion === 'u' || spec.conversion === 'd' ? 10 : 16;
  const upper = spec.conversion === 'X';
  const plain = spec.width === undefined && spec.precision === undefined;
  const out = (mag: number, neg: boolean): string => {
    let digits = mag.toString(base);
    if (upper) digits = digits.toUpperCase();
    if (plain) return neg ? '-' + digits : digits;
    return layoutNumber(digits, neg ? '-' : '', '', spec);
  };
  // The field's value for 1-4 byte fields; the low 32 bits for 8-byte ones.
  const size = t.size;
  const signedField = t.signed;
  const lo32 = (b: Buffer, p: number): number => {
    switch (size) {
      case 1: return signedField ? b.readInt8(p) : b.readUInt8(p);
      case 2: return signedField ? b.readInt16LE(p) : b.readUInt16LE(p);
      case 4: return signedField ? b.readInt32LE(p) : b.readUInt32LE(p);
      default: return b.readInt32LE(p); // the low half of a u64, little-endian
    }
  };
  if (bits < 64) {
    const shift = 32 - bits;
    return (b, o) => {
      const v = lo32(b, o + offset);
      if (signedConv) {
        const s = shift ? (v << shift) >> shift : v | 0;
        return s < 0 ? out(-s, true) : out(s, false);
      }
      const u = shift ? (v << shift) >>> shift : v >>> 0;
      return out(u, false);
    };
  }
  // 64 bits shown.
  if (size < 8) {
    return (b, o) => {
      const v = lo32(b, o + offset);
      if (v >= 0) return out(v, false);
      // Negative and shown unsigned: 2^64 - |v| needs BigInt.
      return signedConv ? out(-v, true) : slow(b, o);
    };
  }
  return (b, o) => {
    const p = o + offset;
    const lo = b.readUInt32LE(p);
    const hi = b.readUInt32LE(p + 4);
    if (hi < 0x200000) return out(hi * TWO32 + lo, false);
    if (signedConv && hi >= 0xffe00000) {
      // Two's complement magnitude: 2^64 - (hi * 2^32 + lo), exact below 2^53.
      return out((0xffffffff - hi) * TWO32 + (TWO32 - lo), true);
    }
    return slow(b, o);
  };
}
