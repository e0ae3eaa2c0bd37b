import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd } from './tools-harness';
import { startWorkload } from './tools-workload';

/** User + system CPU seconds a process has used so far (/proc/PID/stat, clock ticks of 100 Hz). */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

kernelTest('profile -p -U -f 2: a process spinning in tools_spin_here is sampled 49 times per CPU second it got, in that function', async () => {
  const w = startWorkload('spin', 8000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-profile-'));
  const svg = path.join(dir, 'cpu.svg');
  try {
    void w.go();
    // The CPU time the spinning thread got while the tool ran (with -f profile prints nothing
    // until the end, so the 2 s sampling window is not visible from here)
    const t0 = Date.now();
    const cpu0 = cpuSeconds(w.pid);
    const r = await runToolToEnd('profile', ['-p', String(w.pid), '-U', '-f', '--flamegraph', svg, '2'], 20000);
    // The samples come from the 2 s window inside the run; the CPU time is known for the whole run.
    // So: at most 49 per CPU second it got in the run, and at least 49 per CPU second it must have got
    // inside the window (its run total minus what it could have got outside: one CPU for the rest).
    const cpu = cpuSeconds(w.pid) - cpu0;
    const wall = (Date.now() - t0) / 1000;
    const most = 49 * cpu;
    const least = 49 * Math.max(0, cpu - Math.max(0, wall - 2));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    let total = 0;
    let inSpin = 0;
    for (const l of lines) {
      const m = /^tools_workload;(.*) (\d+)$/.exec(l);
      assert.ok(m, l);
      // every sample is under main; one taken in the vDSO's clock_gettime, before it set up a frame,
      // misses its caller (the frame-pointer unwinder skips it: docs/design.md)
      assert.match(m[1], /(^|;)main;(tools_spin_here|clock_gettime;.*)$/, l);
      if (/(^|;)main;tools_spin_here$/.test(m[1])) inSpin += Number(m[2]);
      total += Number(m[2]);
    }
    // 49 Hz of the CPU time it got (exact on an idle machine: cpu = wall, both bounds are 98)
    assert.ok(total > 0 && total >= least * 0.75 - 2 && total <= most * 1.25 + 2,
      `total ${total}, expected ${least.toFixed(1)}..${most.toFixed(1)} (${cpu.toFixed(2)} CPU s in ${wall.toFixed(2)} s)\n${r.stdout}`);
    assert.ok(inSpin >= total * 0.9, r.stdout);
    const s = fs.readFileSync(svg, 'utf8');
    assert.match(s, /^<\?xml/);
    assert.ok(s.includes('tools_spin_here'));
  } finally {
    w.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('profile: multi-line output ends each stack with "-  comm (pid)" and its count; -U -K together is refused', async () => {
  const w = startWorkload('spin', 6000);
  try {
    void w.go();
    const r = await runToolToEnd('profile', ['-p', String(w.pid), '1'], 20000);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`Sampling at 49 Hertz of PID ${w.pid} by user + kernel stack for 1 secs.\n`), r.stdout);
    assert.match(r.stdout, new RegExp(`\\n {4}tools_spin_here\\n {4}main\\n(?: {4}.*\\n)* {4}- {16}tools_workload \\(${w.pid}\\)\\n {8}\\d+\\n\\n`));
    const bad = await runToolToEnd('profile', ['-U', '-K']);
    assert.equal(bad.stderr, 'tsbpf: -U and -K are mutually exclusive\n');
  } finally {
    w.child.kill('SIGKILL');
  }
});
