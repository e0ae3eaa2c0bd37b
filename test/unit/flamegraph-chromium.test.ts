/**
 * The flame graph in a real browser: headless Chromium renders the SVG to a
 * PNG whose pixels must show the widest frame where the SVG put it, and runs
 * the embedded script (search and zoom requested through the URL) so the DOM
 * afterwards shows the zoomed layout and the matched percentage.
 * Needs Debian's `chromium` package; skips loudly without it.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { renderFlameGraph } from '../../src/runtime/flamegraph';
import { SAMPLE, svgFrames } from './flamegraph-xml';

function findChromium(): string | undefined {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return undefined;
}

const chromium = findChromium();
const SKIP = chromium ? false : 'CHROMIUM NOT INSTALLED: apt-get install -y chromium to check the SVG in a real browser';

function chromiumArgs(profile: string): string[] {
  return ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--hide-scrollbars', '--force-device-scale-factor=1'];
}

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into RGBA rows. */
function decodePng(buf: Buffer): { width: number; height: number; px: (x: number, y: number) => [number, number, number] } {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  let off = 8;
  let width = 0, height = 0, colorType = 0, bitDepth = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  assert.equal(bitDepth, 8);
  assert.equal(interlace, 0);
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  assert.ok(bpp, `unsupported PNG colour type ${colorType}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const img = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? img[y * stride + i - bpp] : 0;
      const b = y > 0 ? img[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? img[(y - 1) * stride + i - bpp] : 0;
      let v = src[i];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      img[y * stride + i] = v & 0xff;
    }
  }
  return { width, height, px: (x, y) => [img[y * stride + x * bpp], img[y * stride + x * bpp + 1], img[y * stride + x * bpp + 2]] };
}

test('headless Chromium draws the widest frame where the SVG says, in its colour', { skip: SKIP, timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fg-chromium-'));
  try {
    const svg = renderFlameGraph(SAMPLE, { title: 'chromium check', width: 1200 });
    const file = path.join(dir, 'graph.svg');
    const png = path.join(dir, 'shot.png');
    fs.writeFileSync(file, svg);
    execFileSync(chromium!, [...chromiumArgs(path.join(dir, 'profile')), `--screenshot=${png}`, '--window-size=1200,800', `file://${file}`], { stdio: 'pipe', timeout: 90_000 });
    const bytes = fs.readFileSync(png);
    assert.ok(bytes.length > 1000, 'screenshot is a non-empty PNG');
    const img = decodePng(bytes);
    assert.equal(img.width, 1200);
    // The widest frame at the leaf level must be inner_loop; sample a pixel away from its label.
    const frames = svgFrames(svg).filter((f) => f.depth === 4).sort((a, b) => b.width - a.width);
    const widest = frames[0];
    assert.equal(widest.name, 'inner_loop');
    const want = widest.fill.slice(4, -1).split(',').map(Number);
    for (const fx of [0.5, 0.75, 0.95]) {
      const got = img.px(Math.round(widest.x + widest.width * fx), Math.round(widest.y + 3));
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(got[k] - want[k]) <= 3, `pixel at ${fx} of inner_loop is ${got}, want ${want}`);
    }
    // Just past the frame's right edge is another frame (sqrt), with a different colour.
    const sqrt = svgFrames(svg).find((f) => f.name === 'sqrt')!;
    const other = img.px(Math.round(sqrt.x + sqrt.width / 2), Math.round(sqrt.y + 3));
    assert.notDeepEqual(other, want);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('in Chromium the embedded script zooms and searches (matched share of all samples)', { skip: SKIP, timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fg-chromium-'));
  try {
    const file = path.join(dir, 'graph.svg');
    fs.writeFileSync(file, renderFlameGraph(SAMPLE, { width: 1200 }));
    const url = `file://${file}?s=${encodeURIComponent('^(sqrt|inner_loop)$')}&zoom=compute`;
    const dom = execFileSync(chromium!, [...chromiumArgs(path.join(dir, 'profile')), '--dump-dom', url], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 });
    // (60 + 15) / 107 samples matched.
    assert.match(dom, /<text id="matched"[^>]*>Matched: 70\.1%<\/text>/);
    assert.match(dom, /<text id="unzoom" class=""/);
    const frame = (name: string): string => {
      const m = new RegExp(`<g [^>]*data-name="${name}"[^>]*>.*?</g>`).exec(dom);
      assert.ok(m, `frame ${name} in the DOM`);
      return m[0];
    };
    // The zoomed frame spans the full width, its ancestors too (faded), unrelated frames are hidden.
    assert.match(frame('compute'), /<rect x="10" y="[\d.]+" width="1180"/);
    assert.match(frame('main'), /class="parent"/);
    assert.match(frame('io'), /class="hide"/);
    assert.match(frame('inner_loop'), /fill="rgb\(230,0,230\)"/);
    // inner_loop keeps its share of compute: 60/75 of the full width.
    assert.match(frame('inner_loop'), /width="944"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
