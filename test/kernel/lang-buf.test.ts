/**
 * buf() of string values (issue 19: "buf() of strings and char arrays"; bpftrace
 * 0.26): the string's bytes, at most its size, NUL included when the length
 * asks for it; as map keys and values, and through printf %r/%rx/%rh. The
 * fixture opens one known path exactly 9 times.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

async function out(args: string[], input?: string): Promise<string> {
  const r = await runTsbpf(args, input !== undefined ? { input } : {});
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

kernelTest('buf() of a string: map keys and values, %r %rx %rh, the NUL when asked for', async () => {
  const o = await out(['-e', 'BEGIN { @k[buf("ok_key", 7)] = 1; @k[buf("ok_key", 6)] = 2; @v = buf("ok_value", 8); printf("%rx|%rh|%r\\n", buf("Hi\\0", 3), buf("Hi\\0", 3), buf("Hi", 2)); exit(); }']);
  assert.match(o, /^@k\[ok_key\\x00\]: 1$/m, o);
  assert.match(o, /^@k\[ok_key\]: 2$/m, o);
  assert.match(o, /^@v: ok_value$/m, o);
  assert.match(o, /^\\x48\\x69\\x00\|48 69 00\|Hi$/m, o);
});

kernelTest('buf() of a string read in the kernel: the first bytes of a path, counted exactly', async () => {
  const o = await out(['-c', buildFixture('uprobe_target'), '-e',
    'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[buf(str(args.filename), 12)] = count(); }'], 'enoent 9\n');
  assert.match(o, /^@\[\/nonexistent\]: 9$/m, o);
});
