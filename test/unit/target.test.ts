/**
 * The recorded target: unit tests compile against it, so it must answer
 * exactly what was recorded and refuse, in one sentence, what was not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordedTarget, type TargetRecording } from '../../src/target/recorded';
import { UnknownTracepointError } from '../../src/sys/tracefs';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { unitTarget } from '../helpers/target';

const EMPTY: TargetRecording = {
  description: 'an empty recording', release: '0.0', arch: 'x86_64', btf: {}, kernelSymbols: {}, tracepoints: {}, tracepointFormats: {}, features: {},
};

test('recorded target: replays values, undefined, bigints and typed errors', () => {
  const t = new RecordedTarget({
    ...EMPTY,
    btf: { 'find["task_struct","struct"]': { value: 42 }, 'find["nope","struct"]': { value: { $undefined: true } } },
    kernelSymbols: { jiffies: { value: { $bigint: '18446744071589298176' } } },
    tracepointFormats: { 'x:y': { error: 'tracepoint x:y does not exist', unknownTracepoint: { category: 'x', event: 'y' } } },
    features: { bpf_cookie: { state: 'unknown', error: 'only root can tell' } },
    syscallNumbers: [['read', 0]],
  });
  assert.equal(t.btf().find('task_struct', 'struct'), 42);
  assert.equal(t.btf().find('nope', 'struct'), undefined);
  assert.equal(t.kernelSymbolAddress('jiffies'), 18446744071589298176n);
  assert.throws(() => t.tracepointFormat('x', 'y'), UnknownTracepointError);
  assert.deepEqual(t.feature('bpf_cookie'), { state: 'unknown', error: 'only root can tell' });
  assert.equal(t.syscallNumbers()?.get('read'), 0);
});

test('recorded target: a question it was not asked when recording is an error naming it and how to re-record', () => {
  const t = new RecordedTarget(EMPTY);
  assert.throws(() => t.btf().find('task_struct', 'struct'), /has no answer for the BTF query find\["task_struct","struct"\]: re-record it \(TSBPF_RECORD_TARGET=1/);
  assert.throws(() => t.kprobeFunctions(), /has no answer for the kprobe function list/);
  assert.throws(() => t.feature('ringbuf'), /has no answer for the feature ringbuf/);
  assert.throws(() => new RecordedTarget({ ...EMPTY, arch: 'pdp11' }), /architecture 'pdp11' is not one tsbpf knows/);
});

test('recorded target: a compile against it reads only the recording (unknown tracepoint is the usual sentence)', () => {
  const a = compile({ name: 't', text: 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }' }, { target: unitTarget() });
  assert.deepEqual(a.programs[0].attach, [{ kind: 'tracepoint', category: 'syscalls', event: 'sys_enter_getppid' }]);
  assert.throws(
    () => compile({ name: 't', text: 'tracepoint:syscalls:sys_enter_getppid { }' }, { target: new RecordedTarget(EMPTY) }),
    (e: unknown) => e instanceof CompileError && /has no answer for the tracepoint format syscalls:sys_enter_getppid/.test(e.message),
  );
});
