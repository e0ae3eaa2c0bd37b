/** The tools3c tests' fixture process: prints what the test needs, waits on stdin, then does what its mode says (see tools3c_workload.c). */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';

export interface Workload3c {
  pid: number;
  child: ChildProcess;
  /** Everything it printed so far. */
  out(): string;
  /** Resolves with its first line (printed before it waits). */
  ready(): Promise<string>;
  /** Lets it run; resolves with its exit code. */
  go(): Promise<number | null>;
}

export type Mode3c = 'bind' | 'mmap' | 'lossy' | 'xfer' | 'wake';

/** Starts the fixture; `netns`: in a network namespace of its own (unshare -n execs it: the pid is the fixture's). */
export function startWorkload3c(mode: Mode3c, n: number, opts: { netns?: boolean } = {}): Workload3c {
  const bin = buildFixture('tools3c_workload', ['-pthread']);
  const child = opts.netns ? spawn('unshare', ['-n', bin, mode, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(bin, [mode, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8');
  const firstLine = new Promise<string>((res) => {
    child.stdout?.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) res(out.split('\n')[0]);
    });
    child.on('exit', () => res(out));
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return {
    pid: child.pid as number,
    child,
    out: () => out,
    ready: () => firstLine,
    async go() {
      child.stdin?.end('go\n');
      const code = await exited;
      // let the pipe drain
      await new Promise((res) => setImmediate(res));
      return code;
    },
  };
}

/** Output rows after the header line(s), split on blanks. */
export function rowsAfter(out: string, header: string): string[][] {
  const i = out.indexOf(header);
  if (i < 0) return [];
  return out.slice(i + header.length).split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));
}
