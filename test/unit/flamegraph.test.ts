import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FlameGraphOptionError, fitLabel, foldedFromCounts, frameColor, frameKind, layoutFlameGraph, parseFolded, renderFlameGraph,
} from '../../src/runtime/flamegraph';
import { run as flamegraphCli } from '../../src/cli/commands/flamegraph';
import { SAMPLE, checkWellFormed, svgFrames } from './flamegraph-xml';


test('parseFolded merges repeated stacks, accepts decimals and counts unusable lines', () => {
  const p = parseFolded('a;b 3\n\na;b 2\nc 1.5\r\nno count here\nd 0\n');
  assert.deepEqual([...p.stacks], [['a;b', 5], ['c', 1.5]]);
  assert.equal(p.ignored, 1);
});

test('foldedFromCounts merges, sorts, sanitizes separators and keeps frameless stacks', () => {
  const text = foldedFromCounts([
    { frames: ['main', 'b'], count: 2 },
    { frames: ['main', 'a;x'], count: 1 },
    { frames: ['main', 'b'], count: 3 },
    { frames: [], count: 4 },
    { frames: ['never'], count: 0 },
    { frames: ['main', 'line\nbreak'], count: 1 },
  ]);
  assert.equal(text, '[unknown] 4\nmain;a:x 1\nmain;b 5\nmain;line break 1\n');
  // Round trip: what we fold, we parse back to the same totals.
  const p = parseFolded(text);
  assert.equal([...p.stacks.values()].reduce((a, b) => a + b, 0), 11);
});

test('the same input renders byte-identical SVG twice (and independent of input line order)', () => {
  const a = renderFlameGraph(SAMPLE, { title: 'T' });
  const b = renderFlameGraph(SAMPLE, { title: 'T' });
  assert.equal(a, b);
  const shuffled = SAMPLE.trim().split('\n').reverse().join('\n');
  assert.equal(renderFlameGraph(shuffled, { title: 'T' }), a);
});

test('the SVG is well-formed XML with hostile frame names escaped', () => {
  const svg = renderFlameGraph(SAMPLE + 'evil]]>;a\u0001b;</g><script>x</script> 2\n', { title: 'A & B <c> "d"', subtitle: 'sub & <x>' });
  checkWellFormed(svg);
  assert.ok(svg.includes('A &amp; B &lt;c&gt; &quot;d&quot;'));
  assert.ok(svg.includes('&quot;quoted&quot; &amp; &lt;angle&gt;'));
  assert.ok(!svg.includes('<script>x</script>'));
  assert.ok(!svg.includes('\u0001'));
});

test('xmllint accepts the SVG (when libxml2-utils is installed)', (t) => {
  let has = true;
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'pipe' });
  } catch {
    has = false;
  }
  if (!has) {
    t.skip('XMLLINT NOT INSTALLED: apt-get install -y libxml2-utils to run this check');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fg-'));
  try {
    const file = path.join(dir, 'g.svg');
    fs.writeFileSync(file, renderFlameGraph(SAMPLE + 'x&y;<z> 1\n', { title: '<&>' }));
    execFileSync('xmllint', ['--noout', file], { stdio: 'pipe' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('frame widths are proportional to counts and the widest frames are the expected ones', () => {
  const svg = renderFlameGraph(SAMPLE, { width: 1200 });
  const frames = svgFrames(svg);
  const total = 107;
  const usable = 1200 - 20;
  const byName = new Map(frames.map((f) => [f.name, f]));
  assert.equal(byName.get('all')!.width, usable);
  // Widest non-root frame overall, and the widest leaf-level work.
  const nonRoot = frames.filter((f) => f.name !== 'all').sort((a, b) => b.width - a.width);
  assert.equal(nonRoot[0].name, 'main');
  assert.ok(Math.abs(nonRoot[0].width - (96 / total) * usable) < 0.01);
  const depth4 = frames.filter((f) => f.depth === 4).sort((a, b) => b.width - a.width);
  assert.equal(depth4[0].name, 'inner_loop');
  assert.ok(Math.abs(depth4[0].width - (60 / total) * usable) < 0.01);
  // Children sit inside their parent, ordered by name.
  const compute = byName.get('compute')!;
  const inner = byName.get('inner_loop')!;
  const sqrt = byName.get('sqrt')!;
  assert.ok(inner.x >= compute.x - 0.01 && sqrt.x + sqrt.width <= compute.x + compute.width + 0.01);
  assert.ok(inner.x < sqrt.x);
  // Flame graph: deeper frames are higher up (smaller y).
  assert.ok(inner.y < compute.y);
  // Hover details carry count and percentage.
  assert.equal(inner.title, 'inner_loop (60 samples, 56.07%)');
});

test('layoutFlameGraph agrees with the rendered rectangles', () => {
  const boxes = layoutFlameGraph(SAMPLE);
  const frames = svgFrames(renderFlameGraph(SAMPLE));
  assert.equal(boxes.length, frames.length);
  boxes.forEach((b, i) => {
    assert.equal(frames[i].name, b.name);
    assert.ok(Math.abs(frames[i].width - b.width) < 0.01);
  });
});

test('frame kinds: kernel by annotation or symbol, JIT/unknown, inlined, user', () => {
  assert.equal(frameKind('vfs_write_[k]'), 'kernel');
  assert.equal(frameKind('__x64_sys_openat'), 'kernel');
  assert.equal(frameKind('do_syscall_64'), 'kernel');
  assert.equal(frameKind('[unknown]'), 'jit');
  assert.equal(frameKind('0x7f12345678'), 'jit');
  assert.equal(frameKind('Interpreter_[j]'), 'jit');
  assert.equal(frameKind('helper_[i]'), 'inline');
  assert.equal(frameKind('main'), 'user');
  assert.equal(frameKind('my_vfs_thing', (n) => n.startsWith('my_')), 'kernel');
  const rgb = (c: string): number[] => c.slice(4, -1).split(',').map(Number);
  const [kr, kg, kb] = rgb(frameColor('vfs_write_[k]', 'kernel'));
  assert.ok(kr >= 225 && kg >= 145 && kg <= 195 && kb <= 30, 'kernel frames are amber');
  const [jr, jg] = rgb(frameColor('[unknown]', 'jit'));
  assert.ok(jg >= 190 && jr <= 110, 'JIT/unknown frames are green');
  const [ur, ug] = rgb(frameColor('main', 'user'));
  assert.ok(ur >= 210 && ug <= 130, 'user frames are red');
  assert.equal(frameColor('main', 'user'), frameColor('main', 'user'));
  assert.notEqual(frameColor('main', 'user'), frameColor('mainx', 'user'));
  // In the SVG each frame carries its kind.
  const svg = renderFlameGraph(SAMPLE);
  assert.match(svg, /data-kind="kernel"><title>vfs_write_\[k\]/);
  assert.match(svg, /data-kind="jit"><title>\[unknown\]/);
});

test('labels are truncated to fit their frame', () => {
  assert.equal(fitLabel('short', 200, 12), 'short');
  assert.equal(fitLabel('a_rather_long_function_name', 60, 12), 'a_rat..');
  assert.equal(fitLabel('anything', 10, 12), '');
  const frames = svgFrames(renderFlameGraph(SAMPLE));
  for (const f of frames) assert.ok(f.label.length * 12 * 0.59 <= Math.max(f.width - 6, 0) + 0.01, `label of ${f.name} fits`);
});

test('minWidth drops narrow frames; inverted puts the root on top; reverse flips stacks', () => {
  const text = 'a;big 1000\na;tiny 1\n';
  assert.ok(svgFrames(renderFlameGraph(text, { minWidth: 0.1 })).some((f) => f.name === 'tiny'));
  assert.ok(!svgFrames(renderFlameGraph(text, { minWidth: 5 })).some((f) => f.name === 'tiny'));
  const inv = svgFrames(renderFlameGraph(SAMPLE, { inverted: true }));
  const get = (n: string) => inv.find((f) => f.name === n)!;
  assert.ok(get('all').y < get('main').y && get('main').y < get('run').y);
  assert.match(renderFlameGraph(SAMPLE, { inverted: true }), /Icicle Graph/);
  const rev = svgFrames(renderFlameGraph('main;a;leaf 3\nmain;b;leaf 2\n', { reverse: true }));
  assert.equal(rev.find((f) => f.depth === 1)!.name, 'leaf');
  assert.equal(rev.find((f) => f.depth === 1)!.width, 1180);
});

test('empty input gives a valid SVG saying so; bad options are typed errors', () => {
  const svg = renderFlameGraph('', { title: 'nothing' });
  checkWellFormed(svg);
  assert.match(svg, /No stacks/);
  assert.throws(() => renderFlameGraph(SAMPLE, { width: -5 }), FlameGraphOptionError);
  assert.throws(() => renderFlameGraph(SAMPLE, { minWidth: Number.NaN }), FlameGraphOptionError);
});

async function captured(fn: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string | Uint8Array) => { stdout += String(s); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { stderr += String(s); return true; }) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

test('tsbpf flamegraph: file in, SVG out; bad input is a sentence and a non-zero exit', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fg-'));
  try {
    const inFile = path.join(dir, 'in.folded');
    fs.writeFileSync(inFile, SAMPLE + 'garbage line\n');
    const ok = await captured(() => flamegraphCli(['--title', 'CLI', '--countname', 'ms', inFile]));
    assert.equal(ok.code, 0);
    checkWellFormed(ok.stdout);
    assert.match(ok.stdout, /inner_loop \(60 ms, 56\.07%\)/);
    assert.match(ok.stderr, /ignored 1 line/);
    const bad = await captured(() => flamegraphCli(['--width', 'wide', inFile]));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^tsbpf flamegraph: --width expects a number, got 'wide'\n$/);
    const missing = await captured(() => flamegraphCli([path.join(dir, 'nope')]));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope.*no such file/);
    const neg = await captured(() => flamegraphCli(['--width', '-3', inFile]));
    assert.equal(neg.code, 2);
    assert.doesNotMatch(neg.stderr, /\n\s+at /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
