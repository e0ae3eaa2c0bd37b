import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { Asm, R0, R1, R2, R6, R10, Helper } from '../../src/ebpf/asm';
import { BpfMap } from '../../src/ebpf/maps';
import { loadProgram, testRun, VerifierError, AttachTargetError } from '../../src/ebpf/programs';
import { ProgType, progInfo, progGetFdById, listIds, closeFd, ProgLoadError, progLoad } from '../../src/sys/bpf';
import { SyscallError } from '../../src/sys/errno';

function ret(v: number): Asm {
  const a = new Asm();
  a.mov64(R0, v);
  a.exit();
  return a;
}

kernelTest('a program reading an uninitialised register is rejected with the verifier\'s reason and the instruction index', () => {
  const a = new Asm();
  a.mov64(R0, 0);
  a.ldx('dw', R0, R2, 0); // R2 was never written
  a.exit();
  assert.throws(() => loadProgram({ type: 'tracepoint', insns: a, name: 'bad_r2' }), (e: unknown) => {
    assert.ok(e instanceof VerifierError);
    assert.equal(e.insnIndex, 1);
    assert.match(e.reason, /R2 !read_ok/);
    assert.match(e.message, /^BPF verifier rejected program 'bad_r2' at instruction 1: R2 !read_ok/);
    assert.doesNotMatch(e.message, /processed \d+ insns/, 'the stats footer is not the message');
    assert.match(e.log, /processed \d+ insns/, 'the full log is kept');
    return true;
  });
});

kernelTest('a missing null check after map_lookup_elem names the rejected dereference', () => {
  const m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
  try {
    const a = new Asm();
    a.st('w', R10, -4, 0);
    a.ldMapFd(R1, m.fd);
    a.mov64(R2, R10);
    a.add64(R2, -4);
    a.call(Helper.map_lookup_elem);
    a.ldx('dw', R0, R0, 0); // index 6: no null check
    a.exit();
    assert.throws(() => loadProgram({ type: 'kprobe', insns: a }), (e: unknown) => {
      assert.ok(e instanceof VerifierError);
      assert.equal(e.insnIndex, 6);
      assert.match(e.reason, /invalid mem access 'map_value_or_null'/);
      return true;
    });
  } finally {
    m.close();
  }
});

kernelTest('a program without exit is rejected (verifier reason, no instruction mislabelled as stats)', () => {
  const a = new Asm();
  a.mov64(R0, 0);
  assert.throws(() => loadProgram({ type: 'socket_filter', insns: a }), (e: unknown) => {
    assert.ok(e instanceof VerifierError);
    assert.ok(e.reason.length > 0);
    assert.doesNotMatch(e.reason, /^processed/);
    return true;
  });
});

kernelTest('programs of each tracing type load (kprobe passes the verifier here even without kprobes)', () => {
  for (const type of ['kprobe', 'tracepoint', 'raw_tracepoint', 'perf_event', 'socket_filter', 'syscall'] as const) {
    const p = loadProgram({ type, insns: ret(0), name: `ok_${type}` });
    const info = p.info();
    assert.equal(info.name, `ok_${type}`.slice(0, 15));
    assert.ok(info.id > 0);
    assert.match(info.tag, /^[0-9a-f]{16}$/);
    p.close();
  }
});

kernelTest('keepLog returns the verifier log of a successful load', () => {
  const p = loadProgram({ type: 'socket_filter', insns: ret(1), keepLog: true });
  assert.match(p.log ?? '', /processed 2 insns/);
  p.close();
});

kernelTest('BPF_PROG_TEST_RUN: raw tracepoint context arguments reach the program and R0 comes back', () => {
  const a = new Asm();
  a.ldx('dw', R0, R1, 0);
  a.ldx('dw', R2, R1, 8);
  a.add64(R0, R2);
  a.exit();
  const p = loadProgram({ type: 'raw_tracepoint', insns: a, name: 'sum_args' });
  try {
    const ctx = Buffer.alloc(16);
    ctx.writeBigUInt64LE(40n, 0);
    ctx.writeBigUInt64LE(2n, 8);
    assert.equal(p.testRun({ ctx }).retval, 42);
    ctx.writeBigUInt64LE(1000n, 0);
    assert.equal(testRun(p, { ctx }).retval, 1002);
  } finally {
    p.close();
  }
});

kernelTest('BPF_PROG_TEST_RUN: a syscall program updates a map with its context', () => {
  const m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const a = new Asm();
  a.mov64(R6, R1);
  a.st('w', R10, -4, 0);
  a.ldMapFd(R1, m.fd);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.ldx('w', R1, R6, 0);
  a.ldx('dw', R2, R0, 0);
  a.add64(R2, R1);
  a.stx('dw', R0, 0, R2);
  a.label('out');
  a.mov64(R0, 7);
  a.exit();
  const p = loadProgram({ type: 'syscall', insns: a, name: 'sys_add' });
  try {
    const ctx = Buffer.alloc(4);
    ctx.writeUInt32LE(5);
    const r = p.testRun({ ctx });
    assert.equal(r.retval, 7);
    assert.equal(m.lookup(0)!.readBigUInt64LE(0), 5n);
    // The program's map shows up in its info.
    assert.deepEqual(p.info().mapIds, [m.info().id]);
  } finally {
    p.close();
    m.close();
  }
});

kernelTest('program info: xlated instructions and JIT details round-trip; fd by id reopens the same program', () => {
  const p = loadProgram({ type: 'socket_filter', insns: ret(3), name: 'info_me' });
  try {
    const i = p.info({ xlated: true, jited: true });
    assert.equal(i.xlatedProgLen, 16);
    assert.equal(i.xlatedInsns!.length, 16);
    assert.equal(i.type, ProgType.SOCKET_FILTER);
    assert.ok(listIds('prog').includes(i.id));
    const fd = progGetFdById(i.id);
    try {
      assert.equal(progInfo(fd).id, i.id);
    } finally {
      closeFd(fd);
    }
  } finally {
    p.close();
  }
});

kernelTest('a failure without a verifier log stays a SyscallError naming the command', () => {
  // Not a multiple of 8 bytes: refused before the kernel is asked.
  assert.throws(() => progLoad({ type: ProgType.SOCKET_FILTER, insns: Buffer.alloc(12) }), (e: unknown) => e instanceof SyscallError && /BPF_PROG_LOAD/.test(e.message));
  // An unknown program type: EINVAL with an empty log.
  assert.throws(() => loadProgram({ type: 999, insns: ret(0) }), (e: unknown) => {
    assert.ok(e instanceof ProgLoadError && !(e instanceof VerifierError));
    assert.match((e as Error).message, /bpf\(BPF_PROG_LOAD\).*EINVAL/);
    return true;
  });
});

kernelTest('fentry needs a target that exists in kernel BTF', () => {
  assert.throws(() => loadProgram({ type: 'fentry', attachTo: 'no_such_function_tsbpf', insns: ret(0) }), AttachTargetError);
});
