import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Lexer, tokenize, type Token } from '../../src/lang/lexer';
import { CompileError } from '../../src/lang/diagnostics';

const src = (text: string) => ({ name: 'stdin', text });
const toks = (text: string): Token[] => tokenize(src(text)).slice(0, -1);
const one = (text: string): Token => {
  const t = toks(text);
  assert.equal(t.length, 1, `expected one token in ${JSON.stringify(text)}, got ${t.map((x) => x.text).join(' ')}`);
  return t[0];
};
const int = (text: string): bigint => {
  const t = one(text);
  assert.equal(t.kind, 'int');
  return t.int!;
};

/** The formatted error for lexing `text` (fails if it lexes). */
function lexError(text: string): string {
  try {
    tokenize(src(text));
  } catch (e) {
    assert.ok(e instanceof CompileError, String(e));
    return e.format().split('\n')[0];
  }
  assert.fail(`expected a lexing error for ${JSON.stringify(text)}`);
}

test('integer literals: decimal, hex, octal, binary, separators, exponents', () => {
  assert.equal(int('0'), 0n);
  assert.equal(int('42'), 42n);
  assert.equal(int('0x10'), 16n);
  assert.equal(int('0XfF'), 255n);
  assert.equal(int('010'), 8n);
  assert.equal(int('0b101'), 5n);
  assert.equal(int('1_000_000'), 1_000_000n);
  assert.equal(int('1e6'), 1_000_000n);
  assert.equal(int('2e3'), 2000n);
  assert.equal(int('18446744073709551615'), 18446744073709551615n);
  assert.equal(one('1_000').text, '1_000');
});

test('integer suffixes: C suffixes are ignored, durations scale to nanoseconds', () => {
  assert.equal(int('123UL'), 123n);
  assert.equal(int('123u'), 123n);
  assert.equal(int('123LL'), 123n);
  assert.equal(int('0x10ull'), 16n);
  assert.equal(int('5ns'), 5n);
  assert.equal(int('5us'), 5_000n);
  assert.equal(int('5ms'), 5_000_000n);
  assert.equal(int('1s'), 1_000_000_000n);
  assert.equal(int('1m'), 60_000_000_000n);
  assert.equal(int('2h'), 7_200_000_000_000n);
  assert.equal(int('1d'), 86_400_000_000_000n);
});

test('invalid integer literals are errors spanning the whole literal', () => {
  assert.equal(lexError('x = 12abc;'), 'stdin:1:5-10: ERROR: invalid integer literal: 12abc (unknown suffix \'abc\')');
  assert.equal(lexError('0x'), 'stdin:1:1-3: ERROR: invalid integer literal: 0x');
  assert.match(lexError('08'), /^stdin:1:1-3: ERROR: invalid integer literal: 08 \(a leading 0 makes it octal\)/);
  assert.match(lexError('1K'), /invalid integer literal: 1K/);
  assert.match(lexError('18446744073709551616'), /integer literal too large/);
});

test('strings decode escapes', () => {
  const s = (text: string) => {
    const t = one(text);
    assert.equal(t.kind, 'string');
    return t.str;
  };
  assert.equal(s('"hello"'), 'hello');
  assert.equal(s('"a\\nb\\tc\\rd"'), 'a\nb\tc\rd');
  assert.equal(s('"q\\"q \\\\ \\\'"'), 'q"q \\ \'');
  assert.equal(s('"\\x41\\x4a"'), 'AJ');
  assert.equal(s('"\\101\\0z"'), 'A\0z');
  assert.equal(s('"\\0"'), '\0');
  assert.equal(s('""'), '');
  assert.equal(one('"a\\n"').text, '"a\\n"');
});

test('bad strings: unknown escape points at the escape, unterminated at the string', () => {
  assert.equal(lexError('printf("a\\qb")'), "stdin:1:10-12: ERROR: invalid escape character '\\q'");
  assert.equal(lexError('printf("abc);\nx'), 'stdin:1:8-14: ERROR: unterminated string');
  assert.equal(lexError('"abc'), 'stdin:1:1-5: ERROR: unterminated string');
  assert.match(lexError('"\\xZZ"'), /invalid escape character '\\x'/);
  assert.match(lexError('"\\777"'), /octal value out of range/);
});

test('variables, positional parameters and maps', () => {
  assert.deepEqual(
    toks('$x $_a1 $1 $12 $# @ @m @_x9').map((t) => [t.kind, t.text, t.index]),
    [
      ['var', 'x', undefined],
      ['var', '_a1', undefined],
      ['param', '$1', 1],
      ['param', '$12', 12],
      ['param', '$#', 0],
      ['map', '', undefined],
      ['map', 'm', undefined],
      ['map', '_x9', undefined],
    ],
  );
  assert.match(lexError('$ x'), /invalid character '\$'/);
  assert.match(lexError('$1a'), /invalid positional parameter: \$1a/);
});

test('operators are lexed by maximal munch', () => {
  const ops = '<<= >>= -> ++ -- += -= *= /= %= &= |= ^= << >> <= >= == != && || .. :: + - * / % & | ^ ! ~ < > = ? : ; , . ( ) [ ] { }';
  assert.deepEqual(
    toks(ops).map((t) => t.text),
    ops.split(' '),
  );
  assert.deepEqual(toks('a->b').map((t) => t.text), ['a', '->', 'b']);
  assert.deepEqual(toks('$i--').map((t) => t.text), ['i', '--']);
  assert.deepEqual(toks('0..10').map((t) => t.text), ['0', '..', '10']);
  assert.deepEqual(toks('$t.0').map((t) => t.text), ['t', '.', '0']);
  assert.deepEqual(toks('x<<=2').map((t) => t.text), ['x', '<<=', '2']);
});

test('comments are skipped; an unterminated block comment is an error', () => {
  assert.deepEqual(toks('a // c1\n/* c2\n c3 */ b /**/c').map((t) => t.text), ['a', 'b', 'c']);
  assert.equal(lexError('a /* never\nclosed'), 'stdin:1:3: ERROR: end of file during comment');
  assert.match(lexError("x = 'a'"), /character literals are not supported/);
  assert.equal(lexError('a ` b'), "stdin:1:3: ERROR: invalid character '`'");
});

test('spans are 1-based line/col with exclusive ends and byte offsets', () => {
  const t = toks('a\n  bcd\r\n\t"x"');
  assert.deepEqual(t[0].span, { line: 1, col: 1, endLine: 1, endCol: 2, start: 0, end: 1 });
  assert.deepEqual(t[1].span, { line: 2, col: 3, endLine: 2, endCol: 6, start: 4, end: 7 });
  assert.deepEqual(t[2].span, { line: 3, col: 2, endLine: 3, endCol: 5, start: 10, end: 13 });
});

test('macros expand token by token and keep the span of the name', () => {
  const macros = new Map([
    ['N', '(1 << 3)'],
    ['M', 'N + 1'],
    ['SELF', 'SELF'],
  ]);
  const t = tokenize(src('x = M; SELF'), macros).slice(0, -1);
  assert.deepEqual(t.map((x) => x.text), ['x', '=', '(', '1', '<<', '3', ')', '+', '1', ';', 'SELF']);
  assert.deepEqual(t[2].span, t[8].span);
  assert.equal(t[2].span.col, 5);
  assert.equal(t[3].macro, 'N');
  assert.equal(t[7].macro, 'M');
});

function attachPoints(text: string): { raws: string[]; parts: string[][]; rest: string } {
  const lx = new Lexer(src(text));
  const raws: string[] = [];
  const parts: string[][] = [];
  for (;;) {
    lx.skipLayout();
    const ap = lx.attachPoint();
    if (!ap) break;
    raws.push(ap.raw);
    parts.push(ap.parts);
    lx.skipLayout();
    if (text[lx.pos] !== ',') break;
    lx.pos++;
  }
  return { raws, parts, rest: text.slice(lx.pos) };
}

test('attach points are lexed raw: paths, wildcards, dashes, quotes', () => {
  const cases: [string, string[], string][] = [
    ['BEGIN { }', ['BEGIN'], '{ }'],
    ['BEGIN{}', ['BEGIN'], '{}'],
    ['kprobe:vfs_* {', ['kprobe', 'vfs_*'], '{'],
    ['t:syscalls:sys_enter_* {', ['t', 'syscalls', 'sys_enter_*'], '{'],
    ['uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc {', ['uprobe', '/usr/lib/x86_64-linux-gnu/libc.so.6', 'malloc'], '{'],
    ['usdt:/path:provider:probe-boottime {', ['usdt', '/path', 'provider', 'probe-boottime'], '{'],
    ['uprobe:./a.out:f {', ['uprobe', './a.out', 'f'], '{'],
    ['kprobe:vfs_read+16 {', ['kprobe', 'vfs_read+16'], '{'],
    ['profile:hz:99 {', ['profile', 'hz', '99'], '{'],
    ['i:s:1 {', ['i', 's', '1'], '{'],
    ['uprobe:"/a b/c":"ns::f()" {', ['uprobe', '/a b/c', 'ns::f()'], '{'],
    ['kprobe:f /pid/ {', ['kprobe', 'f'], '/pid/ {'],
    ['tracepoint:syscalls:sys_enter_read/pid == 1/{', ['tracepoint', 'syscalls', 'sys_enter_read'], '/pid == 1/{'],
    ['uprobe:/bin/bash:readline/pid/{', ['uprobe', '/bin/bash', 'readline'], '/pid/{'],
    ['kprobe:f// comment\n{', ['kprobe', 'f'], '{'],
  ];
  for (const [text, parts, rest] of cases) {
    const r = attachPoints(text);
    assert.deepEqual(r.parts, [parts], text);
    assert.equal(r.rest, rest, text);
  }
  const multi = attachPoints('t:syscalls:sys_enter_read, t:syscalls:sys_enter_write,\n  kprobe:f {');
  assert.deepEqual(multi.raws, ['t:syscalls:sys_enter_read', 't:syscalls:sys_enter_write', 'kprobe:f']);
  assert.equal(multi.rest, '{');
  assert.equal(attachPoints('uprobe:"/a b":f {').raws[0], 'uprobe:"/a b":f');
});
