/**
 * Enums in the kernel (issues 19/20, bpftrace 0.26's enum symbolization): a
 * script enum cast from values a child process controls (the nanoseconds of
 * its nanosleeps), counted per enumerator, and a kernel enum field of a
 * tracepoint (timer:hrtimer_start's `enum hrtimer_mode mode`) printed by %d
 * and %s, checked against the enum's names in the kernel's BTF.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';
import { Btf } from '../../src/ebpf/btf';

kernelTest('lang enums: a script enum cast from a child\'s nanosleep lengths counts each sleep under its enumerator (unknown values as numbers)', async () => {
  const script = `enum Len { SHORT = 3, LONG };
    tracepoint:syscalls:sys_enter_nanosleep /pid == cpid/ { @[(enum Len)(args.rqtp->tv_nsec / 1000)] = count(); @last = (enum Len)(args.rqtp->tv_nsec / 1000); }`;
  const input = 'nanosleep 3000\nnanosleep 4000\nnanosleep 4000\nnanosleep 5000\n';
  const r = await runTsbpf(['-c', buildFixture('pointers'), '-e', script], { input });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('@'));
  // (entries of equal counts come in the kernel's hash order)
  assert.deepEqual(lines.sort(), ['@[5]: 1', '@[LONG]: 2', '@[SHORT]: 1', '@last: 5'], r.stdout);
  // the same in JSON: numbers, as bpftrace's JSON does not symbolize enums
  const j = await runTsbpf(['-f', 'json', '-c', buildFixture('pointers'), '-e', script], { input });
  const map = j.stdout.split('\n').map((l) => (l.startsWith('{"type": "map", "data": {"@":') ? JSON.parse(l) : undefined)).find((x) => x);
  assert.deepEqual(map?.data['@'], { 3: 1, 4: 2, 5: 1 }, j.stdout);
});

kernelTest('lang enums: a kernel enum field of a tracepoint prints its BTF enumerator with %s and its number with %d', async () => {
  const btf = Btf.vmlinux();
  const id = btf.find('hrtimer_mode', 'enum');
  assert.ok(id !== undefined, 'the kernel BTF has enum hrtimer_mode');
  const names = new Map(btf.enumValues(id).map((v) => [v.value, v.name] as const));
  const script = 'tracepoint:timer:hrtimer_start /pid == cpid/ { printf("M %d %s\\n", args.mode, args.mode); $m = args.mode; @[$m] = count(); }';
  const r = await runTsbpf(['-c', buildFixture('pointers'), '-e', script], { input: 'nanosleep 1000000\nnanosleep 2000000\n' });
  assert.equal(r.code, 0, r.stderr);
  const ms = r.stdout.split('\n').filter((l) => l.startsWith('M '));
  const seen = new Map<string, number>();
  for (const l of ms) {
    const [, num, name] = l.split(' ');
    assert.equal(name, names.get(BigInt(num)) ?? num, l);
    seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  // each relative nanosleep of the child starts one relative hrtimer (HRTIMER_MODE_REL, or REL_HARD on PREEMPT_RT);
  // the child may start others (its exit), absolute ones
  const rel = [...seen].filter(([n]) => n.startsWith('HRTIMER_MODE_REL')).reduce((a, [, c]) => a + c, 0);
  assert.equal(rel, 2, r.stdout);
  for (const [name, n] of seen) assert.ok(r.stdout.includes(`@[${name}]: ${n}\n`), r.stdout);
});
