import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

/** The last complete report in the output. */
function lastReport(out: string): string {
  const parts = out.split(/(?=^\[\d\d:\d\d:\d\d\] Top )/m);
  return parts.length > 2 ? parts[parts.length - 2] : parts[parts.length - 1];
}

kernelTest('memleak -p: 10 mallocs of 100 bytes with 4 freed are 600 bytes in 6 allocations from the fixture\'s stack; -z and -t filter and trace; --symbols-prefix __libc_ (glibc\'s aliases) traces the same calls', async () => {
  const w = startWorkload2('leak', 10, '4', '100');
  const ours = startTool('memleak', ['-p', String(w.pid), '-o', '0', '1']);
  const big = startTool('memleak', ['-p', String(w.pid), '-o', '0', '-z', '101', '1']);
  const trace = startTool('memleak', ['-p', String(w.pid), '-t']);
  const prefixed = startTool('memleak', ['-p', String(w.pid), '-t', '--symbols-prefix', '__libc_']);
  try {
    for (const t of [ours, big, trace, prefixed]) await t.waitFor(`Attaching to pid ${w.pid}, Ctrl+C to quit.\n`);
    await sleep(200);
    w.child.stdin?.write('go\n');
    assert.equal(await w.ready(), 'done');
    // Reports come every second; wait for one that has the leak, then one more so it is complete.
    await ours.waitFor(/tools2_leak_here[^\n]*\n[\s\S]*\] Top 10 stacks/);
    // By now (a report after the leaking one) -z 101's one-second reports have covered the allocations too.
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rep = lastReport(r.stdout);
    assert.match(rep, /\n\t600 bytes in 6 allocations from stack\n\t\ttools2_leak_here(\+\d+)?\n\t\tdo_leak(\+\d+)?\n\t\tmain(\+\d+)?\n/, r.stdout);
    assert.equal(rep.split('\n').filter((l) => /^\t\d+ bytes in \d+ allocations from stack$/.test(l)).length >= 1, true);
    const b = await big.stop();
    assert.match(b.stdout, /\] Top 10 stacks/);
    assert.doesNotMatch(b.stdout, /tools2_leak_here/);
    const t = await trace.stop();
    assert.equal(t.stdout.split('\n').filter((l) => /^alloc exited, size = 100, result = [0-9a-f]+$/.test(l)).length, 10, t.stdout);
    assert.equal(t.stdout.split('\n').filter((l) => /^free entered, address = [0-9a-f]+, size = 100$/.test(l)).length, 4, t.stdout);
    const p = await prefixed.stop();
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout.split('\n').filter((l) => /^alloc exited, size = 100, result = [0-9a-f]+$/.test(l)).length, 10, p.stdout);
    assert.equal(p.stdout.split('\n').filter((l) => /^free entered, address = [0-9a-f]+, size = 100$/.test(l)).length, 4, p.stdout);
  } finally {
    w.child.kill('SIGKILL');
    for (const x of [ours, big, trace, prefixed]) x.child.kill('SIGKILL');
  }
});

kernelTest('memleak: kernel mode --ebpf uses the kmem tracepoints; bad flags are one sentence', async () => {
  const e = await runToolToEnd('memleak', ['--ebpf']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:kmem:kmalloc\n/m);
  assert.match(e.stdout, /^tracepoint:kmem:kfree\n/m);
  const zz = await runToolToEnd('memleak', ['-z', '10', '-Z', '5']);
  assert.equal(zz.stderr, "tsbpf: min_size (-z) can't be greater than max_size (-Z)\n");
  const s = await runToolToEnd('memleak', ['--sort', 'age']);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /^tsbpf: --sort: unknown key 'age'/);
  const zp = await runToolToEnd('memleak', ['-p', String(process.pid), '--symbols-prefix', 'zz_']);
  assert.match(zp.stderr, /^tsbpf: \S+libc\.so\.6 has no zz_malloc or zz_free to trace\n$/);
});
