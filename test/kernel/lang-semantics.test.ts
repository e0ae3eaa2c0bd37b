/**
 * Expression semantics of compiled code, executed in the kernel: each case
 * compiles `BEGIN { ... @r = EXPR; }`, runs it once through BPF_PROG_TEST_RUN
 * and reads @r back. Expected values follow bpftrace 0.17 (checked by running
 * bpftrace on the same expressions): 64-bit arithmetic, `/` `%` `>>` unsigned,
 * comparisons signed only when both sides are signed, casts truncate.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { evalBegin, loadScript } from './lang-helpers';
import { histBitsBucket, linearBucket, log2Bucket } from '../../src/runtime/format/hist';

const cases: Array<[string, bigint]> = [
  // arithmetic
  ['@r = 1 + 2 * 3;', 7n],
  ['@r = (1 + 2) * 3;', 9n],
  ['@r = 10 - 20;', -10n],
  ['@r = 0x7fffffff + 1;', 0x80000000n],
  ['@r = 5000000000 * 3;', 15000000000n],
  ['$a = 17; $b = 5; @r = $a / $b;', 3n],
  ['$a = 17; $b = 5; @r = $a % $b;', 2n],
  // bpftrace 0.17 divides unsigned: -7 / 2 is 0xfffffffffffffff9 / 2
  ['$a = -7; $b = 2; @r = $a / $b;', 9223372036854775804n],
  ['$a = -7; $b = 2; @r = $a % $b;', 1n],
  ['$a = -7; @r = $a >> 1;', 9223372036854775804n],
  ['@r = 1 << 40;', 1n << 40n],
  ['@r = 0xf0 | 0x0f;', 0xffn],
  ['@r = 0xf0 & 0x3c;', 0x30n],
  ['@r = 0xff ^ 0x0f;', 0xf0n],
  ['@r = ~0;', -1n],
  ['$a = 5; @r = -$a;', -5n],
  ['$z = 0; @r = 5 / $z;', 0n], // eBPF ISA: x / 0 == 0
  // casts
  ['@r = (uint8)300;', 44n],
  ['@r = (int8)200;', -56n],
  ['@r = (uint16)70000;', 4464n],
  ['@r = (int32)0xffffffff;', -1n],
  ['@r = (uint32)-1;', 4294967295n],
  // a variable keeps the width of its first value (bpftrace 0.17 printed 255 here, an LLVM store artefact)
  ['$x = (uint8)255; $x = $x + 1; @r = $x;', 0n],
  // comparisons
  ['@r = 3 < 5;', 1n],
  ['@r = 5 <= 5;', 1n],
  ['@r = 5 > 6;', 0n],
  ['$a = -7; @r = $a < 2;', 1n],
  ['$a = -7; $u = (uint32)5; @r = $a < $u;', 0n], // mixed signs compare unsigned
  ['@r = 3 == 3 && 4 != 4;', 0n],
  ['@r = 0 || 7;', 1n],
  ['@r = !5;', 0n],
  ['@r = !0;', 1n],
  // ternary and control flow
  ['@r = 0 ? 1 : 2;', 2n],
  ['$a = 3; @r = $a > 2 ? $a * 10 : 0;', 30n],
  ['$a = 3; if ($a == 3) { @r = 1; } else { @r = 2; }', 1n],
  ['$a = 4; if ($a == 3) { @r = 1; } else if ($a == 4) { @r = 4; } else { @r = 2; }', 4n],
  ['$i = 0; $s = 0; while ($i < 10) { $s += $i; $i++; } @r = $s;', 45n],
  ['$s = 0; for ($i : 0..5) { $s += $i; } @r = $s;', 10n],
  ['$s = 0; unroll(4) { $s += 3; } @r = $s;', 12n],
  ['$i = 0; while ($i < 100) { $i++; if ($i == 7) { break; } } @r = $i;', 7n],
  ['$s = 0; for ($i : 0..10) { if ($i % 2 == 1) { continue; } $s += $i; } @r = $s;', 20n],
  // strings
  ['$s = "abc"; @r = $s == "abc";', 1n],
  ['$s = "abc"; @r = $s == "abd";', 0n],
  ['$s = "abc"; @r = $s == "ab";', 0n],
  ['$s = "abc"; $t = "abc"; @r = $s == $t;', 1n],
  ['$s = "abc"; $t = "abcd"; @r = $s != $t;', 1n],
  ['@r = strncmp("hello", "help", 3);', 0n],
  ['@r = strncmp("hello", "help", 4);', 1n],
  ['@r = strlen("hello");', 5n],
  ['@r = strcontains("hello world", "o w");', 1n],
  ['@r = strcontains("hello world", "xyz");', 0n],
  // tuples
  ['$t = (1, "two", -3); @r = $t.0 + $t.2;', -2n],
  ['$t = (1, (2, 3)); @r = $t.1.1;', 3n],
  // maps
  ['@m[1] = 10; @m[2] = 20; @r = @m[1] + @m[2] + @m[3];', 30n],
  ['@m["a", 2] = 5; @r = @m["a", 2];', 5n],
  ['@m[1] = 10; @m[1] += 5; @r = @m[1];', 15n],
  ['@m[1] = 10; delete(@m[1]); @r = @m[1];', 0n],
  ['@m[1] = 10; @r = has_key(@m, 1) * 10 + has_key(@m, 2);', 10n],
  // positional parameters
  ['@r = $1 + $#;', 44n],
];

kernelTest('lang semantics: expressions evaluate like bpftrace', () => {
  const failures: string[] = [];
  for (const [src, want] of cases) {
    let got: bigint | undefined;
    try {
      got = evalBegin(src, { params: ['42', 'x'] });
    } catch (e) {
      failures.push(`${src}: ${(e as Error).message}${(e as { log?: string }).log ? `\n${(e as { log: string }).log.split('\n').slice(-12).join('\n')}` : ''}`);
      continue;
    }
    if (got !== want) failures.push(`${src}: got ${got}, want ${want}`);
  }
  assert.deepEqual(failures, []);
});

kernelTest('lang semantics: aggregations compute the runtime hist/lhist bucket indexes', () => {
  const values = [-5n, 0n, 1n, 2n, 3n, 4n, 7n, 8n, 100n, 1023n, 1024n, 123456789n, 1n << 40n, (1n << 62n) + 5n];
  const body = values.map((v) => `@h = hist(${v}); @h2 = hist(${v}, 2); @l = lhist(${v}, 0, 100, 10);`).join(' ');
  const l = loadScript(`BEGIN { ${body} @c = count(); @c = count(); @s = sum(5); @s = sum(-2); @mn = min(4); @mn = min(-3); @mx = max(4); @mx = max(9); @a = avg(10); @a = avg(20); }`);
  try {
    l.runBegin();
    const buckets = (name: string): Map<number, bigint> => {
      const out = new Map<number, bigint>();
      for (const [k, vs] of l.entries(name)) out.set(Number(k.readBigUInt64LE(k.length - 8)), vs.reduce((s, v) => s + v.readBigUInt64LE(0), 0n));
      return out;
    };
    const expect = (f: (v: bigint) => number): Map<number, bigint> => {
      const m = new Map<number, bigint>();
      for (const v of values) m.set(f(v), (m.get(f(v)) ?? 0n) + 1n);
      return m;
    };
    assert.deepEqual(buckets('@h'), expect((v) => log2Bucket(v)));
    assert.deepEqual(buckets('@h2'), expect((v) => histBitsBucket(v, 2)));
    assert.deepEqual(buckets('@l'), expect((v) => linearBucket(v, 0, 100, 10)));
    assert.equal(l.scalar('@c'), 2n);
    assert.equal(l.scalar('@s'), 3n);
    const first = (name: string): Buffer => l.entries(name)[0][1].find((v) => v.length >= 16 && v.readBigUInt64LE(8) !== 0n) ?? Buffer.alloc(16);
    assert.equal(first('@mn').readBigInt64LE(0), -3n);
    assert.equal(first('@mx').readBigInt64LE(0), 9n);
    assert.equal(first('@a').readBigInt64LE(0), 30n);
    assert.equal(first('@a').readBigUInt64LE(8), 2n);
  } finally {
    l.close();
  }
});
