/**
 * A child process driven line by line (test/fixtures/uprobe_target.c style:
 * one command per line, "ok" after each), and attaching a compiled script's
 * programs with the library, for end-to-end language tests.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Loaded } from './lang-helpers';
import { attachTracepoint, attachUprobe, closeLinks, type Link } from '../../src/ebpf/attach';

export class Target {
  private readonly p: ChildProcessWithoutNullStreams;
  private buf = '';
  private waiters: (() => void)[] = [];
  constructor(path: string, args: string[] = []) {
    this.p = spawn(path, args, { stdio: 'pipe' });
    this.p.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      while (this.buf.includes('ok\n')) {
        this.buf = this.buf.slice(this.buf.indexOf('ok\n') + 3);
        this.waiters.shift()?.();
      }
    });
  }
  get pid(): number {
    return this.p.pid as number;
  }
  do(cmd: string): Promise<void> {
    return new Promise((res) => {
      this.waiters.push(res);
      this.p.stdin.write(`${cmd}\n`);
    });
  }
  async end(): Promise<void> {
    if (this.p.exitCode !== null || this.p.signalCode !== null) return;
    const done = new Promise((res) => this.p.on('exit', res));
    this.p.stdin.end();
    await done;
  }
}

/** Attaches every tracepoint and uprobe of a loaded script; closes what it attached if one fails. */
export function attachAll(l: Loaded): Link[] {
  const links: Link[] = [];
  try {
    l.artifact.programs.forEach((p, i) => {
      for (const a of p.attach) {
        if (a.kind === 'tracepoint') links.push(attachTracepoint(l.programs[i], a.category, a.event));
        else if (a.kind === 'uprobe') {
          links.push(attachUprobe(l.programs[i], a.path, BigInt(a.offset), {
            retprobe: a.retprobe, pid: a.pid, refCtrOffset: a.refCtrOffset !== undefined ? BigInt(a.refCtrOffset) : undefined,
          }));
        }
      }
    });
  } catch (e) {
    closeLinks(links);
    throw e;
  }
  return links;
}

/** Sums a per-CPU (or plain) u64 value list. */
export function sum(vs: Buffer[]): bigint {
  return vs.reduce((s, v) => s + v.readBigUInt64LE(0), 0n);
}
