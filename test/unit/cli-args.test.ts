import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseScriptArgs, UsageError } from '../../src/cli/args';

test('-e program with positional parameters after it', () => {
  const o = parseScriptArgs(['-e', 'BEGIN {}', '7', 'abc']);
  assert.equal(o.program, 'BEGIN {}');
  assert.equal(o.file, null);
  assert.deepEqual(o.params, ['7', 'abc']);
});

test('FILE then parameters; - is stdin', () => {
  assert.deepEqual([parseScriptArgs(['s.bt', 'x']).file, parseScriptArgs(['s.bt', 'x']).params], ['s.bt', ['x']]);
  assert.equal(parseScriptArgs(['-']).file, '-');
});

test('options: -p -c -o -f -q -B -v -d -D --unsafe --dry-run --verify', () => {
  const o = parseScriptArgs(['-p', '42', '-c', 'ls -l', '-o', 'out', '-f', 'json', '-q', '-B', 'full', '-v', '-d', 'ast', '-D', 'N=3', '--unsafe', '--dry-run', '--verify', '-e', 'x']);
  assert.equal(o.pid, 42);
  assert.equal(o.cmd, 'ls -l');
  assert.equal(o.outFile, 'out');
  assert.equal(o.format, 'json');
  assert.equal(o.quiet, true);
  assert.equal(o.buffering, 'full');
  assert.equal(o.verbose, true);
  assert.deepEqual(o.debug, ['ast']);
  assert.deepEqual(o.defines, { N: '3' });
  assert.equal(o.unsafe && o.dryRun && o.verify, true);
});

test('-l / -lv with a pattern, also given positionally', () => {
  assert.equal(parseScriptArgs(['-l', 'tracepoint:sched:*']).list, 'tracepoint:sched:*');
  const v = parseScriptArgs(['-lv', 'tracepoint:syscalls:sys_enter_open*']);
  assert.equal(v.listVerbose, true);
  assert.equal(v.list, 'tracepoint:syscalls:sys_enter_open*');
  assert.equal(parseScriptArgs(['-l']).list, '');
});

test('-h and -V need no program', () => {
  assert.equal(parseScriptArgs(['-h']).help, true);
  assert.equal(parseScriptArgs(['--version']).version, true);
});

test('usage errors name the problem', () => {
  assert.throws(() => parseScriptArgs([]), (e: unknown) => e instanceof UsageError && /no program/.test(e.message));
  assert.throws(() => parseScriptArgs(['-p', 'abc', '-e', 'x']), /Failed to parse pid: invalid integer: abc/);
  assert.throws(() => parseScriptArgs(['-B', 'bogus', '-e', 'x']), /buffering mode 'bogus'/);
  assert.throws(() => parseScriptArgs(['-f', 'xml', '-e', 'x']), /Invalid output format "xml"/);
  assert.throws(() => parseScriptArgs(['--frobnicate']), /unknown option '--frobnicate'/);
  assert.throws(() => parseScriptArgs(['-e']), /requires an argument/);
});

test('bpftrace 0.26 long options (C18): --pid --cmd --output --quiet --verbose, also as --name=value', () => {
  const o = parseScriptArgs(['--pid', '42', '--cmd=ls -l', '--output', 'out', '--quiet', '--verbose', '-e', 'x']);
  assert.equal(o.pid, 42);
  assert.equal(o.cmd, 'ls -l');
  assert.equal(o.outFile, 'out');
  assert.equal(o.quiet && o.verbose, true);
  assert.equal(parseScriptArgs(['--list', 'tracepoint:sched:*']).list, 'tracepoint:sched:*');
  assert.deepEqual(parseScriptArgs(['--debug=ast', '-e', 'x']).debug, ['ast']);
});

test('--include, -I, --no-warnings, --probe-filter, --info; a bad --probe-filter regex is one sentence', () => {
  const o = parseScriptArgs(['--include', 'errno.h', '-I', '/inc', '-I/inc2', '--no-warnings', '--probe-filter', ':200', '-e', 'x']);
  assert.deepEqual(o.includes, ['errno.h']);
  assert.deepEqual(o.includeDirs, ['/inc', '/inc2']);
  assert.equal(o.noWarnings, true);
  assert.equal(o.probeFilter, ':200');
  assert.equal(parseScriptArgs(['--info']).info, true);
  assert.throws(() => parseScriptArgs(['--probe-filter', '(', '-e', 'x']), /invalid --probe-filter regular expression/);
  assert.throws(() => parseScriptArgs(['--nonsense', '-e', 'x']), UsageError);
});

test('after --: positional parameters and program options --name=value / --name (C30, C32)', () => {
  const o = parseScriptArgs(['-e', 'x', 'pos1', '--', '--aa=20', 'pos2', '--dd', '--ee=a=b']);
  assert.deepEqual(o.params, ['pos1', 'pos2']);
  assert.deepEqual(o.namedParams, { aa: '20', dd: 'true', ee: 'a=b' });
});

test("-p and -f errors use bpftrace's wording, printed bare (scripts and bpftrace's runtime tests match the line)", () => {
  const msg = (argv: string[]) => {
    try {
      parseScriptArgs(argv);
    } catch (e) {
      assert.ok(e instanceof UsageError && e.bare);
      return e.message;
    }
    return assert.fail('accepted');
  };
  assert.equal(msg(['-p', 'a1111', '-e', 'x']), 'Failed to parse pid: invalid integer: a1111');
  assert.equal(msg(['-p', '111a1', '-e', 'x']), 'Failed to parse pid: invalid trailing bytes: 111a1');
  assert.equal(msg(['-p', '5000000', '-e', 'x']), 'Pid out of range: 5000000');
  assert.equal(msg(['-f', 'jsonx', '-e', 'x']), 'Invalid output format "jsonx"');
  assert.equal(parseScriptArgs(['-p', '4194304', '-e', 'x']).pid, 4194304);
});
