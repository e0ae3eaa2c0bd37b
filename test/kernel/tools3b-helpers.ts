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
