/**
 * Stacks collected by a real BPF program resolve to the functions we know
 * are on them: the fixture calls getppid() from fixture_leaf <- fixture_middle
 * <- fixture_outer <- main, and the kernel side runs through the syscall
 * entry path.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { kernelTest, timeScale } from '../helpers/kernel';
import { buildFixture, spawnTraced } from '../helpers/fixtures';
import { Asm, R0, R1, R2, R3, R4, R6, R7, R10, Helper } from '../../src/ebpf/asm';
import { BpfMap } from '../../src/ebpf/maps';
import { loadProgram } from '../../src/ebpf/programs';
import { attachTracepoint } from '../../src/ebpf/attach';
import { closeAll } from '../../src/ebpf/cleanup';
import * as fs from 'node:fs';
import { captureProcess, forgetProcess, formatKstack, formatUstack, kernelSymbols, ksym, reloadKernelSymbols, usym } from '../../src/ebpf/symbolize';

after(() => closeAll());

const BPF_F_USER_STACK = 1 << 8;
const MAX_DEPTH = 127;

function stackAddrs(map: BpfMap, id: number): bigint[] {
  const v = map.lookup(id);
  assert.ok(v, `stack ${id} present`);
  const out: bigint[] = [];
  for (let i = 0; i < MAX_DEPTH; i++) {
    const a = v.readBigUInt64LE(i * 8);
    if (a === 0n) break;
    out.push(a);
  }
  return out;
}

kernelTest('kernel and user stacks of a traced syscall resolve to the known call chain, after the process exited', async (t) => {
  const fx = buildFixture('usdt_target');
  // The program is attached first and filters on a pid it reads from a map, so the fixture's
  // pause before its one iteration only has to cover a map update and the process capture.
  const target = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, name: 'sym_target' });
  // One stack map each: two stacks hashed into a small shared map can land in the same
  // bucket, and get_stackid then fails with -EEXIST for the second (1 time in 16 at 16 entries).
  const stacks = BpfMap.create({ type: 'stack_trace', keySize: 4, valueSize: MAX_DEPTH * 8, maxEntries: 16, name: 'sym_kstacks' });
  const ustacks = BpfMap.create({ type: 'stack_trace', keySize: 4, valueSize: MAX_DEPTH * 8, maxEntries: 16, name: 'sym_ustacks' });
  const ids = BpfMap.create({ type: 'array', keySize: 4, valueSize: 16, maxEntries: 1, name: 'sym_ids' });
  const a = new Asm();
  a.mov64(R6, R1);
  a.st('w', R10, -4, 0);
  a.ldMapFd(R1, target.fd);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.ldx('w', R7, R0, 0);
  a.call(Helper.get_current_pid_tgid);
  a.rsh64(R0, 32);
  a.jne(R0, R7, 'out');
  a.mov64(R1, R6);
  a.ldMapFd(R2, stacks.fd);
  a.mov64(R3, 0);
  a.call(Helper.get_stackid);
  a.mov64(R7, R0);
  a.mov64(R1, R6);
  a.ldMapFd(R2, ustacks.fd);
  a.mov64(R3, BPF_F_USER_STACK);
  a.call(Helper.get_stackid);
  a.stx('dw', R10, -16, R0);
  a.stx('dw', R10, -24, R7);
  a.st('w', R10, -4, 0);
  a.ldMapFd(R1, ids.fd);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.mov64(R3, R10);
  a.add64(R3, -24);
  a.mov64(R4, 0);
  a.call(Helper.map_update_elem);
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  const prog = loadProgram({ type: 'tracepoint', insns: a, name: 'sym_stacks' });
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
  const { pid, exited } = spawnTraced(t, fx, ['1', '0', 'world', String(Math.round(300 * timeScale))], target);
  // As the runtime does when a pid first appears: keep its maps for later.
  forgetProcess(pid);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(captureProcess(pid), 'captured while alive');
  try {
    await exited;
  } finally {
    link.close();
    prog.close();
  }
  const v = ids.lookup(0)!;
  const kid = v.readBigInt64LE(0);
  const uid = v.readBigInt64LE(8);
  assert.ok(kid >= 0n, `kernel stack id ${kid}`);
  assert.ok(uid >= 0n, `user stack id ${uid}`);
  const kaddrs = stackAddrs(stacks, Number(kid));
  const uaddrs = stackAddrs(ustacks, Number(uid));
  stacks.close();
  ustacks.close();
  target.close();
  ids.close();

  const knames = kaddrs.map((x) => ksym(x)?.name);
  assert.ok(knames.every((n) => n), `every kernel frame resolves: ${knames.join(', ')}`);
  const entry = process.arch === 'arm64' ? 'el0_svc' : 'do_syscall_64';
  assert.ok(knames.includes(entry), `syscall entry on the kernel stack: ${knames.join(', ')}`);
  const kstack = formatKstack(kaddrs);
  assert.match(kstack, /^\n( {8}\w+\+\d+\n)+$/);

  // The process is gone: only the snapshot can resolve these.
  const unames = uaddrs.map((x) => usym(pid, x)?.name ?? '?');
  const chain = unames.join(' < ');
  const iMid = unames.indexOf('fixture_middle');
  assert.ok(iMid >= 0, chain);
  // getppid in fixture_leaf keeps no frame of its own, so the unwinder goes from
  // libc's getppid (or fixture_leaf) straight into fixture_middle's frame.
  assert.deepEqual(unames.slice(iMid, iMid + 3), ['fixture_middle', 'fixture_outer', 'main'], chain);
  assert.ok(iMid >= 1 && /getppid|fixture_leaf/.test(unames[iMid - 1]), chain);
  assert.match(formatUstack(pid, uaddrs), /\n {8}fixture_middle\+\d+\n {8}fixture_outer\+\d+\n {8}main\+\d+\n/);
  assert.match(formatUstack(pid, uaddrs, { mode: 'perf' }), /\n\t[0-9a-f]+ fixture_outer\+\d+ \(\/\S+usdt_target\)\n/);
  forgetProcess(pid);
});

kernelTest('kallsyms: every 50th text symbol resolves back to itself (+1 byte)', () => {
  const text = fs.readFileSync('/proc/kallsyms', 'latin1');
  const byAddr = new Map<string, Set<string>>();
  const entries: [string, string, string | undefined][] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) (\w) (\S+)(?:\t\[(\S+)\])?$/.exec(line);
    if (!m || /^0+$/.test(m[1]) || m[2] === 'A' || m[2] === 'a') continue;
    const s = byAddr.get(m[1]) ?? new Set<string>();
    s.add(m[3]);
    byAddr.set(m[1], s);
    if ('tTwW'.includes(m[2])) entries.push([m[1], m[3], m[4]]);
  }
  const sortedAddrs = [...byAddr.keys()].map((a) => BigInt(`0x${a}`)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const next = new Map<bigint, bigint>();
  for (let i = 0; i + 1 < sortedAddrs.length; i++) next.set(sortedAddrs[i], sortedAddrs[i + 1]);
  reloadKernelSymbols(); // other tests in this file loaded programs since the table was cached
  const ks = kernelSymbols();
  let checked = 0;
  let modules = 0;
  for (let i = 0; i < entries.length; i += 50) {
    const [hex, , mod] = entries[i];
    const addr = BigInt(`0x${hex}`);
    const n = next.get(addr);
    if (n !== undefined && n - addr < 2n) continue;
    const r = ks.lookup(addr + 1n);
    assert.ok(r, hex);
    // Several names may share an address (aliases, data symbols): any of them is right.
    assert.ok(byAddr.get(hex)!.has(r.name), `${hex}: got ${r.name}+${r.offset}`);
    assert.equal(r.offset, 1);
    if (mod) {
      assert.equal(r.module, mod);
      modules++;
    }
    checked++;
    if (checked > 300) break;
  }
  assert.ok(checked > 100, `checked ${checked}`);
  // Module symbols (ftrace trampolines, bpf programs, modules) carry their [module]. They sit at the end
  // of kallsyms, past the sampled ones; bpf programs come and go (other tests run), so only those still
  // present when the table was parsed are checked.
  for (const [hex, name, mod] of entries.filter((e) => e[2]).slice(0, 50)) {
    const addr = BigInt(`0x${hex}`);
    if (ks.address(name) !== addr) continue;
    const n = next.get(addr);
    if (n !== undefined && n - addr < 2n) continue;
    assert.equal(ks.lookup(addr + 1n)?.module, mod, `${name} at ${hex}`);
    modules++;
  }
  if (entries.some((e) => e[2])) assert.ok(modules > 0, 'no module symbol was checked');
  const vfsRead = ks.address('vfs_read');
  assert.ok(vfsRead && vfsRead > 0xffff000000000000n);
  assert.equal(ks.lookup(vfsRead)?.name, 'vfs_read');
  assert.equal(ks.lookup(1n), undefined);
});

kernelTest('formatKstack resolves real kernel addresses', () => {
  const ks = kernelSymbols();
  const a = ks.address('vfs_read')!;
  const b = ks.address('ksys_read')!;
  assert.equal(formatKstack([a + 4n, b + 10n, 0n]), '\n        vfs_read+4\n        ksys_read+10\n');
});
