/**
 * Wake-up coalescing of the event ring (issue 17, ebpf/events.ts
 * RingCoalesce): while records keep coming the programs submit without
 * waking the reader, which drains on a timer, and wake-ups come back when a
 * period brings none. Every record must still arrive, in order, whether it
 * starts a burst (wakes the reader), falls inside one, or comes after a
 * pause long enough to end the quiet state: the test sends the next burst
 * only once every line of the previous one was printed, so a record left in
 * the ring would stop the test rather than pass unseen.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { kernelTest } from '../helpers/kernel';
import { tsbpfBin } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

kernelTest('ring coalescing: bursts of 1, 7 and 500 printf records, with pauses between them, all arrive in order', async () => {
  const bin = buildFixture('uprobe_target');
  const child = spawn(tsbpfBin, ['-c', bin, '-e', 'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @n = count(); printf("rec %d\\n", @n); }'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const seen: number[] = [];
  let buffered = '';
  let waiter: { want: number; resolve: () => void } | undefined;
  child.stdout.on('data', (b: Buffer) => {
    buffered += b.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const l of lines) {
      const m = /^rec (\d+)$/.exec(l);
      if (m) seen.push(Number(m[1]));
    }
    if (waiter && seen.length >= waiter.want) waiter.resolve();
  });
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const lines = (want: number): Promise<void> => new Promise<void>((resolve) => {
    if (seen.length >= want) resolve();
    else waiter = { want, resolve };
  });
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  try {
    // on one CPU, so the per-CPU @n numbers the records (the command starts once the probe is attached)
    child.stdin.write('cpu 0\n');
    const bursts = [1, 7, 500, 1, 1, 3];
    let total = 0;
    for (const [i, n] of bursts.entries()) {
      child.stdin.write(`getppid ${n}\n`);
      total += n;
      await lines(total);
      // no pause, then pauses shorter and longer than a quiet period and than the idle check
      await pause([0, 2, 20, 400, 0, 1][i]);
    }
    child.stdin.end();
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(seen, Array.from({ length: total }, (_, i) => i + 1));
  } finally {
    child.kill('SIGKILL');
  }
});
