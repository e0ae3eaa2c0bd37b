/**
 * A growable byte buffer for program output. Event output at a million lines
 * a second is built here directly as UTF-8 bytes (digits and string bytes
 * copied from records), so no string, rope or Value per event reaches the
 * garbage collector; a batch leaves with one write.
 *
 * @example
 *   const o = new OutBuffer();
 *   o.text('pid '); o.decimal(42); o.byte(10);
 *   process.stdout.write(o.take()); // "pid 42\n"
 */
import { decodeBytes, encodeText, hasRawBytes } from './text';

const POW10 = Array.from({ length: 17 }, (_, i) => 10 ** i);
/** "00" "01" ... "99" as ASCII pairs: two digits per division. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i % 2 === 0 ? Math.floor(i / 20) : (i >> 1) % 10));

export class OutBuffer {
  /** Bytes so far live in buf[0, pos). Public for the formatters' inner loops. */
  buf: Buffer;
  pos = 0;

  constructor(private readonly initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  get length(): number {
    return this.pos;
  }

  byte(c: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = c;
  }

  /** Appends `s` encoded as UTF-8, raw kernel bytes in it (text.ts) as the bytes they were. */
  text(s: string): void {
    if (s.length === 0) return;
    if (hasRawBytes(s)) {
      this.bytes(encodeText(s));
      return;
    }
    this.reserve(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Appends bytes (pre-encoded text). */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.reserve(n);
    const buf = this.buf;
    let p = this.pos;
    if (n <= 16) for (let i = 0; i < n; i++) buf[p++] = b[i];
    else {
      buf.set(b, p);
      p += n;
    }
    this.pos = p;
  }

  /** Appends a non-negative integer below 2^53 in base 10. */
  decimal(n: number): void {
    this.reserve(16);
    const buf = this.buf;
    let digits = 1;
    while (digits < 16 && n >= POW10[digits]) digits++;
    let p = this.pos + digits;
    this.pos = p;
    // Above 2^31 divide as doubles until the rest fits the int32 path.
    while (n > 0x7fffffff) {
      const q = Math.floor(n / 100);
      const r = (n - q * 100) * 2;
      buf[--p] = DIGIT_PAIRS[r + 1];
      buf[--p] = DIGIT_PAIRS[r];
      n = q;
    }
    while (n >= 100) {
      const q = (n / 100) | 0;
      const r = (n - q * 100) * 2;
      buf[--p] = DIGIT_PAIRS[r + 1];
      buf[--p] = DIGIT_PAIRS[r];
      n = q;
    }
    if (n >= 10) {
      buf[--p] = DIGIT_PAIRS[n * 2 + 1];
      buf[--p] = DIGIT_PAIRS[n * 2];
    } else {
      buf[--p] = 48 + n;
    }
  }

  /** Appends a non-negative integer below 2^53 in base 16. */
  hex(n: number, upper: boolean): void {
    this.reserve(16);
    const buf = this.buf;
    const a = upper ? 55 : 87; // 'A' - 10, 'a' - 10
    let digits = 1;
    for (let t = n; t >= 16; t = Math.floor(t / 16)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (n >= 16) {
      const q = Math.floor(n / 16);
      const d = n - q * 16;
      buf[--p] = d < 10 ? 48 + d : a + d;
      n = q;
    }
    buf[--p] = n < 10 ? 48 + n : a + n;
  }

  /** Appends the C string at src[start, limit) (cut at the first NUL), its bytes as they are. */
  cString(src: Buffer, start: number, limit: number): void {
    this.reserve(limit - start);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < limit; i++) {
      const c = src[i];
      if (c === 0) break;
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** A copy of the bytes written so far (the caller owns it); the buffer starts empty and keeps its memory. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.reset();
    return out;
  }

  /** The output so far as a string (raw bytes escaped as in text.ts); the buffer starts empty. */
  takeString(): string {
    const out = decodeBytes(this.buf, 0, this.pos);
    this.reset();
    return out;
  }

  private reset(): void {
    this.pos = 0;
    // One burst should not pin megabytes for the rest of the run.
    if (this.buf.length > 1 << 22) this.buf = Buffer.allocUnsafe(this.initial);
  }
}
