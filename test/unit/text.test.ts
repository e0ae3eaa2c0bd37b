// Kernel bytes survive the trip through JavaScript strings (runtime/text.ts):
// valid UTF-8 prints as itself, any other byte prints as that byte, and JSON
// stays parseable with the byte recoverable.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { decodeBytes, encodeText, hasRawBytes } from '../../src/runtime/text';
import { OutBuffer } from '../../src/runtime/outbuf';
import { decodeValue, type Resolver } from '../../src/runtime/decode';
import { jsonEscape, valueText } from '../../src/runtime/values';

let seed = 0x9e3779b9;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

test('café and other valid UTF-8 decode to their characters and encode to the same bytes', () => {
  for (const s of ['café', 'naïve', '日本語', 'emoji 😀 U+10080 \u{10080}', '\uFFFD is a real character', '']) {
    const b = Buffer.from(s, 'utf8');
    const d = decodeBytes(b, 0, b.length);
    assert.equal(d, s);
    assert.equal(hasRawBytes(d), false);
    assert.deepEqual(encodeText(d), b);
  }
});

test('bytes that are not UTF-8 come back as the same bytes (random byte strings, seeded)', () => {
  for (let n = 0; n < 3000; n++) {
    const len = rnd() % 24;
    // bias towards the interesting range: continuation bytes, lead bytes, ASCII
    const b = Buffer.from(Array.from({ length: len }, () => {
      const r = rnd() % 4;
      return r === 0 ? rnd() % 0x80 : r === 1 ? 0x80 + (rnd() % 0x40) : 0xc0 + (rnd() % 0x40);
    }));
    const d = decodeBytes(b, 0, b.length);
    assert.deepEqual(encodeText(d), b, `bytes ${b.toString('hex')}`);
    const o = new OutBuffer(8);
    o.text(d);
    assert.deepEqual(o.take(), b);
    o.cString(Buffer.concat([b, Buffer.of(0, 0x41)]), 0, b.length + 2);
    const raw = o.take();
    assert.deepEqual(raw, b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)));
  }
});

test('a byte range inside a buffer decodes only that range; overlong, surrogate and >U+10FFFF forms are raw bytes', () => {
  const b = Buffer.from([0x41, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xff, 0x42]);
  const d = decodeBytes(b, 1, 11);
  assert.equal(d.length, 10);
  assert.ok([...d].every((c) => c.charCodeAt(0) >= 0xdc80 && c.charCodeAt(0) <= 0xdcff));
  assert.deepEqual(encodeText(d), b.subarray(1, 11));
});

test('a string value read from a record keeps its bytes; JSON escapes only the raw ones, as bpftrace escapes a byte', () => {
  const r = {} as Resolver;
  const rec = Buffer.concat([Buffer.from('caf\u00e9 \u00ff', 'utf8'), Buffer.of(0xff, 0x2f, 0), Buffer.alloc(4)]);
  const v = decodeValue(rec, 0, { kind: 'string', size: 16 }, r);
  assert.deepEqual(encodeText(valueText(v)), rec.subarray(0, rec.indexOf(0)));
  const json = `"${jsonEscape(valueText(v))}"`;
  assert.equal(json, '"café ÿ\\uffffffff/"');
  assert.equal(JSON.parse(json), 'café ÿ\uffffffff/'); // U+FFFF, then the byte's hex digits
});

test('takeString hands a library writer the same escaped string', () => {
  const o = new OutBuffer();
  const b = Buffer.of(0x61, 0xff, 0xc3, 0xa9);
  o.cString(b, 0, b.length);
  const s = o.takeString();
  assert.equal(s, 'a\udcffé');
  assert.deepEqual(encodeText(s), b);
});
