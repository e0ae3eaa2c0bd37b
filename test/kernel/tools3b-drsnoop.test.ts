import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd } from './tools-harness';
import { drsnoopMemcgCase } from './tools3b-helpers';

kernelTest(`drsnoop --memcg -p: dd reading a 64 MiB file through a 16 MiB memory cgroup reclaims at least the 48 MiB that cannot stay; bpftrace sees the same reclaims`, (t) => drsnoopMemcgCase(t, false));

kernelTest('drsnoop: --ebpf prints the program (-t trumps -p); flag mistakes are one sentence', async () => {
  const e = await runToolToEnd('drsnoop', ['--ebpf', '-p', '1', '-t', '1', '-u', '0']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^tracepoint:vmscan:mm_vmscan_direct_reclaim_begin \/tid == 1 && uid == 0\/\n/);
  for (const [args, msg] of [[['-u', 'no-such-user-tsbpf'], /-u: 'no-such-user-tsbpf' is not a valid UID or user name/], [['-d', 'x'], /--duration expects an integer/]] as const) {
    const r = await runToolToEnd('drsnoop', [...args]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  }
});
