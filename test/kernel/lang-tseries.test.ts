/**
 * tseries() (F29, O07) against a workload the test controls: the child's
 * getppid calls, on two CPUs, summed and maxed per interval; and a clock the
 * script drives (BPFTRACE_DUMMY_TS_MAP, bpftrace's test hook) for exact
 * interval placement, gaps and the text graph.
 */
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

interface Point { interval_start: string; value: number }

kernelTest('tseries: sum and max of the child\'s getppid calls across two CPUs, on the wall clock', async (t) => {
  if (os.availableParallelism() < 2) return t.skip('needs two CPUs');
  const bin = buildFixture('uprobe_target');
  const before = Date.now();
  const r = await runTsbpf(['-f', 'json', '-c', bin, '-e', 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { ' +
    '$v = cpu == 0 ? 100 : 5; @s = tseries($v, 10s, 3, "sum"); @m = tseries($v, 10s, 3, "max"); @n = tseries(1, 10s, 3, "sum"); }'],
  { input: 'cpu 0\ngetppid 3\ncpu 1\ngetppid 2\ngetppid 4\n' });
  assert.equal(r.code, 0, r.stderr);
  const maps = new Map<string, Point[]>();
  for (const l of r.stdout.split('\n')) {
    if (!l.startsWith('{')) continue;
    const o = JSON.parse(l) as { type: string; data: Record<string, Point[]> };
    if (o.type === 'tseries') for (const [k, v] of Object.entries(o.data)) maps.set(k, v);
  }
  const total = (k: string): number => (maps.get(k) ?? []).reduce((a, p) => a + p.value, 0);
  assert.equal(total('@n'), 9);
  assert.equal(total('@s'), 3 * 100 + 6 * 5);
  assert.equal(Math.max(...(maps.get('@m') ?? []).map((p) => p.value)), 100);
  for (const p of maps.get('@n') ?? []) {
    const ms = Date.parse(p.interval_start.replace(' ', 'T').slice(0, 23) + 'Z');
    assert.equal(ms % 10_000, 0, p.interval_start);
    assert.ok(ms > before - 20_000 && ms <= Date.now(), `${p.interval_start} is not around now`);
  }
});

kernelTest('tseries: a script-driven clock places values in intervals, keeps the last one, shows gaps as -', async () => {
  const prog = 'BEGIN { @ts = (uint64)0; @a["x"] = tseries(7, 1s, 4); @ts = 1000000000; @a["x"] = tseries(3, 1s, 4); @a["x"] = tseries(-2, 1s, 4); ' +
    '@ts = 3000000000; @a["y"] = tseries(5, 1s, 4); clear(@ts); exit(); }';
  const r = await runTsbpf(['-e', prog], { env: { ...process.env, BPFTRACE_DUMMY_TS_MAP: '@ts', TZ: 'UTC' } });
  assert.equal(r.code, 0, r.stderr);
  const lane = (at: number, zero: number | null): string => {
    const l = Array<string>(53).fill(' ');
    l[0] = '|';
    l[52] = '|';
    if (zero !== null) l[zero] = '.';
    if (at >= 0) l[at] = '*';
    return l.join('');
  };
  const frame = (min: string, max: string, indent = 9): string => ' '.repeat(indent) + min.padEnd(21) + max.padStart(32);
  // epoch 0 is bpftrace's "never written": the slot reads as 0
  const x = ['@a[x]:', frame('-2', '0'), 'hh:mm:ss |___________________________________________________|',
    `00:00:00 ${lane(52, null)} 0`, `00:00:01 ${lane(0, null)} -2`, `00:00:02 ${lane(-1, null)} -`, `00:00:03 ${lane(-1, null)} -`,
    '         v___________________________________________________v', frame('-2', '0'), ''];
  // a single interval has no step to scale the times by: bpftrace shows them to the nanosecond
  const y = ['@a[y]:', frame('4', '6', 19), 'hh:mm:ss.ns        |___________________________________________________|',
    `00:00:03.000000000 ${lane(26, null)} 5`, ' '.repeat(19) + 'v___________________________________________________v', frame('4', '6', 19), ''];
  assert.equal(r.stdout.trim(), [...x, ...y].join('\n').trim());
});
