/**
 * `npm i -g tsbpf` as a user does it, without a compiler (issue 16, item 2):
 * packs this tree (npm pack runs prepack and prepare: the prebuilt addon, tsc,
 * the bundle, the man page), checks what the tarball holds, installs it into a
 * fresh prefix with a PATH that has no cc, gcc, g++, make or python3 and a HOME
 * with no Node headers, then runs the installed tsbpf and imports the library.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest, skipInVmWithout } from '../helpers/kernel';
import { repoRoot } from '../helpers/tsbpf';

/** What a user installing a package has no need for, and what would build it. */
const COMPILERS = /^(cc|c\+\+|gcc|g\+\+|cpp|make|gmake|python3?|python3\.\d+|clang.*|(x86_64-linux-gnu-)?(gcc|g\+\+|cpp|c\+\+)(-\d+)?|node-gyp)$/;

/** A directory of links to every command on PATH except the compilers and build tools. */
function pathWithoutCompilers(dir: string): string {
  fs.mkdirSync(dir);
  for (const d of (process.env.PATH ?? '').split(':')) {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (COMPILERS.test(n) || fs.existsSync(path.join(dir, n))) continue;
      fs.symlinkSync(path.join(d, n), path.join(dir, n));
    }
  }
  return dir;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.error, undefined, `${what}: ${r.error?.message}`);
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The registry, CA and proxy settings of this machine's npm and environment, as npm_config_* variables. */
function npmNetworkConfig(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  for (const key of ['cafile', 'registry', 'strict-ssl', 'proxy', 'https-proxy']) {
    const r = spawnSync('npm', ['config', 'get', key], { encoding: 'utf8' });
    const v = r.status === 0 ? r.stdout.trim() : '';
    if (v && v !== 'null' && v !== 'undefined') env[`npm_config_${key.replace(/-/g, '_')}`] = v;
  }
  return env;
}

kernelTest('npm pack, then npm install -g of the tarball with no compiler and no Node headers: the CLI, a tool and the library work', async (t) => {
  if (skipInVmWithout(t, 'npm')) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-install-'));
  try {
    // ---- the tarball -----------------------------------------------------------------------
    const packed = JSON.parse(ok(spawnSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: repoRoot, encoding: 'utf8', timeout: 240_000 }), 'npm pack')) as
      Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed[0].files.map((f) => f.path);
    const tarball = path.join(tmp, path.basename(packed[0].filename));
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/tsbpf', 'binding.gyp', 'native/tsbpf.c', 'man/tsbpf.1',
      'prebuilds/linux-x64/tsbpf_native.node', 'dist/tsbpf.js', 'dist/build-info.json', 'dist/src/index.js', 'dist/src/index.d.ts']) {
      assert.ok(files.includes(f), `the tarball lacks ${f}`);
    }
    const ballast = files.filter((f) => /^(test|bench|\.ci|examples|scripts|docs|build|src)\/|^dist\/(test|bench|examples|cache)\/|\.test\.|\.tsbuildinfo$|(^|\/)\.git/.test(f));
    assert.deepEqual(ballast, [], 'tests, benchmarks, CI files, sources or local build output in the tarball');
    assert.equal(fs.readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8').includes('GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991'), true);

    // ---- the install -----------------------------------------------------------------------
    const prefix = path.join(tmp, 'prefix');
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    const env: NodeJS.ProcessEnv = {
      PATH: pathWithoutCompilers(path.join(tmp, 'bin')),
      HOME: home, // no ~/.cache/node-gyp headers
      npm_config_nodedir: path.join(tmp, 'no-node-headers'),
      npm_config_cache: path.join(os.homedir(), '.npm'), // the dependencies npm ci fetched (offline first)
      npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false',
      // how this machine reaches the registry (its CA bundle, a proxy, a mirror), which a fresh
      // HOME and a --prefix of its own would otherwise hide: what a user's install would use too
      ...npmNetworkConfig(),
    };
    for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) {
      assert.notEqual(spawnSync('sh', ['-c', `command -v ${tool}`], { env }).status, 0, `${tool} is still on the test's PATH`);
    }
    const inst = spawnSync('npm', ['install', '-g', '--prefix', prefix, tarball], { env, encoding: 'utf8', timeout: 180_000 });
    ok(inst, 'npm install -g');
    assert.doesNotMatch(inst.stdout + inst.stderr, /node-gyp|gyp info|install-scripts|prebuild/i, 'npm ran or flagged an install script');
    const pkgDir = path.join(prefix, 'lib', 'node_modules', 'tsbpf');
    assert.equal(fs.existsSync(path.join(pkgDir, 'build')), false, 'the addon was built at install time');
    const tsbpf = path.join(prefix, 'bin', 'tsbpf');

    // ---- using it --------------------------------------------------------------------------
    const run = (args: string[]) => spawnSync(tsbpf, args, { env, encoding: 'utf8', timeout: 60_000, cwd: tmp });
    const hi = run(['-e', 'BEGIN { printf("hi\\n"); exit(); }']);
    assert.match(ok(hi, 'tsbpf -e'), /^hi\n\n*$/, hi.stderr); // then the blank lines bpftrace prints at exit
    assert.match(ok(run(['bitesize', '-h']), 'tsbpf bitesize -h'), /^usage: bitesize /);
    assert.match(ok(run(['--version']), 'tsbpf --version'), /^tsbpf v\d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?\)\n$/);
    // The shipped man page is the one of this build: it holds the installed tsbpf's -h.
    const page = fs.readFileSync(path.join(prefix, 'share', 'man', 'man1', 'tsbpf.1'), 'utf8');
    for (const line of ok(run(['-h']), 'tsbpf -h').split('\n').filter((l) => /^ {4}-/.test(l))) {
      assert.ok(page.includes(line.replace(/\\/g, '\\e')), `installed man page lacks: ${line}`);
    }
    // The library, through the package's main, with the prebuilt addon (a BPF array map).
    const lib = `const t = require(${JSON.stringify(pkgDir)});
      const a = t.compile({ name: 'x', text: 'BEGIN { printf("%d\\\\n", 7); }' }, {});
      const m = t.BpfMap.create({ type: t.MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: 'install_test' });
      m.close();
      process.stdout.write(String(a.programs.length > 0) + ' ' + require.resolve(${JSON.stringify(pkgDir)}));`;
    const l = spawnSync(process.execPath, ['-e', lib], { env, encoding: 'utf8', cwd: tmp });
    assert.equal(ok(l, 'library import'), `true ${path.join(pkgDir, 'dist', 'src', 'index.js')}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, { timeout: 300_000 });
