#!/usr/bin/env node
// Host-side step of the VM lane (called by test/vm/run after tsc):
//  1. builds every test/fixtures/*.c into dist/fixtures/ with the project's own
//     buildFixture(), because the VM has no C compiler;
//  2. prints, one per line, the compiled test files to run, chosen the way
//     test/run.js chooses them: suite words 'kernel' (the default) and 'unit',
//     the TypeScript source still exists, and substring filters.
// Diagnostics go to stderr; stdout is only the list.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const args = process.argv.slice(2);
const suites = args.filter((a) => a === 'unit' || a === 'kernel');
const filters = args.filter((a) => a !== 'unit' && a !== 'kernel');

const helper = path.join(root, 'dist', 'test', 'helpers', 'fixtures.js');
const fixtureDir = path.join(root, 'test', 'fixtures');
const sources = fs.existsSync(fixtureDir) ? fs.readdirSync(fixtureDir).filter((f) => f.endsWith('.c')).sort() : [];
if (sources.length) {
  if (!fs.existsSync(helper)) {
    console.error(`vm: ${helper} is missing; the TypeScript build did not produce the fixture helper`);
    process.exit(1);
  }
  const { buildFixture } = require(helper);
  let failed = 0;
  for (const f of sources) {
    const name = f.slice(0, -2);
    try {
      buildFixture(name);
    } catch (e) {
      // A fixture that only builds with extra flags is built by its test;
      // inside the VM that test then fails with the cc stub's message.
      failed++;
      const detail = e && e.stderr ? String(e.stderr).trim().split('\n').slice(0, 3).join(' | ') : String(e);
      console.error(`vm: warning: fixture ${name} did not build with default flags: ${detail}`);
    }
  }
  console.error(`vm: fixtures: ${sources.length - failed}/${sources.length} built into ${path.relative(root, process.env.TSBPF_FIXTURE_DIR || path.join(root, 'dist', 'fixtures'))}`);
}

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
for (const s of suites.length ? suites : ['kernel']) files = files.concat(walk(path.join(root, 'dist', 'test', s), []).sort());
// dist may hold tests whose TypeScript source was deleted or renamed.
files = files.filter((f) => fs.existsSync(path.join(root, path.relative(path.join(root, 'dist'), f).replace(/\.js$/, '.ts'))));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
for (const f of files) process.stdout.write(path.relative(root, f) + '\n');
