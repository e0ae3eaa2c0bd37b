/**
 * BTF-formatted map dumps against bpftool on maps whose BTF we write
 * ourselves: one value struct that holds every kind bpftool formats (signed
 * and unsigned ints of each size, bool, char encodings, strings and
 * non-string char arrays, enums with and without a matching name, NULL and
 * non-NULL pointers, arrays, kflag and old-style bitfields, unions,
 * anonymous members, __int128), plus a per-CPU map. The element values are
 * ours, so the expected text is known exactly; bpftool is the arbiter of layout.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { kernelTest } from '../helpers/kernel';
import { run as mapCli } from '../../src/cli/commands/map';
import { possibleCpus } from '../../src/inspect/map';
import { btfLoad, closeFd, mapCreate, mapInfo, mapUpdateElem, MapType } from '../../src/sys/bpf';

const BPFTOOL = '/usr/sbin/bpftool';
const bpftool = (...args: string[]): string => execFileSync(BPFTOOL, args, { encoding: 'utf8' });

async function ours(argv: string[]): Promise<string> {
  const ow = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((s: string | Uint8Array) => { out += String(s); return true; }) as typeof process.stdout.write;
  let code: number;
  try {
    code = await mapCli(argv);
  } finally {
    process.stdout.write = ow;
  }
  assert.equal(code, 0, `tsbpf map ${argv.join(' ')} failed`);
  return out;
}

/** A minimal BTF encoder: types are appended in order, so ids are 1, 2, ... */
class BtfWriter {
  private types: Buffer[] = [];
  private strs: Buffer[] = [Buffer.from([0])];
  private strLen = 1;

  private str(s: string): number {
    if (!s) return 0;
    const off = this.strLen;
    const b = Buffer.from(s + '\0', 'latin1');
    this.strs.push(b);
    this.strLen += b.length;
    return off;
  }

  private add(name: string, kind: number, vlen: number, kflag: boolean, sizeOrType: number, extra: number[]): number {
    const b = Buffer.alloc(12 + extra.length * 4);
    b.writeUInt32LE(this.str(name), 0);
    b.writeUInt32LE(((kflag ? 1 : 0) << 31 | kind << 24 | vlen) >>> 0, 4);
    b.writeUInt32LE(sizeOrType >>> 0, 8);
    extra.forEach((x, i) => b.writeUInt32LE(x >>> 0, 12 + i * 4));
    this.types.push(b);
    return this.types.length;
  }

  /** encoding: 1 signed, 2 char, 4 bool. */
  int(name: string, size: number, encoding: number, bits = size * 8, offset = 0): number {
    return this.add(name, 1, 0, false, size, [(encoding << 24) | (offset << 16) | bits]);
  }
  ptr(type: number): number { return this.add('', 2, 0, false, type, []); }
  array(type: number, index: number, n: number): number { return this.add('', 3, 0, false, 0, [type, index, n]); }
  /** Members are [name, type, bitOffset, bitfieldSize?]; any bitfield size sets kind_flag. */
  struct(name: string, size: number, members: [string, number, number, number?][], union = false): number {
    const kflag = members.some((m) => m[3] !== undefined);
    const extra = members.flatMap(([n, t, off, bits]) => [this.str(n), t, kflag ? ((bits ?? 0) << 24) | off : off]);
    return this.add(name, union ? 5 : 4, members.length, kflag, size, extra);
  }
  enum(name: string, values: [string, number][]): number {
    return this.add(name, 6, values.length, false, 4, values.flatMap(([n, v]) => [this.str(n), v]));
  }
  float(name: string, size: number): number { return this.add(name, 16, 0, false, size, []); }
  typedef(name: string, type: number): number { return this.add(name, 8, 0, false, type, []); }
  modifier(kind: 'const' | 'volatile', type: number): number { return this.add('', kind === 'const' ? 10 : 9, 0, false, type, []); }

  build(): Buffer {
    const types = Buffer.concat(this.types);
    const strs = Buffer.concat(this.strs);
    const h = Buffer.alloc(24);
    h.writeUInt16LE(0xeb9f, 0);
    h[2] = 1;
    h.writeUInt32LE(24, 4);
    h.writeUInt32LE(0, 8);
    h.writeUInt32LE(types.length, 12);
    h.writeUInt32LE(types.length, 16);
    h.writeUInt32LE(strs.length, 20);
    return Buffer.concat([h, types, strs]);
  }
}

function buildBtf(): { blob: Buffer; key: number; value: number; short: number; odd: number } {
  const w = new BtfWriter();
  const int = w.int('int', 4, 1);
  const uint = w.int('unsigned int', 4, 0);
  const char = w.int('char', 1, 1);
  const ll = w.int('long long', 8, 1);
  const uchar = w.int('unsigned char', 1, 0);
  const bool = w.int('_Bool', 1, 4);
  const short = w.int('short', 2, 1);
  const u128 = w.int('unsigned __int128', 16, 0);
  const cchar = w.int('xchar', 1, 2);
  const u4 = w.int('u4', 4, 0, 4);
  const ull = w.int('unsigned long long', 8, 0);
  const u16 = w.int('unsigned short', 2, 0);
  const color = w.enum('color', [['RED', 0], ['GREEN', 1], ['BLUE', 7]]);
  const pint = w.ptr(int);
  const chars8 = w.array(char, uint, 8);
  const chars4 = w.array(char, uint, 4);
  const ints3 = w.array(int, uint, 3);
  const uchars4 = w.array(uchar, uint, 4);
  const xchars4 = w.array(cchar, uint, 4);
  const u32 = w.typedef('u32', uint);
  const cu32 = w.modifier('const', u32);
  const vchar = w.modifier('volatile', char);
  const vchars6 = w.array(vchar, uint, 6);
  const inner = w.struct('inner', 8, [['a', uint, 0, 3], ['b', uint, 3, 5], ['c', int, 8, 12], ['d', char, 32, 0], ['e', uint, 40, 20]]);
  const un = w.struct('un', 4, [['x', int, 0], ['y', uchars4, 0]], true);
  const value = w.struct('val', 160, [
    ['i', int, 0], ['u', cu32, 32], ['c', chars8, 64], ['raw', chars4, 128], ['s', short, 160], ['b', bool, 176],
    ['ch', cchar, 184], ['ll', ll, 192], ['e', color, 256], ['e2', color, 288], ['p', pint, 320], ['p2', pint, 384],
    ['arr', ints3, 448], ['in', inner, 544], ['un', un, 608], ['big', u128, 640], ['', inner, 768],
    ['old', u4, 832], ['xs', xchars4, 864], ['vs', vchars6, 896], ['ull', ull, 960], ['us', u16, 1024],
    ['uc', uchar, 1040], ['nc', cchar, 1048], ['empty', chars4, 1056], ['big2', u128, 1152],
  ]);
  // bpftool cannot format a float: it stops the element there but closes what it opened.
  const flt = w.float('float', 4);
  const odd = w.struct('odd', 16, [['x', int, 0], ['arr', w.array(flt, uint, 2), 32], ['y', int, 96]]);
  return { blob: w.build(), key: u32, value, short, odd };
}

/** The value bytes for element `k` (layout of struct val above). */
function valueBytes(k: number): Buffer {
  const b = Buffer.alloc(160);
  b.writeInt32LE(-7 * k, 0);
  b.writeUInt32LE(0xfffffff0 + k, 4);
  b.write(k ? `a'b"c\\` : 'hello', 8, 'latin1');
  b.set([1, 0xff, 0, 3], 16);
  b.writeInt16LE(-5 - k, 20);
  b[22] = k & 1;
  b[23] = k ? 'Z'.charCodeAt(0) : 7;
  b.writeBigInt64LE(-123456789012n * BigInt(k + 1), 24);
  b.writeInt32LE(7, 32);
  b.writeInt32LE(k ? -3 : 42, 36);
  b.writeBigUInt64LE(0n, 40);
  b.writeBigUInt64LE(0xffff888012345678n + BigInt(k), 48);
  b.writeInt32LE(1, 56);
  b.writeInt32LE(-2, 60);
  b.writeInt32LE(2147483647, 64);
  // inner: a=5 (3 bits), b=17 (5 bits), c=0xabc (12 bits at 8), d='q', e=0xfedcb (20 bits at 40)
  b.writeUInt32LE(5 | (17 << 3) | (0xabc << 8), 68);
  b[72] = 'q'.charCodeAt(0);
  b.writeUIntLE(0xfedcb, 73, 3);
  b.writeInt32LE(-1 - k, 76);
  b.writeBigUInt64LE(0x1122334455667788n, 80);
  b.writeBigUInt64LE(k ? 0x99n : 0n, 88);
  b.writeUInt32LE(1 | (2 << 3) | (0x800 << 8), 96);
  b[100] = 0x80;
  b.writeUInt32LE(0xfffffff9, 104);
  b.set([0x41, 0x09, 0x7f, 0x20], 108);
  b.write('abcde', 112, 'latin1');
  b.writeBigUInt64LE(0xffffffffffffffffn, 120);
  b.writeUInt16LE(65535, 128);
  b[130] = 200;
  b[131] = 0x27;
  b.writeBigUInt64LE(5n, 144);
  b.writeBigUInt64LE(0n, 152);
  return b;
}

kernelTest('map dump formats every BTF kind bpftool formats, byte for byte (plain, -j, -p; hash and per-CPU)', async (t) => {
  if (!fs.existsSync(BPFTOOL)) return t.skip('BPFTOOL NOT INSTALLED: apt-get install -y bpftool');
  const { blob, key, value, short, odd } = buildBtf();
  const fds: number[] = [];
  try {
    const btfFd = btfLoad(blob);
    fds.push(btfFd);
    const hash = mapCreate({ type: MapType.HASH, keySize: 4, valueSize: 160, maxEntries: 4, name: 'tsbpf_btfdump', btfFd, btfKeyTypeId: key, btfValueTypeId: value });
    fds.push(hash);
    const kb = Buffer.alloc(4);
    for (const k of [0, 1, 2]) {
      kb.writeUInt32LE(k);
      mapUpdateElem(hash, kb, valueBytes(k));
    }
    const pcpu = mapCreate({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 2, maxEntries: 2, name: 'tsbpf_btfpcpu', btfFd, btfKeyTypeId: key, btfValueTypeId: short });
    fds.push(pcpu);
    // Per-CPU values: one 8-byte-aligned slot per possible CPU.
    const pv = Buffer.alloc(8 * possibleCpus());
    for (let c = 0; c * 8 < pv.length; c++) pv.writeInt16LE(-100 * c - 1, c * 8);
    kb.writeUInt32LE(1);
    mapUpdateElem(pcpu, kb, pv);

    const oddMap = mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 2, name: 'tsbpf_btfodd', btfFd, btfKeyTypeId: key, btfValueTypeId: odd });
    fds.push(oddMap);

    for (const fd of [hash, pcpu, oddMap]) {
      const id = String(mapInfo(fd).id);
      const plain = await ours(['dump', id]);
      assert.equal(plain, bpftool('map', 'dump', 'id', id));
      assert.equal(await ours(['dump', id, '-j']), bpftool('-j', 'map', 'dump', 'id', id));
      assert.equal(await ours(['dump', id, '-p']), bpftool('-p', 'map', 'dump', 'id', id));
    }
    // Spot checks against the values we wrote, so the comparison cannot pass on two equal wrong outputs.
    const pc = JSON.parse(await ours(['dump', String(mapInfo(pcpu).id), '-j'])) as { formatted: { key: number; values: { cpu: number; value: number }[] } }[];
    assert.deepEqual(pc.find((e) => e.formatted.key === 1)!.formatted.values, Array.from({ length: possibleCpus() }, (_, cpu) => ({ cpu, value: -100 * cpu - 1 })));
    const mine = JSON.parse(await ours(['dump', String(mapInfo(hash).id), '-j'])) as { formatted: { key: number; value: Record<string, unknown> } }[];
    const one = mine.find((e) => e.formatted.key === 1)!.formatted.value;
    assert.equal(one.i, -7);
    assert.equal(one.c, 'a\'b"c\n', 'bpftool 7.1 writes a backslash as \\n');
    assert.deepEqual(one.raw, [1, -1, 0, 3]);
    assert.equal(one.e, 'BLUE');
    assert.equal(one.e2, -3);
    assert.deepEqual(one.in, { a: '0x5', b: '0x11', c: '0xabc', d: 113, e: '0xfedcb' });
    assert.equal(one.big, '0x991122334455667788');
    assert.equal(one.vs, 'abcde');
  } finally {
    for (const fd of fds.reverse()) closeFd(fd);
  }
});
