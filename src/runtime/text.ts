/**
 * Bytes from the kernel (strings, file names, comm) as JavaScript strings,
 * without losing a byte. Valid UTF-8 decodes to the characters it encodes;
 * every byte that is not part of valid UTF-8 becomes a lone low surrogate
 * U+DC80..U+DCFF (Python's "surrogateescape"). Encoding for output reverses
 * that, so what the kernel recorded is what reaches stdout or -o: `café`
 * stays `café`, and a file name with a stray 0xff byte keeps its 0xff.
 *
 * @example
 *   const s = decodeBytes(Buffer.from([0x63, 0xc3, 0xa9, 0xff]), 0, 4); // 'cé\udcff'
 *   encodeText(s); // <Buffer 63 c3 a9 ff>
 */

/** A raw byte kept in a string: a low surrogate in U+DC80..U+DCFF with no high surrogate before it. */
const RAW_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** The string for b[start, end): UTF-8 where valid, escaped bytes elsewhere. */
export function decodeBytes(b: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (b[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (ascii) return buf.toString('latin1', start, end);
  const s = buf.toString('utf8', start, end);
  // U+FFFD marks an invalid sequence (or a real U+FFFD, which the slow path keeps).
  return s.includes('\uFFFD') ? decodeCareful(b, start, end) : s;
}

/** Length of the valid UTF-8 sequence at b[i] (1-4), or 0 if the bytes there are not valid UTF-8. */
function sequenceLength(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < end && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1];
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogates are not characters
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1];
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

function decodeCareful(b: Uint8Array, start: number, end: number): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let out = '';
  let run = start; // start of the current run of valid UTF-8
  let i = start;
  while (i < end) {
    const n = sequenceLength(b, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    if (run < i) out += buf.toString('utf8', run, i);
    out += String.fromCharCode(0xdc00 | b[i]);
    i++;
    run = i;
  }
  if (run < end) out += buf.toString('utf8', run, end);
  return out;
}

/** True if `s` carries raw bytes (escaped by decodeBytes) that plain UTF-8 encoding would replace. */
export function hasRawBytes(s: string): boolean {
  return RAW_BYTE.test(s);
}

/** The bytes of `s` for output: UTF-8, with escaped raw bytes written back as the bytes they were. */
export function encodeText(s: string): Buffer {
  if (!hasRawBytes(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  const re = new RegExp(RAW_BYTE.source, 'g');
  let last = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    if (m.index > last) parts.push(Buffer.from(s.slice(last, m.index), 'utf8'));
    parts.push(Buffer.of(s.charCodeAt(m.index) & 0xff));
    last = m.index + 1;
  }
  if (last < s.length) parts.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * `s` escaped for a JSON string. Valid text passes through (JSON is UTF-8);
 * a raw byte that is not UTF-8 is written as bpftrace writes every byte
 * above 0x7f (it escapes a signed char: 0xff becomes `\uffffffff`), which
 * JSON parsers read as U+FFFF followed by the byte's hex digits, so the byte
 * can still be recovered.
 */
export function rawByteJsonEscape(code: number): string {
  return `\\uffffff${(code & 0xff).toString(16).padStart(2, '0')}`;
}

/** True if the code unit at s[i] is a raw byte escaped by decodeBytes. */
export function isRawByteAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0xdc80 || c > 0xdcff) return false;
  const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
  return prev < 0xd800 || prev > 0xdbff;
}
