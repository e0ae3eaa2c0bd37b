import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Btf, BtfError, BtfNotFoundError, BTF_KIND } from '../../src/ebpf/btf';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const haveBtf = fs.existsSync(VMLINUX);
const bpftool = ['/usr/sbin/bpftool', '/usr/bin/bpftool', '/sbin/bpftool'].find((p) => fs.existsSync(p));
const skipNoBtf = haveBtf ? false : 'no /sys/kernel/btf/vmlinux on this machine';

let rawCache: string | undefined;
function bpftoolRaw(): string {
  return (rawCache ??= execFileSync(bpftool!, ['btf', 'dump', 'file', VMLINUX, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 30 }));
}

/** Struct layout as bpftool prints it: member name -> [type id, bit offset]. */
function refStruct(name: string, kind = 'STRUCT'): { id: number; size: number; members: Map<string, [number, number]> } {
  const raw = bpftoolRaw();
  const m = new RegExp(`^\\[(\\d+)\\] ${kind} '${name}' size=(\\d+) vlen=\\d+\\n((?:\\t.*\\n)*)`, 'm').exec(raw);
  assert.ok(m, `bpftool shows ${kind} ${name}`);
  const members = new Map<string, [number, number]>();
  for (const l of m[3].split('\n')) {
    const mm = /^\t'([^']+)' type_id=(\d+) bits_offset=(\d+)/.exec(l);
    if (mm) members.set(mm[1], [Number(mm[2]), Number(mm[3])]);
  }
  return { id: Number(m[1]), size: Number(m[2]), members };
}

test('every vmlinux type decodes exactly as bpftool dumps it (format raw)', { skip: skipNoBtf || (!bpftool && 'bpftool not installed') }, () => {
  const btf = Btf.vmlinux();
  const ref = bpftoolRaw().trimEnd().split('\n');
  const ours: string[] = [];
  for (let id = 1; id < btf.nextId; id++) ours.push(...btf.formatRaw(id).split('\n'));
  assert.equal(ours.length, ref.length);
  for (let i = 0; i < ref.length; i++) if (ours[i] !== ref[i]) assert.equal(ours[i], ref[i], `line ${i + 1}`);
  assert.ok(btf.typeCount > 10_000);
});

test('member offsets agree with bpftool for well-known structs', { skip: skipNoBtf || (!bpftool && 'bpftool not installed') }, () => {
  const btf = Btf.vmlinux();
  const task = refStruct('task_struct');
  for (const f of ['pid', 'tgid', 'comm', 'real_parent', 'mm', 'flags', 'cred']) {
    const r = task.members.get(f);
    assert.ok(r, `task_struct.${f} in bpftool dump`);
    assert.equal(btf.memberOffset('task_struct', f), r[1] / 8, f);
    assert.equal(btf.memberAccess('task_struct', f).type, r[0], f);
  }
  assert.equal(btf.sizeOf(btf.find('task_struct', 'struct')!), task.size);
  assert.equal(btf.find('task_struct', 'struct'), task.id);

  const lh = refStruct('list_head');
  assert.equal(lh.size, 16);
  assert.equal(btf.sizeOf(btf.findType('struct list_head')!), 16);
  assert.equal(btf.memberOffset('list_head', 'prev'), 8);

  // Embedded struct: se.vruntime = offsetof(task_struct, se) + offsetof(sched_entity, vruntime).
  const se = refStruct('sched_entity');
  assert.equal(btf.memberOffset('task_struct', 'se.vruntime'), (task.members.get('se')![1] + se.members.get('vruntime')![1]) / 8);

  // Through a pointer: mm -> mm_struct.arg_start (inside an anonymous struct in mm_struct).
  const acc = btf.memberAccess('task_struct', 'mm->arg_start');
  assert.equal(acc.steps.length, 2);
  assert.equal(acc.steps[0], task.members.get('mm')![1] / 8);
  const mm = refStruct('mm_struct');
  let want: number | undefined = mm.members.get('arg_start')?.[1];
  if (want === undefined) {
    // Find it one level down, in the anonymous member that holds it.
    for (const [name, [tid, off]] of mm.members) {
      if (!name.startsWith('(anon)')) continue;
      const inner = new RegExp(`^\\[${tid}\\] STRUCT '\\(anon\\)' size=\\d+ vlen=\\d+\\n((?:\\t.*\\n)*)`, 'm').exec(bpftoolRaw());
      const a = inner && /\t'arg_start' type_id=\d+ bits_offset=(\d+)/.exec(inner[1]);
      if (a) want = off + Number(a[1]);
    }
  }
  assert.ok(want !== undefined);
  assert.equal(acc.steps[1], want / 8);
  assert.deepEqual(btf.memberAccess('task_struct', 'mm.arg_start'), acc);
  assert.throws(() => btf.memberOffset('task_struct', 'mm.arg_start'), /goes through a pointer/);

  // Array element.
  assert.equal(btf.memberAccess('task_struct', 'comm[3]').steps[0], task.members.get('comm')![1] / 8 + 3);
});

test('C type names, sizes, typedef resolution', { skip: skipNoBtf }, () => {
  const btf = Btf.vmlinux();
  const task = btf.find('task_struct', 'struct')!;
  const tname = (m: string): string => btf.typeName(btf.findMember(task, m)!.type);
  assert.equal(btf.typeName(task), 'struct task_struct');
  assert.equal(tname('real_parent'), 'struct task_struct *');
  assert.equal(tname('mm'), 'struct mm_struct *');
  assert.equal(tname('comm'), 'char[16]');
  assert.equal(tname('pid'), 'pid_t');
  assert.equal(btf.typeName(btf.findMember(task, 'comm')!.type, 'comm'), 'char comm[16]');
  assert.equal(btf.sizeOf(btf.findMember(task, 'comm')!.type), 16);
  assert.equal(btf.sizeOf(btf.findMember(task, 'pid')!.type), 4);
  assert.equal(btf.typeName(btf.resolve(btf.findType('pid_t')!)), 'int');
  assert.equal(btf.typeName(btf.resolve(btf.findType('u64')!)), 'long long unsigned int');
  assert.equal(btf.sizeOf(btf.findType('u64')!), 8);
  const fops = btf.find('file_operations', 'struct')!;
  assert.equal(btf.typeName(btf.findMember(fops, 'read')!.type), 'ssize_t (*)(struct file *, char *, size_t, loff_t *)');
  // returns int on 6.18, long on 6.12 (the arm64 VM lane)
  assert.match(btf.funcSignature(btf.find('do_sys_openat2', 'func')!), /^(long )?int do_sys_openat2\(int dfd, const char \*filename, struct open_how \*how\)$/);
  const { params } = btf.funcParams(btf.find('vfs_open', 'func')!);
  assert.deepEqual(params.map((p) => [p.name, btf.typeName(p.type)]), [['path', 'const struct path *'], ['file', 'struct file *']]);
});

test('enums and bitfields', { skip: skipNoBtf }, () => {
  const btf = Btf.vmlinux();
  // Values from include/uapi/linux/bpf.h.
  const cmd = new Map(btf.enumValues(btf.findType('enum bpf_cmd')!).map((v) => [v.name, v.value]));
  assert.equal(cmd.get('BPF_MAP_CREATE'), 0n);
  assert.equal(cmd.get('BPF_PROG_LOAD'), 5n);
  assert.equal(cmd.get('BPF_BTF_LOAD'), 18n);
  const pt = new Map(btf.enumValues(btf.findType('enum bpf_prog_type')!).map((v) => [v.name, v.value]));
  assert.equal(pt.get('BPF_PROG_TYPE_KPROBE'), 2n);
  assert.equal(pt.get('BPF_PROG_TYPE_TRACEPOINT'), 5n);
  // task_struct has 1-bit flags such as sched_reset_on_fork.
  const a = btf.memberAccess('task_struct', 'sched_reset_on_fork');
  assert.equal(a.bitfieldSize, 1);
  assert.equal(a.steps[0], Math.floor(a.bitOffset / 8));
  assert.throws(() => btf.memberOffset('task_struct', 'sched_reset_on_fork'), /bitfield/);
});

test('lookup errors are typed and name what was missing', { skip: skipNoBtf }, () => {
  const btf = Btf.vmlinux();
  assert.throws(() => btf.memberOffset('task_struct', 'no_such_field'), (e: unknown) => e instanceof BtfNotFoundError && /struct task_struct has no member 'no_such_field'/.test(e.message));
  assert.throws(() => btf.memberOffset('no_such_struct_xyz', 'pid'), BtfNotFoundError);
  assert.throws(() => btf.memberAccess('task_struct', 'pid.x'), BtfNotFoundError);
  assert.throws(() => btf.type(btf.nextId), BtfNotFoundError);
  assert.equal(btf.find('no_such_type_xyz'), undefined);
});

/** Builds a BTF blob from raw type words and a string table (test-only encoder). */
function blob(types: number[], strings: string): Buffer {
  const t = Buffer.alloc(types.length * 4);
  types.forEach((w, i) => t.writeUInt32LE(w >>> 0, i * 4));
  const s = Buffer.from(strings, 'latin1');
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0);
  h[2] = 1;
  h.writeUInt32LE(24, 4);
  h.writeUInt32LE(0, 8);
  h.writeUInt32LE(t.length, 12);
  h.writeUInt32LE(t.length, 16);
  h.writeUInt32LE(s.length, 20);
  return Buffer.concat([h, t, s]);
}

test('split BTF continues the base ids and strings', () => {
  const info = (kind: number, vlen = 0, kflag = 0): number => ((kflag << 31) | (kind << 24) | vlen) >>> 0;
  // Base: [1] int 'int' (4 bytes, signed), [2] ptr -> 1.
  const baseStr = '\0int\0';
  const base = Btf.parse(blob([1, info(BTF_KIND.INT), 4, (1 << 24) | 32, 0, info(BTF_KIND.PTR), 1], baseStr));
  assert.equal(base.nextId, 3);
  // Module: [3] struct 'thing' { int x; int *p; unsigned y:3 } reusing base string 'int' (offset 1).
  const modStr = '\0thing\0x\0p\0y\0';
  const so = (s: string): number => baseStr.length + modStr.indexOf(`\0${s}\0`) + 1;
  const mod = Btf.parse(blob([
    so('thing'), info(BTF_KIND.STRUCT, 3, 1), 16,
    so('x'), 1, 0,
    so('p'), 2, 64,
    so('y'), 1, (3 << 24) | 128,
  ], modStr), base);
  assert.equal(mod.firstId, 3);
  assert.equal(mod.find('thing', 'struct'), 3);
  assert.equal(mod.find('int', 'int'), 1);
  assert.equal(mod.typeName(3), 'struct thing');
  assert.equal(mod.memberOffset('thing', 'p'), 8);
  assert.equal(mod.typeName(mod.memberAccess('thing', 'p').type), 'int *');
  const y = mod.memberAccess('thing', 'y');
  assert.deepEqual([y.bitOffset, y.bitfieldSize], [128, 3]);
  assert.equal(mod.formatRaw(3).split('\n')[3], "\t'y' type_id=1 bits_offset=128 bitfield_size=3");
  assert.throws(() => Btf.parse(Buffer.from('not btf at all, definitely not......')), BtfError);
});

test('name lookups before and after the name index agree (tails of strings, duplicate strings, name words as data)', () => {
  const info = (kind: number, vlen = 0): number => ((kind << 24) | vlen) >>> 0;
  // 'pid' stands alone once and twice more as the tail of 'tgid_pid' and in a duplicate string.
  const str = '\0tgid_pid\0pid\0pid\0int\0s\0';
  const at = (s: string, nth = 0): number => {
    let i = -1;
    for (let k = 0; k <= nth; k++) i = str.indexOf(`${s}\0`, i + 1);
    return i;
  };
  const tail = at('tgid_pid') + 'tgid_'.length;
  const words = [
    at('int'), info(BTF_KIND.INT), 4, 32, //                [1] int
    at('pid'), info(BTF_KIND.TYPEDEF), 1, //                 [2] typedef pid -> int
    tail, info(BTF_KIND.TYPEDEF), 1, //                      [3] typedef 'pid' named by the tail of 'tgid_pid'
    at('pid', 1), info(BTF_KIND.TYPEDEF), 1, //              [4] 'pid' from the duplicate string
    at('s'), info(BTF_KIND.STRUCT, 1), at('pid'), //         [5] struct s, size = pid's offset (not a name)
    at('pid'), 2, 0, //                                          member 'pid' (a member name, not a type's)
    at('tgid_pid'), info(BTF_KIND.TYPEDEF), 1, //            [6] typedef tgid_pid
  ];
  const scanned = Btf.parse(blob(words, str));
  const indexed = Btf.parse(blob(words, str));
  indexed.find('no such name, builds the index');
  for (let i = 0; i < 30; i++) indexed.find(`filler${i}`); // past the scans allowed before the index
  for (const b of [scanned, indexed]) {
    assert.deepEqual(b.findAll('pid'), [2, 3, 4]);
    assert.deepEqual(b.findAll('tgid_pid'), [6]);
    assert.deepEqual(b.findAll('int', 'int'), [1]);
    assert.equal(b.find('s', 'struct'), 5);
    assert.deepEqual(b.findAll('tgid'), []);
    assert.deepEqual(b.findAll(''), []);
    assert.deepEqual(b.findAll('int\0s'), []); // two strings are not one name
  }
});

test('vmlinux: every lookup by scanning equals the name index', { skip: skipNoBtf }, () => {
  const raw = fs.readFileSync(VMLINUX);
  const indexed = Btf.parse(raw);
  for (let i = 0; i < 30; i++) indexed.find(`filler${i}`); // past the scans allowed before the index
  const names = new Set<string>();
  for (let id = 1; id < indexed.nextId; id++) names.add(indexed.name(id));
  const sample = [...names].filter((_, i) => i % 997 === 0).concat(['task_struct', 'pid', 'file', 'int', 'u64', 'x', 'no_such_type_xyz']);
  let scanned = Btf.parse(raw);
  for (const [i, n] of sample.entries()) {
    if (i % 20 === 0) scanned = Btf.parse(raw); // stay below the scans that build the index
    assert.deepEqual(scanned.findAll(n), indexed.findAll(n), n);
  }
});

test('vmlinux: the addon\'s first pass equals the JavaScript one (type starts and names), and gives way on anything unusual', { skip: skipNoBtf }, () => {
  const raw = fs.readFileSync(VMLINUX);
  const { native } = require('../../src/sys/native') as typeof import('../../src/sys/native');
  const scan = native().btfScan;
  assert.ok(scan, 'the addon has btfScan');
  const aligned = Btf.parse(raw);
  // One byte off a word boundary: the addon declines (-1), so the JavaScript walk makes this one.
  const shifted = Buffer.alloc(raw.length + 1);
  raw.copy(shifted, 1);
  const unaligned = Btf.parse(shifted.subarray(1));
  const view = (b: Btf) => b as unknown as { offsets: Uint32Array; nameOffs: Uint32Array };
  assert.equal(aligned.typeCount, unaligned.typeCount);
  assert.deepEqual(view(aligned).offsets, view(unaligned).offsets);
  assert.deepEqual(view(aligned).nameOffs, view(unaligned).nameOffs);
  // Direct calls: too little room, a cut record, an unknown kind are all -1 (the JavaScript walk then reports or grows).
  const start = raw.readUInt32LE(4) + raw.readUInt32LE(8);
  const end = start + raw.readUInt32LE(12);
  const sizes = (kinds: number[]) => new Int32Array(32).map((_, k) => (kinds.includes(k) ? 0 : -1));
  const tiny = new Uint32Array(4);
  const one = Buffer.alloc(16);
  one.writeUInt32LE(1 << 24, 4); // kind 1 (INT)
  assert.equal(scan(one, 0, 16, new Int32Array(32).fill(4), new Int32Array(32), tiny, tiny), 1, 'one 16-byte record');
  assert.equal(scan(one, 0, 8, new Int32Array(32), new Int32Array(32), tiny, tiny), -1, 'cut header');
  assert.equal(scan(one, 0, 16, sizes([2]), new Int32Array(32), tiny, tiny), -1, 'unknown kind');
  assert.equal(scan(raw, start, end, new Int32Array(32), new Int32Array(32), tiny, tiny), -1, 'no room');
});
