/**
 * The addon's mapReadOnly (how vmlinux BTF is read at start-up, src/sys/vmlinux.ts):
 * the mapping holds the file's bytes, failures are errnos, and the BTF blob the
 * reader uses is byte for byte the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../src/sys/native';
import { VMLINUX_BTF, vmlinuxBtfBytes } from '../../src/sys/vmlinux';

const ENOENT = 2;
const EINVAL = 22;

test('mapReadOnly maps a file read-only and answers an errno otherwise', () => {
  const map = native().mapReadOnly;
  assert.ok(map, 'the addon has mapReadOnly');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-map-'));
  try {
    const file = path.join(dir, 'data');
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff));
    fs.writeFileSync(file, data);
    const m = map(file);
    assert.ok(m instanceof ArrayBuffer);
    assert.ok(Buffer.from(m).equals(data));
    assert.equal(map(path.join(dir, 'missing')), ENOENT);
    fs.writeFileSync(path.join(dir, 'empty'), '');
    assert.equal(map(path.join(dir, 'empty')), EINVAL, 'nothing to map');
    assert.equal(map(dir), EINVAL, 'a directory');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the vmlinux BTF the reader gets is the file, mapped where the kernel allows it', { skip: !fs.existsSync(VMLINUX_BTF) && 'no /sys/kernel/btf/vmlinux' }, () => {
  const bytes = vmlinuxBtfBytes();
  assert.ok(bytes.equals(fs.readFileSync(VMLINUX_BTF)));
  const m = native().mapReadOnly!(VMLINUX_BTF);
  // Linux 6.16+ maps it; older kernels refuse (EACCES/EINVAL) and the copy is used.
  if (typeof m === 'number') assert.ok(m > 0, `errno ${m}`);
  else assert.equal(m.byteLength, bytes.length);
});
