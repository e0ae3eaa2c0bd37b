/**
 * Test fixtures are small C programs under test/fixtures/, compiled at test
 * time with the system C compiler into dist/fixtures/ (rebuilt when the
 * source is newer), or into $TSBPF_FIXTURE_DIR (test/run.js --unprivileged
 * points it at a directory the unprivileged user owns). $TSBPF_CC names another compiler (the
 * arm64 VM lane cross-compiles with aarch64-linux-gnu-gcc). Returns the path of the executable.
 */
import { execFileSync } from 'node:child_process';
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
