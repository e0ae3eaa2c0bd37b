/**
 * The part-3 kprobe tools of tools-a (cachestat, cachetop, dcstat, dcsnoop, ttysnoop, tcpsynbl, klockstat,
 * funcslower). On a kernel without kprobes the attach tests skip and their programs are checked by the verifier
 * only; the VM lane (TSBPF_EXPECT_FEATURES=kprobes) runs them on 6.1 and 6.12.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { featureTest, kernelTest } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import { firstKprobeable } from '../../src/tools/common/kfuncs';
import { parseHistRows, run, runToolToEnd, sleep, smokeWithDuration, smokeWithInt, startTool, type Running } from './tools-harness';
import { startWorkload3a } from './tools3-a-workload';

const kprobes = () => hasFeature('kprobes');
const tsbpf = path.join(__dirname, '..', '..', '..', 'bin', 'tsbpf');

/** A scratch directory on the test's file system (the VM lane's /tmp is ext4 on NVMe), removed afterwards. */
async function inTmp(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Each tool's --ebpf program, with these flags, passes the kernel verifier (here too, where nothing attaches). */
async function verifies(tool: string, flagSets: string[][]): Promise<void> {
  await inTmp('tsbpf-verify-', async (dir) => {
    for (const flags of flagSets) {
      const e = await runToolToEnd(tool, [...flags, '--ebpf']);
      assert.equal(e.code, 0, `${tool} ${flags.join(' ')} --ebpf: ${e.stderr}`);
      const file = path.join(dir, `${tool}.bt`);
      fs.writeFileSync(file, e.stdout);
      const r = await run(tsbpf, ['--verify', file]);
      assert.equal(r.code, 0, `${tool} ${flags.join(' ')}: ${r.stderr}${r.stdout}`);
      assert.match(r.stdout + r.stderr, /^\d+ programs? passed the kernel verifier\n$/, `${tool} ${flags.join(' ')}`);
    }
  });
}

/** Where kprobes attach (the VM lane) the attach tests below prove more; elsewhere the verifier is all there is. */
const verifyHere = (t: { skip(m: string): void }): boolean => {
  if (kprobes()) t.skip('this kernel has kprobes: the attach tests run the programs');
  return !kprobes();
};

kernelTest('cachestat, cachetop: their --ebpf programs pass the kernel verifier', async (t) => {
  if (!verifyHere(t)) return;
  await verifies('cachestat', [[]]);
  await verifies('cachetop', [[], ['-p', '1']]);
});

kernelTest('dcstat, dcsnoop: their --ebpf programs pass the kernel verifier', async (t) => {
  if (!verifyHere(t)) return;
  await verifies('dcstat', [[]]);
  await verifies('dcsnoop', [[], ['-a']]);
});

kernelTest('ttysnoop, tcpsynbl, klockstat, funcslower (kernel functions): their --ebpf programs pass the kernel verifier', async (t) => {
  if (!verifyHere(t)) return;
  await verifies('ttysnoop', [['/dev/null'], ['-s', '1024', '-c', '4', '/dev/null']]);
  await verifies('tcpsynbl', [[], ['-4'], ['-6']]);
  await verifies('klockstat', [[], ['-p', '1', '-s', '4']]);
  await verifies('funcslower', [['vfs_read'], ['-a', '6', '-K', '-U', '-u', '5', 'vfs_read', 'vfs_write']]);
});

kernelTest('cachestat, cachetop, dcstat, dcsnoop, ttysnoop, tcpsynbl, klockstat, funcslower KFUNC without kprobes: one sentence, exit 1', async (t) => {
  if (kprobes()) {
    t.skip('this kernel has kprobes');
    return;
  }
  for (const [tool, ...args] of [['cachestat'], ['cachetop'], ['dcstat'], ['dcsnoop'], ['ttysnoop', '/dev/null'], ['tcpsynbl'], ['klockstat'], ['funcslower', 'vfs_read']]) {
    const r = await runToolToEnd(tool, args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^tsbpf: ${tool} needs kprobes( for kernel functions \\([^)]*\\))?, but kprobes are not available: [^\\n]+\\n$`));
  }
});

/** Resolves once `pred(stdout)` holds (the tool printing its next report). */
async function until(r: Running, pred: (out: string) => boolean, what: string, timeoutMs = 60000): Promise<void> {
  const t0 = Date.now();
  while (!pred(r.stdout())) {
    if (r.child.exitCode !== null) throw new Error(`tool exited (${r.child.exitCode}) before ${what}: ${r.stderr()}${r.stdout()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}: ${r.stdout()}`);
    await sleep(20);
  }
}

const count = (s: string, re: RegExp) => s.split('\n').filter((l) => re.test(l)).length;

featureTest('cachetop -p 1: 300 opens+reads of a cached 4 KiB file are 300 HITS, 0 MISSES; 40 after dropping the page are 40 HITS and 40 MISSES', 'kprobes', kprobes, async () => {
  const title = /^\d\d:\d\d:\d\d Buffers MB: \d+ \/ Cached MB: \d+ \/ Sort: HITS \/ Order: descending$/;
  await inTmp('tsbpf-cachetop-', async (dir) => {
    for (const [mode, n, misses] of [['cache', 300, 0], ['miss', 40, 40]] as const) {
      const w = startWorkload3a(mode, n, path.join(dir, `file-${mode}`));
      const ours = startTool('cachetop', ['-p', String(w.pid), '1']);
      try {
        assert.equal(await w.ready(), 'ready');
        // a first screen: the probes are live
        await until(ours, (o) => count(o, title) >= 1, 'the first screen');
        await w.work();
        const screens = count(ours.stdout(), title);
        await until(ours, (o) => count(o, title) > screens, 'the screen after the workload');
        const r = await ours.stop();
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /\nPID      UID      CMD              HITS     MISSES   DIRTIES  READ_HIT%  WRITE_HIT%\n/);
        // the workload's counts may straddle screens: the counts add up, and each row's ratios follow from its counts
        // (nothing dirtied: READ_HIT% is accesses over all, WRITE_HIT% pages added over all)
        const rows = r.stdout.split('\n').filter((l) => new RegExp(`^ *${w.pid} `).test(l)).map((l) => l.trim().split(/\s+/).slice(1));
        assert.ok(rows.length >= 1, r.stdout);
        for (const f of rows) {
          const [hits, miss] = [Number(f[2]), Number(f[3])];
          const pct = (x: number) => `${((100 * x) / (hits + miss)).toFixed(1)}%`;
          assert.deepEqual([f[0], f[1], f[4], f[5], f[6]], ['root', 'tools3_a_worklo', '0', pct(hits), miss ? pct(miss) : '0.0%'], r.stdout);
        }
        assert.deepEqual([rows.reduce((a, f) => a + Number(f[2]), 0), rows.reduce((a, f) => a + Number(f[3]), 0)], [n, misses], r.stdout);
        assert.match(r.stdout, /\nDetaching\.\.\.\n$/);
      } finally {
        w.child.kill('SIGKILL');
        ours.child.kill('SIGKILL');
      }
    }
  });
});

featureTest('cachestat -T 1: 3000 reads of a cached page show as HITS (HITS+MISSES+DIRTIES count every access)', 'kprobes', kprobes, async () => {
  await inTmp('tsbpf-cachestat-', async (dir) => {
    const n = 3000;
    const w = startWorkload3a('cache', n, path.join(dir, 'file'));
    const ours = startTool('cachestat', ['-T', '1']);
    try {
      assert.equal(await w.ready(), 'ready');
      await ours.waitFor('TIME         HITS   MISSES  DIRTIES HITRATIO   BUFFERS_MB  CACHED_MB\n', 60000);
      // a first line: every probe is live
      await ours.waitFor(/\n.*\n/, 60000);
      await w.work();
      const lines = ours.stdout().split('\n').length;
      await until(ours, (o) => o.split('\n').length > lines, 'the line after the workload');
      const r = await ours.stop();
      assert.equal(r.code, 0, r.stderr);
      const rows = r.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d /.test(l)).map((l) => l.trim().split(/\s+/));
      for (const f of rows) assert.match(f.join(' '), /^\d\d:\d\d:\d\d \d+ \d+ \d+ \d+\.\d\d% \d+ \d+$/);
      const seen = rows.reduce((s, f) => s + Number(f[1]) + Number(f[2]) + Number(f[3]), 0);
      assert.ok(seen >= n, `${seen} < ${n}: ${r.stdout}`);
      assert.ok(rows.some((f) => Number(f[1]) > n / 2), r.stdout);
      assert.match(r.stdout, /\nDetaching\.\.\.\n$/);
    } finally {
      w.child.kill('SIGKILL');
      ours.child.kill('SIGKILL');
    }
  });
});

featureTest('dcsnoop (-a): unlinking 50 names that never existed is 50 M rows with those names (and with -a 50 R rows for their directory)', 'kprobes', kprobes, async () => {
  await inTmp('tsbpf-dcsnoop-', async (dir) => {
    for (const flags of [[], ['-a']]) {
      const w = startWorkload3a('dcmiss', 50, dir);
      const ours = startTool('dcsnoop', flags);
      try {
        assert.equal(await w.ready(), 'ready');
        await ours.waitFor('TIME(s)     PID     COMM             T FILE\n', 60000);
        await sleep(200);
        await w.work();
        await sleep(300);
        const r = await ours.stop();
        assert.equal(r.code, 0, r.stderr);
        const mine = r.stdout.split('\n').filter((l) => new RegExp(`^\\d+\\.\\d{6} +${w.pid} +tools3_a_worklo +[MR] `).test(l)).map((l) => l.trim().split(/\s+/).slice(3));
        const names = Array.from({ length: 50 }, (_, i) => `tsbpf-dc-${w.pid}-${i}`);
        assert.deepEqual(mine.filter((f) => f[0] === 'M' && f[1].startsWith('tsbpf-dc-')).map((f) => f[1]), names, r.stdout);
        // a reference's FILE is the rest of the path from the component looked up: the scratch directory's, then the name
        const refs = mine.filter((f) => f[0] === 'R' && f[1].startsWith(`${path.basename(dir)}/`)).map((f) => f[1]);
        assert.deepEqual(refs, flags.length ? names.map((n) => `${path.basename(dir)}/${n}`) : [], r.stdout);
      } finally {
        w.child.kill('SIGKILL');
        ours.child.kill('SIGKILL');
      }
    }
  });
});

featureTest('dcstat 1: unlinking 400 names that never existed shows as at least 400 SLOW/s and MISS/s over the lines', 'kprobes', kprobes, async () => {
  await inTmp('tsbpf-dcstat-', async (dir) => {
    const n = 400;
    const w = startWorkload3a('dcmiss', n, dir);
    const ours = startTool('dcstat', ['1']);
    try {
      assert.equal(await w.ready(), 'ready');
      await ours.waitFor('TIME         REFS/s   SLOW/s   MISS/s     HIT%\n', 60000);
      await ours.waitFor(/\n.*\n/, 60000);
      await w.work();
      const lines = ours.stdout().split('\n').length;
      await until(ours, (o) => o.split('\n').length > lines, 'the line after the workload');
      const r = await ours.stop();
      assert.equal(r.code, 0, r.stderr);
      const rows = r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/));
      for (const f of rows) assert.match(f.join(' '), /^\d\d:\d\d:\d\d: \d+ \d+ \d+ (\d+\.\d\d|-%)$/, r.stdout);
      const sum = (i: number) => rows.reduce((a, f) => a + Number(f[i]), 0);
      assert.ok(sum(2) >= n && sum(3) >= n && sum(1) >= n, r.stdout);
    } finally {
      w.child.kill('SIGKILL');
      ours.child.kill('SIGKILL');
    }
  });
});

featureTest('ttysnoop -C PTS: 30 lines the fixture writes to its pseudo-terminal are printed as written', 'kprobes', kprobes, async () => {
  const w = startWorkload3a('tty', 30);
  let ours: Running | undefined;
  let fd: number | undefined;
  try {
    const pts = await w.ready();
    assert.match(pts, /^\/dev\/pts\/\d+$/);
    ours = startTool('ttysnoop', ['-C', pts.slice('/dev/pts/'.length)]);
    // ttysnoop prints nothing of its own: write marker lines until one comes through (then it is attached)
    fd = fs.openSync(pts, fs.constants.O_WRONLY | fs.constants.O_NOCTTY);
    const t0 = Date.now();
    while (!ours.stdout().includes('tsbpf marker\n')) {
      if (ours.child.exitCode !== null || Date.now() - t0 > 120000) throw new Error(`ttysnoop never showed the marker: ${ours.stderr()}${ours.stdout()}`);
      fs.writeSync(fd, 'tsbpf marker\n');
      await sleep(300);
    }
    await w.work();
    await until(ours, (o) => o.includes('tsbpf tty line 29\n'), 'the last line');
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const expected = Array.from({ length: 30 }, (_, i) => `tsbpf tty line ${i}\n`).join('');
    assert.equal(r.stdout.replace(/^(tsbpf marker\n)+/, ''), expected);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    w.child.kill('SIGKILL');
    ours?.child.kill('SIGKILL');
  }
});

featureTest('tcpsynbl -4: 20 loopback connections never accepted, on a listener with backlog 77, are backlog 0..19 under backlog_max = 77', 'kprobes', kprobes, async () => {
  const w = startWorkload3a('syn', 20, '77');
  const ours = startTool('tcpsynbl', ['-4']);
  try {
    assert.match(await w.ready(), /^\d+$/);
    await ours.waitFor('Tracing SYN backlog size. Ctrl-C to end.\n', 60000);
    await sleep(200);
    await w.work();
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const section = r.stdout.split('\nbacklog_max = ').find((x) => x.startsWith('77\n'));
    assert.ok(section, r.stdout);
    assert.match(section, /^77\n     backlog             : count     distribution\n/);
    assert.deepEqual([...parseHistRows(section)], [['0 -> 1', 2], ['2 -> 3', 2], ['4 -> 7', 4], ['8 -> 15', 8], ['16 -> 31', 4]], r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

featureTest('funcslower -m 10 -p: the fixture\'s 6 sleeps of 10 or 20 ms are 6 slow hrtimer_nanosleep calls returning 0', 'kprobes', kprobes, async () => {
  const w = startWorkload3a('slow', 6);
  const ours = startTool('funcslower', ['-m', '10', '-p', String(w.pid), 'hrtimer_nanosleep']);
  try {
    assert.equal(await w.ready(), 'ready');
    await ours.waitFor('Tracing function calls slower than 10 ms... Ctrl+C to quit.\nCOMM           PID    LAT(ms)             RVAL FUNC\n', 60000);
    await sleep(200);
    await w.work();
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((f) => [f[0], f[1], f[3], f[4]]), Array.from({ length: 6 }, () => ['tools3_a_workl', String(w.pid), '0', 'hrtimer_nanosleep']), r.stdout);
    for (const [i, f] of rows.entries()) assert.ok(Number(f[2]) >= (i % 2 ? 20 : 10), r.stdout);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

featureTest('funclatency -m -p on a kernel function: the fixture\'s 6 sleeps of 10 or 20 ms are 6 hrtimer_nanosleep calls, none under 8 ms', 'kprobes', kprobes, async () => {
  const w = startWorkload3a('slow', 6);
  const ours = startTool('funclatency', ['-m', '-p', String(w.pid), 'hrtimer_nanosleep']);
  try {
    assert.equal(await w.ready(), 'ready');
    await ours.waitFor('Tracing 1 functions for "hrtimer_nanosleep"... Hit Ctrl-C to end.\n', 60000);
    await sleep(200);
    await w.work();
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes('\n     msecs               : count     distribution\n'), r.stdout);
    const rows = parseHistRows(r.stdout);
    assert.equal([...rows.values()].reduce((a, b) => a + b, 0), 6, r.stdout);
    for (const [slot, n] of rows) if (n > 0) assert.ok(parseInt(slot, 10) >= 8, r.stdout); // slots are "LOW -> HIGH"
    assert.match(r.stdout, /\navg = \d+ msecs, total: \d+ msecs, count: 6\n/);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

featureTest('klockstat -p -c pipe_write: 64 one-byte pipe writes are 64 acquisitions and 64 holds of the pipe mutex by pipe_write', 'kprobes', kprobes, async () => {
  const w = startWorkload3a('pipe', 64);
  const ours = startTool('klockstat', ['-p', String(w.pid), '-c', 'pipe_write']);
  try {
    assert.equal(await w.ready(), 'ready');
    await ours.waitFor('Tracing lock events... Hit Ctrl-C to end.\n', 60000);
    await sleep(200);
    await w.work();
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const [spin, hold] = r.stdout.split('\n\n').slice(1);
    assert.ok(spin && hold, r.stdout);
    for (const [table, what] of [[spin, 'spin'], [hold, 'hold']] as const) {
      const [head, ...rows] = table.trimEnd().split('\n');
      const W = what[0].toUpperCase() + what.slice(1);
      assert.equal(head, `${'Caller'.padStart(40)} ${`Avg ${W}`.padStart(10)}  Count ${`Max ${what}`.padStart(10)} ${`Total ${what}`.padStart(10)}`);
      // one caller (pipe_write's one mutex_lock call site), every one of the 64 calls
      assert.equal(rows.length, 1, r.stdout);
      const f = rows[0].trim().split(/\s+/);
      assert.match(f[0], /^pipe_write\+0x[0-9a-f]+$/, r.stdout);
      const [avg, count, max, total] = f.slice(1).map(BigInt);
      assert.equal(count, 64n, r.stdout);
      assert.ok(max > 0n && max <= total && avg === total / count, r.stdout);
    }
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

// bcc's smoke-test argument list (tests/python/test_tools_smoke.py) for these tools (cachetop is disabled there: curses).
featureTest('bcc smoke list: cachestat 1 1; dcstat 1 1; dcsnoop; tcpsynbl; klockstat; funcslower KMALLOC; ttysnoop /dev/console (-C: no terminal here)', 'kprobes', kprobes, async () => {
  await smokeWithDuration('cachestat', ['1', '1']);
  await smokeWithDuration('dcstat', ['1', '1']);
  await smokeWithInt('dcsnoop', []);
  await smokeWithInt('tcpsynbl', []);
  await smokeWithInt('klockstat', []);
  // __kmalloc_noprof since Linux 6.10, __kmalloc before
  await smokeWithInt('funcslower', [firstKprobeable(['__kmalloc_noprof', '__kmalloc']) ?? '__kmalloc']);
  // ttysnoop prints only what the console shows: show it something until it comes through, then Ctrl-C
  if (fs.existsSync('/dev/console')) {
    const r = startTool('ttysnoop', ['-C', '/dev/console']);
    try {
      const t0 = Date.now();
      while (!r.stdout().includes('tsbpf console marker')) {
        if (r.child.exitCode !== null || Date.now() - t0 > 120000) throw new Error(`ttysnoop /dev/console: ${r.stderr()}${r.stdout()}`);
        fs.appendFileSync('/dev/console', 'tsbpf console marker\n');
        await sleep(300);
      }
      const x = await r.stop();
      assert.equal(x.code, 0, x.stderr);
    } finally {
      r.child.kill('SIGKILL');
    }
  }
});
