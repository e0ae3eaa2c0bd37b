/**
 * printf events formatted straight from record bytes into output bytes:
 * decoding and formatting fused into one closure per event id, built once at
 * start-up. At a million events per second the general path (a Value object
 * per field, BigInt for every integer, strings concatenated per event) spends
 * more time allocating than formatting; this path writes digits and string
 * bytes into an OutBuffer, reads integers as doubles whenever the printed bits
 * fit in 53 bits, and falls back to the general code for everything else, so
 * its output is byte for byte that of formatPrintf(decodeValue(...)).
 *
 * @example
 *   const w = compileRecordWriter(parseFormat('%d %s\n'), ev.fields, resolver);
 *   w(drained, recordOffset, out); // appends "1234 bash\n" to out
 */
import type { FieldSpec, ValueType } from '../lang/artifact';
import { sizeOf } from '../lang/artifact';
import { decodeValue, type Resolver } from './decode';
import { formatOne, layoutNumber, lengthBits, planFormat, type FormatSpec, type ParsedFormat } from './format/printf';
import { decodeBytes } from './text';
import { OutBuffer } from './outbuf';
import * as V from './values';

/** Appends the formatted record found at `base` in `b` (fields at `base + field.offset`) to `out`. */
export type RecordWriter = (b: Buffer, base: number, out: OutBuffer) => void;

const TWO32 = 4294967296;

/**
 * Builds the writer of a printf event. `fields[i]` feeds conversion i. The
 * record must hold at least `recordSize(fields)` bytes. Undefined when
 * arguments are missing: the general path reports that per event.
 */
export function compileRecordWriter(parsed: ParsedFormat, fields: readonly FieldSpec[], r: Resolver): RecordWriter | undefined {
  const { pieces, tail } = planFormat(parsed);
  if (fields.length < pieces.length) return undefined;
  const texts: Buffer[] = [];
  const fns: RecordWriter[] = [];
  let pending = '';
  pieces.forEach(({ text, spec }, i) => {
    if (!spec) {
      // The argument is consumed but the conversion was printed as text.
      pending += text;
      return;
    }
    texts.push(Buffer.from(pending + text, 'utf8'));
    pending = '';
    fns.push(fieldWriter(spec, fields[i], r));
  });
  const end = Buffer.from(pending + tail, 'utf8');
  // Unrolled shapes for the common arities avoid a loop per event.
  switch (fns.length) {
    case 0:
      return (_b, _o, out) => out.bytes(end);
    case 1: {
      const [t0] = texts;
      const [f0] = fns;
      return (b, o, out) => {
        out.bytes(t0); f0(b, o, out); out.bytes(end);
      };
    }
    case 2: {
      const [t0, t1] = texts;
      const [f0, f1] = fns;
      return (b, o, out) => {
        out.bytes(t0); f0(b, o, out); out.bytes(t1); f1(b, o, out); out.bytes(end);
      };
    }
    case 3: {
      const [t0, t1, t2] = texts;
      const [f0, f1, f2] = fns;
      return (b, o, out) => {
        out.bytes(t0); f0(b, o, out); out.bytes(t1); f1(b, o, out); out.bytes(t2); f2(b, o, out); out.bytes(end);
      };
    }
    default:
      return (b, o, out) => {
        for (let i = 0; i < fns.length; i++) {
          out.bytes(texts[i]);
          fns[i](b, o, out);
        }
        out.bytes(end);
      };
  }
}

/** The formatted record as a string (tests, and callers without an OutBuffer). */
export function formatRecord(w: RecordWriter, b: Buffer, base: number): string {
  const out = new OutBuffer(256);
  w(b, base, out);
  return out.takeString();
}

/** Bytes a record must have for every field to be read from it. */
export function recordSize(fields: readonly FieldSpec[]): number {
  let n = 0;
  for (const f of fields) n = Math.max(n, f.offset + sizeOf(f.type));
  return n;
}

function general(spec: FormatSpec, f: FieldSpec, r: Resolver): RecordWriter {
  const { offset, type } = f;
  return (b, o, out) => out.text(formatOne(spec, decodeValue(b, o + offset, type, r)));
}

function fieldWriter(spec: FormatSpec, f: FieldSpec, r: Resolver): RecordWriter {
  const t = f.type;
  if (t.kind === 'string' && spec.conversion === 's' && t.trailer === undefined) return stringField(spec, f.offset, t.size);
  if (t.kind === 'int' && (spec.conversion === 'd' || spec.conversion === 'u' || spec.conversion === 'x' || spec.conversion === 'X' || spec.conversion === 'o')) {
    return intField(spec, f.offset, t, general(spec, f, r));
  }
  return general(spec, f, r);
}

function stringField(spec: FormatSpec, offset: number, size: number): RecordWriter {
  const plain = spec.width === undefined && spec.precision === undefined;
  if (plain) {
    return (b, o, out) => {
      const start = o + offset;
      out.cString(b, start, Math.min(start + size, b.length));
    };
  }
  return (b, o, out) => {
    const start = o + offset;
    const limit = Math.min(start + size, b.length);
    let end = b.indexOf(0, start);
    if (end < 0 || end > limit) end = limit;
    out.text(formatOne(spec, V.str(decodeBytes(b, start, end))));
  };
}

/**
 * Integers: C's printf sees the 64-bit argument and prints its low 8/16/32/64
 * bits (by length modifier) as signed (%d) or unsigned. Low 32 bits come from
 * one 32-bit read; 64-bit values use two and go through BigInt only when the
 * magnitude needs more than 53 bits.
 */
function intField(spec: FormatSpec, offset: number, t: Extract<ValueType, { kind: 'int' }>, slow: RecordWriter): RecordWriter {
  const bits = lengthBits(spec.length);
  const signedConv = spec.conversion === 'd';
  const base = spec.conversion === 'o' ? 8 : spec.conversion === 'u' || spec.conversion === 'd' ? 10 : 16;
  const upper = spec.conversion === 'X';
  const plain = spec.width === undefined && spec.precision === undefined;
  const emit = (out: OutBuffer, mag: number, neg: boolean): void => {
    if (plain && base === 10) {
      if (neg) out.byte(45);
      out.decimal(mag);
    } else if (plain && base === 16) {
      out.hex(mag, upper);
    } else {
      let digits = mag.toString(base);
      if (upper) digits = digits.toUpperCase();
      out.text(plain ? (neg ? '-' + digits : digits) : layoutNumber(digits, neg ? '-' : '', '', spec));
    }
  };
  // The field's value for 1-4 byte fields; the low 32 bits for 8-byte ones.
  const size = t.size;
  const signedField = t.signed;
  const lo32 = (b: Buffer, p: number): number => {
    switch (size) {
      case 1: return signedField ? b.readInt8(p) : b.readUInt8(p);
      case 2: return signedField ? b.readInt16LE(p) : b.readUInt16LE(p);
      case 4: return signedField ? b.readInt32LE(p) : b.readUInt32LE(p);
      default: return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24); // the low half of a u64, little-endian
    }
  };
  if (bits < 64) {
    const shift = 32 - bits;
    return (b, o, out) => {
      const v = lo32(b, o + offset);
      if (signedConv) {
        const s = shift ? (v << shift) >> shift : v | 0;
        emit(out, s < 0 ? -s : s, s < 0);
        return;
      }
      emit(out, shift ? (v << shift) >>> shift : v >>> 0, false);
    };
  }
  // 64 bits shown.
  if (size < 8) {
    return (b, o, out) => {
      const v = lo32(b, o + offset);
      if (v >= 0) emit(out, v, false);
      else if (signedConv) emit(out, -v, true);
      else slow(b, o, out); // negative shown unsigned: 2^64 - |v| needs BigInt
    };
  }
  return (b, o, out) => {
    const p = o + offset;
    // Byte reads: the records are in bounds (checked per event by the caller), so skip readUInt32LE's checks.
    const lo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    const hi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
    if (hi < 0x200000) emit(out, hi * TWO32 + lo, false);
    // Two's complement magnitude: 2^64 - (hi * 2^32 + lo), exact below 2^53.
    else if (signedConv && hi >= 0xffe00000) emit(out, (0xffffffff - hi) * TWO32 + (TWO32 - lo), true);
    else slow(b, o, out);
  };
}
