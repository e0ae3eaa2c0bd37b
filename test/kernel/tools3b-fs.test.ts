/** filetop and fileslower on the host through --syscalls (the kprobe versions run the same cases in tools3b-kprobes). */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { runToolToEnd } from './tools-harness';
import { fileslowerCase, filetopCase } from './tools3b-helpers';

kernelTest('filetop --syscalls -C -p: 7 preads and 5 pwrites of 4 KiB are one row 7 5 28 20 R; -d and --read-only filter', () => filetopCase(['--syscalls']));

kernelTest('fileslower --syscalls -a -p: 4 one-byte FIFO reads are 4 R rows; a 20 ms threshold shows only reads that slow; FIFOs need -a', () => fileslowerCase(['--syscalls']));

kernelTest('filetop/fileslower: without kprobes one sentence naming --syscalls; flag mistakes are one sentence', async (t) => {
  const bad: [string, string[], RegExp][] = [
    ['filetop', ['-s', 'size'], /^tsbpf: -s: invalid choice 'size' \(choose from all, reads, writes, rbytes, wbytes\)\n$/],
    ['filetop', ['--read-only', '--write-only'], /^tsbpf: --read-only and --write-only exclude each other\n$/],
    ['filetop', ['-d', '/nonexistent/tsbpf'], /^tsbpf: -d: cannot access directory \/nonexistent\/tsbpf: ENOENT\n$/],
    ['fileslower', ['x'], /^tsbpf: min_ms expects an integer, got 'x'\n$/],
  ];
  for (const [tool, args, re] of bad) {
    const r = await runToolToEnd(tool, args);
    assert.equal(r.code, 1, `${tool} ${args.join(' ')}`);
    assert.match(r.stderr, re);
  }
  if (hasFeature('kprobes')) {
    t.skip('this kernel has kprobes');
    return;
  }
  for (const tool of ['filetop', 'fileslower']) {
    const r = await runToolToEnd(tool, []);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^tsbpf: ${tool} needs kprobes on vfs_read/vfs_write, but kprobes are not available: [^\\n]+--syscalls[^\\n]+\\n$`));
  }
});
