/** The part-2 tools' fixture process: waits on stdin, then does exactly what its mode says (see tools2_workload.c). */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';

export interface Workload2 {
  pid: number;
  child: ChildProcess;
  /** Everything it printed so far. */
  out(): string;
  /** What the fixture printed before waiting (the tcp mode's port). */
  ready(): Promise<string>;
  /** Lets it run; resolves with its exit code once its output is drained. */
  go(): Promise<number | null>;
}

export type Mode2 = 'kill' | 'exit' | 'tcp' | 'stat' | 'sync' | 'mount' | 'write' | 'leak' | 'hog' | 'life' | 'nice' | 'listen' | 'shm' | 'pingpong';

export function startWorkload2(mode: Mode2, n: number, ...extra: string[]): Workload2 {
  return startFixtureWorkload('tools2_workload', mode, n, ...extra);
}

export interface FixtureOptions {
  /** Extra compiler flags (`-pthread`). */
  cflags?: string[];
  /** A command that execs the fixture, so the pid is still the fixture's (`unshare -n`). */
  wrapper?: string[];
}

/**
 * A fixture of this shape (test/fixtures/NAME.c: MODE N [ARGS], one line
 * out, then waits for stdin), started with `extra` arguments.
 */
export function startFixtureWorkload(fixture: string, mode: string, n: number, ...extra: string[]): Workload2 {
  return startFixture(fixture, [mode, String(n), ...extra]);
}

export function startFixture(fixture: string, args: string[], opts: FixtureOptions = {}): Workload2 {
  const bin = buildFixture(fixture, opts.cflags);
  const [cmd, ...pre] = [...(opts.wrapper ?? []), bin];
  const child = spawn(cmd, [...pre, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
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
      await new Promise((res) => setImmediate(res)); // let the pipe drain
      return code;
    },
  };
}
