import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, track } from './tools-harness';
import { startWorkload3c } from './tools3c-workload';

const N = 20;

kernelTest(`offwaketime -f -p, --flamegraph, blocks: a thread blocked reading a pipe ${N} times, woken each time by the main thread's write: target and waker stacks, no longer than the run took`, async () => {
  const w = startWorkload3c('wake', N);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-offwake-'));
  const svg = path.join(dir, 'offwake.svg');
  // Through the real command (bin/tsbpf), which drains stdout before exiting: these reports are long.
  const cli = (args: string[]) => track(spawn(path.join(__dirname, '..', '..', '..', 'bin', 'tsbpf'), ['offwaketime', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const folded = cli(['-f', '-p', String(w.pid), '--flamegraph', svg]);
  const blocks = cli(['-p', String(w.pid), '-m', '1000']);
  try {
    await blocks.waitFor('Tracing blocked time (us) by user + kernel off-CPU and waker stack... Hit Ctrl-C to end.\n');
    await sleep(1500);
    const t0 = process.hrtime.bigint();
    assert.equal(await w.go(), 0);
    const elapsedUs = (process.hrtime.bigint() - t0) / 1000n;
    await sleep(200);
    const f = await folded.stop();
    assert.equal(f.code, 0, f.stderr);
    // target;its frames outermost first;--;the waker's frames innermost first;waker microseconds
    const mine = f.stdout.split('\n').filter((l) => l.startsWith('tsbpf_sleeper;') && / ?;tsbpf_waker \d+$/.test(l));
    assert.ok(mine.length >= 1, f.stdout.slice(0, 4000));
    for (const l of mine) {
      const [target, waker] = l.slice(0, l.lastIndexOf(' ')).split(';--;');
      assert.ok(waker !== undefined, l);
      // the sleeper blocked in the pipe's read; the waker's kernel stack wakes it from the pipe's write, innermost first
      assert.match(target, /;(anon_)?pipe_read;schedule;__schedule$/, l);
      assert.match(waker, /^try_to_wake_up;.*;(anon_)?pipe_write;.*;(__)?write;main;/, l);
    }
    const total = mine.reduce((a, l) => a + BigInt(l.slice(l.lastIndexOf(' ') + 1)), 0n);
    assert.ok(total > 0n && total <= elapsedUs, `${total} us blocked in a ${elapsedUs} us run:\n${mine.join('\n')}`);
    const image = fs.readFileSync(svg, 'utf8');
    assert.match(image, /^<\?xml/);
    assert.ok(image.includes('tsbpf_sleeper') && image.includes('tsbpf_waker'), 'the flame graph names target and waker');

    const b = await blocks.stop();
    assert.equal(b.code, 0, b.stderr);
    // waker, its stacks outermost first, "--", the target's innermost first, target, microseconds
    assert.match(b.stdout, /\n {4}waker: {11}tsbpf_waker \d+\n( {4}\S+\n)+ {4}-- {15}--\n {4}__schedule\n {4}schedule\n {4}(anon_)?pipe_read\n( {4}\S+\n)+ {4}target: {10}tsbpf_sleeper \d+\n {8}\d+\n\n/);
  } finally {
    w.child.kill('SIGKILL');
    folded.child.kill('SIGKILL');
    blocks.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('offwaketime --ebpf prints its program; -p with -u and -M below -m are one sentence', async () => {
  const e = await runToolToEnd('offwaketime', ['--ebpf', '-K', '-p', '7,8']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:sched:sched_waking \/@ow_start\[args->pid\] != 0\/\n/);
  assert.match(e.stdout, /\(pid == 7 \|\| pid == 8\)/);
  assert.match(e.stdout, /@ow_tu\[args->prev_pid\] = 0;/);
  const x = await runToolToEnd('offwaketime', ['-p', '1', '-u']);
  assert.equal(x.stderr, 'tsbpf: -p, -t, -u and -k are mutually exclusive\n');
  const m = await runToolToEnd('offwaketime', ['-m', '10', '-M', '5']);
  assert.equal(m.stderr, 'tsbpf: max-block-time (5) is below min-block-time (10)\n');
});
