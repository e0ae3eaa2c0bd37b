/**
 * Runs a tool the way a user does (its own process, Ctrl-C to stop) and the
 * libbpf-tools twin side by side, and parses their histogram output.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { timeScale } from '../helpers/kernel';

const root = path.join(__dirname, '..', '..', '..');
const registry = path.join(root, 'dist', 'src', 'tools', 'registry.js');

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** SIGINT, then resolves with exit code and output. */
  stop(): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Waits for a natural exit. */
  done(timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function track(child: ChildProcess): Running {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => (out += d));
  child.stderr?.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const r: Running = {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(text, timeoutMs = 20000) {
      const t0 = Date.now();
      for (;;) {
        if (typeof text === 'string' ? out.includes(text) : text.test(out)) return;
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before printing ${text}: ${err}${out}`);
        if (Date.now() - t0 > timeoutMs * timeScale) throw new Error(`timed out waiting for ${text}; stdout: ${out}; stderr: ${err}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      return r.done();
    },
    async done(timeoutMs = 20000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs * timeScale);
      const code = await exited;
      clearTimeout(timer);
      // Let the pipes drain.
      await new Promise((res) => setImmediate(res));
      return { code, stdout: out, stderr: err };
    },
  };
  return r;
}

/** Starts `tsbpf TOOL ARGS` in its own node process. */
export function startTool(name: string, args: string[]): Running {
  const code = `require(${JSON.stringify(registry)}).runTool(${JSON.stringify(name)}, ${JSON.stringify(args)})` +
    `.then((c) => process.exit(c), (e) => { const d = require(${JSON.stringify(path.join(root, 'dist', 'src', 'cli', 'main.js'))}); process.stderr.write(d.describeError ? d.describeError(e) : String(e)); process.exit(1); })`;
  return track(spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Runs a tool to completion (flag errors, -h, interval/count runs). */
export async function runToolToEnd(name: string, args: string[], timeoutMs = 20000) {
  return startTool(name, args).done(timeoutMs);
}

/** The libbpf-tools binary of that name, if installed. */
export function twinPath(name: string): string | undefined {
  const p = `/usr/sbin/${name}`;
  return fs.existsSync(p) ? p : undefined;
}

export function startTwin(name: string, args: string[]): Running {
  // Line-buffered so its banner (printed once attached) reaches us before the workload starts.
  return track(spawn('stdbuf', ['-oL', twinPath(name) as string, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Parses libbpf-tools log2 histogram rows into slot → count (keyed by low bound). */
export function parseHistRows(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const r = /^\s*(\d+) -> (\d+)\s+: (\d+)\s+\|/.exec(line);
    if (r) m.set(`${r[1]} -> ${r[2]}`, Number(r[3]));
  }
  return m;
}

/** Splits output into sections introduced by lines matching `header` (e.g. /^Process Name = (.*)$/). */
export function sections(text: string, header: RegExp): Map<string, string> {
  const out = new Map<string, string>();
  let cur: string | undefined;
  for (const line of text.split('\n')) {
    const h = header.exec(line);
    if (h) {
      cur = h[1];
      out.set(cur, (out.get(cur) ?? '') + '');
      continue;
    }
    if (cur !== undefined) out.set(cur, (out.get(cur) as string) + line + '\n');
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** Runs a command, resolving with its exit code (and output). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const r = track(child);
  return r.done(60000).then((x) => ({ ...x, pid: child.pid ?? -1 }));
}

/** bcc's run_with_duration: the tool ends by itself, cleanly (bcc allows 10 s; slow machines get more). */
export async function smokeWithDuration(tool: string, args: string[]): Promise<void> {
  const r = await runToolToEnd(tool, args, 60000);
  assert.equal(r.code, 0, `${tool} ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr, '', `${tool} ${args.join(' ')}`);
}

/** bcc's run_with_int: still running 2 s after its header, then SIGINT ends it cleanly. */
export async function smokeWithInt(tool: string, args: string[]): Promise<void> {
  const t = startTool(tool, args);
  try {
    // tracing has started once the header is out (slow machines, the VM lane: seconds)
    await t.waitFor(/./, 60000);
    await sleep(2000);
    assert.equal(t.child.exitCode, null, `${tool} ${args.join(' ')} ended early: ${t.stderr()}`);
    const r = await t.stop();
    assert.equal(r.code, 0, `${tool} ${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${tool} ${args.join(' ')}`);
  } finally {
    t.child.kill('SIGKILL');
  }
}

