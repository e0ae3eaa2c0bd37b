/**
 * Compile errors as the user sees them: "NAME:LINE:COL-END: ERROR: message",
 * the source line, and a caret under the span (bpftrace's layout). No kernel.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { unitTarget } from '../helpers/target';

function errorOf(text: string, name = 'stdin'): string {
  try {
    compile({ name, text }, { target: unitTarget() });
  } catch (e) {
    assert.ok(e instanceof CompileError, `not a CompileError: ${String(e)}`);
    return e.format();
  }
  assert.fail(`compiled without error: ${text}`);
}

/** [line, col, caret column] of the first diagnostic. */
function where(out: string): [number, number, number] {
  const lines = out.split('\n');
  const m = /^\S+?:(\d+):(\d+)/.exec(lines[0]);
  assert.ok(m, out);
  return [Number(m[1]), Number(m[2]), lines[2].search(/[~^]/) + 1];
}

test('unknown function: position and caret as bpftrace (1:9)', () => {
  const out = errorOf('BEGIN { foo(1); }');
  assert.match(out, /^stdin:1:9-\d+: ERROR: unknown function: foo\nBEGIN \{ foo\(1\); \}\n {8}~+/i);
  assert.deepEqual(where(out), [1, 9, 9]);
});

test('missing semicolon: points at the next statement on its line', () => {
  const out = errorOf('BEGIN { printf("x")\n  exit(); }', 'f.bt');
  assert.match(out, /^f\.bt:2:3-\d+: ERROR: syntax error/);
  assert.deepEqual(where(out), [2, 3, 3]);
  assert.equal(out.split('\n')[1], '  exit(); }');
});

test('aggregation argument count: the whole call underlined (1:14)', () => {
  const out = errorOf('BEGIN { @x = hist(1, 2, 3); }');
  assert.deepEqual(where(out), [1, 14, 14]);
  assert.match(out.split('\n')[2], /^ {13}~{13}$/);
});

test('printf arguments: count mismatch underlines the call, type mismatch the argument', () => {
  assert.deepEqual(where(errorOf('BEGIN { printf("%d %d\\n", 1); }')), [1, 9, 9]);
  assert.deepEqual(where(errorOf('BEGIN { printf("%d\\n", "s"); }')), [1, 24, 24]);
});

test('unsafe builtins are refused without the unsafe option, with the flag to use', () => {
  assert.match(errorOf('BEGIN { system("true"); exit(); }'), /ERROR: system\(\) is an unsafe function: run with --unsafe/);
  assert.equal(compile({ name: 'stdin', text: 'BEGIN { system("true"); exit(); }' }, { unsafe: true, target: unitTarget() }).unsafe, true);
});

test('a diagnostic never carries a stack trace in its formatted text', () => {
  for (const t of ['BEGIN { foo(1); }', 'BEGIN {', 'kprobe: { }', 'BEGIN { $x = "a" + 1; }', 'BEGIN { @ = count(1, 2); }']) {
    const out = errorOf(t);
    assert.doesNotMatch(out, /^\s+at /m, out);
    assert.match(out, /ERROR: /);
  }
});

test("semantic errors in bpftrace's wording: unroll bounds, len()/has_key() of a keyless map, constant array index", () => {
  assert.match(errorOf('BEGIN { unroll (0) { } }'), /ERROR: unroll minimum value is 1/);
  assert.match(errorOf('BEGIN { unroll (101) { } }'), /ERROR: unroll maximum value is 100/);
  assert.match(errorOf('BEGIN { @ = 0; print(len(@)); }'), /ERROR: call to len\(\) expects a map with explicit keys \(non-scalar map\)/);
  assert.match(errorOf('BEGIN { @g = 2; print(has_key(@g, 2)); }'), /ERROR: call to has_key\(\) expects a map with explicit keys/);
  assert.match(errorOf('struct A { int x[4]; } BEGIN { $a = (struct A *) 0; print($a.x[5]); }'), /ERROR: the index 5 is out of bounds for array of size 4/);
});
