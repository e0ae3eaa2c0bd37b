/**
 * bpftrace 0.26's configuration (lang/config.ts, C34-C49): the config block,
 * BPFTRACE_<KEY> environment variables over it, renamed and unknown keys,
 * values checked per key, and what the compiler makes of them (stack_mode as
 * the default stack mode, print_maps_on_exit and license in the artifact,
 * config() as a record of constants).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/parser';
import { resolveConfig } from '../../src/lang/config';
import { compile, compileDetailed } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { unitTarget } from '../helpers/target';

const entries = (block: string) => parse({ name: 'stdin', text: `${block} BEGIN {}` }).config;

test('config block: short names, environment spellings, the environment wins', () => {
  assert.equal(resolveConfig(entries('config = { stack_mode=raw }'), {}).values.stack_mode, 'raw');
  assert.equal(resolveConfig(entries('config = { BPFTRACE_STACK_MODE=raw }'), {}).values.stack_mode, 'raw');
  assert.equal(resolveConfig(entries('config = { BPFTRACE_STACK_MODE=perf }'), { BPFTRACE_STACK_MODE: 'raw' }).values.stack_mode, 'raw');
  const r = resolveConfig(entries('config = { print_maps_on_exit=0; max_map_keys = 10; license = "Dual BSD/GPL"; str_trunc_trailer = "~" }'), {});
  assert.deepEqual([r.values.print_maps_on_exit, r.values.max_map_keys, r.values.license, r.values.str_trunc_trailer], [false, 10, 'Dual BSD/GPL', '~']);
  assert.deepEqual(r.errors, []);
  // defaults, and bpftrace 0.17's environment name when the 0.26 one is unset
  assert.equal(resolveConfig([], {}).values.print_maps_on_exit, true);
  assert.equal(resolveConfig([], { BPFTRACE_MAP_KEYS_MAX: '7' }).values.max_map_keys, 7);
  assert.equal(resolveConfig([], { BPFTRACE_MAP_KEYS_MAX: '7', BPFTRACE_MAX_MAP_KEYS: '9' }).values.max_map_keys, 9);
});

test('config errors and warnings are bpftrace\'s sentences', () => {
  const msgs = (block: string, env: NodeJS.ProcessEnv = {}) => resolveConfig(entries(block), env).errors.map((e) => e.message);
  assert.deepEqual(msgs('config = { bad_config=raw }'), ['bad_config: not a known configuration option']);
  assert.deepEqual(msgs('config = { max_map_keys="many" }'), ['max_map_keys: expecting a number, got many']);
  assert.deepEqual(msgs('config = { stack_mode=fancy }'), ['stack_mode: Invalid value for stack_mode: valid values are bpftrace, perf, raw, and build_id.']);
  assert.deepEqual(msgs('config = { btf="x" }'), ['btf: can only be set as an environment variable']);
  assert.match(msgs('config = { license="Potato" }')[0], /^Invalid value for license\. Found: Potato\. Valid values: Dual MIT\/GPL, Dual BSD\/GPL, Dual MPL\/GPL, GPL and additional rights, GPL v2, GPL\./);
  assert.deepEqual(msgs('', { BPFTRACE_PRINT_MAPS_ON_EXIT: 'maybe' }), ['BPFTRACE_PRINT_MAPS_ON_EXIT: Invalid bool value: valid values are true, false, 1 or 0.']);
  const renamed = resolveConfig(entries('config = { strlen = 32 }'), {});
  assert.equal(renamed.values.max_strlen, 32);
  assert.deepEqual(renamed.warnings.map((w) => w.message), ['strlen has been renamed, please use max_strlen']);
});

test('the compiler: unknown keys fail with the entry\'s span, stack_mode is the default mode, the artifact carries the config', () => {
  const target = unitTarget();
  assert.throws(() => compile({ name: 'stdin', text: 'config = { bad_config=raw } begin {}' }, { target }),
    (e: unknown) => e instanceof CompileError && /^stdin:1:12-26: ERROR: bad_config: not a known configuration option/.test(e.format()));
  const a = compile({ name: 'stdin', text: 'config = { print_maps_on_exit = false; license = "GPL v2" } BEGIN { @a = 1 }' }, { target });
  assert.equal(a.config.print_maps_on_exit, false);
  assert.equal(a.config.license, 'GPL v2');
  assert.throws(() => compile({ name: 'stdin', text: 'config = { stack_mode = build_id } BEGIN { @[ustack] = 1 }' }, { target }), /build_id stack mode is not supported/);
});

test('config() is a record of constants: its fields fold like literals', () => {
  const target = unitTarget();
  const r = compileDetailed({ name: 'stdin', text: 'config = { max_strlen = 48 } BEGIN { @a = config().max_strlen; @b = __builtin_config.stack_mode; @c = config().cpp_demangle }' }, { target });
  const dumped = JSON.stringify(r.program.probes[0].body, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  assert.match(dumped, /"value":"48n"/);
  assert.match(dumped, /"value":"bpftrace"/);
});
