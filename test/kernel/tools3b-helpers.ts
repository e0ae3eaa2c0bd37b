/** Shared by the tools3b tests (drsnoop, biotop, filetop, fileslower, the ext4/xfs tools) and oomkill's test. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildFixture } from '../helpers/fixtures';

export interface MemoryCgroup {
  dir: string;
  /** The cgroup.procs file: `echo PID >` it moves a process in. */
  procs: string;
  add(pid: number): void;
  remove(): void;
}

/** A fresh memory cgroup limited to `bytes`, no swap (v2, else the v1 memory controller); undefined when none can be made. */
export function memoryCgroup(bytes: number, tag: string): MemoryCgroup | undefined {
  const name = `tsbpf-${tag}-${process.pid}`;
  const v2 = '/sys/fs/cgroup/cgroup.controllers';
  try {
    let dir: string;
    if (fs.existsSync(v2) && fs.readFileSync(v2, 'utf8').includes('memory')) {
      fs.writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '+memory');
      dir = path.join('/sys/fs/cgroup', name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'memory.max'), String(bytes));
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0');
    } else if (fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) {
      dir = path.join('/sys/fs/cgroup/memory', name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(bytes));
      if (fs.existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) fs.writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(bytes));
    } else {
      return undefined;
    }
    const procs = path.join(dir, 'cgroup.procs');
    return {
      dir,
      procs,
      add: (pid) => fs.writeFileSync(procs, String(pid)),
      remove: () => {
        for (let i = 0; i < 50; i++) {
          try {
            fs.rmdirSync(dir);
            return;
          } catch {
            // A killed member may not be reaped yet.
          }
        }
      },
    };
  } catch {
    return undefined;
  }
}

/** tools3b_workload (see test/fixtures/tools3b_workload.c): waits for go, works, prints "done", waits for finish. */
export interface Workload3b {
  pid: number;
  child: ChildProcess;
  /** Starts the work; resolves once it printed "done". */
  go(): Promise<void>;
  /** Lets it exit; resolves with its exit code. */
  finish(): Promise<number | null>;
}

export function startWorkload3b(...args: string[]): Workload3b {
  const child = spawn(buildFixture('tools3b_workload'), args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8');
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const done = new Promise<void>((res, rej) => {
    child.stdout?.on('data', (d: string) => {
      out += d;
      if (out.includes('done\n')) res();
    });
    child.on('exit', (c) => rej(new Error(`tools3b_workload ${args.join(' ')} exited with ${c} before "done"`)));
  });
  done.catch(() => undefined);
  return {
    pid: child.pid as number,
    child,
    go() {
      child.stdin?.write('go\n');
      return done;
    },
    finish() {
      child.stdin?.end('finish\n');
      return exited;
    },
  };
}

// ---- test bodies shared by the host tests (--syscalls) and the VM lane's (kprobes) -------------------------------

import assert from 'node:assert/strict';
import * as os from 'node:os';
import { run, sleep, startTool, track } from './tools-harness';

const R = 7;
const W = 5;

/** filetop -C -p (plus `mode` flags): the fixture's 7 pread()s and 5 pwrite()s of 4 KiB on one file are one row 7 5 28 20 R NAME. */
export async function filetopCase(mode: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-filetop-'));
  const file = path.join(dir, 'tsbpf-filetop-data');
  const w = startWorkload3b('fileio', String(R), String(W), file);
  // An interval longer than the test: the reports come on Ctrl-C. -d names the file's directory; the other
  // directory's run sees nothing; --read-only leaves the writes out.
  const runs = {
    all: startTool('filetop', [...mode, '-C', '-p', String(w.pid), '600']),
    inDir: startTool('filetop', [...mode, '-C', '-d', dir, '-p', String(w.pid), '600']),
    otherDir: startTool('filetop', [...mode, '-C', '-d', os.tmpdir(), '-p', String(w.pid), '600']),
    reads: startTool('filetop', [...mode, '-C', '--read-only', '-p', String(w.pid), '600']),
  };
  try {
    for (const t of Object.values(runs)) await t.waitFor('Tracing... Output every 600 secs. Hit Ctrl-C to end\n', 60000);
    await sleep(300);
    await w.go();
    // Stopped while the fixture still holds the file open (--syscalls names it from /proc/PID/fd).
    const out: Record<string, string[]> = {};
    for (const [k, t] of Object.entries(runs)) {
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      const m = /\n\d\d:\d\d:\d\d loadavg: .*\n\n(TID .*\n)((?:.*\n)*)Detaching\.\.\.\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.equal(m[1], 'TID     COMM             READS  WRITES R_Kb    W_Kb    T FILE\n');
      out[k] = m[2].split('\n').filter((l) => l.endsWith(' tsbpf-filetop-data'));
    }
    const row = (reads: number, writes: number) => `${String(w.pid).padEnd(7)} ${'tools3b_workloa'.padEnd(16)} ${String(reads).padEnd(6)} ${String(writes).padEnd(6)} ${String(reads * 4).padEnd(7)} ${String(writes * 4).padEnd(7)} R tsbpf-filetop-data`;
    assert.deepEqual(out.all, [row(R, W)]);
    assert.deepEqual(out.inDir, [row(R, W)]);
    assert.deepEqual(out.otherDir, []);
    assert.deepEqual(out.reads, [row(R, 0)]);
    assert.equal(await w.finish(), 0);
  } finally {
    w.child.kill('SIGKILL');
    for (const t of Object.values(runs)) t.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const FIFO_READS = 4;

/**
 * fileslower -a -p (plus `mode` flags): the fixture's 4 one-byte reads of a FIFO fed every 60 ms are 4 R rows of
 * 1 byte with threshold 0; with threshold 20 ms every row shown took at least 20 ms; without -a none (not regular).
 */
export async function fileslowerCase(mode: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-fileslower-'));
  const fifo = path.join(dir, 'tsbpf-slow-fifo');
  const w = startWorkload3b('fifo', String(FIFO_READS), fifo);
  const runs = {
    all: startTool('fileslower', [...mode, '-a', '-p', String(w.pid), '0']),
    slow: startTool('fileslower', [...mode, '-a', '-p', String(w.pid), '20']),
    regular: startTool('fileslower', [...mode, '-p', String(w.pid), '0']),
  };
  try {
    const header = 'TIME(s)  COMM           TID    D BYTES   LAT(ms) FILENAME\n';
    for (const t of Object.values(runs)) await t.waitFor(header, 60000);
    await sleep(300);
    await w.go();
    await sleep(300);
    const rows: Record<string, string[]> = {};
    for (const [k, t] of Object.entries(runs)) {
      const r = await t.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes(`Tracing sync read/writes slower than ${k === 'slow' ? 20 : 0} ms\n${header}`), r.stdout);
      rows[k] = r.stdout.split('\n').filter((l) => l.endsWith(' tsbpf-slow-fifo'));
    }
    const re = new RegExp(`^\\d+\\.\\d{3} +tools3b_worklo ${String(w.pid).padEnd(6)} R 1 {7}( *\\d+\\.\\d\\d) tsbpf-slow-fifo$`);
    assert.equal(rows.all.length, FIFO_READS, rows.all.join('\n'));
    for (const l of rows.all) assert.match(l, re);
    assert.ok(rows.slow.length <= FIFO_READS, rows.slow.join('\n'));
    for (const l of rows.slow) assert.ok(Number(re.exec(l)?.[1]) >= 20, l);
    assert.deepEqual(rows.regular, []);
    assert.equal(await w.finish(), 0);
  } finally {
    w.child.kill('SIGKILL');
    for (const t of Object.values(runs)) t.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const FILE_MIB = 64;
const LIMIT_MIB = 16;

/**
 * drsnoop --memcg -p: dd reading a 64 MiB file through a 16 MiB memory cgroup reclaims at least the 48 MiB that cannot
 * stay; bpftrace (when installed) sees the same reclaims; plain drsnoop (direct reclaim only) and -n another name show
 * none. With `verbose`, -v's FREE(KB) column too.
 */
export async function drsnoopMemcgCase(t: { skip(why: string): void }, verbose: boolean): Promise<void> {
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
  const ours = startTool('drsnoop', ['--memcg', '-T', '-U', ...(verbose ? ['-v'] : []), '-p', String(pid)]);
  const direct = startTool('drsnoop', ['-p', String(pid)]);
  const other = startTool('drsnoop', ['--memcg', '-n', 'no-such-comm', '-p', String(pid)]);
  const bpftrace = fs.existsSync('/usr/bin/bpftrace')
    ? track(spawn('bpftrace', ['-e', `tracepoint:vmscan:mm_vmscan_memcg_reclaim_end /pid == ${pid}/ { @n = count(); @pages = sum(args->nr_reclaimed); }`], { stdio: ['ignore', 'pipe', 'pipe'] }))
    : undefined;
  try {
    const header = `TIME(s)       UID   COMM           PID     LAT(ms) PAGES${verbose ? '  FREE(KB)' : ''}\n`;
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
      const m = new RegExp(`^(\\d+\\.\\d{9}) +0 {5}dd {13}(\\d+) +(\\d+\\.\\d\\d) +(\\d+)${verbose ? '( +\\d+)' : ''}$`).exec(l);
      assert.ok(m, l);
      assert.equal(Number(m[2]), pid);
      pages += Number(m[4]);
      // the system's free memory: some, and less than all of it
      if (verbose) assert.ok(Number(m[5]) > 0 && Number(m[5]) * 1024 < os.totalmem(), l);
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
}
