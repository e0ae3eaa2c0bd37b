import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helpText, parseArgs, type ArgSpec } from '../../src/tools/common/args';
import { linearHistText, log2HistText, slotsFromHist, stars } from '../../src/tools/common/hist';
import { parseUnistd, errnoValue } from '../../src/tools/common/syscalls';
import { kdev } from '../../src/tools/common/disks';
import { ToolError } from '../../src/tools/tool';
import { log2Bucket } from '../../src/runtime/format/hist';
import { toolEvent } from '../../src/tools/common/script';
import { int, str } from '../../src/runtime/values';

const spec: ArgSpec = {
  name: 'demo',
  summary: 'A demo tool.',
  options: [
    { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', help: 'pid' },
    { short: 'c', long: 'comm', dest: 'comm', kind: 'string', help: 'comm' },
    { short: 'x', long: 'fails', dest: 'fails', kind: 'flag', help: 'fails' },
    { short: 'T', long: 'timestamp', dest: 'ts', kind: 'flag', help: 'ts' },
    { short: 'e', long: 'event', dest: 'ev', kind: 'list', commaSplit: true, help: 'events' },
    { short: 'v', dest: 'verbose', kind: 'count', help: 'more' },
    { long: 'max-args', dest: 'maxArgs', kind: 'int', min: 1, help: 'max' },
  ],
  positionals: [
    { name: 'interval', kind: 'int', help: 'interval' },
    { name: 'count', kind: 'int', help: 'count' },
  ],
  examples: ['demo -p 1   # trace pid 1'],
};

test('args: argparse spellings of values, clusters, positionals', () => {
  const a = parseArgs(spec, ['-p', '12', '-cdd', '-xT', '--max-args=3', '-e', 'a,b', '--event', 'c', '-vv', '5', '7']);
  assert.equal(a.int('pid'), 12);
  assert.equal(a.str('comm'), 'dd');
  assert.ok(a.flag('fails') && a.flag('ts'));
  assert.equal(a.int('maxArgs'), 3);
  assert.deepEqual(a.list('ev'), ['a', 'b', 'c']);
  assert.equal(a.count('verbose'), 2);
  assert.equal(a.int('interval'), 5);
  assert.equal(a.int('count'), 7);
  assert.equal(parseArgs(spec, ['--pid', '0x10']).int('pid'), 16);
  assert.equal(parseArgs(spec, ['--ti']).flag('ts'), true, 'unambiguous long prefix');
  assert.equal(parseArgs(spec, ['-p12']).int('pid'), 12);
  assert.equal(parseArgs(spec, ['--', '-3']).int('interval'), -3);
});

test('args: a remainder option (bcc --exec CMD ARGS...) takes every argument after it, flags included', () => {
  const spec: ArgSpec = { name: 't', summary: 's', options: [
    { short: 'x', long: 'failed', dest: 'x', kind: 'flag', help: 'x' },
    { long: 'exec', dest: 'exec', kind: 'remainder', metavar: 'COMMAND', help: 'run' },
  ] };
  const a = parseArgs(spec, ['-x', '--exec', 'ls', '-l', '--', '-x']);
  assert.deepEqual(a.list('exec'), ['ls', '-l', '--', '-x']);
  assert.equal(a.flag('x'), true);
  assert.deepEqual(parseArgs(spec, ['--exec=ls', '/tmp']).list('exec'), ['ls', '/tmp']);
  const none = parseArgs(spec, ['--exec']);
  assert.equal(none.has('exec'), true);
  assert.deepEqual(none.list('exec'), []);
  assert.equal(parseArgs(spec, []).has('exec'), false);
  assert.match(helpText(spec), /\[--exec COMMAND \.\.\.\]/);
});

test('args: mistakes are one-sentence ToolErrors', () => {
  const msg = (argv: string[]) => {
    try {
      parseArgs(spec, argv);
    } catch (e) {
      assert.ok(e instanceof ToolError);
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.equal(msg(['-q']), "unrecognized option '-q' (see 'demo -h')");
  assert.equal(msg(['--bogus']), "unrecognized option '--bogus' (see 'demo -h')");
  assert.equal(msg(['-p', 'abc']), "--pid expects an integer, got 'abc'");
  assert.equal(msg(['-p']), 'option -p needs a value');
  assert.equal(msg(['--max-args=0']), '--max-args must be at least 1, got 0');
  assert.equal(msg(['1', '2', '3']), "unexpected argument '3' (see 'demo -h')");
  assert.equal(msg(['--fails=1']), 'option --fails takes no value');
});

test('args: -h wins and help lists usage, options and examples', () => {
  assert.equal(parseArgs(spec, ['-p', '1', '-h']).help, true);
  const h = helpText(spec);
  assert.match(h, /^usage: demo \[-h\] \[-p PID\] \[-c COMM\] \[-x\] \[-T\] \[-e EV\] \[-v\] \[--max-args MAXARGS\] \[interval\] \[count\]\n/);
  assert.ok(h.includes('\n  -p PID, --pid PID     pid\n'), h);
  assert.match(h, /\nexamples:\n {4}demo -p 1 {3}# trace pid 1\n/);
});

test('hist: bpftrace hist buckets become bcc log2 slots', () => {
  const counts: bigint[] = [];
  const add = (v: number) => {
    const i = log2Bucket(v);
    counts[i] = (counts[i] ?? 0n) + 1n;
  };
  [0, 1, 2, 3, 4, 1024, 2047, 2048].forEach(add);
  const slots = slotsFromHist(counts);
  // slot 0: 0 and 1; slot 1: 2,3; slot 2: 4; slot 10: 1024, 2047; slot 11: 2048
  assert.deepEqual(slots, [2n, 2n, 1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 2n, 1n]);
});

test('hist: print_log2_hist layout, byte for byte as libbpf-tools', () => {
  const txt = log2HistText([0n, 0n, 2n, 0n, 1n], 'Kbytes');
  assert.equal(txt, [
    '     Kbytes              : count    distribution',
    '         0 -> 1          : 0        |                                        |',
    '         2 -> 3          : 0        |                                        |',
    '         4 -> 7          : 2        |****************************************|',
    '         8 -> 15         : 0        |                                        |',
    '        16 -> 31         : 1        |********************                    |',
    '',
  ].join('\n'));
  assert.equal(log2HistText([0n, 0n], 'usecs'), '');
  const wide = log2HistText(Array.from({ length: 34 }, (_, i) => (i === 33 ? 1n : 0n)), 'nsecs');
  assert.match(wide, /^ {15}nsecs {25}: count    distribution\n/);
  assert.ok(wide.includes(`\n${'4294967296'.padStart(20)} -> ${'8589934591'.padEnd(20)} : 0        |${' '.repeat(20)}|\n`), wide);
  assert.ok(wide.endsWith(`\n${'8589934592'.padStart(20)} -> ${'17179869183'.padEnd(20)} : 1        |${'*'.repeat(20)}|\n`), wide);
  assert.equal(stars(5n, 4n, 4), '****+');
});

test('hist: print_linear_hist skips empty rows', () => {
  assert.equal(linearHistText([0n, 3n, 0n, 1n], 'slot', 0, 10), [
    '     slot          : count     distribution',
    '        10         : 3        |****************************************|',
    '        30         : 1        |*************                           |',
    '',
  ].join('\n'));
});

test('syscalls and errno tables, kernel dev_t', () => {
  const t = parseUnistd('#define __NR_read 0\n#define __NR_write 1\n#define __NR_getppid 110\n');
  assert.equal(t.get(110), 'getppid');
  assert.equal(errnoValue('ENOENT'), 2);
  assert.equal(errnoValue('13'), 13);
  assert.equal(errnoValue('ENOPE'), undefined);
  assert.equal(kdev(254, 0), 266338304);
});

test('toolEvent: the printf it sends and the names it decodes', () => {
  const ev = toolEvent('open', { pid: ['%d', 'pid'], path: ['%s', 'str(args.filename)'] });
  assert.deepEqual(ev.fields, ['pid', 'path']);
  assert.equal(ev.format, '\u0001tsbpf-event:open %d %s');
  assert.equal(ev.send(), 'printf("\\x01tsbpf-event:open %d %s", pid, str(args.filename));');
  assert.deepEqual(ev.decode([int(7n), str('/etc')]), { pid: int(7n), path: str('/etc') });
  assert.throws(() => toolEvent('bad name', {}), /plain word/);
  assert.throws(() => toolEvent('x', { a: ['%-5d', 'pid'] }), /bare printf conversion/);
});
