/**
 * BTF offsets used by a real BPF program: read task_struct fields of the
 * current task (bpf_get_current_task + probe_read_kernel at offsets from our
 * BTF reader) and compare with what the kernel says independently
 * (bpf_get_current_pid_tgid, /proc/PID/stat, /proc/PID/comm).
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { kernelTest, timeScale } from '../helpers/kernel';
import { buildFixture, spawnTraced } from '../helpers/fixtures';
import { Asm, R0, R1, R2, R3, R6, R7, R8, R9, R10, Helper } from '../../src/ebpf/asm';
import { BpfMap } from '../../src/ebpf/maps';
import { loadProgram } from '../../src/ebpf/programs';
import { attachTracepoint } from '../../src/ebpf/attach';
import { closeAll } from '../../src/ebpf/cleanup';
import { Btf } from '../../src/ebpf/btf';

after(() => closeAll());

/** probe_read_kernel(fp+dst, size, r8 + off): r8 holds the base pointer. */
function readKernel(a: Asm, dst: number, size: number, off: number): void {
  a.mov64(R1, R10);
  a.add64(R1, dst);
  a.mov64(R2, size);
  a.mov64(R3, R8);
  a.add64(R3, off);
  a.call(Helper.probe_read_kernel);
}

kernelTest('task_struct offsets from BTF read the same pid, tgid, comm and mm->arg_start the kernel reports', async (t) => {
  const btf = Btf.vmlinux();
  const pidOff = btf.memberOffset('task_struct', 'pid');
  const tgidOff = btf.memberOffset('task_struct', 'tgid');
  const commOff = btf.memberOffset('task_struct', 'comm');
  const argStart = btf.memberAccess('task_struct', 'mm->arg_start');
  assert.equal(argStart.steps.length, 2);

  const fx = buildFixture('usdt_target');
  // The program is loaded and attached first, filtering on a pid it reads from a map; the
  // fixture starts after that and waits 300 ms before its first iteration, which only has to
  // cover writing its pid into the map (a busy machine delays loading, not a map update).
  const target = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1, name: 'btf_target' });
  // value: pid_tgid u64 | pid u32 | tgid u32 | arg_start u64 | comm[16] | count u64
  const map = BpfMap.create({ type: 'array', keySize: 4, valueSize: 48, maxEntries: 1, name: 'btf_task' });
  const a = new Asm();
  a.st('w', R10, -4, 0);
  a.ldMapFd(R1, target.fd);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.ldx('w', R9, R0, 0);
  a.call(Helper.get_current_pid_tgid);
  a.mov64(R7, R0);
  a.rsh64(R0, 32);
  a.jne(R0, R9, 'out');
  a.call(Helper.get_current_task);
  a.mov64(R8, R0);
  for (let off = -8; off >= -48; off -= 8) a.st('dw', R10, off, 0);
  readKernel(a, -8, 4, pidOff);
  readKernel(a, -16, 4, tgidOff);
  readKernel(a, -48, 16, commOff);
  readKernel(a, -24, 8, argStart.steps[0]);
  a.ldx('dw', R8, R10, -24);
  readKernel(a, -32, 8, argStart.steps[1]);
  a.st('w', R10, -52, 0);
  a.ldMapFd(R1, map.fd);
  a.mov64(R2, R10);
  a.add64(R2, -52);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.mov64(R6, R0);
  a.stx('dw', R6, 0, R7);
  a.ldx('w', R1, R10, -8);
  a.stx('w', R6, 8, R1);
  a.ldx('w', R1, R10, -16);
  a.stx('w', R6, 12, R1);
  a.ldx('dw', R1, R10, -32);
  a.stx('dw', R6, 16, R1);
  a.ldx('dw', R1, R10, -48);
  a.stx('dw', R6, 24, R1);
  a.ldx('dw', R1, R10, -40);
  a.stx('dw', R6, 32, R1);
  a.ldx('dw', R1, R6, 40);
  a.add64(R1, 1);
  a.stx('dw', R6, 40, R1);
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  const prog = loadProgram({ type: 'tracepoint', insns: a, name: 'btf_task' });
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getppid');
  // 3 iterations, 50 ms apart, after the 300 ms pause.
  const { pid, exited } = spawnTraced(t, fx, ['3', '50', 'world', String(Math.round(300 * timeScale))], target);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)"; arg_start is field 48 (proc(5)).
  const wantArgStart = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[48 - 3]);
  assert.ok(wantArgStart > 0n);
  try {
    await exited;
  } finally {
    link.close();
    prog.close();
  }
  const v = map.lookup(0)!;
  map.close();
  target.close();
  const pidTgid = v.readBigUInt64LE(0);
  assert.equal(v.readBigUInt64LE(40), 3n, 'the fixture calls getppid once per iteration');
  assert.equal(v.readUInt32LE(8), Number(pidTgid & 0xffffffffn), 'task->pid == lower half of bpf_get_current_pid_tgid');
  assert.equal(v.readUInt32LE(12), Number(pidTgid >> 32n), 'task->tgid == upper half');
  assert.equal(v.readUInt32LE(12), pid);
  assert.equal(v.readBigUInt64LE(16), wantArgStart, 'task->mm->arg_start == /proc/PID/stat arg_start');
  assert.equal(v.subarray(24, 40).toString('latin1').replace(/\0.*$/s, ''), 'usdt_target');
});
