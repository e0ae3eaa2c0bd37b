/**
 * Runs `bin/tsbpf` (and, for comparisons, `/usr/bin/bpftrace`) as a child
 * process with a timeout, collecting stdout, stderr and the exit status.
 * A child still running at the deadline (or after `stopAfterMs`) is sent
 * SIGINT, then SIGKILL if it does not exit, so a test never leaves one behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { timeScale } from './kernel';

export const repoRoot = path.join(__dirname, '..', '..', '..');
export const tsbpfBin = path.join(repoRoot, 'bin', 'tsbpf');
export const bpftraceBin = '/usr/bin/bpftrace';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the deadline passed and the child had to be stopped. */
  timedOut: boolean;
}

export interface RunOpts {
  /** Hard deadline; the child gets SIGINT then SIGKILL 15 s later. Default 30 s. Both scale by TSBPF_TIME_SCALE (the VM lane's slowdown). */
  timeoutMs?: number;
  /** Send `stopSignal` this long after start (tracing programs that run until Ctrl-C). */
  stopAfterMs?: number;
  /** Send `stopSignal` once stdout or stderr contains this (e.g. "Attached"). */
  stopWhen?: { text: string; delayMs?: number };
  stopSignal?: NodeJS.Signals;
  /** Called once stdout/stderr contains the text (e.g. to start a workload once probes are attached). */
  onText?: { text: string; fn: () => void };
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Prefix command (e.g. ['setpriv', '--reuid=nobody', ...]). */
  wrap?: string[];
}

/** Runs a command and collects its output; never rejects. */
export function runCommand(file: string, args: string[], o: RunOpts = {}): Promise<RunResult> {
  const argv = o.wrap ? [...o.wrap.slice(1), file, ...args] : args;
  const bin = o.wrap ? o.wrap[0] : file;
  return new Promise((resolve) => {
    const child = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: o.env ?? process.env, cwd: o.cwd ?? repoRoot });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let stopped = false;
    let textSeen = false;
    const timers: NodeJS.Timeout[] = [];
    const sig = o.stopSignal ?? 'SIGINT';
    const stop = (s: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(s);
      // generous: printing big maps on a loaded 2-core machine takes a while
      timers.push(setTimeout(() => child.kill('SIGKILL'), 15_000 * timeScale));
    };
    const check = () => {
      const all = stdout + stderr;
      if (o.onText && !textSeen && all.includes(o.onText.text)) {
        textSeen = true;
        o.onText.fn();
      }
      if (o.stopWhen && !stopped && all.includes(o.stopWhen.text)) {
        stopped = true;
        timers.push(setTimeout(() => stop(sig), o.stopWhen.delayMs ?? 0));
      }
    };
    child.stdout.setEncoding('latin1');
    child.stderr.setEncoding('latin1');
    child.stdout.on('data', (d: string) => { stdout += d; check(); });
    child.stderr.on('data', (d: string) => { stderr += d; check(); });
    child.stdin.on('error', () => {});
    if (o.input !== undefined) child.stdin.end(o.input);
    else child.stdin.end();
    if (o.stopAfterMs !== undefined) timers.push(setTimeout(() => stop(sig), o.stopAfterMs));
    timers.push(setTimeout(() => { timedOut = true; stop('SIGINT'); }, (o.timeoutMs ?? 30_000) * timeScale));
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      resolve({ stdout, stderr, code, signal, timedOut });
    };
    child.on('close', finish);
    // A grandchild left behind (a bug under test) keeps the pipes open and 'close'
    // would never come: settle shortly after the child itself exits.
    child.on('exit', (code, signal) => {
      const t = setTimeout(() => finish(code, signal), 2000);
      t.unref();
      timers.push(t);
    });
  });
}

/** Runs bin/tsbpf (a /bin/sh launcher that starts node) with the given arguments. */
export function runTsbpf(args: string[], o: RunOpts = {}): Promise<RunResult> {
  return runCommand(tsbpfBin, args, o);
}

/** Runs bpftrace 0.17 with the given arguments. */
export function runBpftrace(args: string[], o: RunOpts = {}): Promise<RunResult> {
  return runCommand(bpftraceBin, args, o);
}

export const hasBpftrace = (): boolean => fs.existsSync(bpftraceBin);

/** bpftrace's stdout without its "Attaching N probes..." line (tsbpf prints "Attached N probes" on stderr). */
export function stripAttaching(stdout: string): string {
  return stdout.replace(/^Attaching \d+ probes?\.\.\.\n/m, '');
}

/** True when stderr carries a JavaScript stack trace (a user must never see one). */
export function hasStackTrace(stderr: string): boolean {
  return /^\s+at .+\(.*:\d+:\d+\)$/m.test(stderr) || /^\s{4}at /m.test(stderr);
}

/** Probe entries tsbpf might have created in tracefs (uprobe_events / kprobe_events), for leak checks. */
export function tracefsProbeEntries(): string[] {
  const out: string[] = [];
  for (const dir of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    for (const f of ['uprobe_events', 'kprobe_events']) {
      try {
        out.push(...fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean));
      } catch {
        // absent file: nothing registered there
      }
    }
    if (out.length) break;
  }
  return out;
}

/** Pids of processes whose parent is `ppid` (to check nothing survives a run). */
export function childrenOf(ppid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(ppid)], { encoding: 'utf8' });
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean).map(Number);
}

/** Pids whose command line contains `text` (leak checks for -c children). */
export function pidsMatching(text: string): number[] {
  const r = spawnSync('pgrep', ['-f', text], { encoding: 'utf8' });
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean).map(Number).filter((p) => p !== process.pid);
}
