#!/usr/bin/env node
// The build (npm's prepare, prepack and `npm run build` call it):
//   --native    build the N-API addon with node-gyp when build/Release is missing or older than its sources
//   --prebuilt  also copy it to prebuilds/linux-x64/, the copy a tarball ships (native.ts loads it first),
//               and cross-compile prebuilds/linux-arm64/ when gcc-aarch64-linux-gnu is installed
//   --no-tsc    skip tsc (bench/run.js has just run it)
// and always: tsc, the CLI bundle dist/tsbpf.js (esbuild; bin/tsbpf runs it through
// src/cli/launch.ts), its V8 code cache, dist/build-info.json (the commit, for
// --version) and man/tsbpf.1 (from the -h texts).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = new Set(process.argv.slice(2));
const dist = path.join(root, 'dist');

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) throw new Error(`build: cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`build: ${cmd} ${argv.join(' ')} failed (status ${r.status})`);
  return r;
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

function buildNative() {
  const addon = path.join(root, 'build', 'Release', 'tsbpf_native.node');
  const sources = ['binding.gyp', ...fs.readdirSync(path.join(root, 'native')).map((f) => path.join('native', f))];
  if (sources.every((f) => mtime(path.join(root, f)) < mtime(addon))) return addon;
  // npm puts its own node-gyp on PATH for scripts; outside npm, use the one npm ships.
  const npmGyp = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const gyp = spawnSync('node-gyp', ['--version'], { stdio: 'ignore' }).status === 0 ? ['node-gyp', []] : [process.execPath, [npmGyp]];
  run(gyp[0], [...gyp[1], 'rebuild']);
  return addon;
}

function commit() {
  const git = (a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' });
  const head = git(['rev-parse', 'HEAD']);
  if (head.status !== 0) return undefined;
  const dirty = git(['status', '--porcelain', '--untracked-files=no']).stdout.trim() !== '';
  return head.stdout.trim().slice(0, 12) + (dirty ? '-dirty' : '');
}

// `import * as fs from 'node:fs'` in each of ~60 modules would make esbuild copy fs's
// ~100 properties into a fresh namespace object per module at start-up (__toESM); routing
// every builtin through one re-exporting module makes that one copy per builtin.
const sharedBuiltins = {
  name: 'shared-builtins',
  setup(b) {
    const { builtinModules } = require('node:module');
    const names = new Set(builtinModules);
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (a) => {
      const name = a.path.replace(/^node:/, '');
      if (!names.has(name)) return undefined;
      if (a.namespace === 'builtin') return { path: `node:${name}`, external: true };
      return { path: name, namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => ({ contents: `export * from 'node:${a.path}';`, loader: 'js' }));
  },
};

async function main() {
  if (args.has('--native') || args.has('--prebuilt')) {
    const addon = buildNative();
    if (args.has('--prebuilt')) {
      const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(addon, path.join(dir, 'tsbpf_native.node'));
      if (process.arch !== 'arm64') {
        try {
          require('./cross-addon').crossAddon('arm64');
        } catch (e) {
          process.stderr.write(`build: warning: no linux-arm64 addon in prebuilds/ (${e.message})\n`);
        }
      }
    }
  }
  if (!args.has('--no-tsc')) run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root]);

  // The CLI as one file: no module resolution at start-up, one compilation.
  const esbuild = require('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
    outfile: path.join(dist, 'tsbpf.js'),
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'silent',
    // Dependencies (yaml, for `tsbpf export` only) stay in node_modules and load when used.
    packages: 'external',
    charset: 'ascii', // launch.ts reads the file as latin1
    plugins: [sharedBuiltins],
    // The file is one function expression, the CommonJS wrapper launch.ts calls, so the
    // launcher compiles it as read instead of copying 700 kB into Module.wrap's string.
    banner: { js: '(function (exports, require, module, __filename, __dirname) {' },
    footer: { js: '})' },
  });
  // A require esbuild cannot follow would fail only at run time in the bundle; only the addon's
  // (an absolute path chosen at run time, src/sys/native.ts) is expected.
  const bad = result.warnings.filter((w) => !(w.location && /src\/sys\/native\.ts$/.test(w.location.file)));
  if (bad.length) {
    for (const w of bad) process.stderr.write(`build: ${w.location ? `${w.location.file}:${w.location.line}: ` : ''}${w.text}\n`);
    throw new Error('build: the bundle has requires esbuild could not include (use a literal require path)');
  }
  fs.rmSync(path.join(dist, 'cache'), { recursive: true, force: true });

  const c = commit();
  const infoFile = path.join(dist, 'build-info.json');
  if (c) fs.writeFileSync(infoFile, JSON.stringify({ commit: c }) + '\n');
  else if (!fs.existsSync(infoFile)) fs.writeFileSync(infoFile, JSON.stringify({ commit: 'unknown (built outside git)' }) + '\n');

  const { collectHelp, renderManPage } = require(path.join(dist, 'src', 'cli', 'manpage.js'));
  const { version } = require(path.join(dist, 'src', 'cli', 'version.js'));
  fs.mkdirSync(path.join(root, 'man'), { recursive: true });
  fs.writeFileSync(path.join(root, 'man', 'tsbpf.1'), renderManPage(await collectHelp(), version()));

  // Warm the code cache with a real start (the launcher writes it at exit): a script run as root
  // when BPF works here, else a compile-only run; the cache is an optimisation, never required.
  const launch = `require(${JSON.stringify(path.join(dist, 'src', 'cli', 'launch.js'))}).launch(process.argv.slice(1))`;
  const warm = (argv) => spawnSync(process.execPath, ['-e', launch, '--', ...argv], { cwd: root, stdio: 'ignore', timeout: 60_000 }).status === 0;
  if (!(process.getuid?.() === 0 && warm(['-q', '-e', 'BEGIN { exit(); }']))) warm(['-d', 'codegen', '-e', 'BEGIN { exit(); }']);
}

main().catch((e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
