#!/usr/bin/env node
// Test entry point: `npm test` (all), `npm test -- unit`, `npm test -- kernel`, or file filters.
// Builds the TypeScript first (incremental), then runs node's built-in test runner
// over dist/test/<suite>/**/*.test.js, one file at a time per CPU.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const args = process.argv.slice(2);
const suites = args.filter((a) => a === 'unit' || a === 'kernel');
const filters = args.filter((a) => a !== 'unit' && a !== 'kernel');
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
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (!files.length) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
