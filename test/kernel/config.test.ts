/**
 * bpftrace 0.26's configuration at run time (lang/config.ts, C36-C39): what
 * the config block and BPFTRACE_* variables change in a real run. bpftrace's
 * runtime tests config.*, builtin.config and call.ustack_stack_mode_* give
 * the expected behaviour.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';
import { findSymbols } from '../../src/ebpf/elf';

const PROG = 'BEGIN { @a = 1; @b[7] = 2; printf("done\\n"); exit(); }';

kernelTest('config: print_maps_on_exit = 0 prints no maps at exit; the environment takes precedence over the block', async () => {
  const printed = await runTsbpf(['-e', PROG]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /^@a: 1$/m);
  const off = await runTsbpf(['-e', `config = { print_maps_on_exit = 0 } ${PROG}`]);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /done/);
  assert.doesNotMatch(off.stdout, /@a|@b/);
  const env = await runTsbpf(['-e', `config = { print_maps_on_exit = 1 } ${PROG}`], { env: { ...process.env, BPFTRACE_PRINT_MAPS_ON_EXIT: '0' } });
  assert.equal(env.code, 0, env.stderr);
  assert.doesNotMatch(env.stdout, /@a|@b/);
});

kernelTest('config: config() reads the values in BPF; a GPL-compatible license loads, another is refused', async () => {
  const r = await runTsbpf(['-e', 'config = { max_map_keys = 77; license = "Dual BSD/GPL" } BEGIN { printf("%d %s %d\\n", config().max_map_keys, config().stack_mode, config().print_maps_on_exit); exit(); }'],
    { env: { ...process.env, BPFTRACE_STACK_MODE: 'perf' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^77 perf 1$/m);
  const bad = await runTsbpf(['-e', 'config = { license = "Potato" } BEGIN { exit(); }']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Invalid value for license\. Found: Potato/);
  const unknown = await runTsbpf(['-e', 'config = { bad_config = raw } BEGIN { exit(); }']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /bad_config: not a known configuration option/);
});

kernelTest('config: stack_mode = raw makes a bare ustack print bare addresses, the function\'s own first', async () => {
  const bin = buildFixture('uprobe_target');
  const sym = findSymbols(bin, 'tsbpf_add', { functionsOnly: true })[0];
  assert.ok(sym, 'tsbpf_add in the fixture');
  const run = () => spawnSync(bin, [], { input: 'add 1\n' });
  for (const how of [['-e', `config = { stack_mode = raw } uprobe:${bin}:tsbpf_add { print(ustack(1)); exit(); }`], ['-e', `uprobe:${bin}:tsbpf_add { print(ustack(1)); exit(); }`]]) {
    const raw = how[1].startsWith('config');
    const r = await runTsbpf(how, { onText: { text: 'Attached', fn: run }, env: raw ? process.env : { ...process.env, BPFTRACE_STACK_MODE: 'raw' } });
    assert.equal(r.code, 0, r.stderr);
    const frame = r.stdout.split('\n').find((l) => /^[0-9a-f]+$/.test(l));
    assert.ok(frame, r.stdout);
    // a uprobe at the function's entry: the first frame is its address (the load base keeps the page offset)
    assert.equal(Number(BigInt(`0x${frame}`) & 0xfffn), sym.value & 0xfff, r.stdout);
  }
});
