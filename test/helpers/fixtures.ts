/**
 * Test fixtures are small C programs under test/fixtures/, compiled at test
 * time with the system C compiler into dist/fixtures/ (rebuilt when the
 * source is newer), or into $TSBPF_FIXTURE_DIR (test/run.js --unprivileged
 * points it at a directory the unprivileged user owns). $TSBPF_CC names another compiler (the
 * arm64 VM lane cross-compiles with aarch64-linux-gnu-gcc). Returns the path of the executable.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..', '..');

export function buildFixture(name: string, extraFlags: string[] = []): string {
  const src = path.join(root, 'test', 'fixtures', `${name}.c`);
  // A build with extra flags goes to a directory named after them (same file name, so the
  // comm stays the fixture's): a build with other flags (test/vm/run prebuilds every
  // fixture with none) is never taken for it.
  const variant = extraFlags.join(' ').replace(/[^\w.=-]+/g, '_').replace(/^-+/, '');
  const outDir = path.join(process.env.TSBPF_FIXTURE_DIR || path.join(root, 'dist', 'fixtures'), variant);
  const out = path.join(outDir, name);
  fs.mkdirSync(outDir, { recursive: true });
  const stale = !fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs;
  if (stale) {
    // -O0 and frame pointers keep functions distinct and user stacks walkable.
    execFileSync(process.env.TSBPF_CC || 'cc', ['-O0', '-g', '-fno-omit-frame-pointer', '-fno-inline', '-o', out, src, ...extraFlags], { stdio: 'pipe' });
  }
  return out;
}

/**
 * Starts a fixture whose events a program that is already attached waits for: the program
 * filters on the pid it finds in `target` (a 1-entry array map of u32), which is written
 * right after spawn. The fixture pauses before its first event (its last argument, in ms,
 * is the caller's), so writing the pid can be slow without losing events; the child is
 * killed when the test ends. Returns its pid and a promise of its exit.
 */
export function spawnTraced(
  t: { after(fn: () => void): void },
  fixture: string,
  args: string[],
  target: { update(key: number, value: Buffer): void },
): { pid: number; exited: Promise<unknown> } {
  const child = spawn(fixture, args, { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit');
  const pid = child.pid!;
  const pidValue = Buffer.alloc(4);
  pidValue.writeUInt32LE(pid);
  target.update(0, pidValue);
  return { pid, exited };
}
