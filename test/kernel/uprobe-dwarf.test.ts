/**
 * uprobes typed by the binary's DWARF (issue 19 item 1/5, issue 20 P rows):
 * `args.NAME`, `-lv` parameter lists, `BIN@file.c:LINE` attach points, and
 * separate debug files (--debuginfo, .gnu_debuglink in .debug/, split DWARF
 * in .dwo files and .dwp packages). The fixture's loops are the ground
 * truth (test/fixtures/dwarf_target.c): work() gets c = 'a' 3 times and
 * 'b' twice; the marked line of branch() runs 3 times.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { repoRoot, runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';
import { ElfFile } from '../../src/ebpf/elf';

const src = path.join(repoRoot, 'test', 'fixtures', 'dwarf_target.c');
const markedLine = fs.readFileSync(src, 'utf8').split('\n').findIndex((l) => l.includes('LINE_ONE')) + 1;

async function run(args: string[]): Promise<string> {
  const r = await runTsbpf(args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Copies of the fixture in a fresh directory: stripped with a debug file, split DWARF with .dwo and .dwp. */
function variants(): { dir: string; stripped: string; debugDir: string; linked: string; dwo: string; dwp: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-dwarf-'));
  const bin = buildFixture('dwarf_target');
  const debugDir = path.join(dir, 'debug');
  fs.mkdirSync(debugDir);
  const stripped = path.join(dir, 'stripped');
  execFileSync('objcopy', ['--only-keep-debug', bin, path.join(debugDir, 'stripped.debug')]);
  execFileSync('objcopy', ['--strip-debug', bin, stripped]);
  // .gnu_debuglink to a file in the binary's .debug/ directory (gdb's search order)
  const linked = path.join(dir, 'linked');
  fs.mkdirSync(path.join(dir, '.debug'));
  execFileSync('objcopy', ['--only-keep-debug', bin, path.join(dir, '.debug', 'linked.debug')]);
  execFileSync('objcopy', ['--strip-debug', bin, linked]);
  execFileSync('objcopy', [`--add-gnu-debuglink=${path.join(dir, '.debug', 'linked.debug')}`, linked], { cwd: dir });
  // split DWARF: DWARF 5 types in a .dwo next to the binary; and DWARF 4 (GNU split units) packaged
  // into a .dwp with the .dwo removed (binutils' dwp handles only DWARF 4)
  for (const [sub, version] of [['dwo', '-gdwarf-5'], ['dwp', '-gdwarf-4']]) {
    fs.mkdirSync(path.join(dir, sub));
    execFileSync('cc', ['-O0', version, '-gsplit-dwarf', '-fno-inline', '-o', 'split', src], { cwd: path.join(dir, sub) });
  }
  execFileSync('dwp', ['-e', 'split', '-o', 'split.dwp'], { cwd: path.join(dir, 'dwp') });
  for (const f of fs.readdirSync(path.join(dir, 'dwp'))) if (f.endsWith('.dwo')) fs.unlinkSync(path.join(dir, 'dwp', f));
  return { dir, stripped, debugDir, linked, dwo: path.join(dir, 'dwo', 'split'), dwp: path.join(dir, 'dwp', 'split') };
}

kernelTest('uprobe dwarf: -lv lists each function\'s parameters with their C types', async () => {
  const bin = buildFixture('dwarf_target');
  const o = await run(['-lv', `uprobe:${bin}:*`]);
  assert.match(o, new RegExp(`^uprobe:${bin}:work\\n    int\\* n\\n    char c\\n    struct tsbpf_point\\* p$`, 'm'), o);
  assert.match(o, new RegExp(`^uprobe:${bin}:main\\n    int argc\\n    char\\*\\* argv$`, 'm'), o);
  assert.match(o, new RegExp(`^uprobe:${bin}:branch\\n    int n$`, 'm'), o);
});

kernelTest('uprobe dwarf: args.NAME reads each parameter with its own type, counted exactly', async () => {
  const bin = buildFixture('dwarf_target');
  const o = await run(['-c', bin, '-e', `uprobe:${bin}:work { @c[args.c] = count(); @n[args.n != 0] = count(); } uprobe:${bin}:branch { @b[args.n] = count(); }`]);
  assert.match(o, /^@c\[97\]: 3$/m, o);
  assert.match(o, /^@c\[98\]: 2$/m, o);
  assert.match(o, /^@n\[true\]: 5$/m, o); // a pointer to the caller's int, never NULL (a comparison is a bool in 0.26)
  assert.match(o, /^@b\[1\]: 3$/m, o);
  assert.match(o, /^@b\[2\]: 4$/m, o);
});

kernelTest('uprobe dwarf: members through typed parameters and casts to the binary\'s own structs (user memory)', async () => {
  const bin = buildFixture('dwarf_target');
  // struct tsbpf_point is in the fixture's DWARF only (not in the script, not in kernel BTF); pt = { 3, 4 }
  const o = await run(['-c', bin, '-e', `uprobe:${bin}:work { @y[args.p->y] = count(); @x[((struct tsbpf_point *)arg2)->x] = count(); @n[*args.n] = count(); }`]);
  assert.match(o, /^@y\[4\]: 5$/m, o);
  assert.match(o, /^@x\[3\]: 5$/m, o);
  for (let i = 0; i < 5; i++) assert.match(o, new RegExp(`^@n\\[${i}\\]: 1$`, 'm'), o); // *n is the loop's i
  // a definition in the script wins over the binary's: its only member is at offset 0, where x = 3 is
  const s = await run(['-c', bin, '-e', `struct tsbpf_point { int only; } uprobe:${bin}:work { @[((struct tsbpf_point *)arg2)->only] = count(); }`]);
  assert.match(s, /^@\[3\]: 5$/m, s);
});

kernelTest('uprobe dwarf: BIN@file.c:LINE attaches where that line begins', async () => {
  const bin = buildFixture('dwarf_target');
  const o = await run(['-c', bin, '-e', `uprobe:${bin}@dwarf_target.c:${markedLine} { @line = count(); } uprobe:${bin}:branch { @calls = count(); }`]);
  assert.match(o, /^@line: 3$/m, o);
  assert.match(o, /^@calls: 7$/m, o);
  const r = await runTsbpf(['-e', `uprobe:${bin}@dwarf_target.c:100000 { exit(); }`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no code in .* is at dwarf_target\.c:100000/);
  assert.doesNotMatch(r.stderr, /\n\s+at /); // one sentence, no stack trace
});

kernelTest('uprobe dwarf: separate debug files — --debuginfo, .gnu_debuglink, split .dwo and .dwp', async () => {
  const v = variants();
  try {
    // stripped: no parameters without the debug file, all of them with --debuginfo
    assert.doesNotMatch(await run(['-lv', `uprobe:${v.stripped}:work`]), /char c/);
    assert.match(await run(['-lv', `uprobe:${v.stripped}:work`, `--debuginfo=${v.dir}/nowhere`, '--debuginfo', v.debugDir]), /^    char c$/m);
    const r = await runTsbpf(['-e', `uprobe:${v.stripped}:work { @[args.c] = count(); }`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no debug information \(DWARF\)/);
    for (const bin of [v.linked, v.dwo, v.dwp]) {
      const o = await run(['-c', bin, '-e', `uprobe:${bin}:work { @[args.c] = count(); } uprobe:${bin}@dwarf_target.c:${markedLine} { @line = count(); }`]);
      assert.match(o, /^@\[97\]: 3$/m, `${bin}: ${o}`);
      assert.match(o, /^@line: 3$/m, `${bin}: ${o}`);
    }
  } finally {
    fs.rmSync(v.dir, { recursive: true, force: true });
  }
});

kernelTest('uprobe dwarf: ustack names local functions of a stripped library from its separate debug file (libc6-dbg)', async (t) => {
  const libc = '/lib/x86_64-linux-gnu/libc.so.6';
  const id = fs.existsSync(libc) ? ElfFile.open(libc).buildId() : undefined;
  if (!id || !fs.existsSync(`/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`)) {
    t.skip('libc6-dbg is not installed (.ci/run installs it)');
    return;
  }
  const bin = buildFixture('dwarf_target');
  // the fixture waits after its loops (an argument), so its mappings are there when the stacks print
  const o = await run(['-c', `${bin} hold`, '-e', `uprobe:${bin}:branch { @[ustack] = count(); @i += 1; if (@i == 7) { exit(); } }`]);
  // libc's .dynsym has no __libc_start_call_main: only the debug file's .symtab names it
  assert.match(o, /^@\[\n\s+branch\+0\n\s+main\+\d+\n\s+__libc_start_call_main\+\d+\n(\s+.*\n)*\]: 7$/m, o);
});
