/**
 * Cheap bpftrace features of issues 19-20, each through bin/tsbpf against
 * what the kernel or bpftrace's documentation says: unit periods
 * (interval:1s, profile:10ms: P26-P27), ncpus, C constants.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import * as fs from 'node:fs';
import { runTsbpf } from '../helpers/tsbpf';

async function out(script: string): Promise<string> {
  const r = await runTsbpf(['-e', script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\n+$/, '\n');
}

kernelTest('interval:100ms and profile:10ms (P26, P27) are interval:ms:100 and profile:ms:10', async () => {
  const o = await out('interval:100ms { @n++; if (@n == 3) { printf("%s\\n", probe); exit(); } } profile:10ms { @p[probe] = count(); }');
  assert.match(o, /^interval:ms:100$/m);
  assert.match(o, /^@n: 3$/m);
  assert.match(o, /^@p\[profile:ms:10\]: \d+$/m);
  const bad = await runTsbpf(['-e', 'interval:1x { exit(); }']);
  assert.equal(bad.code, 1);
});

kernelTest('ncpus is the number of possible CPUs (/sys/devices/system/cpu/possible), in BEGIN and in a probe', async () => {
  const possible = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(',')
    .reduce((n, part) => { const [a, b] = part.split('-').map(Number); return n + (b === undefined ? 1 : b - a + 1); }, 0);
  const o = await out('BEGIN { printf("begin %d\\n", ncpus); } interval:ms:10 { printf("probe %d\\n", ncpus); exit(); }');
  assert.equal(o, `begin ${possible}\nprobe ${possible}\n`);
});
