import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { run, runToolToEnd, sleep, startTool, track } from './tools-harness';
import { memoryCgroup } from './tools3b-helpers';

const FILE_MIB = 64;
const LIMIT_MIB = 16;

kernelTest(`drsnoop --memcg -p: dd reading a ${FILE_MIB} MiB file through a ${LIMIT_MIB} MiB memory cgroup reclaims at least the ${FILE_MIB - LIMIT_MIB} MiB that cannot stay; bpftrace sees the same reclaims`, async (t) => {
  const cg = memoryCgroup(LIMIT_MIB << 20, 'drsnoop');
  if (!cg) {
    t.skip('no writable memory cgroup here');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-drsnoop-'));
  const file = path.join(dir, 'data');
  // Written with O_DIRECT: none of it is in the page cache (charged to some other cgroup) before dd reads it.
  assert.equal((await run('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${FILE_MIB}`, 'oflag=direct', 'status=none'])).code, 0);
  // The shell joins the cgroup, waits for a line, then becomes dd (same PID).
  const dd = spawn('sh', ['-c', `echo $$ > ${cg.procs} && read go && exec dd if=${file} of=/dev/null bs=1M status=none`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const ddExit = new Promise<number | null>((res) => dd.on('exit', (c) => res(c)));
  const pid = dd.pid as number;
  const ours = startTool('drsnoop', ['--memcg', '-T', '-U', '-p', String(pid)]);
  const direct = startTool('drsnoop', ['-p', String(pid)]);
  const other = startTool('drsnoop', ['--memcg', '-n', 'no-such-comm', '-p', String(pid)]);
  const bpftrace = fs.existsSync('/usr/bin/bpftrace')
    ? track(spawn('bpftrace', ['-e', `tracepoint:vmscan:mm_vmscan_memcg_reclaim_end /pid == ${pid}/ { @n = count(); @pages = sum(args->nr_reclaimed); }`], { stdio: ['ignore', 'pipe', 'pipe'] }))
    : undefined;
  try {
    const header = 'TIME(s)       UID   COMM           PID     LAT(ms) PAGES\n';
    await ours.waitFor(header, 60000);
    await direct.waitFor('COMM           PID     LAT(ms) PAGES\n', 60000);
    await other.waitFor('COMM           PID     LAT(ms) PAGES\n', 60000);
    if (bpftrace) await bpftrace.waitFor('Attaching', 60000);
    await sleep(300);
    dd.stdin?.end('go\n');
    assert.equal(await ddExit, 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.slice(header.length).split('\n').filter(Boolean);
    assert.ok(rows.length > 0, r.stdout);
    let pages = 0;
    for (const l of rows) {
      const m = /^(\d+\.\d{9}) +0 {5}dd {13}(\d+) +(\d+\.\d\d) +(\d+)$/.exec(l);
      assert.ok(m, l);
      assert.equal(Number(m[2]), pid);
      pages += Number(m[4]);
    }
    assert.equal(rows[0].split(' ')[0], '0.000000000', 'TIME(s) counts from the first reclaim');
    // The file's pages that do not fit under the limit must have been reclaimed (4 KiB pages).
    assert.ok(pages >= ((FILE_MIB - LIMIT_MIB) << 20) / 4096, `${pages} pages: ${r.stdout}`);
    // A cgroup at its limit reclaims through memcg reclaim, not direct reclaim: bcc's drsnoop shows nothing for it.
    assert.equal((await direct.stop()).stdout, 'COMM           PID     LAT(ms) PAGES\n');
    // -n filters by name.
    assert.equal((await other.stop()).stdout, 'COMM           PID     LAT(ms) PAGES\n');
    if (bpftrace) {
      const b = await bpftrace.stop();
      assert.match(b.stdout, new RegExp(`@n: ${rows.length}\\n`), b.stdout);
      assert.match(b.stdout, new RegExp(`@pages: ${pages}\\n`), b.stdout);
    }
  } finally {
    dd.kill('SIGKILL');
    for (const x of [ours, direct, other, bpftrace]) x?.child.kill('SIGKILL');
    await sleep(100);
    cg.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

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
