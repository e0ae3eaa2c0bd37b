/** The part-3 (tools-a) tools' fixture process: prints a line, waits on stdin, then does exactly what its mode says (see tools3_a_workload.c). */
import { startFixtureWorkload, type Workload2 } from './tools2-workload';

export type Mode3a = 'cache' | 'miss' | 'dcmiss' | 'tty' | 'syn' | 'pipe' | 'slow' | 'slowloop';

export interface Workload3a extends Workload2 {
  /** Lets it run; resolves once it printed "done" (it then waits to be killed), rejects if it exits first. */
  work(): Promise<void>;
}

/** ready() is the line it printed before waiting: "ready", the tty mode's pts path, the syn mode's port. */
export function startWorkload3a(mode: Mode3a, n: number, ...extra: string[]): Workload3a {
  const w = startFixtureWorkload('tools3_a_workload', mode, n, ...extra);
  let out = '';
  const done = new Promise<void>((res, rej) => {
    w.child.stdout?.on('data', (d: string) => {
      out += d;
      if (/^done$/m.test(out)) res();
    });
    w.child.on('exit', (code, sig) => rej(new Error(`tools3_a_workload ${mode} exited (${code ?? sig}) before it was done`)));
  });
  // killed at the end of every test: that exit is nobody's failure unless work() is waiting
  done.catch(() => undefined);
  return {
    ...w,
    work() {
      void w.go();
      return done;
    },
  };
}
