import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { preprocess, preprocessDirectives } from '../../src/lang/preprocess';
import { CompileError } from '../../src/lang/diagnostics';

const src = (text: string) => ({ name: 'x.bt', text });

function ppError(text: string, defines?: Record<string, string>): string {
  try {
    preprocess(src(text), { defines });
  } catch (e) {
    assert.ok(e instanceof CompileError, String(e));
    return e.format().split('\n')[0];
  }
  assert.fail('expected a preprocessor error');
}

test('#include lines are recorded and blanked, keeping every offset', () => {
  const text = '#include <linux/sched.h>\n  #include "my.h"\nBEGIN { }\n';
  const r = preprocess(src(text));
  assert.deepEqual(r.includes, ['linux/sched.h', 'my.h']);
  assert.equal(r.text.length, text.length);
  assert.equal(r.text.split('\n')[0].trim(), '');
  assert.equal(r.text.indexOf('BEGIN'), text.indexOf('BEGIN'));
});

test('object-like #define substitutes whole identifiers outside strings and comments', () => {
  const text = '#define N 4\n#define NAME "x"\nBEGIN { @a[N] = NN + N; printf("N %s", NAME); $N = 1; @N = 2; // N\n }';
  const r = preprocess(src(text));
  assert.equal(r.macros.get('N'), '4');
  assert.equal(r.macros.get('NAME'), '"x"');
  const body = r.text.split('\n')[2];
  assert.equal(body, 'BEGIN { @a[4] = NN + 4; printf("N %s", "x"); $N = 1; @N = 2; // N');
});

test('macros may use other macros; self-reference does not loop', () => {
  const r = preprocess(src('#define A (B + 1)\n#define B 2\n#define S S\nA S'));
  assert.equal(r.text.split('\n')[3], '(2 + 1) S');
});

test('#undef, empty defines and continued lines', () => {
  const r = preprocess(src('#define X 1\n#undef X\n#define E\n#define LONG 1 + \\\n  2\nX E LONG'));
  assert.equal(r.macros.has('X'), false);
  assert.equal(r.macros.get('E'), '');
  assert.equal(r.macros.get('LONG'), '1 +    2');
  const lines = r.text.split('\n');
  assert.equal(lines.length, 6);
  assert.equal(lines[5], 'X  1 +    2');
});

test('function-like macros are a clear error at the directive', () => {
  assert.equal(
    ppError('BEGIN { }\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n'),
    "x.bt:2:1-42: ERROR: function-like macro 'MAX' is not supported: only object-like macros (#define NAME value) are",
  );
});

test('conditionals: BPFTRACE_HAVE_BTF is defined, #ifdef/#ifndef/#else/#endif', () => {
  const text = [
    '#ifndef BPFTRACE_HAVE_BTF',
    '#include <net/sock.h>',
    'NO',
    '#else',
    '#define AF_INET 2',
    'YES',
    '#endif',
    '#ifdef NOPE',
    'NO2',
    '#endif',
  ].join('\n');
  const r = preprocess(src(text));
  assert.deepEqual(r.includes, []);
  assert.equal(r.macros.get('AF_INET'), '2');
  assert.equal(r.text.replace(/\s+/g, ' ').trim(), 'YES');
  assert.equal(r.text.length, text.length);
});

test('#if expressions with defined(), arithmetic, comparisons and #elif', () => {
  const pick = (cond: string, defines?: Record<string, string>) =>
    preprocess(src(`#if ${cond}\nA\n#elif 1\nB\n#else\nC\n#endif`), { defines }).text.replace(/\s+/g, '');
  assert.equal(pick('1'), 'A');
  assert.equal(pick('0'), 'B');
  assert.equal(pick('defined(BPFTRACE_HAVE_BTF) && !defined FOO'), 'A');
  assert.equal(pick('V >= 5 && V < 10', { V: '7' }), 'A');
  assert.equal(pick('V >= 5 && V < 10', { V: '11' }), 'B');
  assert.equal(pick('UNDEFINED_NAME'), 'B');
  assert.equal(pick('(1 << 4) == 0x10 ? 1 : 0'), 'A');
  assert.equal(preprocess(src('#if 0\nA\n#elif 0\nB\n#else\nC\n#endif')).text.replace(/\s+/g, ''), 'C');
  // Nested inactive branches stay inactive even when their own condition holds.
  assert.equal(preprocess(src('#if 0\n#if 1\nA\n#endif\n#else\nB\n#endif')).text.replace(/\s+/g, ''), 'B');
});

test('conditional errors point at the directive', () => {
  assert.equal(ppError('#if 1\nA\n'), 'x.bt:1:1-6: ERROR: unterminated conditional: #if without #endif');
  assert.equal(ppError('A\n#endif\n'), 'x.bt:2:1-7: ERROR: #endif without #if');
  assert.match(ppError('#else\n'), /#else without #if/);
  assert.match(ppError('#if 1 +\n#endif'), /invalid #if expression/);
  assert.match(ppError('#frobnicate x\n'), /unsupported preprocessor directive: #frobnicate/);
  assert.match(ppError('#error stop here\n'), /ERROR: #error stop here/);
});

test('defines from options act like -D and #directives in comments are ignored', () => {
  const r = preprocess(src('/*\n#define IN_COMMENT 1\n*/ V'), { defines: { V: '42' } });
  assert.equal(r.macros.has('IN_COMMENT'), false);
  assert.equal(r.text.split('\n')[2], '*/ 42');
});

test('a #! line is blanked', () => {
  const r = preprocessDirectives(src('#!/usr/bin/env bpftrace\nBEGIN {}'));
  assert.equal(r.text, ' '.repeat(23) + '\nBEGIN {}');
});
