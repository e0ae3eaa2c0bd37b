/**
 * Tuples laid out like C structs (issue 19): each field at its own width and
 * alignment, as bpftrace lays them out, so sizeof agrees and narrow fields
 * read back sign- or zero-extended; a later assignment that widens a string
 * member re-lays the value out. Outputs compared with bpftrace 0.17 and 0.23.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { bpftrace017, bpftrace023, peerAvailable, runPeer } from '../helpers/peers';

const SCRIPT = `BEGIN {
  printf("S %d %d %d %d %d\\n", sizeof(((int8)1, (int16)1, (int32)1)), sizeof((1, "a")), sizeof(((int8)1, "abc")),
         sizeof(((int32)1, (int8)2)), sizeof(((int8)1, ((int16)2, (int8)3))));
  $b = ((int8)-1, (int16)300, "x"); print($b); printf("F %d %d %s\\n", $b.0, $b.1, $b.2);
  $a = ("hi", ("x", 1)); $a = ("hi", ("hellolongstr", 2)); print($a);
  $n = ((int8)1, ((int16)-2, (uint8)255)); print($n);
  @m[(int8)1, (int16)2] = ((int8)3, (int32)-4);
  exit();
}`;

const WANT = ['S 8 16 5 8 6', '(-1, 300, x)', 'F -1 300 x', '(hi, (hellolongstr, 2))', '(1, (-2, 255))', '@m[1, 2]: (3, -4)'];

kernelTest('lang tuples: C struct layout (sizeof as bpftrace), narrow fields read back, widened strings re-laid out', async () => {
  const runs: [string, Awaited<ReturnType<typeof runTsbpf>>][] = [['tsbpf', await runTsbpf(['-e', SCRIPT])]];
  for (const p of [bpftrace017, bpftrace023]) if (peerAvailable(p)) runs.push([p.name, await runPeer(p, ['-e', SCRIPT])]);
  for (const [who, r] of runs) {
    assert.equal(r.code, 0, `${who}: ${r.stderr}`);
    assert.deepEqual(r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Attach')), WANT, `${who}: ${r.stdout}`);
  }
});

kernelTest('lang tuples: a tuple whose int field widens on a later assignment keeps both values right', async () => {
  const r = await runTsbpf(['-e', 'BEGIN { $c = ((int8)1, (int8)2, "a"); print($c); $c = ((int32)-70000, (int8)7, "abcdef"); print($c); @v = $c; exit(); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => l !== ''), ['(1, 2, a)', '(-70000, 7, abcdef)', '@v: (-70000, 7, abcdef)']);
});
