import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { sleep, startTool } from './tools-harness';
import { startWorkload2 } from './tools2-workload';
import { startWorkload3c } from './tools3c-workload';

kernelTest('wakeuptime -p --flamegraph: the SVG holds the folded stacks printed with -f (waker, its kernel frames, target)', async () => {
  const w = startWorkload3c('wake', 10);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-wakefg-'));
  const svg = path.join(dir, 'wake.svg');
  const t = startTool('wakeuptime', ['-f', '-p', String(w.pid), '--flamegraph', svg]);
  try {
    await sleep(2500);
    assert.equal(t.child.exitCode, null, t.stderr());
    assert.equal(await w.go(), 0);
    await sleep(200);
    const r = await t.stop();
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith('tsbpf_waker;') && / ?;tsbpf_sleeper \d+$/.test(l));
    assert.ok(line, r.stdout.slice(0, 3000));
    const image = fs.readFileSync(svg, 'utf8');
    assert.match(image, /^<\?xml/);
    // every frame of that line is in the graph (kernel frames with the _[k] mark the colours key on)
    for (const f of line.slice(0, line.lastIndexOf(' ')).split(';')) assert.ok(image.includes(f), `${f} not in the flame graph`);
    assert.ok(/(anon_)?pipe_write/.test(line), line);
  } finally {
    w.child.kill('SIGKILL');
    t.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('memleak -p --folded --flamegraph: 10 mallocs of 100 bytes with 4 freed are one folded line "...;main;do_leak;tools2_leak_here 600", drawn in the SVG', async () => {
  const w = startWorkload2('leak', 10, '4', '100');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-leakfg-'));
  const svg = path.join(dir, 'leak.svg');
  const t = startTool('memleak', ['-p', String(w.pid), '-o', '0', '--folded', '--flamegraph', svg, '1']);
  try {
    await t.waitFor(`Attaching to pid ${w.pid}, Ctrl+C to quit.\n`);
    await sleep(200);
    w.child.stdin?.write('go\n');
    assert.equal(await w.ready(), 'done');
    // reports come every second: wait for the leak, then for one more report so the file holds it too
    await t.waitFor(/;main;do_leak;tools2_leak_here 600\n[\s\S]*;main;do_leak;tools2_leak_here 600\n/);
    const r = await t.stop();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.includes('tools2_leak_here'));
    for (const l of lines) assert.match(l, /^(\S+;)?main;do_leak;tools2_leak_here 600$/, r.stdout);
    assert.doesNotMatch(r.stdout, /Top \d+ stacks/);
    const image = fs.readFileSync(svg, 'utf8');
    for (const f of ['main', 'do_leak', 'tools2_leak_here']) assert.ok(image.includes(f), `${f} not in the flame graph`);
  } finally {
    w.child.kill('SIGKILL');
    t.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
