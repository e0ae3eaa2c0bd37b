/**
 * USDT probes of the fixture traced for real: uprobes at the offsets our note
 * reader computes, the semaphore raised through ref_ctr_offset, and the
 * arguments read with loads generated from the parsed specs. The fixture's
 * loop is the ground truth: iteration i passes i, i*3, 5, -1 to app:loop, and
 * raw_forms always sees fixture_table[2] = 33 and counter_pair[1] = 9.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { Asm, R0, R1, R2, R3, R6, R7, R10, Helper } from '../../src/ebpf/asm';
import { BpfMap } from '../../src/ebpf/maps';
import { loadProgram } from '../../src/ebpf/programs';
import { attachUprobe, type Link } from '../../src/ebpf/attach';
import { closeAll } from '../../src/ebpf/cleanup';
import { readUsdtProbes, type UsdtArg, type UsdtProbe } from '../../src/ebpf/usdt';
import { ProcessSymbols } from '../../src/ebpf/symbolize';
import { ElfFile } from '../../src/ebpf/elf';

after(() => closeAll());

const memSize = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;

/** Emits code leaving argument `arg` in R7 (ctx in R6), sign-extended per its spec. */
function loadArg(a: Asm, arg: UsdtArg, bias: number): void {
  const size = arg.size as 1 | 2 | 4 | 8;
  if (arg.kind === 'const') {
    a.movConst(R7, arg.value);
    return;
  }
  if (arg.kind === 'reg') {
    a.ldx(memSize[size], R7, R6, arg.reg.offset);
  } else {
    // Compute the address in R3, then probe_read_user into fp-8.
    if (arg.kind === 'rip') {
      assert.ok(arg.symbolValue !== undefined, `symbol ${arg.symbol} resolved`);
      a.movConst(R3, BigInt(arg.symbolValue + bias) + arg.disp);
    } else {
      a.mov64(R3, 0);
      if (arg.base) a.ldx('dw', R3, R6, arg.base.offset);
      if (arg.index) {
        a.ldx('dw', R1, R6, arg.index.offset);
        a.mul64(R1, arg.scale);
        a.add64(R3, R1);
      }
      a.add64(R3, Number(arg.disp));
    }
    a.st('dw', R10, -8, 0);
    a.mov64(R1, R10);
    a.add64(R1, -8);
    a.mov64(R2, size);
    a.call(Helper.probe_read_user);
    a.ldx(memSize[size], R7, R10, -8);
  }
  if (arg.signed && size < 8) {
    a.lsh64(R7, 64 - size * 8);
    a.arsh64(R7, 64 - size * 8);
  }
}

/** A uprobe program adding 1 to slot 0 and each argument to slots 1..n of an array value. */
function argSummer(map: BpfMap, pid: number, args: readonly UsdtArg[], bias: number): Asm {
  const a = new Asm();
  a.mov64(R6, R1);
  a.call(Helper.get_current_pid_tgid);
  a.rsh64(R0, 32);
  a.jne(R0, pid, 'out');
  a.st('w', R10, -12, 0);
  a.ldMapFd(R1, map.fd);
  a.mov64(R2, R10);
  a.add64(R2, -12);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.stx('dw', R10, -24, R0);
  a.ldx('dw', R1, R0, 0);
  a.add64(R1, 1);
  a.stx('dw', R0, 0, R1);
  args.forEach((arg, i) => {
    loadArg(a, arg, bias);
    a.ldx('dw', R0, R10, -24);
    a.ldx('dw', R1, R0, 8 * (i + 1));
    a.add64(R1, R7);
    a.stx('dw', R0, 8 * (i + 1), R1);
  });
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  return a;
}

function sums(map: BpfMap, n: number): bigint[] {
  const v = map.lookup(0)!;
  return Array.from({ length: n + 1 }, (_, i) => v.readBigInt64LE(i * 8));
}

kernelTest('USDT probes fire at our offsets, semaphores work through ref_ctr_offset, and parsed arguments read the right values', async (t) => {
  const fx = buildFixture('usdt_target');
  const probes = new Map<string, UsdtProbe>(readUsdtProbes(fx).map((p) => [p.name, p]));
  const N = 5;
  const child = spawn(fx, [String(N), '20', 'tsbpf', '400'], { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit');
  const pid = child.pid!;
  await new Promise((r) => setTimeout(r, 50));
  const bias = ProcessSymbols.capture(pid).loadBias(fx);
  assert.ok(bias !== undefined && bias > 0, 'PIE fixture has a load bias');

  const maps: BpfMap[] = [];
  const links: Link[] = [];
  const progs: { close(): void }[] = [];
  const attach = (name: string, withSemaphore: boolean): BpfMap => {
    const p = probes.get(name)!;
    const map = BpfMap.create({ type: 'array', keySize: 4, valueSize: 8 * (1 + p.args!.length), maxEntries: 1, name: `usdt_${name}`.slice(0, 15) });
    maps.push(map);
    const prog = loadProgram({ type: 'kprobe', insns: argSummer(map, pid, p.args!, bias), name: `usdt_${name}`.slice(0, 15) });
    progs.push(prog);
    links.push(attachUprobe(prog, fx, BigInt(p.fileOffset), withSemaphore ? { refCtrOffset: BigInt(p.semaphoreOffset) } : {}));
    return map;
  };
  let loop: BpfMap, greet: BpfMap, boot: BpfMap, raw: BpfMap;
  try {
    loop = attach('loop', false);
    greet = attach('greet', true);
    boot = attach('probe_boottime', false);
    raw = attach('raw_forms', false);
    await exited;
  } finally {
    for (const l of links) l.close();
    for (const p of progs) p.close();
  }
  const tri = BigInt((N * (N - 1)) / 2);
  // app:loop(i, i*3, 5, -1)
  assert.deepEqual(sums(loop, 4), [BigInt(N), tri, 3n * tri, 5n * BigInt(N), -BigInt(N)]);
  // app:greet is guarded by its semaphore: it fires only because ref_ctr raised it.
  const g = sums(greet, 2);
  assert.equal(g[0], BigInt(N));
  assert.equal(g[2], tri, 'second argument is the iteration');
  // app:probe_boottime's semaphore was not raised: the guarded probe never ran.
  assert.equal(sums(boot, 3)[0], 0n);
  // raw_forms: fixture_table[2], counter_pair[1], &fixture_table, -3, 2.
  const r = sums(raw, 5);
  const n = BigInt(N);
  assert.deepEqual([r[0], r[1], r[2], r[4], r[5]], [n, 33n * n, 9n * n, -3n * n, 2n * n]);
  assert.equal(r[3], n * BigInt(bias + ElfFile.open(fx).symbol('fixture_table')!.value), 'arg3 is the runtime address of fixture_table');
  for (const m of maps) m.close();
});
