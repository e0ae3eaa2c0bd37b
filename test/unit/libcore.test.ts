import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFormat, globToRegExp } from '../../src/sys/tracefs';
import { parseCpuList, buildPerfAttr, PerfType, AttrFlag } from '../../src/sys/perf';
import { parseVerifierLog } from '../../src/ebpf/programs';
import { sanitizeObjName, cstr } from '../../src/sys/bpf';
import { scanBtfFuncs } from '../../src/sys/features';

const OPENAT = `name: sys_enter_openat
ID: 700
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:__data_loc char[] name;	offset:32;	size:4;	signed:1;
	field:char comm[16];	offset:36;	size:16;	signed:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename))
`;

test('parseFormat: common and event fields with types, offsets, sizes, signedness, data_loc and arrays', () => {
  const f = parseFormat(OPENAT, 'syscalls', 'sys_enter_openat');
  assert.equal(f.id, 700);
  assert.deepEqual(f.commonFields.map((x) => x.name), ['common_type', 'common_flags', 'common_preempt_count', 'common_pid']);
  assert.deepEqual(f.fields.map((x) => x.name), ['__syscall_nr', 'dfd', 'filename', 'name', 'comm']);
  assert.deepEqual(f.fields[2], { name: 'filename', type: 'const char *', offset: 24, size: 8, signed: false, dataLoc: false });
  assert.deepEqual(f.fields[3], { name: 'name', type: '__data_loc char[]', offset: 32, size: 4, signed: true, dataLoc: true });
  assert.deepEqual(f.fields[4], { name: 'comm', type: 'char[16]', offset: 36, size: 16, signed: false, dataLoc: false, arrayLen: 16 });
  assert.equal(f.commonFields[3].signed, true);
  assert.match(f.printFmt, /^"dfd: 0x%08lx/);
});

test('globToRegExp: * and ? wildcards, other characters literal', () => {
  assert.ok(globToRegExp('sys_enter_*').test('sys_enter_openat'));
  assert.ok(!globToRegExp('sys_enter_*').test('sys_exit_openat'));
  assert.ok(globToRegExp('a?c').test('abc'));
  assert.ok(!globToRegExp('a.c').test('abc'));
});

test('parseCpuList: ranges and single CPUs', () => {
  assert.deepEqual(parseCpuList('0-3,5,7-8\n'), [0, 1, 2, 3, 5, 7, 8]);
  assert.deepEqual(parseCpuList('0'), [0]);
});

test('buildPerfAttr: the 128-byte layout, frequency flag and config1 string patch', () => {
  const { attr, patches } = buildPerfAttr({ type: 8, config: 1n, sampleFreq: 99n, config1Str: '/bin/true', config2: 0x1234n, wakeupEvents: 1 });
  assert.equal(attr.length, 128);
  assert.equal(attr.readUInt32LE(0), 8);
  assert.equal(attr.readUInt32LE(4), 128);
  assert.equal(attr.readBigUInt64LE(8), 1n);
  assert.equal(attr.readBigUInt64LE(16), 99n);
  assert.equal(attr.readBigUInt64LE(40) & AttrFlag.FREQ, AttrFlag.FREQ);
  assert.equal(attr.readUInt32LE(48), 1);
  assert.equal(attr.readBigUInt64LE(64), 0x1234n);
  assert.equal(patches.length, 1);
  assert.equal(patches[0][0], attr);
  assert.equal(patches[0][1], 56);
  assert.equal(Buffer.from(patches[0][2]).toString(), '/bin/true\0');
  const tp = buildPerfAttr({ type: PerfType.TRACEPOINT, config: 42n, samplePeriod: 1n });
  assert.equal(tp.attr.readBigUInt64LE(16), 1n);
  assert.equal(tp.attr.readBigUInt64LE(40), 0n);
});

const LOG = `func#0 @0
0: R1=ctx() R10=fp0
0: (b7) r0 = 0                        ; R0_w=0
1: (79) r0 = *(u64 *)(r2 +0)
R2 !read_ok
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`;

test('parseVerifierLog: the rejected instruction and the reason, without the stats footer', () => {
  const p = parseVerifierLog(LOG);
  assert.equal(p.insnIndex, 1);
  assert.equal(p.reason, 'R2 !read_ok');
  assert.deepEqual(p.context, ['1: (79) r0 = *(u64 *)(r2 +0)']);
  assert.deepEqual(parseVerifierLog(''), { insnIndex: undefined, reason: '', context: [] });
  assert.equal(parseVerifierLog('last insn is not an exit or jmp\nprocessed 0 insns\n').reason, 'last insn is not an exit or jmp');
});

test('object names are sanitised to the kernel\'s alphabet and 15 bytes; cstr is NUL-terminated', () => {
  assert.equal(sanitizeObjName('tracepoint:syscalls:sys_enter'), 'tracepoint_sysc');
  assert.equal(sanitizeObjName('ok.name_1'), 'ok.name_1');
  assert.deepEqual([...cstr('ab')], [0x61, 0x62, 0]);
});

test('scanBtfFuncs finds FUNC ids in a hand-made BTF blob', () => {
  // Types: [1] INT "int" (size 4, 32 bits), [2] FUNC_PROTO (0 params), [3] FUNC "f" -> 2.
  const strs = Buffer.from('\0int\0f\0');
  const types = Buffer.alloc(12 + 4 + 12 + 12);
  types.writeUInt32LE(1, 0); types.writeUInt32LE(1 << 24, 4); types.writeUInt32LE(4, 8); types.writeUInt32LE(32, 12);
  types.writeUInt32LE(0, 16); types.writeUInt32LE(13 << 24, 20); types.writeUInt32LE(1, 24);
  types.writeUInt32LE(5, 28); types.writeUInt32LE(12 << 24, 32); types.writeUInt32LE(2, 36);
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0); hdr[2] = 1; hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8); hdr.writeUInt32LE(types.length, 12); hdr.writeUInt32LE(types.length, 16); hdr.writeUInt32LE(strs.length, 20);
  const m = scanBtfFuncs(Buffer.concat([hdr, types, strs]));
  assert.deepEqual([...m], [['f', 3]]);
});
