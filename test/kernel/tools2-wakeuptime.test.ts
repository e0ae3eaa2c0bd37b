import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { runToolToEnd, sleep, track } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

kernelTest('wakeuptime -f -u -m: a child blocked reading a pipe is woken by its parent\'s pipe_write, for no longer than the run took', async () => {
  const w = startWorkload2('pingpong', 20);
  // -m 1000: the fixture's waits are ~2 ms; the rest of a busy machine would otherwise fill the maps.
  // Through the real command (bin/tsbpf), which drains stdout before exiting: these reports are long.
  const cli = (args: string[]) => track(spawn(path.join(__dirname, '..', '..', '..', 'bin', 'tsbpf'), ['wakeuptime', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const folded = cli(['-f', '-u', '-m', '1000']);
  const blocks = cli(['-m', '1000']);
  try {
    await blocks.waitFor('Tracing blocked time (us) by kernel stack... Hit Ctrl-C to end.\n');
    await sleep(1500);
    const t0 = process.hrtime.bigint();
    assert.equal(await w.go(), 0);
    const elapsedUs = (process.hrtime.bigint() - t0) / 1000n;
    await sleep(200);
    const f = await folded.stop();
    assert.equal(f.code, 0, f.stderr);
    // waker;outermost..innermost frames;target microseconds
    const mine = f.stdout.split('\n').filter((l) => l.startsWith('tsbpf_waker;') && / ?tsbpf_target \d+$/.test(l) && l.includes(';tsbpf_target '));
    const viaPipe = mine.filter((l) => /;(anon_)?pipe_write;/.test(l));
    assert.ok(viaPipe.length >= 1, f.stdout);
    const total = viaPipe.reduce((a, l) => a + BigInt(l.slice(l.lastIndexOf(' ') + 1)), 0n);
    assert.ok(total > 0n && total <= elapsedUs, `${total} us blocked in a ${elapsedUs} us run:\n${viaPipe.join('\n')}`);
    const b = await blocks.stop();
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /\n {4}target: {10}tsbpf_target\n( {4}[0-9a-f]+ +\S+\n)+ {4}waker: {11}tsbpf_waker\n {8}\d+\n\n/);
    assert.ok(b.stdout.endsWith('Detaching...\n'), b.stdout.slice(-200));
  } finally {
    w.child.kill('SIGKILL');
    folded.child.kill('SIGKILL');
    blocks.child.kill('SIGKILL');
  }
});

kernelTest('wakeuptime --ebpf prints its program; -M below -m is one sentence', async () => {
  const e = await runToolToEnd('wakeuptime', ['--ebpf', '-p', '7']);
  assert.match(e.stdout, /^tracepoint:sched:sched_switch \/\(args->prev_state & 0xff\) != 0 && pid == 7\/\n/);
  const bad = await runToolToEnd('wakeuptime', ['-m', '10', '-M', '5']);
  assert.equal(bad.stderr, 'tsbpf: max-block-time (5) is below min-block-time (10)\n');
});

kernelTest('wakeuptime --stack-storage-size 2 1: a whole machine\'s wake-ups for a second keep at most 2 (stack, waker, target) blocks', async () => {
  const e = await runToolToEnd('wakeuptime', ['--ebpf', '--stack-storage-size', '2']);
  assert.match(e.stdout, /^let @wt_time = hash\(2\);\n/);
  const r = await runToolToEnd('wakeuptime', ['--stack-storage-size', '2', '1'], 60000);
  assert.equal(r.code, 0, r.stderr);
  const blocks = r.stdout.split('\n').filter((l) => /^ {4}waker: /.test(l)).length;
  assert.ok(blocks >= 1 && blocks <= 2, r.stdout);
});
