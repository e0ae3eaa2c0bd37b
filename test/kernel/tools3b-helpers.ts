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
import { sleep, startTool } from './tools-harness';

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
