/**
 * Compiles a script file with tsbpf's compiler in-process and exits, without
 * loading anything: the counterpart of `bpftrace --emit-elf` in the
 * compile-time benchmark. Prints {"compileMs": N, "programs": N} on stdout.
 * Run: node dist/bench/compile-only.js FILE
 */
import * as fs from 'node:fs';

type CompileModule = typeof import('../src/lang/compile');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node dist/bench/compile-only.js FILE\n');
  process.exit(2);
}
const source = fs.readFileSync(file, 'utf8');
let mod: CompileModule;
try {
  // Loaded lazily: the compiler may not exist yet in a partial checkout.
  mod = require('../src/lang/compile') as CompileModule;
} catch (e) {
  process.stderr.write(`tsbpf compiler not available: ${(e as Error).message.split('\n')[0]}\n`);
  process.exit(3);
}
const t0 = process.hrtime.bigint();
const artifact = mod.compile({ name: file, text: source });
const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(JSON.stringify({ compileMs, programs: artifact.programs.length }) + '\n');
