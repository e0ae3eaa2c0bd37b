/**
 * The architecture description (src/arch) against the running kernel, on any
 * architecture tsbpf knows — the arm64 VM lane's smoke test (test/vm/run --arch
 * arm64), and the same checks on x86-64 hosts and VMs:
 *
 * - `struct pt_regs` in the kernel's BTF has the size and register offsets the
 *   description says (the compiler reads argN, retval, sp and ip from them);
 * - a tracepoint counts exactly N syscalls of a child, and raw_syscalls' `id`
 *   equals the number the syscall table gives for getppid;
 * - a uprobe and a uretprobe on a fixture function read its arguments and its
 *   result from the registers the description names (sums known exactly);
 * - a kprobe on the syscall's kernel wrapper (named by the architecture's
 *   prefix: __x64_sys_getppid, __arm64_sys_getppid) counts exactly N calls.
 */
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { featureTest, kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { loadScript, type Loaded } from './lang-helpers';
import { Target, attachAll } from './lang-target';
import { runTsbpf } from '../helpers/tsbpf';
import { hostArch, type Arch } from '../../src/arch';
import { Btf } from '../../src/ebpf/btf';
import { attachKprobe, closeLinks, type Link } from '../../src/ebpf/attach';
import { hasFeature } from '../../src/sys/features';
import { runningKernel } from '../../src/target/kernel';

function arch(): Arch {
  const a = hostArch();
  assert.ok(a, `tsbpf has no description of ${process.arch}`);
  return a;
}

kernelTest('arch: the machine is the architecture tsbpf describes (uname -m), and the one the lane asked for', () => {
  const a = arch();
  assert.equal(os.machine(), a.name);
  if (process.env.TSBPF_VM_ARCH) assert.equal(os.machine(), process.env.TSBPF_VM_ARCH);
});

kernelTest('arch: struct pt_regs in the kernel BTF has the size and register offsets of the description', () => {
  const a = arch();
  const btf = Btf.vmlinux();
  const id = btf.find('pt_regs', 'struct');
  assert.ok(id !== undefined, 'the kernel BTF has struct pt_regs');
  assert.equal(btf.sizeOf(id), a.ptRegsSize);
  for (const [reg, off] of Object.entries(a.ptRegs)) {
    // arm64 names x0..x30 what the kernel declares as regs[31]
    const x = /^x(\d+)$/.exec(reg);
    const btfOff: number = x ? btf.memberOffset(id, 'regs') + 8 * Number(x[1]) : btf.memberOffset(id, reg);
    assert.equal(btfOff, off, `pt_regs.${reg}`);
  }
  for (const r of [...a.argRegs, a.retReg, a.ipReg, a.spReg]) assert.ok(a.ptRegs[r] !== undefined, r);
});

kernelTest('arch: a tracepoint counts exactly N getppid calls, and raw_syscalls id is the table\'s number for getppid', async () => {
  const nr = runningKernel().syscallNumbers()?.get('getppid');
  assert.ok(nr !== undefined, 'the syscall table has getppid');
  const t = new Target(buildFixture('uprobe_target'));
  let l: Loaded | undefined;
  let links: Link[] = [];
  try {
    l = loadScript(`
      tracepoint:syscalls:sys_enter_getppid /pid == $1/ { @n = count(); }
      tracepoint:raw_syscalls:sys_enter /pid == $1 && args.id == ${nr}/ { @raw = count(); }`, { params: [String(t.pid)] });
    links = attachAll(l);
    await t.do('getppid 173');
    assert.equal(l.scalar('@n'), 173n);
    assert.equal(l.scalar('@raw'), 173n);
  } finally {
    closeLinks(links);
    l?.close();
    await t.end();
  }
});

kernelTest('arch: uprobe arguments and uretprobe retval come from the described registers', async () => {
  const bin = buildFixture('uprobe_target');
  const t = new Target(bin);
  let l: Loaded | undefined;
  let links: Link[] = [];
  try {
    // tsbpf_add(i, 1) for i in 0..N-1 returns i + 1
    l = loadScript(`
      uprobe:${bin}:tsbpf_add /pid == $1/ { @calls = count(); @a0 = sum(arg0); @a1 = sum(arg1); }
      uretprobe:${bin}:tsbpf_add /pid == $1/ { @ret = sum(retval); }`, { params: [String(t.pid)] });
    links = attachAll(l);
    const n = 61n;
    await t.do(`add ${n}`);
    assert.equal(l.scalar('@calls'), n);
    assert.equal(l.scalar('@a0'), (n * (n - 1n)) / 2n);
    assert.equal(l.scalar('@a1'), n);
    assert.equal(l.scalar('@ret'), (n * (n + 1n)) / 2n);
  } finally {
    closeLinks(links);
    l?.close();
    await t.end();
  }
});

featureTest('arch: a kprobe on the architecture\'s syscall wrapper counts exactly N getppid calls', 'kprobes', () => hasFeature('kprobes'), async () => {
  const wrapper = `${arch().syscallFunctionPrefixes[0]}getppid`;
  const t = new Target(buildFixture('uprobe_target'));
  let l: Loaded | undefined;
  const links: Link[] = [];
  try {
    l = loadScript(`kprobe:${wrapper} /pid == $1/ { @n = count(); }`, { params: [String(t.pid)] });
    l.artifact.programs.forEach((p, i) => {
      for (const a of p.attach) if (a.kind === 'kprobe') links.push(attachKprobe(l!.programs[i], a.func, { retprobe: a.retprobe }));
    });
    assert.equal(links.length, 1);
    await t.do('getppid 89');
    assert.equal(l.scalar('@n'), 89n);
  } finally {
    closeLinks(links);
    l?.close();
    await t.end();
  }
});

kernelTest('arch: USDT arguments in this architecture\'s operand forms (registers, memory off a register, constants) read exactly', async () => {
  const bin = buildFixture('usdt_target');
  // 5 iterations: loop(i, i*3, 5, -1) as the compiler wrote it, raw_forms' hand-written
  // note (33, 9, &fixture_table, -3, 2); -c starts the fixture once the probes are attached.
  const r = await runTsbpf(['-c', `${bin} 5`, '-e',
    `usdt:${bin}:app:loop { @i = sum(arg0); @i3 = sum(arg1); @five = sum(arg2); @neg = sum(arg3); }
     usdt:${bin}:app:raw_forms { @n = count(); @t2 = sum(arg0); @c1 = sum(arg1); @m = sum(arg3); @dl = sum(arg4); }`]);
  assert.equal(r.code, 0, r.stderr);
  const v = (name: string): string | undefined => new RegExp(`^@${name}: (-?\\d+)$`, 'm').exec(r.stdout)?.[1];
  assert.deepEqual([v('i'), v('i3'), v('five'), v('neg')], ['10', '30', '25', '-5'], r.stdout);
  assert.deepEqual([v('n'), v('t2'), v('c1'), v('m'), v('dl')], ['5', '165', '45', '-15', '10'], r.stdout);
});
