/**
 * Ring-buffer consumer throughput of the tsbpf library alone (no language):
 * a tracepoint program on syscalls:sys_enter_getppid, filtered to the load
 * generator's pid, sends a 16-byte record per call with bpf_ringbuf_output
 * and counts failed outputs in an array map; RingBufReader receives them.
 * Prints one JSON line: {"n", "received", "lost", "ms", "eventsPerSec", "cpuMs", "genRate"}.
 * MODE 'watch' (default) is the library's normal path: the kernel wakes the
 * event loop through the native libuv poll; 'poll' drains from a setImmediate
 * loop instead, which isolates the draining cost from the wake-up path.
 * Run: node dist/bench/ringbuf.js LOADGEN N [watch|poll]
 */
import { spawn } from 'node:child_process';
import { Asm, Helper, R0, R1, R2, R3, R4, R6, FP } from '../src/ebpf/asm';
import { BpfMap, readU64 } from '../src/ebpf/maps';
import { loadProgram } from '../src/ebpf/programs';
import { attachTracepoint } from '../src/ebpf/attach';
import { RingBufReader } from '../src/ebpf/events';
import { closeAll } from '../src/ebpf/cleanup';

function buildProgram(ringFd: number, lossFd: number, tgid: number): Asm {
  const a = new Asm();
  a.call(Helper.get_current_pid_tgid);
  a.mov64(R6, R0);
  a.rsh64(R6, 32);
  a.jne(R6, tgid, 'out');
  a.stx('dw', FP, -8, R0);
  a.call(Helper.ktime_get_ns);
  a.stx('dw', FP, -16, R0);
  a.ldMapFd(R1, ringFd);
  a.mov64(R2, FP);
  a.add64(R2, -16);
  a.mov64(R3, 16);
  a.mov64(R4, 0);
  a.call(Helper.ringbuf_output);
  a.jeq(R0, 0, 'out');
  // Failed output: count it, so losses are known rather than guessed.
  a.st('w', FP, -20, 0);
  a.ldMapFd(R1, lossFd);
  a.mov64(R2, FP);
  a.add64(R2, -20);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.mov64(R1, 1);
  a.atomicAdd('dw', R0, 0, R1);
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  return a;
}

async function main(): Promise<void> {
  const [loadgen, nArg, modeArg] = process.argv.slice(2);
  const poll = modeArg === 'poll';
  const n = Number(nArg ?? 1_000_000);
  const gen = spawn(loadgen, ['getppid', String(n), '--wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let genOut = '';
  await new Promise<void>((res) => gen.stdout!.on('data', (b: Buffer) => {
    genOut += b.toString();
    if (genOut.includes('ready')) res();
  }));
  const genDone = new Promise<void>((res) => gen.on('close', () => res()));
  const ring = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 16 << 20, name: 'bench_rb' });
  const loss = BpfMap.create({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, name: 'bench_loss' });
  const prog = loadProgram({ type: 'tracepoint', insns: buildProgram(ring.fd, loss.fd, gen.pid ?? -1), name: 'bench_rb' });
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
  let received = 0;
  const reader = new RingBufReader({ fd: ring.fd, maxEntries: 16 << 20 }, () => { received++; }, { start: !poll });
  const lost = (): number => Number(readU64(loss.lookup(0) ?? Buffer.alloc(8)));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  gen.stdin!.end('g');
  let genExited = false;
  void genDone.then(() => { genExited = true; });
  while (poll && !genExited) {
    reader.drainNow();
    await new Promise((r) => setImmediate(r));
  }
  await genDone;
  // Everything the kernel produced is either received or counted as lost.
  const deadline = Date.now() + 10_000;
  while (received + lost() < n && Date.now() < deadline) {
    if (poll) reader.drainNow();
    await new Promise((r) => setTimeout(r, 1));
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const m = /ns=(\d+)/.exec(genOut);
  const genRate = m ? n / (Number(m[1]) / 1e9) : NaN;
  const result = { n, received, lost: lost(), ms, eventsPerSec: received / (ms / 1e3), cpuMs: (cpu.user + cpu.system) / 1e3, genRate };
  reader.close();
  link.close();
  prog.close();
  closeAll();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`ringbuf bench failed: ${(e as Error).stack ?? String(e)}\n`);
  closeAll();
  process.exit(1);
});
