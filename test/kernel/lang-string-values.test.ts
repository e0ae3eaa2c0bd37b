/**
 * strcontains() with needles that are values (matched at run time, up to
 * each string's NUL) and `s[i]` of strings (a variable index past the end
 * reads 0), against answers the script's own strings fix.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

const lines = (s: string) => s.split('\n').filter((l) => l !== '' && !l.startsWith('Attach'));

kernelTest('lang strings: strcontains with variable needles, NULs inside, empty needles; string indexing', async () => {
  const r = await runTsbpf(['-e', `BEGIN {
    $h = "foobar"; $n = "bar"; $m = "baz"; $e = ""; $z = "wo\\0rld"; $hz = "hello\\0world"; $o = "abac";
    printf("%d %d %d %d %d %d %d\\n", strcontains($h, $n), strcontains($h, $m), strcontains($h, $e), strcontains("", $e),
      strcontains("hello world", $z), strcontains($hz, $z), strcontains("ababac", $o));
    $i = 2; $far = (uint64)100;
    printf("%c%c%c %d %d\\n", $h[0], $h[$i], $h[5], $h[$far], $hz[5]);
    exit(); }`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), ['1 0 1 1 1 0 1', 'for 0 0']);
});

kernelTest('lang strings: str() of a path cut at max_strlen prints the trailer (F60, also a custom one); str(p, n) keeps n - 1 characters', async () => {
  const prog = 'tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[str(args.filename), str(args.filename, 5), str(args.filename, 300)] = count(); }';
  const run = async (env: NodeJS.ProcessEnv, config = '') => {
    const r = await runTsbpf(['-c', buildFixture('uprobe_target'), '-e', config + prog], { input: 'enoent 3\n', env: { ...process.env, ...env } });
    assert.equal(r.code, 0, r.stderr);
    return lines(r.stdout).filter((l) => l.startsWith('@[/nonexis')); // the loader's own opens come first
  };
  // "/nonexistent-tsbpf-fixture/file": 31 characters
  assert.deepEqual(await run({ BPFTRACE_MAX_STRLEN: '8' }), ['@[/nonexis.., /non, /nonexis..]: 3']);
  assert.deepEqual(await run({ BPFTRACE_MAX_STRLEN: '8', BPFTRACE_STR_TRUNC_TRAILER: '_x' }), ['@[/nonexis_x, /non, /nonexis_x]: 3']);
  assert.deepEqual(await run({}, 'config = { str_trunc_trailer = "~" } '), ['@[/nonexistent-tsbpf-fixture/file, /non, /nonexistent-tsbpf-fixture/file]: 3']);
  assert.deepEqual(await run({ BPFTRACE_MAX_STRLEN: '31' }, 'config = { str_trunc_trailer = "~" } '), ['@[/nonexistent-tsbpf-fixture/file~, /non, /nonexistent-tsbpf-fixture/file~]: 3']);
  assert.deepEqual(await run({ BPFTRACE_MAX_STRLEN: '32' }), ['@[/nonexistent-tsbpf-fixture/file, /non, /nonexistent-tsbpf-fixture/file]: 3']);
});
