#!/usr/bin/env node
// `npm run bench` entry: builds the TypeScript (a type error elsewhere in the
// tree must not stop the bench, tsc still emits), then runs dist/bench/main.js.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const main = path.join(root, 'dist', 'bench', 'main.js');
if (tsc.status !== 0) {
  const ours = (tsc.stdout || '').split('\n').filter((l) => l.startsWith('bench/'));
  if (ours.length || !fs.existsSync(main)) {
    process.stderr.write(tsc.stdout + tsc.stderr);
    process.exit(1);
  }
  process.stderr.write('bench: tsc reported errors outside bench/; continuing with the emitted JavaScript\n');
}
// The CLI bundle and its code cache, as a user's install runs it (bin/tsbpf uses the bundle when current).
const bundle = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.js'), '--no-tsc'], { stdio: 'inherit' });
if (bundle.status !== 0) process.exit(1);
require(main).main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench failed: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
