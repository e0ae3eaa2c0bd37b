// The DWARF reader (src/ebpf/dwarf.ts) on the dwarf_target fixture compiled as DWARF 5 and
// DWARF 4: parameters, struct layouts and line tables as the compiler wrote them; and on
// mutated copies of it (debug files are data any user may write; tsbpf reads them as root):
// explained errors (DwarfError/ElfError) or a result, never a RangeError or a hang.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFixture } from '../helpers/fixtures';
import { describeFailures, FUZZ_LONG, FUZZ_SEED, judge, Rng, type FuzzFailure } from '../helpers/fuzz';
import { DebugInfo } from '../../src/ebpf/dwarf';
import { ElfFile } from '../../src/ebpf/elf';

const src = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'dwarf_target.c');
const markedLine = fs.readFileSync(src, 'utf8').split('\n').findIndex((l) => l.includes('LINE_ONE')) + 1;

function compiled(flags: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-dwarf-unit-'));
  const out = path.join(dir, 'dwarf_target');
  execFileSync('cc', ['-O0', '-fno-inline', ...flags, '-o', out, src]);
  return out;
}

for (const version of ['-gdwarf-5', '-gdwarf-4']) {
  test(`dwarf ${version}: parameters, a struct's layout and a line's address`, () => {
    const bin = compiled([version]);
    try {
      const elf = ElfFile.open(bin);
      const d = DebugInfo.fromElf(elf);
      assert.ok(d);
      const work = d.func('work');
      assert.ok(work);
      const btf = d.btf();
      assert.deepEqual(work.params.map((p) => `${btf.typeName(p.type)} ${p.name}`), ['int * n', 'char c', 'struct tsbpf_point * p']);
      assert.equal(work.address, BigInt(elf.symbol('work')?.value ?? -1));
      const point = btf.resolve(btf.type(btf.resolve(work.params[2].type)).kind === 'ptr' ? (btf.type(btf.resolve(work.params[2].type)) as { type: number }).type : 0);
      assert.deepEqual(btf.members(point).map((m) => [m.name, m.bitOffset / 8]), [['x', 0], ['y', 4]]);
      assert.equal(btf.sizeOf(point), 8);
      // the marked line is inside branch(), after its first instructions
      const [addr, ...more] = d.lineAddresses('dwarf_target.c', markedLine);
      assert.equal(more.length, 0);
      const hit = elf.symbolAt(Number(addr));
      assert.equal(hit?.symbol.name, 'branch');
      assert.ok((hit?.offset ?? 0) > 0);
      assert.deepEqual(d.lineAddresses('dwarf_target.c', 100000), []);
    } finally {
      fs.rmSync(path.dirname(bin), { recursive: true, force: true });
    }
  });
}

const CASES = FUZZ_LONG ? 10_000 : 600;

test(`${CASES} mutated debug sections: explained errors only, none over 5 s`, () => {
  const base = fs.readFileSync(buildFixture('dwarf_target'));
  const elf = ElfFile.open(buildFixture('dwarf_target'));
  const hot = ['.debug_info', '.debug_abbrev', '.debug_line', '.debug_str', '.debug_line_str']
    .map((n) => elf.section(n))
    .filter((s) => s !== undefined)
    .map((s) => [s.offset, s.offset + s.size] as [number, number]);
  assert.ok(hot.length >= 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fuzz-dwarf-'));
  const failures: FuzzFailure[] = [];
  const rng = new Rng(FUZZ_SEED);
  try {
    for (let i = 0; i < CASES; i++) {
      const b = Buffer.from(base);
      for (let k = 1 + rng.int(6); k > 0; k--) {
        const [lo, hi] = rng.pick(hot);
        const at = lo + rng.int(hi - lo);
        if (rng.int(3) === 0 && at + 4 <= b.length) b.writeUInt32LE(rng.pick([0, 0xffffffff, 0x7fffffff, rng.next()]), at);
        else b[at] = rng.int(256);
      }
      const file = path.join(dir, `m${i}`);
      fs.writeFileSync(file, b);
      judge(`case ${i} (seed ${FUZZ_SEED})`, () => {
        const d = DebugInfo.fromElf(ElfFile.open(file));
        if (!d) return;
        for (const f of ['work', 'main', 'branch']) d.func(f);
        d.btf();
        d.lineAddresses('dwarf_target.c', markedLine);
      }, failures);
      fs.unlinkSync(file);
    }
  } finally {
    ElfFile.clearCache();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(failures.length, 0, describeFailures(failures, CASES));
});
