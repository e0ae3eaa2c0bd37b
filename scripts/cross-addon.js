#!/usr/bin/env node
// Cross-compiles the N-API addon for another architecture into
// prebuilds/linux-<arch>/tsbpf_native.node (the copy src/sys/native.ts loads when
// there is no local build), with Debian's cross compiler:
//   node scripts/cross-addon.js arm64      (needs gcc-aarch64-linux-gnu)
// N-API is ABI-stable and the addon is one C file, so a plain `gcc -shared` with
// Node's headers (node_api.h, uv.h: the same on every architecture) is the whole
// build; its symbols from node resolve when node loads it.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const COMPILERS = { arm64: 'aarch64-linux-gnu-gcc' };

/** Node's headers: next to this node (Debian: /usr/include/node), else node-gyp's download cache. */
function nodeHeaders() {
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(process.env.HOME || '/root', '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  return candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
}

/** Builds the addon for `arch`; returns its path, or throws an Error whose message says what is missing. */
function crossAddon(arch) {
  const cc = COMPILERS[arch];
  if (!cc) throw new Error(`cross-addon: no cross compiler known for '${arch}' (known: ${Object.keys(COMPILERS).join(', ')})`);
  if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error(`cross-addon: ${cc} is not installed (Debian package gcc-aarch64-linux-gnu)`);
  const inc = nodeHeaders();
  if (!inc) throw new Error('cross-addon: node_api.h not found (no include/node beside node, and no node-gyp header cache)');
  const out = path.join(root, 'prebuilds', `linux-${arch}`, 'tsbpf_native.node');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // The flags binding.gyp gives the native build.
  const r = spawnSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', `-I${inc}`,
    path.join(root, 'native', 'tsbpf.c'), '-o', out], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`cross-addon: ${cc} failed (status ${r.status})`);
  return out;
}

module.exports = { crossAddon };

if (require.main === module) {
  try {
    console.log(crossAddon(process.argv[2] || 'arm64'));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
