#!/usr/bin/env node
// Test entry point: `npm test` (all), `npm test -- unit`, `npm test -- kernel`, or file filters.
// Builds the TypeScript first (incremental), then runs node's built-in test runner
// over dist/test/<suite>/**/*.test.js, one file at a time per CPU.
// `--unprivileged` (run as root): builds as root, then runs the tests as nobody
// (uid/gid 65534, no groups), with C fixtures compiled into a directory nobody owns;
// CI runs the unit suite this way to prove it needs no privileges and no kernel.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
// A fresh clone (npm ci has no build step: the package has no install scripts) gets the
// whole build once: the addon, tsc, the CLI bundle and the man page (scripts/build.js).
const fresh = !fs.existsSync(path.join(root, 'build', 'Release', 'tsbpf_native.node')) || !fs.existsSync(path.join(root, 'dist', 'tsbpf.js'));
const build = fresh ? [path.join(root, 'scripts', 'build.js'), '--native'] : [require.resolve('typescript/bin/tsc'), '-p', root];
const tsc = spawnSync(process.execPath, build, { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const args = process.argv.slice(2);
const unprivileged = args.includes('--unprivileged');
const suites = args.filter((a) => a === 'unit' || a === 'kernel');
const filters = args.filter((a) => a !== 'unit' && a !== 'kernel' && a !== '--unprivileged');
const chosen = suites.length ? suites : ['unit', 'kernel'];

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = [];
for (const s of chosen) files = files.concat(walk(path.join(root, 'dist', 'test', s), []).sort());
// Only run compiled tests whose TypeScript source still exists (dist may hold stale files).
files = files.filter((f) => {
  const rel = path.relative(path.join(root, 'dist'), f).replace(/\.js$/, '.ts');
  return fs.existsSync(path.join(root, rel));
});
// match against the path under dist/test, so a filter never matches the checkout's own directory name
if (filters.length) files = files.filter((f) => filters.some((x) => path.relative(path.join(root, 'dist', 'test'), f).includes(x)));
if (!files.length) {
  console.error('no test files matched');
  process.exit(1);
}
const testArgs = ['--test', '--test-concurrency=1', ...files];
if (!unprivileged) {
  const r = spawnSync(process.execPath, testArgs, { stdio: 'inherit', cwd: root });
  process.exit(r.status ?? 1);
}
if (process.getuid() !== 0) {
  console.error('--unprivileged drops root privileges: run it as root');
  process.exit(1);
}
const NOBODY = 65534;
const fixtureDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'tsbpf-fixtures-'));
fs.chownSync(fixtureDir, NOBODY, NOBODY);
let status = 1;
try {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ...testArgs], {
    stdio: 'inherit', cwd: root, env: { ...process.env, TSBPF_FIXTURE_DIR: fixtureDir, HOME: fixtureDir },
  });
  if (r.error) console.error(`cannot run setpriv: ${r.error.message}`);
  status = r.status ?? 1;
} finally {
  fs.rmSync(fixtureDir, { recursive: true, force: true });
}
process.exit(status);
