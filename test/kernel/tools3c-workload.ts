/** The tools3c tests' fixture process: prints what the test needs, waits on stdin, then does what its mode says (see tools3c_workload.c). */
import { startFixture, type Workload2 } from './tools2-workload';

export type Workload3c = Workload2;

export type Mode3c = 'bind' | 'mmap' | 'lossy' | 'xfer' | 'wake';

/** Starts the fixture; `netns`: in a network namespace of its own (unshare -n execs it: the pid is the fixture's). */
export function startWorkload3c(mode: Mode3c, n: number, opts: { netns?: boolean } = {}): Workload3c {
  return startFixture('tools3c_workload', [mode, String(n)], { cflags: ['-pthread'], wrapper: opts.netns ? ['unshare', '-n'] : undefined });
}

/** Output rows after the header line(s), split on blanks. */
export function rowsAfter(out: string, header: string): string[][] {
  const i = out.indexOf(header);
  if (i < 0) return [];
  return out.slice(i + header.length).split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));
}
