/**
 * Issue 19 item 3: expressions that need more than the three temporary
 * registers (r7–r9) compile with the rest spilled to stack slots, and compute
 * exactly what they say. The fixture calls tsbpf_add(i, 1) for i = 0..N-1, so
 * each uprobe hit has known arguments; every printed value is checked against
 * the same formula evaluated here in 64-bit arithmetic.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

const N = 6;
const wrap = (v: bigint) => BigInt.asIntN(64, v);

/** Each case: the bpftrace expression over $a = arg0, $b = arg1 and its value here. */
const CASES: { expr: string; value: (a: bigint, b: bigint) => bigint }[] = [
  {
    // right-deep arithmetic: needs four registers at its deepest point
    expr: '(($a + 1) * ($b + 2)) + ((($a + 3) * ($b + 4)) - (($b + 5) * ((($a + 6) * ($b + 7)) + (($a + 8) * (($b + 9) * ($a + 10))))))',
    value: (a, b) => wrap((a + 1n) * (b + 2n) + ((a + 3n) * (b + 4n) - (b + 5n) * ((a + 6n) * (b + 7n) + (a + 8n) * ((b + 9n) * (a + 10n))))),
  },
  {
    // nested ternaries: each holds its result register while its condition and branches are evaluated
    expr: '($a == 0 ? 100 : ($a == 1 ? ($b + 1) * ($a + 2) : (($a & 1) == 0 ? ($a * ($b + ($a * ($b + $a)))) : ($a == 3 ? ($a << ($b + 1)) - ($b ^ ($a | 8)) : 7))))',
    value: (a, b) => (a === 0n ? 100n : a === 1n ? (b + 1n) * (a + 2n) : (a & 1n) === 0n ? a * (b + a * (b + a)) : a === 3n ? (a << (b + 1n)) - (b ^ (a | 8n)) : 7n),
  },
  {
    // a map read inside an operand (@t[k] was set to k + 7 just before): the key is built beside held operands
    expr: '$a * ($b + ($a * ($b + @t[$a * ($b + ($a * ($b + 1)))])))',
    value: (a, b) => wrap(a * (b + a * (b + (a * (b + a * (b + 1n)) + 7n)))),
  },
  {
    expr: '($a + $b) * ($a + ($b * ($a + ($b * ($a + ($b * ($a + 1)))))))',
    value: (a, b) => wrap((a + b) * (a + b * (a + b * (a + b * (a + 1n))))),
  },
];

kernelTest('register spilling: deeply nested expressions give exact results in a uprobe (printf beside its record pointer, a map key)', async () => {
  const exprs = CASES.map((c) => c.expr);
  const script = `uprobe:${buildFixture('uprobe_target')}:tsbpf_add /pid == cpid/ {
    $a = (int64)arg0; $b = (int64)arg1;
    @t[$a * ($b + ($a * ($b + 1)))] = $a * ($b + ($a * ($b + 1))) + 7;
    printf("v %d %d %d %d %d\\n", $a, ${exprs.join(', ')});
    @k[$a, ${exprs[1]}] = sum(${exprs[2]});
  }`;
  const r = await runTsbpf(['-c', buildFixture('uprobe_target'), '-e', script], { input: `add ${N}\n` });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('v '));
  const want: string[] = [];
  const keys: string[] = [];
  for (let i = 0n; i < BigInt(N); i++) {
    want.push(['v', i, ...CASES.map((c) => c.value(i, 1n))].join(' '));
    keys.push(`@k[${i}, ${CASES[1].value(i, 1n)}]: ${CASES[2].value(i, 1n)}`);
  }
  assert.deepEqual(lines, want);
  for (const k of keys) assert.ok(r.stdout.split('\n').includes(k), `missing ${k} in\n${r.stdout}`);
});
