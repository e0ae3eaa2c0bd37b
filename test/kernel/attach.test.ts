import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { kernelTest, featureTest } from '../helpers/kernel';
import { Asm, R0, R1, R2, R6, R7, R10, Helper } from '../../src/ebpf/asm';
import { BpfMap, sumU64 } from '../../src/ebpf/maps';
import { loadProgram, type ProgTypeName } from '../../src/ebpf/programs';
import { attachTracepoint, attachRawTracepoint, attachUprobe, attachKprobe, attachPerfEvent, attachTracing } from '../../src/ebpf/attach';
import { trackedCount, closeAll } from '../../src/ebpf/cleanup';
import { hasFeature, MissingFeatureError } from '../../src/sys/features';
import { tracefsRoot, listOwnProbeEvents } from '../../src/sys/tracefs';
import { PerfType, SwEvent } from '../../src/sys/perf';
import { symbolFileOffset } from '../../src/ebpf/elf';
import { taskFdQuery, linkInfo, listIds, btfGetFdById, btfInfo, closeFd, FdType, LinkType } from '../../src/sys/bpf';
import { Target } from './lib-target';

const NR_GETPPID_X64 = 110;
// struct pt_regs on x86-64: di (arg1) at 112, ax (return value) at 80.
const PT_REGS_DI = 112;
const PT_REGS_AX = 80;

/**
 * A program that, for process `pid` only, adds 1 to slot 0 of a per-CPU
 * array and, when `regOff` is given, adds the u64 at ctx+regOff to slot 1
 * (value layout {u64 count; u64 sum}).
 */
function counter(map: BpfMap, pid: number, regOff?: number, extraFilter?: (a: Asm) => void): Asm {
  const a = new Asm();
  a.mov64(R6, R1);
  a.call(Helper.get_current_pid_tgid);
  a.rsh64(R0, 32);
  a.jne(R0, pid, 'out');
  extraFilter?.(a);
  a.st('w', R10, -4, 0);
  a.ldMapFd(R1, map.fd);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.ldx('dw', R1, R0, 0);
  a.add64(R1, 1);
  a.stx('dw', R0, 0, R1);
  if (regOff !== undefined) {
    a.ldx('dw', R7, R6, regOff);
    a.ldx('dw', R1, R0, 8);
    a.add64(R1, R7);
    a.stx('dw', R0, 8, R1);
  }
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  return a;
}

function counterMap(): BpfMap {
  return BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 16, maxEntries: 1, name: 'test_counts' });
}

function read(map: BpfMap): { count: bigint; sum: bigint } {
  const v = map.lookupPerCpu(0)!;
  return { count: sumU64(v, 0), sum: sumU64(v, 8) };
}

function ownProbeLines(): string[] {
  const f = `${tracefsRoot()}/uprobe_events`;
  return fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.includes(`tsbpf_${process.pid}_`));
}

after(() => closeAll());

kernelTest('tracepoint syscalls:sys_enter_getppid counts exactly the child\'s calls, and nothing after close', async () => {
  const target = Target.start();
  const map = counterMap();
  try {
    const prog = loadProgram({ type: 'tracepoint', insns: counter(map, target.pid), name: 'count_getppid' });
    const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
    assert.equal(link.kind, 'tracepoint');
    // Introspection sees what we attached: the perf event fd names the tracepoint and the program.
    const perfFd = link.fds[link.fds.length - 1];
    const q = taskFdQuery(process.pid, perfFd);
    assert.equal(q.fdType, FdType.TRACEPOINT);
    assert.equal(q.name, 'sys_enter_getppid');
    assert.equal(q.progId, prog.info().id);
    if (link.method === 'link') {
      const li = linkInfo(link.fds[0]);
      assert.equal(li.type, LinkType.PERF_EVENT);
      assert.equal(li.progId, prog.info().id);
    }
    await target.run('getppid', 1000);
    await target.run('getppid', 37);
    assert.equal(read(map).count, 1037n);
    link.close();
    link.close(); // idempotent
    await target.run('getppid', 50);
    assert.equal(read(map).count, 1037n, 'no counting after the link is closed');
    prog.close();
  } finally {
    await target.stop();
    map.close();
  }
});

kernelTest('tracepoint attach carries a BPF cookie through BPF_LINK_CREATE', async (t) => {
  if (!hasFeature('bpf_cookie')) return t.skip('no bpf cookies on this kernel');
  const target = Target.start();
  const map = counterMap();
  try {
    // Adds the cookie (instead of 1) to the count; R7 keeps the ctx for get_attach_cookie.
    const b = new Asm();
    b.mov64(R7, R1);
    b.call(Helper.get_current_pid_tgid);
    b.rsh64(R0, 32);
    b.jne(R0, target.pid, 'out');
    b.st('w', R10, -4, 0);
    b.ldMapFd(R1, map.fd);
    b.mov64(R2, R10);
    b.add64(R2, -4);
    b.call(Helper.map_lookup_elem);
    b.jeq(R0, 0, 'out');
    b.mov64(R6, R0);
    b.mov64(R1, R7);
    b.call(Helper.get_attach_cookie);
    b.ldx('dw', R1, R6, 0);
    b.add64(R1, R0);
    b.stx('dw', R6, 0, R1);
    b.label('out');
    b.mov64(R0, 0);
    b.exit();
    const prog = loadProgram({ type: 'tracepoint', insns: b, name: 'cookie' });
    const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid', { cookie: 1000n });
    assert.equal(link.method, 'link');
    await target.run('getppid', 7);
    assert.equal(read(map).count, 7000n);
    link.close();
    prog.close();
  } finally {
    await target.stop();
    map.close();
  }
});

kernelTest('raw tracepoint sys_enter counts exactly the child\'s getppid calls', async (t) => {
  if (process.arch !== 'x64') return t.skip('syscall number is x86-64 specific');
  const target = Target.start();
  const map = counterMap();
  try {
    // ctx is u64 args[]: args[1] is the syscall number.
    const insns = counter(map, target.pid, undefined, (a) => {
      a.ldx('dw', R1, R6, 8);
      a.jne(R1, NR_GETPPID_X64, 'out');
    });
    const prog = loadProgram({ type: 'raw_tracepoint', insns, name: 'raw_getppid' });
    const link = attachRawTracepoint(prog, 'sys_enter');
    const li = linkInfo(link.fds[0]);
    assert.equal(li.type, LinkType.RAW_TRACEPOINT);
    assert.equal(li.tpName, 'sys_enter');
    assert.ok(listIds('link').includes(li.id));
    await target.run('getppid', 500);
    assert.equal(read(map).count, 500n);
    link.close();
    prog.close();
  } finally {
    await target.stop();
    map.close();
  }
});

kernelTest('uprobe and uretprobe (PMU) see exact call counts, arguments and return values', async (t) => {
  if (process.arch !== 'x64') return t.skip('pt_regs offsets are x86-64 specific');
  const target = Target.start();
  const entry = counterMap();
  const ret = counterMap();
  try {
    const off = BigInt(symbolFileOffset(target.path, 'tsbpf_add'));
    const p1 = loadProgram({ type: 'kprobe', insns: counter(entry, target.pid, PT_REGS_DI), name: 'up_add' });
    const p2 = loadProgram({ type: 'kprobe', insns: counter(ret, target.pid, PT_REGS_AX), name: 'uret_add' });
    const l1 = attachUprobe(p1, target.path, off, { method: 'pmu' });
    const l2 = attachUprobe(p2, target.path, off, { retprobe: true, method: 'pmu' });
    assert.equal(l1.kind, 'uprobe');
    assert.equal(l2.kind, 'uretprobe');
    const n = 300;
    await target.run('add', n);
    // tsbpf_add(i, 1) for i < n: args sum to n(n-1)/2, returns to n(n+1)/2.
    const e = read(entry);
    const r = read(ret);
    assert.equal(e.count, BigInt(n));
    assert.equal(e.sum, BigInt((n * (n - 1)) / 2));
    assert.equal(r.count, BigInt(n));
    assert.equal(r.sum, BigInt((n * (n + 1)) / 2));
    // getppid is not tsbpf_add: nothing more.
    await target.run('getppid', 10);
    assert.equal(read(entry).count, BigInt(n));
    l1.close();
    l2.close();
    p1.close();
    p2.close();
  } finally {
    await target.stop();
    entry.close();
    ret.close();
  }
});

kernelTest('uprobe through tracefs uprobe_events counts exactly and removes its entry on close', async () => {
  const target = Target.start();
  const map = counterMap();
  try {
    const off = BigInt(symbolFileOffset(target.path, 'tsbpf_add'));
    const prog = loadProgram({ type: 'kprobe', insns: counter(map, target.pid), name: 'up_tracefs' });
    const link = attachUprobe(prog, target.path, off, { method: 'tracefs' });
    assert.equal(link.method, 'tracefs');
    assert.equal(ownProbeLines().length, 1, 'the probe event exists while attached');
    await target.run('add', 123);
    assert.equal(read(map).count, 123n);
    link.close();
    assert.deepEqual(ownProbeLines(), [], 'the probe event is gone after close');
    prog.close();
  } finally {
    await target.stop();
    map.close();
  }
});

kernelTest('uprobe restricted to one pid ignores other processes', async () => {
  const a = Target.start();
  const b = Target.start();
  const map = BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 });
  try {
    const off = BigInt(symbolFileOffset(a.path, 'tsbpf_add'));
    // No pid filter in the program: the perf event itself is per process.
    const p = new Asm();
    p.st('w', R10, -4, 0);
    p.ldMapFd(R1, map.fd);
    p.mov64(R2, R10);
    p.add64(R2, -4);
    p.call(Helper.map_lookup_elem);
    p.jeq(R0, 0, 'out');
    p.ldx('dw', R1, R0, 0);
    p.add64(R1, 1);
    p.stx('dw', R0, 0, R1);
    p.label('out');
    p.mov64(R0, 0);
    p.exit();
    const prog = loadProgram({ type: 'kprobe', insns: p, name: 'up_pid' });
    const link = attachUprobe(prog, a.path, off, { pid: a.pid });
    await b.run('add', 40);
    await a.run('add', 9);
    await b.run('add', 40);
    assert.equal(sumU64(map.lookupPerCpu(0)!), 9n);
    link.close();
    prog.close();
  } finally {
    await a.stop();
    await b.stop();
    map.close();
  }
});

kernelTest('software perf event (cpu-clock) samples the busy child on every CPU, and stops after close', async () => {
  const target = Target.start();
  const map = counterMap();
  try {
    const prog = loadProgram({ type: 'perf_event', insns: counter(map, target.pid), name: 'perf_count' });
    const link = attachPerfEvent(prog, { type: PerfType.SOFTWARE, config: SwEvent.CPU_CLOCK, frequency: 1000 });
    assert.ok(link.fds.length >= 1);
    await target.run('getppid', 3_000_000);
    const n = read(map).count;
    assert.ok(n > 0n, `the child was sampled (${n} samples)`);
    link.close();
    await target.run('getppid', 3_000_000);
    assert.equal(read(map).count, n, 'no samples after close');
    prog.close();
  } finally {
    await target.stop();
    map.close();
  }
});

kernelTest('a kprobe program passes the verifier; attaching it needs kprobes', async () => {
  const a = new Asm();
  a.mov64(R0, 0);
  a.exit();
  const prog = loadProgram({ type: 'kprobe', insns: a, name: 'kp_noop' });
  try {
    if (!hasFeature('kprobes')) {
      assert.throws(() => attachKprobe(prog, 'do_nanosleep'), (e: unknown) => {
        assert.ok(e instanceof MissingFeatureError);
        assert.equal(e.feature, 'kprobes');
        assert.match(e.message, /^kprobes are not available: this kernel is built without CONFIG_KPROBES/);
        return true;
      });
    } else {
      attachKprobe(prog, 'do_nanosleep').close();
    }
  } finally {
    prog.close();
  }
});

featureTest('kprobe and kretprobe on __x64_sys_getppid count exactly', 'kprobes', () => hasFeature('kprobes'), async (t) => {
  if (process.arch !== 'x64') return t.skip('x86-64 syscall wrapper name');
  const target = Target.start();
  const m1 = counterMap();
  const m2 = counterMap();
  try {
    const p1 = loadProgram({ type: 'kprobe', insns: counter(m1, target.pid), name: 'kp_getppid' });
    const p2 = loadProgram({ type: 'kprobe', insns: counter(m2, target.pid), name: 'krp_getppid' });
    for (const method of ['auto', 'tracefs'] as const) {
      if (method === 'tracefs' && !hasFeature('kprobe_events')) continue;
      const l1 = attachKprobe(p1, '__x64_sys_getppid', { method });
      const l2 = attachKprobe(p2, '__x64_sys_getppid', { retprobe: true, method });
      await target.run('getppid', 250);
      l1.close();
      l2.close();
    }
    const rounds = hasFeature('kprobe_events') ? 2n : 1n;
    assert.equal(read(m1).count, 250n * rounds);
    assert.equal(read(m2).count, 250n * rounds);
    p1.close();
    p2.close();
  } finally {
    await target.stop();
    m1.close();
    m2.close();
  }
});

featureTest('fentry on __do_sys_getppid (in the BTF of 6.1 and later; syscall wrappers are not) counts exactly', 'fentry', () => hasFeature('fentry'), async (t) => {
  if (process.arch !== 'x64') return t.skip('x86-64 syscall wrapper name');
  const target = Target.start();
  const map = counterMap();
  try {
    const prog = loadProgram({ type: 'fentry' as ProgTypeName, attachTo: '__do_sys_getppid', insns: counter(map, target.pid), name: 'fentry_getppid' });
    const link = attachTracing(prog, '__do_sys_getppid');
    await target.run('getppid', 77);
    assert.equal(read(map).count, 77n);
    link.close();
    prog.close();
  } finally {
    await target.stop();
    map.close();
  }
});

kernelTest('BTF object info: the kernel\'s vmlinux BTF is listed with its name and size', () => {
  const ids = listIds('btf');
  assert.ok(ids.length > 0);
  const fd = btfGetFdById(ids[0]);
  try {
    const info = btfInfo(fd, true);
    assert.equal(info.id, ids[0]);
    assert.equal(info.name, 'vmlinux');
    assert.equal(info.kernelBtf, true);
    assert.equal(info.btfSize, fs.statSync('/sys/kernel/btf/vmlinux').size);
    assert.equal(info.data!.readUInt16LE(0), 0xeb9f);
  } finally {
    closeFd(fd);
  }
});

kernelTest('after the attach tests nothing of ours is left in tracefs or the cleanup registry', () => {
  assert.deepEqual(listOwnProbeEvents().filter((e) => e.pid === process.pid), []);
  assert.deepEqual(ownProbeLines(), []);
  assert.equal(trackedCount(), 0);
});
