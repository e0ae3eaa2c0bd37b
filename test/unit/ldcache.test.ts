import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { ldCache, parseLdCache, resolveLibrary, LibraryNotFoundError } from '../../src/ebpf/ldcache';

/** `ldconfig -p`: the ground truth for /etc/ld.so.cache. */
function ldconfigP(): [string, string][] {
  const out = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
  // the 64-bit libc6 entries of this architecture (x86-64 or AArch64, as ldconfig names them)
  return [...out.matchAll(/^\t(\S+) \(libc6,(?:x86-64|AArch64)[^)]*\) => (\S+)$/gm)].map((m) => [m[1], m[2]]);
}

test('ld.so.cache entries match ldconfig -p', { skip: !fs.existsSync('/etc/ld.so.cache') && 'no /etc/ld.so.cache' }, () => {
  const ref = ldconfigP();
  assert.ok(ref.length > 10);
  assert.deepEqual(ldCache().map((e) => [e.name, e.path]), ref);
});

test('short names resolve like bpftrace/bcc do', () => {
  const libc = ldconfigP().find(([n]) => n === 'libc.so.6')![1];
  assert.equal(resolveLibrary('c'), libc);
  assert.equal(resolveLibrary('libc'), libc);
  assert.equal(resolveLibrary('libc.so.6'), libc);
  assert.equal(resolveLibrary(libc), libc);
  assert.equal(resolveLibrary('libc', process.pid), fs.readFileSync('/proc/self/maps', 'utf8').match(/\s(\/\S*libc\.so\.6)\n/)![1]);
  const m = ldconfigP().find(([n]) => n === 'libm.so.6');
  if (m) assert.equal(resolveLibrary('m'), m[1]);
  assert.throws(() => resolveLibrary('no_such_library_xyz'), LibraryNotFoundError);
  assert.throws(() => resolveLibrary('/no/such/lib.so'), LibraryNotFoundError);
});

test('old-format header before the new table is skipped', () => {
  // Synthesize: "ld.so-1.7.0" + nlibs=1 + one 12-byte entry, then the new table, 8-aligned.
  const oldPart = Buffer.alloc(16 + 12);
  oldPart.write('ld.so-1.7.0', 0, 'latin1');
  oldPart.writeUInt32LE(1, 12);
  const pad = Buffer.alloc(((oldPart.length + 7) & ~7) - oldPart.length);
  const hdr = Buffer.alloc(48);
  hdr.write('glibc-ld.so.cache1.1', 0, 'latin1');
  hdr.writeUInt32LE(1, 20);
  const strings = Buffer.from('libfoo.so.1\0/opt/lib/libfoo.so.1\0', 'latin1');
  const ent = Buffer.alloc(24);
  ent.writeInt32LE(0x0303, 0);
  ent.writeUInt32LE(48 + 24, 4);
  ent.writeUInt32LE(48 + 24 + 12, 8);
  const img = Buffer.concat([oldPart, pad, hdr, ent, strings]);
  assert.deepEqual(parseLdCache(img), [{ name: 'libfoo.so.1', path: '/opt/lib/libfoo.so.1', flags: 0x0303 }]);
  assert.deepEqual(parseLdCache(Buffer.from('garbage')), []);
});
