import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd } from './tools-harness';
import { startWorkload } from './tools-workload';

kernelTest('profile -p -U -f 2: a process spinning in tools_spin_here is sampled about 49 times a second, all in that function', async () => {
  const w = startWorkload('spin', 8000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-profile-'));
  const svg = path.join(dir, 'cpu.svg');
  try {
    void w.go();
    const r = await runToolToEnd('profile', ['-p', String(w.pid), '-U', '-f', '--flamegraph', svg, '2'], 20000);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    let total = 0;
    for (const l of lines) {
      const m = /^tools_workload;(.*) (\d+)$/.exec(l);
      assert.ok(m, l);
      assert.match(m[1], /(^|;)main;tools_spin_here$/, l);
      total += Number(m[2]);
    }
    // 2 s at 49 Hz on a CPU-bound thread; a loaded machine may steal some samples.
    assert.ok(total >= 60 && total <= 100, `total ${total}\n${r.stdout}`);
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
