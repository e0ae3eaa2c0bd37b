/**
 * The provider registry: every attach kind has exactly one attacher, names
 * and aliases resolve, and `tsbpf -l` is the providers' own listing (run here
 * against a small hand-made target).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACH_KINDS, PROVIDERS, attachableKinds, providerName } from '../../src/lang/probes';
import { listProbes, listProgram } from '../../src/cli/list';
import { parse } from '../../src/lang/parser';
import { RecordedTarget, type TargetRecording } from '../../src/target/recorded';
import { traceableFunctions } from '../../src/target/kernel';

test('every attach kind of the artifact has an attacher from exactly one definition', () => {
  assert.deepEqual(attachableKinds(), [...ATTACH_KINDS].sort());
});

test('names and aliases resolve to canonical providers; list/listing come together', () => {
  assert.equal(providerName('t'), 'tracepoint');
  assert.equal(providerName('kfunc'), 'fentry');
  assert.equal(providerName('kretfunc'), 'fexit');
  assert.equal(providerName('rt'), 'rawtracepoint');
  assert.equal(providerName('nope'), undefined);
  for (const p of PROVIDERS) assert.equal(p.list !== undefined, p.listing !== undefined, p.name);
});

test('kprobe functions: the filter list (or kallsyms), minus the kprobe blacklist, sorted once each', () => {
  const filter = 'vfs_write\nvfs_read\nmy_mod_fn [my_mod]\nvfs_read\n';
  const blacklist = '0xffffffff81000000-0xffffffff81000010\tvfs_write\n';
  assert.deepEqual(traceableFunctions(filter, undefined, blacklist), ['my_mod_fn', 'vfs_read']);
  assert.deepEqual(traceableFunctions(undefined, ['b', 'a', 'vfs_write'], blacklist), ['a', 'b']);
  // kallsyms' padding symbols are not functions
  assert.deepEqual(traceableFunctions(undefined, ['__pfx_a', 'a', '__cfi_a'], undefined), ['a']);
});

const REC: TargetRecording = {
  description: 'a hand-made target', release: '6.0', arch: 'x86_64',
  btf: {
    'find["vfs_read","func"]': { value: 1 }, 'find["vfs_readv","func"]': { value: { $undefined: true } }, 'find["vfs_write","func"]': { value: { $undefined: true } },
    // no btf_trace_ typedefs: raw tracepoints are tracefs' events but the syscalls category's
    'findPrefix["btf_trace_","typedef"]': { value: [] },
  },
  kernelSymbols: {},
  kprobeFunctions: ['vfs_read', 'vfs_readv', 'vfs_write'],
  tracepoints: {
    '*:*': { value: [{ category: 'sched', event: 'sched_switch' }, { category: 'syscalls', event: 'sys_enter_read' }] },
  },
  tracepointFormats: {
    'syscalls:sys_enter_read': { value: { category: 'syscalls', event: 'sys_enter_read', id: 1, commonFields: [], printFmt: '', fields: [{ name: 'fd', type: 'unsigned int', offset: 16, size: 8, signed: false, dataLoc: false }] } },
  },
  features: {},
};

function listed(pattern: string, verbose = false): string {
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => chunks.push(s) > 0) as typeof process.stdout.write;
  try {
    assert.equal(listProbes(pattern, { verbose, pid: null, target: new RecordedTarget(REC) }), 0);
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

test('-l comes from the providers: aliases, kprobe/fentry/rawtracepoint, -lv fields, bare words', () => {
  assert.equal(listed('k:vfs_rea*'), 'kprobe:vfs_read\nkprobe:vfs_readv\n');
  assert.equal(listed('kfunc:vfs_rea*'), 'fentry:vfs_read\n'); // only functions the BTF describes
  assert.equal(listed('rawtracepoint:sched_*'), 'rawtracepoint:sched_switch\n');
  assert.equal(listed('t:syscalls:*', true), 'tracepoint:syscalls:sys_enter_read\n    unsigned int fd\n');
  // a bare word searches software, hardware and tracepoints, as bpftrace does
  assert.equal(listed('switch'), 'software:context-switches:\ntracepoint:sched:sched_switch\nrawtracepoint:sched_switch\n');
  // aliases are listed too (software:cpu:), as bpftrace lists them
  assert.equal(listed('software:cpu*'), 'software:cpu:\nsoftware:cpu-clock:\nsoftware:cpu-migrations:\n');
});

test('-l: timer units, kprobes for a bare word, comma-separated patterns', () => {
  assert.equal(listed('interval:*'), 'interval:hz:\ninterval:ms:\ninterval:s:\ninterval:us:\n');
  assert.equal(listed('p:*'), 'profile:hz:\nprofile:ms:\nprofile:s:\nprofile:us:\n');
  // timers are listed only when named (bpftrace's kernel list has no timers); kprobes and fentry are
  assert.equal(listed('*vfs_readv*'), 'kprobe:vfs_readv\n');
  assert.equal(listed('*:*'), listed('*'));
  assert.doesNotMatch(listed('*'), /interval:/);
  assert.equal(listed('k:vfs_write, interval:s*'), 'kprobe:vfs_write\ninterval:s:\n');
});

test('-l -e PROGRAM lists the probes its attach points match (periods dropped, BEGIN skipped)', () => {
  const program = parse({ name: 'stdin', text: 'BEGIN {} software:cpu:1000, i:1s, kprobe:vfs_rea* { } t:syscalls:* {}' });
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => chunks.push(s) > 0) as typeof process.stdout.write;
  try {
    assert.equal(listProgram(program, { verbose: false, pid: null, target: new RecordedTarget(REC) }), 0);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(chunks.join(''), 'software:cpu:\ninterval:s:\nkprobe:vfs_read\nkprobe:vfs_readv\ntracepoint:syscalls:sys_enter_read\n');
});
