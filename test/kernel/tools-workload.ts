/** A fixture process that waits on stdin, then does exactly N of something (see tools_workload.c). */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';

export interface Workload {
  pid: number;
  child: ChildProcess;
  /** Lets it run; resolves with its exit code. */
  go(): Promise<number | null>;
}

export function startWorkload(mode: 'getppid' | 'enoent' | 'sleep' | 'spin' | 'opens' | 'coldpath' | 'threads' | 'malloc', n: number, extra: string[] = []): Workload {
  const bin = buildFixture('tools_workload', ['-pthread']);
  const child = spawn(bin, [mode, String(n), ...extra], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return {
    pid: child.pid as number,
    child,
    go() {
      child.stdin?.end('go\n');
      return exited;
    },
  };
}
