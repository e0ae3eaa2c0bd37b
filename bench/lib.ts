/**
 * Shared machinery of the benchmark harness: statistics, running a tracer
 * under the resource meter (bench/loadgen.c's `rusage` mode), waiting for its
 * "Attach..." message, reading per-program run statistics of a process from
 * /proc/PID/fdinfo, and building the load generator.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bpftrace023, bpftrace023Script } from '../test/helpers/peers';

/** Repository root (this file compiles to dist/bench/lib.js). */
export const ROOT = path.join(__dirname, '..', '..');
/** Scratch directory for build outputs and generated scripts (gitignored). */
export const WORK = path.join(ROOT, 'bench', 'work');

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median and range of the finite samples; undefined when there are none. */
export function summarize(xs: readonly (number | undefined)[]): Summary | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Builds bench/loadgen.c into bench/work/loadgen when the source is newer. */
export function buildLoadgen(): string {
  const src = path.join(ROOT, 'bench', 'loadgen.c');
  const out = path.join(WORK, 'loadgen');
  fs.mkdirSync(WORK, { recursive: true });
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    execFileSync('cc', ['-O2', '-Wall', '-o', out, src], { stdio: 'pipe' });
  }
  return out;
}

/** Resource usage of one finished process, as measured by wait4(2). */
export interface Usage {
  wallMs: number;
  cpuMs: number;
  userMs: number;
  sysMs: number;
  maxRssMb: number;
  status: number;
}

export interface TracedRun {
  usage: Usage | undefined;
  /** Milliseconds from spawn until the attach message appeared. */
  attachMs: number | undefined;
  /**
   * With expectPerfFds: milliseconds from spawn until the process's
   * perf-event fd count peaked (bpftrace prints "Attaching N probes..."
   * before it attaches; this is when it is done), and not before the message.
   */
  attachedMs: number | undefined;
  /** With expectPerfFds: the most perf-event fds the process held at once. */
  peakPerfFds: number | undefined;
  /** Milliseconds from SIGINT until the process exited. */
  detachMs: number | undefined;
  /** Lines written to stdout (counted, not kept). */
  stdoutLines: number;
  /** Lines of stdout containing `countMatch`, when given. */
  matchedLines: number;
  /** Sum of "Lost N events" reports seen on stdout or stderr. */
  lost: number;
  /** Last few KB of stderr and stdout, for error reporting. */
  stderrTail: string;
  stdoutTail: string;
  timedOut: boolean;
}

export interface TraceOptions {
  /** Regular expression signalling that probes are attached (default: "Attach(ing|ed) N probe"). */
  ready?: RegExp;
  /** Runs after the ready message; the process is interrupted when it resolves (unless it exits first). */
  whileAttached?: (pid: number, progress: TracedRun) => Promise<void>;
  /** Give up (SIGKILL) after this long. */
  timeoutMs?: number;
  /** Count stdout lines containing this text. */
  countMatch?: string;
  env?: NodeJS.ProcessEnv;
  /** Do not interrupt: wait for the process to exit by itself. */
  selfExit?: boolean;
  /** After the ready message, wait until the tracer holds this many perf-event fds (one per attached tracepoint). */
  expectPerfFds?: number;
}

const ATTACH_RE = /Attach(?:ing|ed) \d+ probes?/;
const LOST_RE = /Lost (\d+) events/g;

function countOccurrences(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

function readUsage(file: string): Usage | undefined {
  try {
    const [wall, ut, st, rss, status] = fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return { wallMs: wall / 1e6, userMs: ut / 1e3, sysMs: st / 1e3, cpuMs: (ut + st) / 1e3, maxRssMb: rss / 1024, status };
  } catch {
    return undefined;
  }
}

/** The pid of the only child of `pid` (the command the meter started). */
export function childOf(pid: number): number | undefined {
  try {
    const t = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return t ? Number(t.split(/\s+/)[0]) : undefined;
  } catch {
    return undefined;
  }
}

let runSeq = 0;

/**
 * Runs `argv` under the resource meter, waits for the ready message, runs
 * `whileAttached`, interrupts with SIGINT and waits for the exit.
 */
export function traceRun(loadgen: string, argv: string[], o: TraceOptions = {}): Promise<TracedRun> {
  const usageFile = path.join(WORK, `usage.${process.pid}.${runSeq++}`);
  try { fs.unlinkSync(usageFile); } catch { /* absent */ }
  const t0 = nowMs();
  const child: ChildProcess = spawn(loadgen, ['rusage', usageFile, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env, cwd: ROOT,
  });
  const ready = o.ready ?? ATTACH_RE;
  const r: TracedRun = {
    usage: undefined, attachMs: undefined, attachedMs: undefined, peakPerfFds: undefined, detachMs: undefined, stdoutLines: 0, matchedLines: 0, lost: 0,
    stderrTail: '', stdoutTail: '', timedOut: false,
  };
  let sigintAt: number | undefined;
  let failure: unknown;
  let exited = false;
  let onReady: (() => void) | undefined;
  const readyP = new Promise<void>((res) => (onReady = res));
  let outPartial = '';
  let errText = '';
  const scanMessages = (s: string): void => {
    if (r.attachMs === undefined && ready.test(s)) {
      r.attachMs = nowMs() - t0;
      onReady?.();
    }
    for (const m of s.matchAll(LOST_RE)) r.lost += Number(m[1]);
  };
  child.stdout!.on('data', (b: Buffer) => {
    const s = b.toString('latin1');
    r.stdoutTail = (r.stdoutTail + s).slice(-4096);
    // Whole lines only, so a message or match split across chunks counts once.
    const text = outPartial + s;
    const end = text.lastIndexOf('\n') + 1;
    outPartial = text.slice(end);
    if (outPartial.length > 65536) outPartial = outPartial.slice(-65536);
    if (!end) return;
    const lines = text.slice(0, end);
    r.stdoutLines += countOccurrences(lines, '\n');
    if (o.countMatch) r.matchedLines += countOccurrences(lines, o.countMatch);
    if (r.attachMs === undefined || lines.includes('Lost ')) scanMessages(lines);
  });
  child.stderr!.on('data', (b: Buffer) => {
    const s = b.toString('utf8');
    errText = (errText + s).slice(-8192);
    r.stderrTail = errText.slice(-4096);
    if (r.attachMs === undefined && ready.test(errText)) {
      r.attachMs = nowMs() - t0;
      onReady?.();
    }
    for (const m of s.matchAll(LOST_RE)) r.lost += Number(m[1]);
  });
  const exitP = new Promise<void>((res) => child.on('close', () => { exited = true; res(); }));
  const timer = setTimeout(() => {
    r.timedOut = true;
    child.kill('SIGKILL');
    const c = child.pid !== undefined ? childOf(child.pid) : undefined;
    if (c) try { process.kill(c, 'SIGKILL'); } catch { /* gone */ }
  }, o.timeoutMs ?? 120_000);
  return (async () => {
    if (!o.selfExit) {
      await Promise.race([readyP, exitP]);
      const pid = (child.pid !== undefined ? childOf(child.pid) : undefined) ?? -1;
      if (!exited && o.expectPerfFds !== undefined) {
        // Attached = the fd count reached its peak and held it (100 ms once it
        // reaches the expected number, 1 s otherwise: a tool may attach many
        // tracepoints through fewer events, e.g. one raw_syscalls program);
        // a falling count means detaching. A tool that prints its message
        // after attaching is done no earlier than the message.
        let peak = -1;
        let peakAt = 0;
        let stable = 0;
        while (!exited) {
          const c = perfFdCount(pid);
          if (c > peak) {
            peak = c;
            peakAt = nowMs() - t0;
            stable = 0;
          } else if (c < peak) {
            break;
          } else if (++stable >= (c >= o.expectPerfFds ? 4 : 40)) {
            break;
          }
          await sleep(25);
        }
        if (peak > 0) r.attachedMs = Math.max(peakAt, r.attachMs ?? 0);
        r.peakPerfFds = peak;
      }
      if (!exited && o.whileAttached) {
        // The tracer is interrupted and reaped whatever the callback does.
        try {
          await Promise.race([o.whileAttached(pid, r), exitP]);
        } catch (e) {
          failure = e;
        }
      }
      if (!exited) {
        sigintAt = nowMs();
        child.kill('SIGINT');
      }
    }
    await exitP;
    clearTimeout(timer);
    if (sigintAt !== undefined) r.detachMs = nowMs() - sigintAt;
    r.usage = readUsage(usageFile);
    try { fs.unlinkSync(usageFile); } catch { /* absent */ }
    if (failure) throw failure;
    return r;
  })();
}

/** Perf-event file descriptors a process holds (tracepoint attachments, perf buffers). */
export function perfFdCount(pid: number): number {
  let n = 0;
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return 0;
  }
  for (const fd of fds) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:[perf_event]') n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

/** Statistics of one loaded BPF program as the kernel reports them in fdinfo. */
export interface ProgStat {
  id: number;
  type: number;
  runTimeNs: number;
  runCnt: number;
  verifiedInsns: number;
}

/** Every BPF program a process holds a file descriptor for. */
export function progStats(pid: number): ProgStat[] {
  const out: ProgStat[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    let t: string;
    try {
      t = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const id = /^prog_id:\s+(\d+)/m.exec(t);
    if (!id) continue;
    const num = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN);
    // A bpf_link fd names its program but carries no run statistics; a program fd does.
    const stat = { id: Number(id[1]), type: num('prog_type'), runTimeNs: num('run_time_ns'), runCnt: num('run_cnt'), verifiedInsns: num('verified_insns') };
    const i = out.findIndex((p) => p.id === stat.id);
    if (i < 0) out.push(stat);
    else if (Number.isNaN(out[i].runCnt)) out[i] = stat;
  }
  for (const [i, p] of out.entries()) {
    if (!Number.isNaN(p.runCnt)) continue;
    // Only a link holds it (the loader closed the program fd): ask bpftool.
    try {
      const j = JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(p.id), '-j'], { encoding: 'utf8' })) as { run_time_ns?: number; run_cnt?: number };
      out[i] = { ...p, runTimeNs: j.run_time_ns ?? 0, runCnt: j.run_cnt ?? 0 };
    } catch { /* unloaded meanwhile */ }
  }
  return out;
}

/** bytes_xlated and bytes_jited of a program, from bpftool (the neutral referee). */
export function progSizes(id: number): { xlatedInsns: number; jitedBytes: number } | undefined {
  try {
    const j = JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(id), '-j'], { encoding: 'utf8' })) as { bytes_xlated?: number; bytes_jited?: number };
    return { xlatedInsns: (j.bytes_xlated ?? NaN) / 8, jitedBytes: j.bytes_jited ?? NaN };
  } catch {
    return undefined;
  }
}

/** A load generator started in --wait mode: attach first, then `go()`. */
export interface Load {
  pid: number;
  go(): Promise<{ calls: number; ns: number }>;
  kill(): void;
}

export async function startLoad(loadgen: string, syscall: string, n: number): Promise<Load> {
  const child = spawn(loadgen, [syscall, String(n), '--wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let readyRes: (() => void) | undefined;
  const readyP = new Promise<void>((r) => (readyRes = r));
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    if (out.includes('ready')) readyRes?.();
  });
  const done = new Promise<{ calls: number; ns: number }>((res, rej) => child.on('close', (code) => {
    const m = /calls=(\d+) ns=(\d+)/.exec(out);
    if (m) res({ calls: Number(m[1]), ns: Number(m[2]) });
    else rej(new Error(`loadgen ${syscall} exited with ${code}`));
  }));
  done.catch(() => undefined);
  await Promise.race([readyP, done]);
  return {
    pid: child.pid ?? -1,
    go: () => {
      child.stdin!.end('g');
      return done;
    },
    kill: () => child.kill('SIGKILL'),
  };
}

/** Sets a sysctl and returns a function that restores the previous value. */
export function setSysctl(name: string, value: string): () => void {
  const file = `/proc/sys/${name.replace(/\./g, '/')}`;
  const prev = fs.readFileSync(file, 'utf8').trim();
  fs.writeFileSync(file, value);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    try { fs.writeFileSync(file, prev); } catch { /* best effort at exit */ }
  };
  process.once('exit', restore);
  return restore;
}

export function machineInfo(): Record<string, string | number> {
  const version = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0];
    } catch {
      return 'absent';
    }
  };
  return {
    kernel: os.release(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    bpftrace: version('/usr/bin/bpftrace', ['--version']),
    bpftrace023: bpftrace023.unavailable() ? 'bpftrace 0.23 absent' : version(bpftrace023Script, ['--version']),
    bpftool: version('bpftool', ['--version']),
    libbpfTools: version('dpkg-query', ['-W', '-f=${Version}', 'libbpf-tools']),
  };
}
