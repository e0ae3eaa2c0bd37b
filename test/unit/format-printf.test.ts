// printf parsing and formatting. Expected strings are stdout captured from
// bpftrace 0.17 running the printf() calls quoted next to each assertion.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseFormat, formatPrintf, checkFormat, PrintfFormatError, createOutput } from '../../src/runtime/format';
import { type Value, int, uint, str, buf, stack } from '../../src/runtime/values';

const p = (fmt: string, ...vals: Value[]) => formatPrintf(parseFormat(fmt), vals);
const bytes = (s: string) => buf(Buffer.from(s, 'latin1'));

test('widths, flags, bases, %c and %p', () => {
  // printf("%5d|%-5d|%05d|%x|%X|%08x|%o|%u|%c|%p|%p|\n", 42, 42, 42, 255, 255, 255, 8, -1, 65, 0, 4096);
  assert.equal(p('%5d|%-5d|%05d|%x|%X|%08x|%o|%u|%c|%p|%p|\n', int(42), int(42), int(42), int(255), int(255), int(255), int(8), int(-1), int(65), int(0), int(4096)),
    '   42|42   |00042|ff|FF|000000ff|10|4294967295|A|(nil)|0x1000|\n');
});

test('length modifiers: no modifier is 32-bit, hh 8, h 16, l/ll 64', () => {
  // printf("%d|%d|%ld|%u|%lu|%hhd|%hd|%hhu|%x|%lx|%llx\n", 4294967301, -1, -1, -1, -1, 300, 70000, -1, -1, -1, -1);
  assert.equal(p('%d|%d|%ld|%u|%lu|%hhd|%hd|%hhu|%x|%lx|%llx\n', int(4294967301n), int(-1), int(-1), int(-1), int(-1), int(300), int(70000), int(-1), int(-1), int(-1), int(-1)),
    '5|-1|-1|4294967295|18446744073709551615|44|4464|255|ffffffff|ffffffffffffffff|ffffffffffffffff\n');
  assert.equal(p('%lu', uint(2n ** 64n - 1n)), '18446744073709551615');
});

test('strings: width, left alignment, precision', () => {
  // printf("[%-16s][%16s][%.3s][%10.2s][%s]\n", "hello", "hello", "hello", "hello", "");
  assert.equal(p('[%-16s][%16s][%.3s][%10.2s][%s]\n', str('hello'), str('hello'), str('hello'), str('hello'), str('')),
    '[hello           ][           hello][hel][        he][]\n');
});

test('ll/j/z/t, integer precision, %.0d of 0, %-08x, %3c', () => {
  // printf("[%lld][%llu][%jd][%zu][%td][%5.3d][%.0d][%-08x][%3c]\n", -5, 5, 7, 8, 9, 7, 0, 171, 66);
  assert.equal(p('[%lld][%llu][%jd][%zu][%td][%5.3d][%.0d][%-08x][%3c]\n', int(-5), int(5), int(7), int(8), int(9), int(7), int(0), int(171), int(66)),
    '[-5][5][7][8][9][  007][][ab      ][  B]\n');
  // printf("%010d|\n", -42);
  assert.equal(p('%010d|\n', int(-42)), '-000000042|\n');
});

test('%% quirks of bpftrace 0.17', () => {
  // printf("%%d x %d\n", 3, 4): "%d" inside "%%d" is found as a conversion and eats an argument.
  const f = parseFormat('%%d x %d\n');
  assert.equal(f.parts.length, 2);
  assert.equal(formatPrintf(f, [int(3), int(4)]), '%d x 4\n');
  // printf("100%%\n"): %% is % after the last conversion too (bpftrace 0.26, issue 19; 0.17 and 0.23 print 100%%).
  assert.equal(p('no args %% here\n'), 'no args % here\n');
  assert.equal(p('100%%\n'), '100%\n');
  assert.equal(p('%%|%d|%%\n', int(5)), '%|5|%\n');
});

test('buffers: %r keeps ASCII, %rx escapes all, %rh bare hex; %10r is printed literally', () => {
  // printf("[%r][%10r][%rx][%rh]\n", buf("A\xffz", 3), buf("ab", 2), buf("\x00\x7f", 2), buf("\x00\x7f", 2));
  assert.equal(p('[%r][%10r][%rx][%rh]\n', bytes('A\xffz'), bytes('ab'), bytes('\x00\x7f'), bytes('\x00\x7f')),
    '[A\\xffz][%10r][\\x00\\x7f][00 7f]\n');
});

test('printf in JSON mode', () => {
  const out = createOutput('json');
  // printf("%s|%d\n", "tab\there", 1) with -f json
  assert.equal(out.printf(p('%s|%d\n', str('tab\there'), int(1))), '{"type": "printf", "data": "tab\\there|1\\n"}\n');
  // printf("[%r][%10r][%rx][%rh]\n", ...) with -f json
  assert.equal(out.printf('[A\\xffz][%10r][\\x00\\x7f][00 7f]\n'), '{"type": "printf", "data": "[A\\\\xffz][%10r][\\\\x00\\\\x7f][00 7f]\\n"}\n');
});

test('stacks print through %s with an 8-space indent', () => {
  assert.equal(p('%s', stack(['a+1', 'b+2'])), '\n        a+1\n        b+2\n');
});

test('parseFormat records each conversion with flags, width, precision, length and offset', () => {
  const f = parseFormat('pid %-08.3lld: %s %rx');
  assert.deepEqual(f.parts.map((x) => [x.literal, x.spec.offset, x.spec.text, x.spec.conversion, x.spec.length, x.spec.width, x.spec.precision, x.spec.leftAlign, x.spec.zeroPad, x.spec.expects]), [
    ['pid ', 4, '%-08.3lld', 'd', 'll', 8, 3, true, true, 'integer'],
    [': ', 15, '%s', 's', '', undefined, undefined, false, false, 'string'],
    [' ', 18, '%rx', 'rx', '', undefined, undefined, false, false, 'buffer'],
  ]);
  assert.equal(f.tail, '');
});

test('checkFormat: bpftrace 0.17 messages, with the offset of the offending specifier', () => {
  // bpftrace: printf: Too many arguments for format string (2 supplied, 1 expected)   for printf("A|%d|%i\n", 1, 2)
  assert.throws(() => checkFormat(parseFormat('A|%d|%i\n'), ['integer', 'integer']), (e: unknown) =>
    e instanceof PrintfFormatError && e.offset === 5 &&
    e.message.startsWith('printf: Too many arguments for format string (2 supplied, 1 expected)') && e.message.includes("'%i'"));
  // bpftrace: printf: Not enough arguments for format string (1 supplied, 2 expected)  for printf("%%d literal then %d\n", 3)
  assert.throws(() => checkFormat(parseFormat('%%d literal then %d\n'), ['integer']), (e: unknown) =>
    e instanceof PrintfFormatError && e.offset === 17 && e.message === 'printf: Not enough arguments for format string (1 supplied, 2 expected)');
  assert.throws(() => checkFormat(parseFormat('x %-5d'), ['string']), (e: unknown) =>
    e instanceof PrintfFormatError && e.offset === 2 && e.message === 'printf: %d specifier expects a value of type integer (string supplied)');
  checkFormat(parseFormat('%s %d %r'), ['string', 'integer', 'buffer']);
  assert.equal(parseFormat('%+d %e').parts.length, 0);
  assert.deepEqual(parseFormat('%+d %e').ignored.map((x) => x.text), ['%+d', '%e']);
});
