import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProbeSpec, splitTopLevel, trace, translateExpr, typedArgs, traceHeader } from '../../src/tools/trace';
import { parseArgdistSpec, argdistBlock, argdistProgram } from '../../src/tools/argdist';
import { parsePattern, funcLabel, funccountReport } from '../../src/tools/funccount';
import { decodeSession, tcplifeHeader, tcplifeLine, tcplifeProgram } from '../../src/tools/tcplife';
import { foldedStack, multiLineStack } from '../../src/tools/common/stacks';
import { profileProgram } from '../../src/tools/profile';
import { vfsstatHeader, vfsstatLine, vfsstatProgram } from '../../src/tools/vfsstat';
import { offcputimeProgram } from '../../src/tools/offcputime';
import { toolOptions } from '../../src/tools/common/define';
import { profile } from '../../src/tools/profile';
import { offcputime } from '../../src/tools/offcputime';
import { tcplife } from '../../src/tools/tcplife';
import { ToolError } from '../../src/tools/tool';
import { int, str, uint } from '../../src/runtime/values';
import { unitTarget } from '../helpers/target';

const at = new Date(2024, 0, 2, 3, 4, 5);

test('trace: bcc probe specs', () => {
  const p = parseProbeSpec('u::firstProbe "%d - %s", arg1, arg2');
  assert.deepEqual(p, { kind: 'u', lib: '', func: 'firstProbe', params: [], predicate: undefined, format: '%d - %s', args: ['arg1', 'arg2'] });
  const q = parseProbeSpec('p:c:write(int fd, const char *buf, size_t n) (fd == 1) "n=%d", n');
  assert.deepEqual([q.kind, q.lib, q.func, q.params, q.predicate, q.format, q.args], ['p', 'c', 'write', ['fd', 'buf', 'n'], 'fd == 1', 'n=%d', ['n']]);
  assert.equal(translateExpr(q.predicate as string, q), 'arg0 == 1');
  assert.equal(translateExpr('arg3 + $pid + retval', p), 'arg2 + pid + retval');
  assert.deepEqual(typedArgs('%d - %s %K', ['arg1', 'arg2', 'arg3'], p, 80), { format: '%d - %s %s', args: ['arg0', 'str(arg1, 80)', 'ksym(arg2)'] });
  assert.throws(() => typedArgs('%d %d', ['arg1'], p, 80), ToolError);
  assert.deepEqual(splitTopLevel('"a, b", f(x, y), z'), ['"a, b"', 'f(x, y)', 'z']);
  assert.equal(parseProbeSpec('t:syscalls:sys_enter_openat').kind, 't');
  assert.throws(() => parseProbeSpec('q:a:b'), /unknown probe type 'q'/);
  assert.equal(traceHeader(toolOptions(trace, ['t:a:b']), false), 'PID     TID     COMM            FUNC             -\n');
  assert.equal(traceHeader(toolOptions(trace, ['-T', 't:a:b']), true), 'TIME     PID     TID     COMM            FUNC             \n');
});

test('argdist: specs, program and count blocks', () => {
  const s = parseArgdistSpec('p:c:malloc(size_t size):size_t:size:size==16', 'freq');
  assert.deepEqual([s.kind, s.lib, s.func, s.params, s.types, s.exprs, s.filter], ['p', 'c', 'malloc', ['size'], ['size_t'], ['size'], 'size==16']);
  const r = parseArgdistSpec('r:/bin/x:f(int a):u64:$latency,$entry(a)#lat', 'freq');
  assert.equal(r.label, 'lat');
  const prog = argdistProgram({ specs: [r], interval: 1, cumulative: false, stringSize: 80, target: unitTarget() });
  assert.match(prog, /^uprobe:\/bin\/x:f\n\{\n {2}@entry0__ts\[tid\] = nsecs;\n {2}@entry0_a\[tid\] = arg0;\n\}/);
  assert.match(prog, /uretprobe:\/bin\/x:f \/@entry0__ts\[tid\] != 0\/\n\{\n {2}@a0\[\(nsecs - @entry0__ts\[tid\]\), @entry0_a\[tid\]\] = count\(\);/);
  assert.throws(() => parseArgdistSpec('p:c:f():int:$retval', 'hist'), /only available in return probes/);
  assert.throws(() => parseArgdistSpec('t:a:b():int:x,y', 'hist'), /takes one expression/);
  // bcc syntax: an empty type is p; $PID, $COMM; STRCMP; a tracepoint's fields by bare name (the man page's ':int:irq')
  assert.equal(parseArgdistSpec('::__kmalloc(size_t size):size_t:size', 'hist').kind, 'p');
  const pidComm = argdistProgram({ specs: [parseArgdistSpec('t:syscalls:sys_enter_getppid():u32,char*:$PID,$COMM', 'freq')], interval: 1, cumulative: false, stringSize: 80, tid: 7, target: unitTarget() });
  assert.match(pidComm, /^tracepoint:syscalls:sys_enter_getppid \/tid == 7\/\n\{\n {2}@a0\[pid, comm\] = count\(\);/);
  const irq = argdistProgram({ specs: [parseArgdistSpec('t:irq:irq_handler_entry():int:irq', 'freq')], interval: 1, cumulative: false, stringSize: 80, target: unitTarget() });
  assert.match(irq, /@a0\[args->irq\] = count\(\);/);
  const cmp = argdistProgram({ specs: [parseArgdistSpec('r:/bin/x:open(char *file):u64:$latency:STRCMP("test.txt",$entry(file))', 'hist')], interval: 1, cumulative: false, stringSize: 80, target: unitTarget() });
  assert.match(cmp, /\(str\(@entry0_file\[tid\]\) == "test.txt"\)/);
  const block = argdistBlock(s, { name: '@a0', keyed: true, kind: 'count', entries: [{ key: [uint(16)], value: 3n }, { key: [uint(32)], value: 9n }] });
  assert.equal(block, 'p:c:malloc(size_t size):size_t:size:size==16\n\tCOUNT      EVENT\n\t3          size = 16\n\t9          size = 32\n');
});

test('funccount: patterns and labels', () => {
  assert.deepEqual(parsePattern('vfs_*'), { kind: 'kprobe', pattern: 'vfs_*' });
  assert.deepEqual(parsePattern('t:block:*'), { kind: 'tracepoint', category: 'block', event: '*' });
  assert.deepEqual(parsePattern('c:malloc'), { kind: 'uprobe', lib: 'c', func: 'malloc' });
  assert.deepEqual(parsePattern('u:node:gc*'), { kind: 'usdt', lib: 'node', probe: 'gc*' });
  assert.deepEqual(parsePattern('p:/bin/x:f'), { kind: 'uprobe', lib: '/bin/x', func: 'f' });
  assert.throws(() => parsePattern('z:a:b'), /unknown probe type 'z'/);
  assert.equal(funcLabel('tracepoint:block:block_rq_issue'), 'block:block_rq_issue');
  assert.equal(funcLabel('uprobe:/lib/libc.so.6:malloc'), 'malloc');
  assert.equal(funcLabel('usdt:/bin/x:tools:firstProbe'), 'tools:firstProbe');
  assert.equal(funccountReport({ name: '@counts', keyed: true, kind: 'count', entries: [{ key: [str('uprobe:/x:b')], value: 5n }, { key: [str('uprobe:/x:a')], value: 2n }] }, { pattern: '', timestamp: false, regexp: false }, at, true),
    `\n${'FUNC'.padEnd(36)}    COUNT\n${'a'.padEnd(36)}        2\n${'b'.padEnd(36)}        5\nDetaching...\n`);
});

test('tcplife: decoding addresses and the libbpf-tools row', () => {
  const v = [1234, 40000, 80, 1500, 10240, 2048, 127, 0, 0, 1, 10, 0, 0, 2].map((n) => int(n)) as ReturnType<typeof int>[];
  const e = decodeSession([...v, str('curl')], false);
  assert.equal(e.laddr, '127.0.0.1');
  assert.equal(e.raddr, '10.0.0.2');
  const o = toolOptions(tcplife, []);
  assert.equal(tcplifeHeader(o), 'PID     COMM             LADDR           LPORT RADDR           RPORT TX_KB  RX_KB  MS\n');
  assert.equal(tcplifeLine(o, e, at, 0), '1234    curl             127.0.0.1       40000 10.0.0.2        80    10.00  2.00   1.50\n');
  assert.equal(tcplifeLine(toolOptions(tcplife, ['-s']), e, at, 0), '1234,curl,4,127.0.0.1,40000,10.0.0.2,80,10,2,1.50\n');
  // -4 and -6 are flags (they were taken for negative numbers)
  assert.equal(toolOptions(tcplife, ['-4']).ipv4Only, true);
  assert.equal(toolOptions(tcplife, ['-6']).ipv6Only, true);
  assert.match(tcplifeProgram({ ...toolOptions(tcplife, ['-6']), bytes: false }), /args->family == 10/);
  assert.throws(() => toolOptions(tcplife, ['-L', '99999']), /port numbers/);
});

test('stacks: bcc multi-line and folded layouts', () => {
  const s = { comm: 'dd', pid: 7, kernel: ['vfs_write', 'ksys_write'], user: ['write', 'main'], count: 3n };
  const o = { userOnly: false, kernelOnly: false, delimited: true, annotate: true };
  assert.equal(multiLineStack(s, o), '    vfs_write\n    ksys_write\n    --\n    write\n    main\n    -                dd (7)\n        3\n\n');
  assert.equal(foldedStack(s, o), 'dd;main;write;-;ksys_write_[k];vfs_write_[k] 3\n');
  const p = toolOptions(profile, ['-F', '99', '-p', '5', '-U']);
  assert.equal(profileProgram(p), 'profile:hz:99 /pid == 5 && pid != 0/\n{\n  @samples[ustack, comm, pid] = count();\n}\n');
  // bcc: PID lists, -c sample period, --hash-storage-size
  const c = toolOptions(profile, ['-c', '1000000', '-p', '5,7', '--hash-storage-size', '1000']);
  assert.equal(profileProgram(c), 'config = { max_map_keys = 1000 }\n\nsoftware:cpu-clock:1000000 /(pid == 5 || pid == 7) && pid != 0/\n{\n  @samples[kstack, ustack, comm, pid] = count();\n}\n');
  assert.throws(() => toolOptions(profile, ['-p', '5,x']), /-p expects PIDs separated by commas, got 'x'/);
  assert.throws(() => toolOptions(profile, ['-U', '-K']), /mutually exclusive/);
  assert.match(offcputimeProgram(toolOptions(offcputime, ['-m', '1000', '-M', '5000'])), /if \(\$us >= 1000 && \$us <= 5000\)/);
});

test('vfsstat: header, rows and the syscall approximation', () => {
  assert.equal(vfsstatHeader({ interval: 1, syscalls: false }), 'TIME         READ/s  WRITE/s  FSYNC/s   OPEN/s CREATE/s\n');
  assert.equal(vfsstatLine([10n, 4n, 0n, 2n], 2, at), '03:04:05:         5        2        0        1        0\n');
  const prog = vfsstatProgram({ interval: 1, syscalls: true }, (sc) => ['read', 'openat', 'creat'].includes(sc));
  assert.match(prog, /^tracepoint:syscalls:sys_enter_read\n\{\n {2}@stat\[0\] = count\(\);/);
  assert.match(prog, /tracepoint:syscalls:sys_enter_openat \/args->flags & 64\/\n\{\n {2}@stat\[4\] = count\(\);/);
});
