/**
 * strcontains() with a needle that is a value, not a literal, and `s[i]` of a
 * string (bpftrace 0.25+; btrt strcontains.*).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { unitTarget } from '../helpers/target';

const src = (text: string) => ({ name: 't.bt', text });

function errorOf(text: string): string {
  try {
    compile(src(text), { target: unitTarget() });
  } catch (e) {
    if (e instanceof CompileError) return e.diagnostics.map((d) => d.message).join('\n');
    throw e;
  }
  assert.fail(`expected a CompileError for ${text}`);
}

test('strcontains() takes any string needle; one too long to unroll is one sentence', () => {
  compile(src('BEGIN { $n = "bar"; @ = strcontains(str(arg0), $n); @b = strcontains(comm, str(arg1, 32)); }'), { target: unitTarget() });
  const long = 'x'.repeat(200);
  assert.match(errorOf(`BEGIN { $n = "${long}"; @ = strcontains("${long}", $n); }`), /strcontains\(\): searching a string\[\d+\] in a string\[\d+\] takes too many instructions; shorten them with str\(s, n\)/);
  assert.match(errorOf('BEGIN { @ = strcontains("foo", 1); }'), /strcontains\(\) needs strings/);
});

test('a string indexes to a char; a constant index past the end is an error', () => {
  compile(src('BEGIN { $a = "foo"; $i = 2; printf("%c %c\\n", $a[0], $a[$i]); }'), { target: unitTarget() });
  assert.match(errorOf('BEGIN { $a = "foo"; printf("%c", $a[4]); }'), /the index 4 is out of bounds for string\[4\]/);
});
