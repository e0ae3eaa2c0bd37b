import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import {
  KernelSymbols, kernelSymbols, ProcessSymbols, captureProcess, forgetProcess, usym, parseMaps,
  formatStack, formatKstack, formatUstack,
} from '../../src/ebpf/symbolize';
import { ElfFile } from '../../src/ebpf/elf';
import { buildFixture } from '../helpers/fixtures';

test('kallsyms parsing keeps all 64 bits and sorts module symbols', () => {
  const text = [
    'ffffffffc0000010 t mod_b\t[mymod]',
    'ffffffffc0000001 t mod_a\t[mymod]',
    'ffffffff81000000 T _text',
    'ffffffff81000100 T func_one',
    '0000000000000000 A fixed_percpu_data',
    'ffffffffc0000000 t ftrace_tramp\t[__builtin__ftrace]',
    '',
  ].join('\n');
  const ks = new KernelSymbols(text);
  assert.equal(ks.size, 5);
  assert.deepEqual(ks.lookup(0xffffffff81000105n), { name: 'func_one', offset: 5, module: undefined });
  // Doubles would merge ...c0000000 and ...c0000001.
  assert.deepEqual(ks.lookup(0xffffffffc0000000n), { name: 'ftrace_tramp', offset: 0, module: '__builtin__ftrace' });
  assert.deepEqual(ks.lookup(0xffffffffc0000001n), { name: 'mod_a', offset: 0, module: 'mymod' });
  assert.deepEqual(ks.lookup(0xffffffffc000000fn), { name: 'mod_a', offset: 14, module: 'mymod' });
  assert.deepEqual(ks.lookup(0xffffffffc0000012n), { name: 'mod_b', offset: 2, module: 'mymod' });
  assert.equal(ks.lookup(0xffffffff80000000n), undefined);
  assert.equal(ks.address('mod_b'), 0xffffffffc0000010n);
});

/** nm's view of the fixture: function name -> link-time address. */
function nmFunctions(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of execFileSync('nm', [file], { encoding: 'utf8' }).split('\n')) {
    const m = /^([0-9a-f]+) [Tt] (\S+)$/.exec(l);
    if (m) out.set(m[2], parseInt(m[1], 16));
  }
  return out;
}

test('user addresses of a running fixture resolve to nm names, also after it exits', async (t) => {
  const fx = buildFixture('usdt_target');
  const child = spawn(fx, ['1', '20000'], { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // Wait until the dynamic loader has mapped libc.
  const pid = child.pid!;
  for (let i = 0; i < 200; i++) {
    const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    if (maps.includes('libc.so')) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const maps = parseMaps(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'));
  const exe = fs.realpathSync(fx);
  // PIE load base: the mapping of the file at offset 0 (independent of our bias logic).
  const base = maps.find((m) => m.path === exe && m.offset === 0)!.start;
  assert.ok(base > 0);
  forgetProcess(pid);
  const snap = captureProcess(pid);
  assert.ok(snap);
  assert.equal(snap.loadBias(exe), base, 'PIE whose first PT_LOAD is at vaddr 0: bias is the load base');
  const nm = nmFunctions(fx);
  for (const fn of ['main', 'fire', 'fixture_leaf', 'fixture_middle', 'fixture_outer', 'raw_forms']) {
    const r = usym(pid, BigInt(base + nm.get(fn)! + 3));
    assert.deepEqual(r && [r.name, r.offset, r.module], [fn, 3, exe], fn);
  }
  // libc: dynsym values (readelf -s) plus libc's own load base.
  const libcMap = maps.find((m) => /libc\.so/.test(m.path) && m.offset === 0)!;
  const libc = ElfFile.open(libcMap.path);
  const getppid = libc.symbol('getppid')!;
  const r = usym(pid, base === 0 ? 0 : libcMap.start + getppid.value + 1);
  assert.ok(r);
  assert.equal(libc.symbol(r.name)?.value, getppid.value, `${r.name} is an alias of getppid`);
  assert.equal(r.offset, 1);

  // The process exits; the snapshot still resolves.
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(fs.existsSync(`/proc/${pid}/maps`), false);
  assert.equal(usym(pid, base + nm.get('fixture_leaf')!)?.name, 'fixture_leaf');
  const stack = formatUstack(pid, [BigInt(base + nm.get('fixture_leaf')! + 8), BigInt(base + nm.get('fixture_middle')! + 20), 0n]);
  assert.equal(stack, `\n        fixture_leaf+8\n        fixture_middle+20\n`);
  const perf = formatUstack(pid, [BigInt(base + nm.get('main')! + 1), 0x10n], { mode: 'perf' });
  assert.equal(perf, `\n\t${(base + nm.get('main')! + 1).toString(16)} main+1 (${exe})\n\t10 0x10 ([unknown])\n`);
  forgetProcess(pid);
  assert.equal(captureProcess(pid), undefined, 'a gone process cannot be captured');
  assert.equal(usym(pid, base), undefined);
});

test('stack formatting modes follow bpftrace', () => {
  const frames = [
    { addr: 0xffffffff814b0b2dn, sym: { name: 'perf_syscall_enter', offset: 397 } },
    { addr: 0xffffffff81415d70n, sym: { name: 'syscall_trace_enter', offset: 384 } },
    { addr: 0xffffffff81000130n },
  ];
  assert.equal(formatStack(frames, false), '\n        perf_syscall_enter+397\n        syscall_trace_enter+384\n        0xffffffff81000130\n');
  assert.equal(formatStack(frames, false, { indent: 4 }), '\n    perf_syscall_enter+397\n    syscall_trace_enter+384\n    0xffffffff81000130\n');
  assert.equal(formatStack(frames, false, { mode: 'perf' }),
    '\n\tffffffff814b0b2d perf_syscall_enter+397\n\tffffffff81415d70 syscall_trace_enter+384\n\tffffffff81000130 0xffffffff81000130\n');
  assert.equal(formatStack(frames, false, { offsets: false }), '\n        perf_syscall_enter\n        syscall_trace_enter\n        0xffffffff81000130\n');
  assert.equal(formatStack(frames, false, { mode: 'raw' }), '\nffffffff814b0b2d\nffffffff81415d70\nffffffff81000130\n');
});

test('JIT symbols from /tmp/perf-PID.map', (t) => {
  const pid = 2 ** 30 + 12345; // beyond pid_max: never a real process
  const file = `/tmp/perf-${pid}.map`;
  fs.writeFileSync(file, '7f0000001000 100 LazyCompile:~hello /app.js:1\n7f0000002000 20 Builtin:Foo\n');
  t.after(() => fs.rmSync(file, { force: true }));
  const p = new ProcessSymbols(pid, []);
  assert.deepEqual(p.lookup(0x7f0000001010), { name: 'LazyCompile:~hello /app.js:1', offset: 16, module: file });
  assert.equal(p.lookup(0x7f0000002020), undefined);
});
