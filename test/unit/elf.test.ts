import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ElfFile, ElfError, SymbolNotFoundError, findSymbols, globToRegExp, symbolFileOffset, isPIE, buildId, PT_LOAD } from '../../src/ebpf/elf';
import { buildFixture } from '../helpers/fixtures';
import { hostArch } from '../../src/arch';
import { X86_64 } from '../../src/arch/x86_64';

// this machine's multiarch directory (x86_64-linux-gnu, aarch64-linux-gnu)
const MULTIARCH = (hostArch() ?? X86_64).multiarch;
const LIBC = [`/lib/${MULTIARCH}/libc.so.6`, `/usr/lib/${MULTIARCH}/libc.so.6`].find((p) => fs.existsSync(p)) ?? `/lib/${MULTIARCH}/libc.so.6`;
const BASH = '/bin/bash';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
}

interface RefSym { value: number; size: number; type: string; bind: string; ndx: string; name: string }

/** `readelf -sW` split per table, entries in table order (null entry dropped). */
function readelfSymbols(file: string): Map<string, RefSym[]> {
  const out = new Map<string, RefSym[]>();
  let cur: RefSym[] | undefined;
  for (const line of run('readelf', ['-sW', file]).split('\n')) {
    const h = /^Symbol table '([^']+)'/.exec(line);
    if (h) {
      cur = [];
      out.set(h[1], cur);
      continue;
    }
    const m = /^\s*(\d+): ([0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?: (.*))?$/.exec(line);
    if (!m || !cur || m[1] === '0') continue;
    // readelf appends versions: name@VER, name@@VER, "name@VER (2)".
    const name = (m[8] ?? '').replace(/ \(\d+\)$/, '').replace(/@.*$/, '');
    const size = m[3].startsWith('0x') ? parseInt(m[3], 16) : Number(m[3]);
    cur.push({ value: parseInt(m[2], 16), size, type: m[4], bind: m[5], ndx: m[7], name });
  }
  return out;
}

function compareTable(file: string, table: '.symtab' | '.dynsym'): number {
  const ref = readelfSymbols(file).get(table) ?? [];
  const elf = ElfFile.open(file);
  const ours = table === '.symtab' ? elf.symtab() : elf.dynsym();
  assert.equal(ours.length, ref.length, `${file} ${table}: entry count`);
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i];
    const o = ours[i];
    const where = `${file} ${table}[${i + 1}] ${r.name}`;
    // .symtab may hold versioned names literally (name@VER); readelf shows them the same way.
    // a section symbol has no name of its own; newer readelf (binutils 2.44, Debian 13) prints its section's
    if (r.type === 'SECTION' && o.name === '' && r.name !== '') assert.ok(elf.section(r.name), where);
    else assert.equal(o.name.replace(/@.*$/, ''), r.name, where);
    assert.equal(o.value, r.value, where);
    assert.equal(o.size, r.size, where);
    assert.equal(o.type, r.type, where);
    assert.equal(o.bind, r.bind, where);
    const ndx = r.ndx === 'UND' ? 0 : r.ndx === 'ABS' ? 0xfff1 : r.ndx === 'COM' ? 0xfff2 : Number(r.ndx);
    assert.equal(o.shndx, ndx, where);
  }
  return ref.length;
}

test('symbol tables match readelf -s (fixture, bash, libc)', () => {
  const fx = buildFixture('usdt_target');
  assert.ok(compareTable(fx, '.symtab') > 20);
  assert.ok(compareTable(fx, '.dynsym') > 3);
  assert.ok(compareTable(BASH, '.dynsym') > 500);
  compareTable(BASH, '.symtab');
  assert.ok(compareTable(LIBC, '.dynsym') > 1000);
  compareTable(LIBC, '.symtab');
});

test('program headers match readelf -l', () => {
  for (const file of [buildFixture('usdt_target'), BASH, LIBC]) {
    const ref = run('readelf', ['-lW', file]).split('\n')
      .map((l) => /^\s+LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) 0x([0-9a-f]+)/.exec(l))
      .filter((m): m is RegExpExecArray => !!m);
    const ours = ElfFile.open(file).loadSegments;
    assert.equal(ours.length, ref.length, file);
    ref.forEach((m, i) => {
      const o = ours[i];
      assert.equal(o.type, PT_LOAD);
      assert.deepEqual([o.offset, o.vaddr, o.filesz, o.memsz, o.align], [m[1], m[2], m[4], m[5], m[7]].map((x) => parseInt(x, 16)), `${file} LOAD ${i}`);
      const flg = (m[6].includes('R') ? 4 : 0) | (m[6].includes('W') ? 2 : 0) | (m[6].includes('E') ? 1 : 0);
      assert.equal(o.flags, flg);
    });
  }
});

test('sections by name match readelf -S', () => {
  const fx = buildFixture('usdt_target');
  const ref = new Map<string, [number, number]>();
  for (const l of run('readelf', ['-SW', fx]).split('\n')) {
    const m = /^\s+\[\s*\d+\] (\S+)\s+\S+\s+([0-9a-f]{16}) ([0-9a-f]+) ([0-9a-f]+)/.exec(l);
    if (m) ref.set(m[1], [parseInt(m[2], 16), parseInt(m[3], 16)]);
  }
  const elf = ElfFile.open(fx);
  for (const name of ['.text', '.data', '.probes', '.stapsdt.base', '.note.stapsdt', '.symtab']) {
    const s = elf.section(name);
    assert.ok(s, name);
    assert.deepEqual([s.addr, s.offset], ref.get(name), name);
  }
  assert.equal(elf.section('.nope'), undefined);
});

test('build-id and ELF type match readelf -n / -h', () => {
  for (const file of [buildFixture('usdt_target'), BASH, LIBC]) {
    const m = /Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', file]));
    assert.ok(m, `${file} has a build-id`);
    assert.equal(buildId(file), m[1]);
    const dyn = /Type:\s+DYN/.test(run('readelf', ['-h', file]));
    assert.equal(isPIE(file), dyn);
  }
});

test('non-PIE executables are ET_EXEC and offsets still resolve', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-elf-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const exe = path.join(dir, 'nopie');
  execFileSync('cc', ['-O0', '-g', '-fno-omit-frame-pointer', '-no-pie', '-o', exe, path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'usdt_target.c')]);
  const elf = ElfFile.open(exe);
  assert.equal(elf.isDyn, false);
  assert.equal(elf.isPIE, false);
  // ET_EXEC text lives at 0x400000+, yet the file offset is small.
  const sym = elf.symbol('fixture_leaf');
  assert.ok(sym && sym.value >= 0x400000);
  const off = elf.symbolFileOffset('fixture_leaf');
  assert.ok(off < fs.statSync(exe).size);
  assertPrologue(exe, off);
});

/** The fixture is built with frame pointers: every function starts with push %rbp; mov %rsp,%rbp. */
function assertPrologue(file: string, off: number): void {
  const bytes = ElfFile.open(file).readAt(off, 8);
  const hex = bytes.toString('hex');
  // x86-64: push %rbp; mov %rsp,%rbp (after endbr64 or not). AArch64: stp x29, x30, [sp, #-N]!; mov x29, sp
  const aarch64 = bytes[0] === 0xfd && bytes[1] === 0x7b && bytes[3] === 0xa9 && hex.slice(8) === 'fd030091';
  assert.ok(hex.startsWith('554889e5') || hex.startsWith('f30f1efa554889e5') || aarch64, `prologue at 0x${off.toString(16)} in ${file}: ${hex}`);
}

test('symbolFileOffset points at the function code (nm value via PT_LOAD)', () => {
  const fx = buildFixture('usdt_target');
  const nm = new Map<string, number>();
  for (const l of run('nm', [fx]).split('\n')) {
    const m = /^([0-9a-f]+) [Tt] (\S+)$/.exec(l);
    if (m) nm.set(m[2], parseInt(m[1], 16));
  }
  for (const fn of ['fixture_leaf', 'fixture_middle', 'fixture_outer', 'fire', 'main', 'raw_forms']) {
    const off = symbolFileOffset(fx, fn);
    // AArch64 GCC keeps no frame record in a leaf function (raw_forms is one) even with frame pointers
    if (!(ElfFile.open(fx).machine === 183 && fn === 'raw_forms')) assertPrologue(fx, off);
    const vaddr = nm.get(fn);
    assert.ok(vaddr !== undefined, fn);
    assert.equal(ElfFile.open(fx).fileOffsetToVaddr(off), vaddr);
  }
  // libc's getaddrinfo: the bytes at our offset are the bytes objdump shows at the symbol.
  const off = symbolFileOffset(LIBC, 'getaddrinfo');
  const v = ElfFile.open(LIBC).symbol('getaddrinfo')!.value;
  const dump = run('objdump', ['-d', `--start-address=0x${v.toString(16)}`, `--stop-address=0x${(v + 4).toString(16)}`, LIBC]);
  // x86-64 objdump prints bytes ("f3 0f 1e fa"), AArch64's one 32-bit word per instruction ("d503233f", little-endian in the file)
  const word = (w: string) => (/^[0-9a-f]{8}$/.test(w) ? Buffer.from(w, 'hex').reverse().toString('hex') : w.replace(/ /g, ''));
  const want = [...dump.matchAll(/^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+|[0-9a-f]{8}\s)/gm)].map((m) => word(m[1].trim())).join('');
  assert.ok(want.length >= 8, dump);
  assert.equal(ElfFile.open(LIBC).readAt(off, want.length / 2).toString('hex'), want);
  assert.throws(() => symbolFileOffset(fx, 'no_such_function'), SymbolNotFoundError);
});

test('address -> symbol agrees with nm for every sized function', () => {
  for (const file of [buildFixture('usdt_target'), LIBC, BASH]) {
    const elf = ElfFile.open(file);
    const args = elf.symtab().length ? ['-S', file] : ['-D', '-S', file];
    const funcs = new Map<number, Set<string>>();
    const lines = run('nm', args).split('\n');
    for (const l of lines) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) [TtWi] (\S+)$/.exec(l);
      if (!m) continue;
      const v = parseInt(m[1], 16);
      const names = funcs.get(v) ?? new Set<string>();
      names.add(m[3].replace(/@.*$/, ''));
      funcs.set(v, names);
    }
    let checked = 0;
    for (const l of lines) {
      const m = /^([0-9a-f]+) ([0-9a-f]+) [Tt] (\S+)$/.exec(l);
      if (!m) continue;
      const v = parseInt(m[1], 16);
      const size = parseInt(m[2], 16);
      const hit = elf.symbolAt(v + (size >> 1));
      assert.ok(hit, `${file}: nothing at ${m[3]}+${size >> 1}`);
      // Aliases share an address; any of them is a correct answer.
      const start = hit.symbol.value;
      assert.ok(funcs.get(start)?.has(hit.symbol.name), `${file}: ${m[3]} resolved to ${hit.symbol.name}`);
      if (start === v) assert.equal(hit.offset, size >> 1);
      checked++;
    }
    assert.ok(checked > 5, `${file}: checked ${checked}`);
  }
  assert.equal(ElfFile.open(LIBC).symbolAt(1), undefined);
});

test('findSymbols with globs', () => {
  const fx = buildFixture('usdt_target');
  assert.deepEqual(findSymbols(fx, 'fixture_*').map((s) => s.name), ['fixture_leaf', 'fixture_middle', 'fixture_outer', 'fixture_sink', 'fixture_table']);
  assert.deepEqual(findSymbols(fx, 'fixture_*', { functionsOnly: true }).map((s) => s.name), ['fixture_leaf', 'fixture_middle', 'fixture_outer']);
  assert.deepEqual(findSymbols(fx, 'fixture_[lm]*').map((s) => s.name), ['fixture_leaf', 'fixture_middle']);
  assert.deepEqual(findSymbols(fx, 'fixture_?eaf').map((s) => s.name), ['fixture_leaf']);
  const mallocs = findSymbols(LIBC, '*alloc', { functionsOnly: true }).map((s) => s.name);
  for (const n of ['malloc', 'calloc', 'realloc']) assert.ok(mallocs.includes(n), n);
  assert.ok(globToRegExp('a.b*').test('a.bxyz'));
  assert.ok(!globToRegExp('a.b*').test('axb'));
});

test('parses are cached by path and identity; a rewritten file is re-read', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-elf-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'copy');
  fs.copyFileSync(buildFixture('usdt_target'), f);
  const a = ElfFile.open(f);
  assert.equal(ElfFile.open(f), a);
  fs.copyFileSync(BASH, f);
  const future = new Date(Date.now() + 5000);
  fs.utimesSync(f, future, future);
  const b = ElfFile.open(f);
  assert.notEqual(b, a);
  assert.ok(b.dynsym().some((s) => s.name === 'readline'));
});

test('non-ELF files give a typed error', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-elf-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'text');
  fs.writeFileSync(f, 'hello, this is not an ELF file at all, but long enough to have a header..........');
  assert.throws(() => ElfFile.open(f), ElfError);
  assert.throws(() => ElfFile.open(path.join(dir, 'missing')), /cannot open: ENOENT/);
});
