/**
 * Drives test/fixtures/uprobe_target: a child that performs exactly the
 * actions a test asks for, when it asks (after the probes are attached).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildFixture } from '../helpers/fixtures';

export class Target {
  readonly path: string;
  readonly pid: number;
  private buf = '';
  private waiters: Array<() => void> = [];
  private exited: Promise<number | null>;

  private constructor(path: string, private readonly child: ChildProcess) {
    this.path = path;
    this.pid = child.pid!;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('ok\n')) >= 0) {
        this.buf = this.buf.slice(i + 3);
        this.waiters.shift()?.();
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Builds (if needed) and starts the fixture; it idles until told what to do. */
  static start(): Target {
    const path = buildFixture('uprobe_target');
    const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Target(path, child);
  }

  /** Performs `op` exactly n times and resolves when the child has finished. */
  run(op: 'getppid' | 'add' | 'cpu', n: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`target did not finish '${op} ${n}'`)), 30_000);
      this.waiters.push(() => { clearTimeout(timer); resolve(); });
      this.child.stdin!.write(`${op} ${n}\n`);
    });
  }

  /** Ends the child (EOF on stdin; SIGKILL if it lingers) and waits for it. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(t);
  }
}
