/**
 * The CLI's V8 code cache (src/cli/launch.ts): V8 rejects a cache made under
 * other V8 flags, and the launcher then rewrites it, so a run with flags used
 * to turn the next plain run into a cold one (+77 ms of CPU). Each flag set
 * has a cache file of its own; the plain one is accepted after a build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { BUNDLE, bundleIsCurrent, cacheFile } from '../../src/cli/launch';

const LAUNCH = path.join(__dirname, '..', '..', 'src', 'cli', 'launch.js');
const ENTRY = path.join(__dirname, '..', '..', 'src', 'cli', 'entry.js');

function cacheNameUnder(execArgv: string[], nodeOptions?: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  if (nodeOptions !== undefined) env.NODE_OPTIONS = nodeOptions;
  const r = spawnSync(process.execPath, [...execArgv, '-e', `process.stdout.write(require(${JSON.stringify(LAUNCH)}).cacheFile())`], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a plain start uses the plain cache name; each V8 flag set gets its own', () => {
  const plain = cacheNameUnder([]);
  assert.equal(path.basename(plain), `tsbpf-${process.version}-${process.arch}.v8`);
  const gc = cacheNameUnder(['--expose-gc']);
  const heap = cacheNameUnder(['--max-old-space-size=512']);
  const viaEnv = cacheNameUnder([], '--expose-gc');
  assert.match(path.basename(gc), new RegExp(`^tsbpf-${process.version.replace(/\./g, '\\.')}-${process.arch}-[0-9a-f]{8}\\.v8$`));
  assert.equal(new Set([plain, gc, heap, viaEnv]).size, 4);
  assert.equal(cacheNameUnder(['--expose-gc']), gc, 'the name is stable for one flag set');
});

test('the plain cache the build wrote is accepted by V8, and a run with other flags leaves it alone', (t) => {
  const plain = path.join(path.dirname(cacheFile()), `tsbpf-${process.version}-${process.arch}.v8`);
  if (!bundleIsCurrent() || !fs.existsSync(plain)) {
    t.skip('no current bundle and cache (tsc ran after the last `npm run build`)');
    return;
  }
  const accepted = (): boolean => {
    const s = new vm.Script(fs.readFileSync(BUNDLE, 'latin1'), { filename: BUNDLE, cachedData: fs.readFileSync(plain) });
    return !s.cachedDataRejected;
  };
  // This process has --test-only flags of node:test, not V8 ones; V8 checks its own flags.
  assert.ok(accepted(), 'V8 rejects dist/cache: bin/tsbpf compiles the whole bundle at every start');
  const before = fs.statSync(plain).mtimeMs;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const flagged = cacheNameUnder(['--expose-gc']);
  try {
    const r = spawnSync(process.execPath, ['--expose-gc', ENTRY, '-d', 'codegen', '-e', 'BEGIN { exit(); }'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.statSync(plain).mtimeMs, before, 'a run with --expose-gc rewrote the plain cache');
    assert.ok(accepted());
  } finally {
    fs.rmSync(flagged, { force: true });
  }
});
