import { after } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { Asm, R0, R1, R2, R3, R4, R5, R6, R7, R10, Helper } from '../../src/ebpf/asm';
import { BpfMap, numPossibleCpus, sumU64 } from '../../src/ebpf/maps';
import { loadProgram, type Program } from '../../src/ebpf/programs';
import { attachTracepoint, type Link } from '../../src/ebpf/attach';
import { RingBufReader, PerfBufReader } from '../../src/ebpf/events';
import { closeAll, trackedCount } from '../../src/ebpf/cleanup';
import { Target } from './lib-target';

after(() => closeAll());

/** Record sent per getppid of `pid`: { u64 pid_tgid; u64 ktime_ns }. */
const REC = 16;

/** Ring buffer producer; failed reserves are counted in loss[0]. */
function ringProg(rb: BpfMap, loss: BpfMap, pid: number): Asm {
  const a = new Asm();
  a.call(Helper.get_current_pid_tgid);
  a.mov64(R7, R0);
  a.rsh64(R0, 32);
  a.jne(R0, pid, 'out');
  a.ldMapFd(R1, rb.fd);
  a.mov64(R2, REC);
  a.mov64(R3, 0);
  a.call(Helper.ringbuf_reserve);
  a.jne(R0, 0, 'got');
  a.st('w', R10, -4, 0);
  a.ldMapFd(R1, loss.fd);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.ldx('dw', R1, R0, 0);
  a.add64(R1, 1);
  a.stx('dw', R0, 0, R1);
  a.ja('out');
  a.label('got');
  a.mov64(R6, R0);
  a.stx('dw', R6, 0, R7);
  a.call(Helper.ktime_get_ns);
  a.stx('dw', R6, 8, R0);
  a.mov64(R1, R6);
  a.mov64(R2, 0);
  a.call(Helper.ringbuf_submit);
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  return a;
}

/** Perf buffer producer: bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, &rec, 16). */
function perfProg(pa: BpfMap, pid: number): Asm {
  const a = new Asm();
  a.mov64(R6, R1);
  a.call(Helper.get_current_pid_tgid);
  a.mov64(R7, R0);
  a.rsh64(R0, 32);
  a.jne(R0, pid, 'out');
  a.stx('dw', R10, -16, R7);
  a.call(Helper.ktime_get_ns);
  a.stx('dw', R10, -8, R0);
  a.mov64(R1, R6);
  a.ldMapFd(R2, pa.fd);
  a.mov32(R3, -1); // BPF_F_CURRENT_CPU: 0xffffffff, zero-extended
  a.mov64(R4, R10);
  a.add64(R4, -16);
  a.mov64(R5, REC);
  a.call(Helper.perf_event_output);
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  return a;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

interface Setup {
  target: Target;
  prog: Program;
  link: Link;
  close(): Promise<void>;
}

async function setup(make: (pid: number) => Asm, maps: BpfMap[], name: string): Promise<Setup> {
  const target = Target.start();
  const prog = loadProgram({ type: 'tracepoint', insns: make(target.pid), name });
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
  return {
    target, prog, link,
    async close() {
      link.close();
      prog.close();
      await target.stop();
      for (const m of maps) m.close();
    },
  };
}

kernelTest('ring buffer: N events arrive through event-loop wake-ups, in order, none lost', async () => {
  const rb = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 256 * 1024, name: 'test_rb' });
  const loss = BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const s = await setup((pid) => ringProg(rb, loss, pid), [rb, loss], 'rb_events');
  const recs: Array<{ pidTgid: bigint; ts: bigint }> = [];
  const reader = new RingBufReader(rb, (r) => recs.push({ pidTgid: r.readBigUInt64LE(0), ts: r.readBigUInt64LE(8) }));
  try {
    const N = 5000;
    for (let i = 0; i < 5; i++) await s.target.run('getppid', N / 5);
    await until(() => recs.length >= N);
    assert.equal(recs.length, N, 'every event delivered without an explicit drain');
    assert.equal(sumU64(loss.lookupPerCpu(0)!), 0n);
    for (const r of recs) assert.equal(Number(r.pidTgid >> 32n), s.target.pid);
    for (let i = 1; i < recs.length; i++) assert.ok(recs[i].ts >= recs[i - 1].ts, 'records come in production order');
    assert.equal(reader.records, N);
    assert.equal(reader.bytes, N * REC);
  } finally {
    reader.close();
    await s.close();
  }
});

kernelTest('ring buffer overflow: failed reserves are counted and delivered + lost = produced', async () => {
  const rb = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 });
  const loss = BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const s = await setup((pid) => ringProg(rb, loss, pid), [rb, loss], 'rb_overflow');
  let got = 0;
  const reader = new RingBufReader(rb, () => got++, { start: false });
  try {
    const N = 1000;
    await s.target.run('getppid', N);
    assert.ok(reader.pending() > 0);
    reader.drainNow();
    const lost = sumU64(loss.lookupPerCpu(0)!);
    assert.ok(lost > 0n, 'a 4 KiB buffer cannot hold 1000 records');
    assert.ok(got > 0);
    assert.equal(BigInt(got) + lost, BigInt(N));
  } finally {
    reader.close();
    await s.close();
  }
});

kernelTest('ring buffer consumer throughput (reported, not asserted) with exact accounting', async (t) => {
  const rb = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4 << 20 });
  const loss = BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 });
  const s = await setup((pid) => ringProg(rb, loss, pid), [rb, loss], 'rb_speed');
  let got = 0;
  const reader = new RingBufReader(rb, () => got++);
  try {
    const N = 300_000;
    const t0 = process.hrtime.bigint();
    await s.target.run('getppid', N);
    const lost = () => sumU64(loss.lookupPerCpu(0)!);
    await until(() => BigInt(got) + lost() >= BigInt(N));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    reader.drainNow();
    assert.equal(BigInt(got) + lost(), BigInt(N));
    t.diagnostic(`ring buffer: ${N} events in ${secs.toFixed(3)} s = ${Math.round(N / secs)} events/s delivered to JS, ${lost()} lost`);
  } finally {
    reader.close();
    await s.close();
  }
});

kernelTest('perf buffer: N events arrive through wake-ups with their CPU, none lost', async () => {
  const pa = BpfMap.create({ type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: numPossibleCpus() });
  const s = await setup((pid) => perfProg(pa, pid), [pa], 'perf_events');
  const recs: Buffer[] = [];
  const cpus = new Set<number>();
  const reader = new PerfBufReader(pa, (r, cpu) => { recs.push(Buffer.from(r)); cpus.add(cpu); });
  try {
    const N = 2000;
    for (let i = 0; i < 4; i++) await s.target.run('getppid', N / 4);
    await until(() => recs.length >= N);
    assert.equal(recs.length, N);
    assert.equal(reader.lost, 0n);
    for (const r of recs) {
      assert.ok(r.length >= REC);
      assert.equal(Number(r.readBigUInt64LE(0) >> 32n), s.target.pid);
    }
    assert.ok(cpus.size >= 1);
  } finally {
    reader.close();
    await s.close();
  }
});

kernelTest('perf buffer overflow: PERF_RECORD_LOST is counted and delivered + lost = produced', async () => {
  const pa = BpfMap.create({ type: 'perf_event_array', keySize: 4, valueSize: 4, maxEntries: numPossibleCpus() });
  const s = await setup((pid) => perfProg(pa, pid), [pa], 'perf_overflow');
  let got = 0;
  let lostCb = 0n;
  const reader = new PerfBufReader(pa, () => got++, { pages: 1, start: false, onLost: (n) => { lostCb += n; } });
  try {
    // One CPU, so the loss is reported on the same ring the next sample goes to.
    await s.target.run('cpu', 0);
    await s.target.run('getppid', 2000);
    reader.drainNow();
    // The kernel writes the LOST record with the next sample that fits.
    await s.target.run('getppid', 1);
    reader.drainNow();
    assert.ok(reader.lost > 0n, 'a one-page buffer cannot hold 2000 samples');
    assert.equal(lostCb, reader.lost);
    assert.equal(BigInt(got) + reader.lost, 2001n);
  } finally {
    reader.close();
    await s.close();
  }
});

kernelTest('readers unregister from the cleanup registry when closed', () => {
  assert.equal(trackedCount(), 0);
});
