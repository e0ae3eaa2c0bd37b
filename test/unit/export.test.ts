// The exporter's pure parts: script instrumentation, map → metric conversion,
// exposition rendering, config and command-line parsing. (The kernel test,
// test/kernel/export.test.ts, runs it against a real Prometheus server.)
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { instrumentScript, labelFromExpr } from '../../src/export/instrument';
import { escapeLabelValue, familyFromMap, negotiate, renderFamilies } from '../../src/export/metrics';
import { parseConfig, parseListen, readTrustedFile } from '../../src/export/config';
import { parseExportArgs } from '../../src/cli/commands/export';
import type { MapDump } from '../../src/runtime/format/maps';
import { int, str, uint, stack } from '../../src/runtime/values';
import { compile } from '../../src/lang/compile';
import { unitTarget } from '../helpers/target';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

/** promtool's verdict on a text exposition ('' when it finds no problem). */
function promtoolCheck(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('labels are named after the key expressions, and a hist() gets a companion sum', () => {
  const s = instrumentScript('tracepoint:syscalls:sys_enter_read { @r[comm, args.count] = count(); @h[args->fd] = hist(args->count * 2); }');
  assert.deepEqual(s.maps.get('@r')?.labels, ['comm', 'count']);
  assert.deepEqual(s.maps.get('@h')?.labels, ['fd']);
  assert.equal(s.maps.get('@h')?.sumMap, '@h__sum');
  assert.match(s.text, /@h\[args->fd\] = hist\(args->count \* 2\);@h__sum\[args->fd\] = sum\(args->count \* 2\); \}/);
  assert.equal(s.maps.get('@r')?.help, '@r[comm, args.count] = count()');
  // the instrumented text still compiles, and the companion is an ordinary sum() map
  const a = compile({ name: 't', text: s.text }, { target: unitTarget() });
  assert.equal(a.userMaps.find((m) => m.name === '@h__sum')?.aggregation.kind, 'sum');
});

test('a dev_t key (args->dev) is labelled disk with the device name; a raw_syscalls args->id syscall with its name', () => {
  const s = instrumentScript('tracepoint:block:block_rq_complete { @lat[args->dev, args->rwbs] = hist(args->nr_sector); }');
  assert.deepEqual(s.maps.get('@lat')?.labels, ['disk', 'rwbs']);
  assert.deepEqual(s.maps.get('@lat')?.named, ['disk', undefined]);
  // args->id is a syscall number on raw_syscalls only
  const r = instrumentScript('tracepoint:raw_syscalls:sys_enter { @c[args->id] = count(); } tracepoint:syscalls:sys_enter_read { @d[args->fd] = count(); }');
  assert.deepEqual(r.maps.get('@c')?.labels, ['syscall']);
  assert.deepEqual(r.maps.get('@d')?.named, [undefined]);
  const c: MapDump = { name: '@n', keyed: true, kind: 'count', entries: [{ key: [uint(8 * 2 ** 20 + 1, 32)], value: 2n }] };
  const { family } = familyFromMap(c, { name: 'n', help: '', labels: ['disk'], labelValues: [() => 'sda1'] }, { seriesLimit: 9 });
  assert.deepEqual(family?.lines, ['n_total{disk="sda1"} 2']);
});

test('sum=no (annotation or config) leaves a histogram without companion sum, so its program is unchanged', () => {
  const text = 'tracepoint:syscalls:sys_enter_read { @h = hist(args->count); @g = hist(args->count); }';
  const a = instrumentScript(`// export @h sum=no\n${text}`);
  assert.equal(a.maps.get('@h')?.sumMap, undefined);
  assert.equal(a.maps.get('@g')?.sumMap, '@g__sum');
  const b = instrumentScript(text, 'x', { noSum: new Set(['@h', '@g']) });
  assert.equal(b.text, text);
  assert.deepEqual(parseConfig("scripts:\n  - program: x\n    maps: { '@h': { sum: false } }\n").scripts[0].maps, { '@h': { sum: false } });
});

test('clear() and zero() of a histogram reset its companion sum too', () => {
  const s = instrumentScript('BEGIN { @h = lhist(1, 0, 10, 1); } interval:s:1 { clear(@h); zero(@h); }');
  assert.match(s.text, /clear\(@h\);clear\(@h__sum\); zero\(@h\);zero\(@h__sum\);/);
});

test('label names: the last identifier, reserved names renamed, repeats numbered, annotations win', () => {
  assert.equal(labelFromExpr('str(args.filename)', 0), 'filename');
  assert.equal(labelFromExpr('$x', 0), 'x');
  assert.equal(labelFromExpr('42', 1), 'key1');
  assert.equal(labelFromExpr('$le', 0), 'key_le');
  const s = instrumentScript('BEGIN { @m[pid, pid] = count(); }');
  assert.deepEqual(s.maps.get('@m')?.labels, ['pid', 'pid_2']);
  const n = instrumentScript('// export @m labels=disk,op help="I/O by disk"\nBEGIN { @m[1, 2] = count(); }');
  assert.deepEqual(n.maps.get('@m')?.labels, ['disk', 'op']);
  assert.equal(n.maps.get('@m')?.help, 'I/O by disk');
});

const calls: MapDump = { name: '@calls', keyed: true, kind: 'count', entries: [
  { key: [str('a "quoted"\\ \nname'), int(-2n, 32)], value: 7n },
  { key: [str('bash'), int(0n, 32)], value: 3n },
] };

test('count() is a counter with escaped label values; the text format passes promtool', () => {
  const { family } = familyFromMap(calls, { name: 'sys_calls', help: 'calls\nby comm', labels: ['comm', 'ret'] }, { seriesLimit: 100 });
  assert.ok(family);
  const text = renderFamilies([family], 'text');
  assert.equal(text,
    '# HELP sys_calls_total calls\\nby comm\n# TYPE sys_calls_total counter\n' +
    'sys_calls_total{comm="a \\"quoted\\"\\\\ \\nname",ret="-2"} 7\nsys_calls_total{comm="bash",ret="0"} 3\n');
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  if (hasPromtool) assert.deepEqual(promtoolCheck(text), { status: 0, out: '' });
  // OpenMetrics: the family is named without _total, and the exposition ends with # EOF
  const om = renderFamilies([family], 'openmetrics');
  assert.match(om, /^# HELP sys_calls calls\\nby comm\n# TYPE sys_calls counter\nsys_calls_total\{/);
  assert.ok(om.endsWith('# EOF\n'));
});

test('hist(): cumulative buckets with le at each bucket\'s largest value, _sum from the companion, _count', () => {
  // values 0, 1, 5, 5, 100 → buckets [0] [1] [4, 8) x2 [64, 128)
  const h: MapDump = { name: '@h', keyed: false, kind: 'hist', bits: 0, entries: [
    { key: [], value: [undefined, 1n, 1n, undefined, 2n, undefined, undefined, undefined, 1n] },
  ] };
  const sums: MapDump = { name: '@h__sum', keyed: false, kind: 'sum', entries: [{ key: [], value: 111n }] };
  const { family } = familyFromMap(h, { name: 'x_sizes', help: 'h', labels: [] }, { seriesLimit: 10 }, sums);
  assert.ok(family);
  assert.deepEqual(family.lines, [
    'x_sizes_bucket{le="0"} 1', 'x_sizes_bucket{le="1"} 2', 'x_sizes_bucket{le="3"} 2', 'x_sizes_bucket{le="7"} 4',
    'x_sizes_bucket{le="15"} 4', 'x_sizes_bucket{le="31"} 4', 'x_sizes_bucket{le="63"} 4', 'x_sizes_bucket{le="127"} 5',
    'x_sizes_bucket{le="+Inf"} 5', 'x_sizes_sum 111', 'x_sizes_count 5',
  ]);
  if (hasPromtool) assert.deepEqual(promtoolCheck(renderFamilies([family], 'text')), { status: 0, out: '' });
});

test('lhist(): buckets at min + i*step - 1, the top bucket only in +Inf; one bucket set for every series', () => {
  const l: MapDump = { name: '@l', keyed: true, kind: 'lhist', min: 0, max: 30, step: 10, entries: [
    { key: [str('a')], value: [0n, 1n] },
    { key: [str('b')], value: [0n, 0n, 0n, 2n, 4n] },
  ] };
  const { family } = familyFromMap(l, { name: 'l', help: 'l', labels: ['k'] }, { seriesLimit: 10 });
  assert.deepEqual(family?.lines, [
    'l_bucket{k="a",le="9"} 1', 'l_bucket{k="a",le="19"} 1', 'l_bucket{k="a",le="29"} 1', 'l_bucket{k="a",le="+Inf"} 1', 'l_count{k="a"} 1',
    'l_bucket{k="b",le="9"} 0', 'l_bucket{k="b",le="19"} 0', 'l_bucket{k="b",le="29"} 2', 'l_bucket{k="b",le="+Inf"} 6', 'l_count{k="b"} 6',
  ]);
});

test('avg()/stats() are summaries (_sum, _count); min()/max()/values gauges; strings no metric; stacks folded', () => {
  const avg: MapDump = { name: '@a', keyed: false, kind: 'avg', entries: [{ key: [], value: { total: 30n, count: 4n } }] };
  assert.deepEqual(familyFromMap(avg, { name: 'a', help: '', labels: [] }, { seriesLimit: 1 }).family, {
    name: 'a', type: 'summary', help: '', lines: ['a_sum 30', 'a_count 4'],
  });
  const max: MapDump = { name: '@m', keyed: true, kind: 'max', entries: [{ key: [stack(['f+1', 'g+2'])], value: -3n }] };
  assert.deepEqual(familyFromMap(max, { name: 'm', help: '', labels: ['kstack'] }, { seriesLimit: 1 }).family?.lines, ['m{kstack="f+1;g+2"} -3']);
  const strs: MapDump = { name: '@s', keyed: false, kind: 'value', entries: [{ key: [], value: str('x') }] };
  assert.equal(familyFromMap(strs, { name: 's', help: '', labels: [] }, { seriesLimit: 1 }).family, undefined);
});

test('the series limit keeps the same series every scrape (label order) and counts the rest', () => {
  const many: MapDump = { name: '@p', keyed: true, kind: 'count', entries: [5, 3, 9, 1].map((p) => ({ key: [uint(p, 32)], value: 1n })) };
  const c = familyFromMap(many, { name: 'p', help: '', labels: ['pid'] }, { seriesLimit: 2 });
  assert.equal(c.dropped, 2);
  assert.deepEqual(c.family?.lines, ['p_total{pid="1"} 1', 'p_total{pid="3"} 1']);
});

test('OpenMetrics only when the scraper asks for it', () => {
  assert.equal(negotiate('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'), 'openmetrics');
  assert.equal(negotiate('text/plain'), 'text');
  assert.equal(negotiate(undefined), 'text');
});

test('config: scripts, labels, limits; mistakes named in one sentence', () => {
  const c = parseConfig([
    'listen: 127.0.0.1:9999', 'series_limit: 50', 'scripts:',
    '  - tool: biolatency', '    args: [-D]', '    maps:', "      '@lat': { labels: [dev], help: latency }",
    '  - name: sys', '    program: |', '      tracepoint:raw_syscalls:sys_enter { @calls[comm] = count(); }',
  ].join('\n'), 'x.yaml');
  assert.equal(c.listen, '127.0.0.1:9999');
  assert.equal(c.seriesLimit, 50);
  assert.deepEqual(c.scripts[0], { tool: 'biolatency', args: ['-D'], maps: { '@lat': { labels: ['dev'], help: 'latency' } } });
  assert.equal(c.scripts[1].name, 'sys');
  assert.throws(() => parseConfig('scripts:\n  - file: a.bt\n    tool: b\n', 'x.yaml'), /x\.yaml: scripts\[0\] needs exactly one of file, program or tool/);
  assert.throws(() => parseConfig('listn: x\n', 'x.yaml'), /x\.yaml: unknown key 'listn'/);
  assert.throws(() => parseConfig('scripts: [', 'x.yaml'), /x\.yaml: not valid YAML/);
  assert.throws(() => parseConfig("scripts:\n  - program: x\n    maps: { lat: {} }\n", 'x.yaml'), /'lat' is not a map name/);
});

test('listen addresses: loopback by default, :PORT for every interface, IPv6 in brackets', () => {
  assert.deepEqual(parseListen('127.0.0.1:9435'), { host: '127.0.0.1', port: 9435 });
  assert.deepEqual(parseListen(':9435'), { host: '0.0.0.0', port: 9435 });
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
  assert.throws(() => parseListen('9435'), /expected HOST:PORT/);
  assert.throws(() => parseListen('a:99999'), /expected HOST:PORT/);
});

test('a script file other users can write is refused (its code runs as root)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-export-'));
  try {
    const f = path.join(dir, 'x.bt');
    fs.writeFileSync(f, 'BEGIN {}');
    fs.chmodSync(f, 0o644);
    assert.equal(readTrustedFile(f, 'script'), 'BEGIN {}');
    fs.chmodSync(f, 0o666);
    assert.throws(() => readTrustedFile(f, 'script'), /refusing script '.*x\.bt': other users can write it \(mode 666\)/);
    assert.throws(() => readTrustedFile(path.join(dir, 'none.bt'), 'script'), /cannot read script .*: no such file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('command line: files, -e, tools with their flags up to --, --name for the next source', () => {
  const a = parseExportArgs(['--listen', ':1', '--name', 'disk', 'biolatency', '-D', '--', '-e', 'P', 'x.bt', '--series-limit=5'], (n) => n === 'biolatency');
  assert.deepEqual(a.sources, [{ tool: 'biolatency', args: ['-D'], name: 'disk' }, { program: 'P' }, { file: 'x.bt' }]);
  assert.equal(a.listen, ':1');
  assert.equal(a.seriesLimit, 5);
  assert.throws(() => parseExportArgs(['--bogus'], () => false), /unknown option '--bogus'/);
  assert.throws(() => parseExportArgs(['-e'], () => false), /-e needs a value/);
  assert.throws(() => parseExportArgs(['--name', 'x'], () => false), /--name x names no script/);
});
