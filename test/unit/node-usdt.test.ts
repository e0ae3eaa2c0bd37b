/**
 * USDT providers without a tracer: the generated shared object as binutils'
 * readelf and tsbpf's own ELF/USDT readers see it, loading it into this
 * process, and fire() — untraced (the callback never runs) and with the
 * semaphore raised by hand through /proc/self/mem, as the kernel raises it
 * for an attached tracer (then the callback runs and the probe function is
 * called). No root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ElfFile } from '../../src/ebpf/elf';
import { readUsdtProbes } from '../../src/ebpf/usdt';
import { buildProviderObject, provider, usdtArgSpec, UsdtProviderError, type ProviderProbe, type UsdtArgType } from '../../src/ebpf/usdt-provider';
import { buildSharedObject, elfHash } from '../../src/ebpf/elfwriter';
import { usdt } from '../../src/index';

const sixArgs: UsdtArgType[] = ['uint8', 'int64', 'string', 'int16', 'uint64', 'uint32'];
const probes = [
  { name: 'firstProbe', types: ['int32', 'string'] as UsdtArgType[] },
  { name: 'noArgs', types: [] as UsdtArgType[] },
  { name: 'six', types: sixArgs },
];

function writeTemp(image: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-usdt-unit-'));
  const file = path.join(dir, 'myapp.so');
  fs.writeFileSync(file, image);
  return file;
}

// enable() loads the generated object, whose code is x86-64's; elsewhere it refuses in one sentence (checked below)
const notX64 = process.arch === 'x64' ? false : `USDT providers are x86-64 only (this is ${process.arch})`;

test('argument specs follow the stapsdt convention: size, sign, the x86-64 argument registers', () => {
  assert.equal(usdtArgSpec(['int32', 'string']), '-4@%rdi 8@%rsi');
  assert.equal(usdtArgSpec(sixArgs), '1@%rdi -8@%rsi 8@%rdx -2@%rcx 8@%r8 4@%r9');
  assert.equal(usdtArgSpec([]), '');
});

test('readelf -n shows one stapsdt note per probe; -S the sections; --dyn-syms the functions and semaphores', () => {
  const file = writeTemp(buildProviderObject('myapp', probes));
  try {
    const notes = execFileSync('readelf', ['-n', file], { encoding: 'utf8' });
    const re = /Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)\n\s+Arguments: ?(.*)/g;
    const seen = [...notes.matchAll(re)].map((m) => ({ provider: m[1], name: m[2], pc: parseInt(m[3], 16), base: parseInt(m[4], 16), sema: parseInt(m[5], 16), args: m[6] }));
    assert.deepEqual(seen.map((n) => [n.provider, n.name, n.args]), [
      ['myapp', 'firstProbe', '-4@%rdi 8@%rsi'], ['myapp', 'noArgs', ''], ['myapp', 'six', '1@%rdi -8@%rsi 8@%rdx -2@%rcx 8@%r8 4@%r9'],
    ]);

    const sections = execFileSync('readelf', ['-S', '-W', file], { encoding: 'utf8' });
    const row = (name: string): string[] => {
      const m = new RegExp(`\\] ${name.replace('.', '\\.')}\\s+(\\S+)\\s+([0-9a-f]+)\\s+([0-9a-f]+)\\s+([0-9a-f]+)\\s+([0-9a-f]+)\\s+([A-Z]*)`).exec(sections);
      assert.ok(m, `${name} in readelf -S:\n${sections}`);
      return m.slice(1);
    };
    assert.equal(row('.note.stapsdt')[0], 'NOTE');
    assert.equal(row('.note.stapsdt')[5], '', '.note.stapsdt is not allocated (as gcc emits it)');
    assert.deepEqual([row('.text')[0], row('.text')[5]], ['PROGBITS', 'AX']);
    assert.deepEqual([row('.probes')[0], row('.probes')[5]], ['PROGBITS', 'WA']);
    assert.deepEqual([row('.stapsdt.base')[0], row('.stapsdt.base')[5]], ['PROGBITS', 'A']);
    assert.equal(row('.dynamic')[0], 'DYNAMIC');
    assert.equal(row('.hash')[0], 'HASH');

    // Every note points at its function's first byte (the nop), at .stapsdt.base, and at its semaphore.
    const dyn = execFileSync('readelf', ['--dyn-syms', '-W', file], { encoding: 'utf8' });
    const sym = (name: string): number => {
      const m = new RegExp(`: ([0-9a-f]+)\\s+\\d+ (FUNC|OBJECT)\\s+GLOBAL\\s+DEFAULT\\s+\\d+ ${name}$`, 'm').exec(dyn);
      assert.ok(m, `${name} in readelf --dyn-syms:\n${dyn}`);
      return parseInt(m[1], 16);
    };
    const base = parseInt(row('.stapsdt.base')[1], 16);
    for (const n of seen) {
      assert.equal(n.pc, sym(n.name));
      assert.equal(n.sema, sym(`myapp_${n.name}_semaphore`));
      assert.equal(n.base, base);
    }
    const all = spawnSync('readelf', ['-a', '-W', file], { encoding: 'utf8' });
    assert.equal(all.status, 0);
    assert.equal(all.stderr, '', 'readelf finds nothing malformed');
    const img = fs.readFileSync(file);
    for (const n of seen) assert.deepEqual([...img.subarray(n.pc, n.pc + 2)], [0x90, 0xc3], 'nop; ret at the probe site');
    // Three loads (R, R+X, R+W), the dynamic section, a non-executable stack.
    const ph = execFileSync('readelf', ['-l', '-W', file], { encoding: 'utf8' });
    assert.deepEqual([...ph.matchAll(/^\s+(LOAD|DYNAMIC|GNU_STACK)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(R?\s?W?\s?E?)\s+0x/gm)].map((m) => `${m[1]} ${m[2].replace(/\s/g, '')}`),
      ['LOAD R', 'LOAD RE', 'LOAD RW', 'DYNAMIC RW', 'GNU_STACK RW']);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true });
  }
});

test("tsbpf's own ELF and USDT readers read the generated object back", () => {
  const file = writeTemp(buildProviderObject('myapp', probes));
  try {
    const elf = ElfFile.open(file);
    const ps = readUsdtProbes(file);
    assert.deepEqual(ps.map((p) => `${p.provider}:${p.name}`), ['myapp:firstProbe', 'myapp:noArgs', 'myapp:six']);
    for (const p of ps) {
      assert.equal(p.argError, undefined);
      assert.equal(p.fileOffset, elf.symbolFileOffset(p.name), 'uprobe offset = the function');
      assert.equal(p.semaphoreOffset, elf.vaddrToFileOffset(elf.symbol(`myapp_${p.name}_semaphore`)?.value ?? -1));
      assert.equal(p.address, p.pc, 'no prelink adjustment: .stapsdt.base is where the note says');
    }
    const six = ps[2].args ?? [];
    assert.deepEqual(six.map((a) => [a.kind, a.size, a.signed, a.kind === 'reg' ? a.reg.reg : '']), [
      ['reg', 1, false, 'rdi'], ['reg', 8, true, 'rsi'], ['reg', 8, false, 'rdx'], ['reg', 2, true, 'rcx'], ['reg', 8, false, 'r8'], ['reg', 4, false, 'r9'],
    ]);
    assert.equal(elf.symbolAt(ps[0].address)?.symbol.name, 'firstProbe');
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true });
  }
});

test('the System V hash matches the gABI reference values', () => {
  assert.equal(elfHash(''), 0);
  assert.equal(elfHash('main'), 0x737fe);
  // Long names exercise the high-nibble fold.
  assert.equal(elfHash('myapp_a_rather_long_probe_name_semaphore') >>> 28, 0);
});

/** Sets the probe's semaphore the way the kernel does for a tracer: a write into this process's memory. */
function setSemaphore(p: { path?: string }, probeName: string, value: number): void {
  const file = p.path as string;
  const site = readUsdtProbes(file).find((x) => x.name === probeName);
  assert.ok(site);
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/));
  const m = maps.find((f) => f[5] === file && parseInt(f[2], 16) <= site.semaphoreOffset && site.semaphoreOffset < parseInt(f[2], 16) + 0x1000);
  assert.ok(m, `${file} is mapped`);
  const addr = parseInt(m[0].split('-')[0], 16) + site.semaphoreOffset - parseInt(m[2], 16);
  const fd = fs.openSync('/proc/self/mem', 'r+');
  try {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(value);
    fs.writeSync(fd, b, 0, 2, addr);
  } finally {
    fs.closeSync(fd);
  }
}

test('enable() maps the object from a private directory; fire() runs the callback only while the semaphore is up; disable() removes it', { skip: notX64 }, () => {
  const pr = usdt.provider('unitapp');
  const first = pr.probe('firstProbe', 'int', 'char *');
  const six = pr.probe('six', ...sixArgs);
  const tick = pr.probe('tick');
  let calls = 0;
  first.fire(() => [calls++, 'before enable']);
  pr.enable();
  try {
    const file = pr.path as string;
    assert.ok(file);
    const dir = path.dirname(file);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(file).uid, process.getuid?.());
    assert.ok(fs.readFileSync('/proc/self/maps', 'utf8').split('\n').some((l) => l.endsWith(` ${file}`) && l.includes(' r-xp ')), 'the probe functions are mapped executable');

    for (let i = 0; i < 1000; i++) first.fire(() => [calls++, 'untraced']);
    assert.equal(calls, 0);
    assert.equal(first.traced, false);

    setSemaphore(pr, 'firstProbe', 1);
    assert.equal(first.traced, true);
    assert.equal(six.traced, false, 'each probe has its own semaphore');
    first.fire(() => [calls++, 'traced']);
    first.fire(() => [-5, 'x'.repeat(10_000)]); // a string longer than the native side's inline buffer
    assert.equal(calls, 1);
    assert.throws(() => first.fire(() => [1]), /probe unitapp:firstProbe takes 2 arguments \(int32, string\), the callback returned 1/);
    assert.throws(() => first.fire(() => ['1', 'x']), /argument 1 must be an integer or bigint, got a string/);
    assert.throws(() => first.fire(() => [1.5, 'x']), /argument 1 must be an integer or bigint, got the number 1.5/);
    assert.throws(() => first.fire(() => [1, 2]), /argument 2 must be a string, got the number 2/);

    setSemaphore(pr, 'six', 2);
    let sixCalls = 0;
    six.fire(() => (sixCalls++, [255, -(2n ** 63n), 'six', -1, 2n ** 64n - 1n, 4294967295]));
    assert.equal(sixCalls, 1);
    setSemaphore(pr, 'tick', 1);
    tick.fire(); // no arguments, no callback
    setSemaphore(pr, 'firstProbe', 0);
    first.fire(() => [calls++, 'untraced again']);
    assert.equal(calls, 1);

    pr.disable();
    assert.equal(pr.path, undefined);
    assert.ok(!fs.existsSync(dir), 'the private directory is removed');
    assert.ok(!fs.readFileSync('/proc/self/maps', 'utf8').includes(file), 'the object is unmapped');
    six.fire(() => (sixCalls++, [0, 0, '', 0, 0, 0]));
    assert.equal(sixCalls, 1, 'no callback once disabled');

    // Enabled again: a new object, probes live again (untraced).
    pr.enable();
    assert.notEqual(pr.path, file);
    first.fire(() => [calls++, 'x']);
    assert.equal(calls, 1);
  } finally {
    pr.disable();
  }
});

test('a provider with many probes: every symbol resolves through the generated hash table', { skip: notX64 }, () => {
  const pr = provider('many');
  const list: ProviderProbe[] = [];
  for (let i = 0; i < 40; i++) list.push(pr.probe(`probe_${i}`, 'int64'));
  pr.enable();
  try {
    assert.equal(readUsdtProbes(pr.path as string).length, 40);
    setSemaphore(pr, 'probe_17', 1);
    const fired = list.map((p, i) => { let n = 0; p.fire(() => (n++, [i])); return n; });
    assert.deepEqual(fired, list.map((_, i) => (i === 17 ? 1 : 0)));
    assert.throws(() => list[17].fire(), /probe many:probe_17 takes 1 argument \(int64\), the callback returned 0/);
  } finally {
    pr.disable();
  }
});

test('stale directories of dead processes are swept at enable(); live ones are kept', { skip: notX64 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-usdt-sweep-'));
  try {
    // Pid 2^22+1 is above the kernel's pid_max limit, so no such process exists.
    const dead = path.join(tmp, `tsbpf-usdt-${2 ** 22 + 1}-abc`);
    const live = path.join(tmp, `tsbpf-usdt-${process.ppid}-def`);
    for (const d of [dead, live]) {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'x.so'), 'x');
    }
    const pr = usdt.provider('sweep', { dir: tmp });
    pr.probe('p');
    pr.enable();
    try {
      assert.ok(!fs.existsSync(dead));
      assert.ok(fs.existsSync(live));
      assert.ok((pr.path as string).startsWith(`${tmp}/tsbpf-usdt-${process.pid}-`));
    } finally {
      pr.disable();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true });
  }
});

test('bad declarations are one sentence each', { skip: notX64 }, () => {
  assert.throws(() => usdt.provider('my-app'), (e: Error) => e instanceof UsdtProviderError && /provider name 'my-app' must be a C identifier/.test(e.message));
  const pr = usdt.provider('errs');
  assert.throws(() => pr.probe('p', 'float'), /probe 'p': unknown argument type 'float'/);
  assert.throws(() => pr.probe('p', 'int', 'int', 'int', 'int', 'int', 'int', 'int'), /probe 'p' has 7 arguments; USDT probes take at most 6/);
  assert.throws(() => pr.probe('a:b'), /probe name 'a:b' must be a C identifier/);
  pr.probe('p', 'int');
  assert.throws(() => pr.probe('p'), /provider 'errs' already has a probe 'p'/);
  assert.throws(() => pr.probe('errs_p_semaphore'), /probe name 'errs_p_semaphore' clashes with the symbols of probe 'p'/);
  pr.enable();
  try {
    assert.throws(() => pr.probe('q'), /provider 'errs' is enabled: declare probe 'q' before enable\(\)/);
  } finally {
    pr.disable();
  }
  const noexec = usdt.provider('nodir', { dir: '/nonexistent/dir' });
  assert.throws(() => noexec.enable(), /cannot create a directory for provider 'nodir' in \/nonexistent\/dir/);
});

test('the writer rejects duplicate symbols', () => {
  assert.throws(() => buildSharedObject({ soname: 'x.so', functions: [{ name: 'a', code: Uint8Array.of(0xc3) }], variables: { section: '.data', items: [{ name: 'a', size: 4 }] } }), /distinct/);
});

test('on other architectures enable() refuses in one sentence', { skip: process.arch === 'x64' && 'this is x86-64' }, () => {
  const pr = usdt.provider('tsbpfarch');
  pr.probe('p');
  assert.throws(() => pr.enable(), (e: unknown) => e instanceof UsdtProviderError && e.message === `USDT providers are implemented for x86-64 only, not ${process.arch}`);
});
