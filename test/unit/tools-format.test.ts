import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bitesize, bitesizeProgram, bitesizeReport } from '../../src/tools/bitesize';
import { ExecAssembler, execsnoop, execsnoopHeader, execsnoopProgram, execsnoopLine, execsnoopWanted, type ExecRecord } from '../../src/tools/execsnoop';
import { opensnoop, opensnoopHeader, opensnoopLine } from '../../src/tools/opensnoop';
import { biolatency, biolatencyProgram, biolatencyReport, flagsFromRwbs } from '../../src/tools/biolatency';
import { runqlat, runqlatReport } from '../../src/tools/runqlat';
import { syscount, syscountProgram, syscountReport } from '../../src/tools/syscount';
import { toolOptions } from '../../src/tools/common/define';
import { ToolError } from '../../src/tools/tool';
import { str, uint } from '../../src/runtime/values';
import { log2Bucket } from '../../src/runtime/format/hist';
import { syscallTable } from '../../src/tools/common/syscalls';

const at = new Date(2024, 0, 2, 3, 4, 5);

function hist(values: number[]): bigint[] {
  const c: bigint[] = [];
  for (const v of values) {
    const i = log2Bucket(v);
    c[i] = (c[i] ?? 0n) + 1n;
  }
  return c;
}

test('bitesize: program filters and report layout', () => {
  const o = toolOptions(bitesize, ['-c', 'dd', '-T', '1', '3']);
  assert.equal(o.interval, 1);
  assert.equal(o.count, 3);
  o.bytesField = 'bytes';
  assert.equal(bitesizeProgram(o), 'tracepoint:block:block_rq_issue /strncmp(comm, "dd", 2) == 0/\n{\n  @kbytes[comm] = hist(args->bytes / 1024);\n}\n');
  const rep = bitesizeReport({ name: '@kbytes', keyed: true, kind: 'hist', entries: [{ key: [str('dd')], value: hist([1024, 1024]) }] }, true, at);
  assert.ok(rep.startsWith('\n03:04:05\n\nProcess Name = dd\n     Kbytes              : count    distribution\n'), rep);
  assert.ok(rep.endsWith('      1024 -> 2047       : 2        |****************************************|\n'), rep);
  assert.throws(() => toolOptions(bitesize, ['-d', 'no-such-disk-xyz']), ToolError);
});

test('execsnoop: header and lines in libbpf-tools columns', () => {
  const o = toolOptions(execsnoop, ['-T', '-t', '-U', '-q']);
  assert.equal(execsnoopHeader(o), 'TIME     TIME(s)  UID    PCOMM            PID    PPID   RET ARGS\n');
  const e: ExecRecord = { comm: 'true', parentComm: 'sh', pid: 42, ppid: 7, uid: 0, cpu: 1, ret: 0, args: ['/bin/true', 'a b'], truncated: false };
  assert.equal(execsnoopLine(o, e, at, 0.5), '03:04:05 0.500   0     true             42     7        0 "/bin/true" "a b" \n');
  const plain = toolOptions(execsnoop, []);
  assert.equal(execsnoopHeader(plain), 'PCOMM            PID    PPID   RET ARGS\n');
  assert.equal(execsnoopLine(plain, { ...e, truncated: true }, at, 0), 'true             42     7        0 /bin/true a b ... \n');
  assert.equal(execsnoopWanted(plain, { ...e, ret: -2 }), false);
  assert.equal(execsnoopWanted(toolOptions(execsnoop, ['-x']), { ...e, ret: -2 }), true);
  assert.equal(execsnoopWanted(toolOptions(execsnoop, ['-n', 'tru']), e), true);
  assert.equal(execsnoopWanted(toolOptions(execsnoop, ['-l', 'zzz']), e), false);
  assert.throws(() => toolOptions(execsnoop, ['--max-args', '0']), /at least 1/);
  // bcc's -M and -C columns, -n/-l as regular expressions, -u by name
  const mc = toolOptions(execsnoop, ['-M', '-C']);
  assert.equal(execsnoopHeader(mc), 'PCOMM            PID    PARENT           PPID   CPU  RET ARGS\n');
  assert.equal(execsnoopLine(mc, e, at, 0), 'true             42     sh               7      1      0 /bin/true a b \n');
  assert.equal(execsnoopWanted(toolOptions(execsnoop, ['-n', '^t.ue$']), e), true);
  assert.equal(execsnoopWanted(toolOptions(execsnoop, ['-l', 'a\\sb']), e), true);
  assert.equal(toolOptions(execsnoop, ['-u', 'root']).uid, 0);
  assert.throws(() => toolOptions(execsnoop, ['-u', 'no-such-user-xyz']), /'no-such-user-xyz' is not a valid UID or user name/);
  assert.throws(() => toolOptions(execsnoop, ['-n', '(']), /-n: '\(' is not a valid regular expression/);
});

test('execsnoop: one record per exec attempt of a thread, arguments of that attempt, --max-args as bcc', () => {
  const x = new ExecAssembler(20);
  const r = { comm: 'env', parentComm: 'sh', pid: 5, ppid: 1, uid: 0, cpu: 0 };
  // env's PATH search: two failed attempts, then the one that works, all by thread 5
  x.enter(5, '/a/true');
  x.join(5, ['true', 'one', 'two']);
  assert.deepEqual(x.exit(5, { ...r, ret: -2 })?.args, ['/a/true', 'one', 'two']);
  x.enter(5, '/b/true');
  x.join(5, ['true', 'one', 'two']);
  assert.deepEqual(x.exit(5, { ...r, ret: -2 })?.args, ['/b/true', 'one', 'two']);
  x.enter(5, '/bin/true');
  x.join(5, ['true', 'one', 'two']);
  x.join(5, ['garbage past the NULL']);
  x.image(5, Buffer.from('true\0one\0t'));
  x.image(5, Buffer.from('wo\0'));
  const ok = x.exit(5, { ...r, ret: 0, comm: 'true' });
  assert.deepEqual(ok?.args, ['/bin/true', 'one', 'two']);
  assert.equal(ok?.truncated, false);
  // an exit without its enter (exec begun before tracing) is no line
  assert.equal(x.exit(6, { ...r, ret: 0 }), undefined);
  // 25 arguments, --max-args 20: the file and argv[1..19], then "..."
  const many = Array.from({ length: 26 }, (_, i) => `a${i}`);
  x.enter(7, '/bin/many');
  x.join(7, many.slice(0, 16));
  x.join(7, many.slice(16));
  const m = x.exit(7, { ...r, ret: -13 });
  assert.deepEqual(m?.args, ['/bin/many', ...many.slice(1, 20)]);
  assert.equal(m?.truncated, true);
  assert.match(execsnoopProgram(toolOptions(execsnoop, ['--max-args', '40'])), /join\(args->argv \+ 32\);\n}/);
});

test('opensnoop: header, failed and successful lines, -f flag names', () => {
  const o = toolOptions(opensnoop, ['-T', '-U', '-e']);
  assert.equal(opensnoopHeader(o), 'TIME     UID     PID    COMM              FD ERR FLAGS    PATH\n');
  assert.equal(opensnoopLine(o, { pid: 706, uid: 0, ret: -2, flags: 0o2000000, comm: 'cat', path: '/x' }, at),
    '03:04:05 0       706    cat               -1   2 02000000 /x\n');
  const p = toolOptions(opensnoop, []);
  assert.equal(opensnoopLine(p, { pid: 1, uid: 0, ret: 3, flags: 0, comm: 'cat', path: '/etc/hostname' }, at), '1      cat                3   0 /etc/hostname\n');
  assert.equal(toolOptions(opensnoop, ['-f', 'O_WRONLY,O_CREAT']).flagMask, 0o101);
  assert.throws(() => toolOptions(opensnoop, ['-f', 'O_BOGUS']), /unknown open flag 'O_BOGUS'/);
});

test('biolatency: flag names from rwbs and per-disk/flag keys', () => {
  assert.equal(flagsFromRwbs('WS'), 'Sync-Write');
  assert.equal(flagsFromRwbs('RA'), 'ReadAhead-Read');
  assert.equal(flagsFromRwbs('RM'), 'Metadata-Read');
  assert.equal(flagsFromRwbs('FWFS'), 'PreFlush-FUA-Sync-Write');
  assert.equal(flagsFromRwbs('FN'), 'PreFlush-Unknown');
  const o = toolOptions(biolatency, ['-D', '-F', '-Q', '-m']);
  const prog = biolatencyProgram(o);
  assert.match(prog, /tracepoint:block:block_rq_insert\n/);
  assert.match(prog, /@lat\[args->dev, args->rwbs\] = hist\(\(nsecs - \$t\) \/ 1000000\);/);
  // bcc's -e line and -j records
  const e = toolOptions(biolatency, ['-e']);
  const hm = { name: '@lat', keyed: false, kind: 'hist' as const, bits: 0, entries: [{ key: [], value: [0n, 0n, 0n, 0n, 2n] }] };
  assert.ok(biolatencyReport(e, hm, at, { total: 25n, count: 2n }).endsWith('\navg = 12 usecs, total: 25 usecs, count: 2\n\n'));
  const j = biolatencyReport(toolOptions(biolatency, ['-j', '-F']), { ...hm, keyed: true, entries: [{ key: [str('WS')], value: [0n, 0n, 0n, 1n] }] }, at);
  assert.deepEqual(JSON.parse(j.trim()), { ts: `${at.getFullYear()}-${String(at.getMonth() + 1).padStart(2, '0')}-${String(at.getDate()).padStart(2, '0')} 03:04:05`, val_type: 'usecs',
    data: [{ 'interval-start': 0, 'interval-end': 1, count: 0 }, { 'interval-start': 2, 'interval-end': 3, count: 1 }], flags: 'Sync-Write' });
  // a data-less request (a flush) is keyed at ~0 at both ends
  assert.equal(flagsFromRwbs('FF'), 'PreFlush-Flush');
  assert.match(prog, /if \(args->nr_sector == 0\) \{ \$sector = 0xffffffffffffffff; \}\n {2}\$t = @start\[args->dev, \$sector\];/);
});

test('runqlat: per-process report merges threads by thread group', () => {
  const o = toolOptions(runqlat, ['-P']);
  const m = { name: '@lat', keyed: true, kind: 'hist' as const, entries: [
    { key: [uint(11, 32), str('w1')], value: hist([3]) },
    { key: [uint(12, 32), str('w2')], value: hist([3, 5]) },
  ] };
  const r = runqlatReport(o, m, at, () => 10);
  assert.equal(r, '\n\npid = 10 w1\n     usecs               : count    distribution\n' +
    '         0 -> 1          : 0        |                                        |\n' +
    '         2 -> 3          : 2        |****************************************|\n' +
    '         4 -> 7          : 1        |********************                    |\n');
  assert.throws(() => toolOptions(runqlat, ['-P', '-L']), /cannot be used together/);
});

test('syscount: program and report (sorted by count, top N)', () => {
  const o = toolOptions(syscount, ['-x', '-T', '2']);
  assert.equal(syscountProgram(o), 'tracepoint:raw_syscalls:sys_exit\n{\n  if (args->ret < 0) {\n    @cnt[args->id] = count();\n  }\n}\n');
  // numbers of the running architecture (x86-64: read 0, write 1; arm64: read 63, write 64)
  const nr = new Map([...syscallTable()].map(([n, name]) => [name, n]));
  const rep = syscountReport(o, [{ key: nr.get('read')!, count: 5n, ns: 0n }, { key: nr.get('write')!, count: 9n, ns: 0n }, { key: nr.get('close')!, count: 1n, ns: 0n }], at);
  assert.equal(rep, '[03:04:05]\nSYSCALL                   COUNT\nwrite                         9\nread                          5\n\n');
  const l = toolOptions(syscount, ['-L', '-P', '-m']);
  assert.equal(syscountReport(l, [{ key: 7, count: 2n, ns: 1500000n, comm: 'x' }], at),
    '[03:04:05]\nPID    COMM               COUNT        TIME (ms)\n7      x                      2            1.500\n\n');
  assert.equal(toolOptions(syscount, ['-e', 'EPERM']).errno, 1);
});
