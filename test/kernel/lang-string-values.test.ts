/**
 * strcontains() with needles that are values (matched at run time, up to
 * each string's NUL) and `s[i]` of strings (a variable index past the end
 * reads 0), against answers the script's own strings fix.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';

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
