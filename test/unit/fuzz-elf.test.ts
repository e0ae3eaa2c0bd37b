// ELF fuzzing: tsbpf parses user-writable binaries as root (-l uprobe:FILE:*,
// usdt:FILE:*, uprobe attach), so every mutated file must end in an explained
// error (ElfError: one sentence) or a result, never a RangeError, a hang or a
// huge allocation. Seeded; TSBPF_FUZZ_LONG=1 runs 20x more cases.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFixture } from '../helpers/fixtures';
import { describeFailures, FUZZ_LONG, FUZZ_SEED, judge, Rng, type FuzzFailure } from '../helpers/fuzz';
import { buildId, ElfFile, findSymbols, isPIE, symbolFileOffset } from '../../src/ebpf/elf';
import { listUsdt, readUsdtProbes } from '../../src/ebpf/usdt';

const CASES = FUZZ_LONG ? 20_000 : 1_000;
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x10];

/** Offsets worth hitting: the ELF header, the program and section header tables, the note and symbol sections. */
function hotRanges(b: Buffer): [number, number][] {
  const ranges: [number, number][] = [[0, 64]];
  const phoff = Number(b.readBigUInt64LE(32));
  const shoff = Number(b.readBigUInt64LE(40));
  ranges.push([phoff, phoff + b.readUInt16LE(56) * b.readUInt16LE(54)]);
  ranges.push([shoff, shoff + b.readUInt16LE(60) * b.readUInt16LE(58)]);
  return ranges.filter(([a, z]) => a < b.length && z <= b.length && a < z);
}

function mutate(base: Buffer, hot: [number, number][], rng: Rng): Buffer {
  let b = Buffer.from(base);
  const n = 1 + rng.int(8);
  for (let k = 0; k < n; k++) {
    const [lo, hi] = rng.int(4) === 0 ? [0, b.length] : rng.pick(hot);
    const at = lo + rng.int(Math.max(1, hi - lo));
    switch (rng.int(5)) {
      case 0: b[at] = rng.pick(INTERESTING); break;
      case 1: b[at] = rng.int(256); break;
      case 2: if (at + 4 <= b.length) b.writeUInt32LE(rng.pick([0, 0xffffffff, 0x7fffffff, 0x80000000, rng.next()]), at); break;
      case 3: if (at + 8 <= b.length) b.writeBigUInt64LE(rng.pick([0n, 0xffffffffffffffffn, 0x7fffffffffffffffn, BigInt(b.length), BigInt(rng.next())]), at); break;
      case 4: b = b.subarray(0, Math.max(0, at)); break;
    }
  }
  return b;
}

test(`${CASES} mutated ELF files (USDT fixture, /bin/true): explained errors only, none over 5 s`, () => {
  const bases = [buildFixture('usdt_target'), '/bin/true'].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));
  assert.ok(bases.length > 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fuzz-elf-'));
  const failures: FuzzFailure[] = [];
  const rng = new Rng(FUZZ_SEED);
  try {
    for (let i = 0; i < CASES; i++) {
      const base = bases[i % bases.length];
      const file = path.join(dir, `m${i}`); // a new name each time: ElfFile caches parses by path
      fs.writeFileSync(file, mutate(base, hotRanges(base), rng));
      judge(`case ${i} (seed ${FUZZ_SEED}, base ${i % bases.length})`, () => {
        for (const op of [
          () => ElfFile.open(file).symbols(),
          () => findSymbols(file, '*'),
          () => findSymbols(file, 'main', { functionsOnly: true }),
          () => readUsdtProbes(file),
          () => listUsdt(file),
          () => buildId(file),
          () => isPIE(file),
          () => symbolFileOffset(file, 'main'),
        ]) {
          judge(`case ${i} ${op.toString().slice(6, 50)}`, op, failures);
        }
      }, failures);
      fs.unlinkSync(file);
    }
  } finally {
    ElfFile.clearCache();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(failures.length, 0, describeFailures(failures, CASES));
});
