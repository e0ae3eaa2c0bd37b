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
    // The share of a CPU the spinning thread got while the tool ran (with -f profile prints nothing
    // until the end, so the 2 s sampling window is not visible from here: the share is what is judged)
    const t0 = Date.now();
    const cpu0 = cpuSeconds(w.pid);
    const r = await runToolToEnd('profile', ['-p', String(w.pid), '-U', '-f', '--flamegraph', svg, '2'], 20000);
    const share = (cpuSeconds(w.pid) - cpu0) / ((Date.now() - t0) / 1000);
    const expected = 49 * 2 * share;
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
    // 49 Hz over 2 s, of the CPU share it got
    assert.ok(total >= expected * 0.75 - 2 && total <= expected * 1.25 + 2, `total ${total}, expected ${expected.toFixed(1)} (CPU share ${share.toFixed(2)})\n${r.stdout}`);
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
