/**
 * Multi-attach links (issue 18): what kernels from 6.6 on have and 6.1 lacks,
 * exercised for real in the VM lane's 6.12 kernel (`test/vm/run --kernel 6.12`,
 * which expects kprobe_multi and uprobe_multi, so these fail there instead of
 * skipping). Each counts what a child did, exactly, per BPF cookie:
 *  - a kprobe_multi link on two syscall functions with a cookie each;
 *  - a uprobe_multi link on two libc functions of a process with a cookie each;
 *  - `kprobe:vfs_*` through the runtime, where one program serves every
 *    function from one kprobe_multi link and reads `probe` from the cookie,
 *    counts the same events as one kprobe per function (`func` splits it).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { featureTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { Target } from './lang-target';
import { Asm, R0, R1, R2, R6, R10, Helper } from '../../src/ebpf/asm';
import { BpfMap, sumU64 } from '../../src/ebpf/maps';
import { loadProgram } from '../../src/ebpf/programs';
import { attachKprobeMulti } from '../../src/ebpf/attach';
import { symbolFileOffset } from '../../src/ebpf/elf';
import { compile } from '../../src/lang/compile';
import { ScriptRuntime } from '../../src/runtime/run';
import { AttachType, closeFd, linkCreateUprobeMulti } from '../../src/sys/bpf';
import { hasFeature } from '../../src/sys/features';

/** Counts calls of process `pid` in slot bpf_get_attach_cookie() of a per-CPU array. */
function countByCookie(map: BpfMap, pid: number): Asm {
  const a = new Asm();
  a.mov64(R6, R1);
  a.call(Helper.get_current_pid_tgid);
  a.rsh64(R0, 32);
  a.jne(R0, pid, 'out');
  a.mov64(R1, R6);
  a.call(Helper.get_attach_cookie);
  a.stx('w', R10, -4, R0);
  a.ldMapFd(R1, map.fd);
  a.mov64(R2, R10);
  a.add64(R2, -4);
  a.call(Helper.map_lookup_elem);
  a.jeq(R0, 0, 'out');
  a.ldx('dw', R1, R0, 0);
  a.add64(R1, 1);
  a.stx('dw', R0, 0, R1);
  a.label('out');
  a.mov64(R0, 0);
  a.exit();
  return a;
}

const cookieMap = (): BpfMap => BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 32, name: 'cookie_counts' });
const countOf = (map: BpfMap, cookie: number): bigint => sumU64(map.lookupPerCpu(cookie) ?? [], 0);

featureTest('kprobe_multi: one link on two syscall functions counts each exactly, by its cookie', 'kprobe_multi', () => hasFeature('kprobe_multi'), async (t) => {
  if (process.arch !== 'x64') return t.skip('x86-64 syscall function names');
  const target = new Target(buildFixture('uprobe_target'));
  const map = cookieMap();
  const prog = loadProgram({ type: 'kprobe', insns: countByCookie(map, target.pid), name: 'kpm_cookie', expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
  try {
    // glibc's open() is openat(2); the fixture's "enoent N" makes N of them.
    const link = attachKprobeMulti(prog, ['__x64_sys_getppid', '__x64_sys_openat'], { cookies: [7n, 9n] });
    try {
      await target.do('getppid 41');
      await target.do('enoent 6');
    } finally {
      link.close();
    }
    await target.do('getppid 5'); // detached: not counted
    assert.equal(countOf(map, 7), 41n);
    assert.equal(countOf(map, 9), 6n);
  } finally {
    prog.close();
    map.close();
    await target.end();
  }
});

/** The libc a process maps (its path as the process sees it). */
function libcOf(pid: number): string {
  const line = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').find((l) => /\/libc[.-][^/]*so[^/]*$/.test(l));
  assert.ok(line, `process ${pid} maps no libc`);
  return line.slice(line.indexOf('/'));
}

featureTest('uprobe_multi: one link on two libc functions of one process counts each exactly, by its cookie', 'uprobe_multi', () => hasFeature('uprobe_multi'), async () => {
  const target = new Target(buildFixture('uprobe_target'));
  const map = cookieMap();
  const prog = loadProgram({ type: 'kprobe', insns: countByCookie(map, target.pid), name: 'upm_cookie', expectedAttachType: AttachType.TRACE_UPROBE_MULTI });
  try {
    await target.do('getppid 1'); // libc is mapped and the process is idle in read()
    const libc = libcOf(target.pid);
    const offsets = ['getppid', 'open'].map((s) => BigInt(symbolFileOffset(libc, s)));
    const fd = linkCreateUprobeMulti({ progFd: prog.fd, path: libc, offsets, cookies: [3n, 5n], pid: target.pid });
    try {
      await target.do('getppid 23');
      await target.do('enoent 4');
    } finally {
      closeFd(fd);
    }
    await target.do('getppid 2'); // detached: not counted
    assert.equal(countOf(map, 3), 23n);
    assert.equal(countOf(map, 5), 4n);
  } finally {
    prog.close();
    map.close();
    await target.end();
  }
});

/** Link types (fdinfo "link_type:") of this process's open bpf_link descriptors. */
function ownLinkTypes(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:bpf_link') continue;
      const m = /^link_type:\s+(\S+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (m) out.push(m[1]);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

/**
 * Runs `script` ($1 = the fixture's pid) through the runtime while the fixture
 * answers `rounds` commands (each one read(2) of stdin and one write(2) of
 * "ok"), and returns the printed map as key → count, with the link types the
 * runtime held while attached.
 */
async function vfsCounts(script: string, rounds: number): Promise<{ counts: Map<string, number>; links: string[] }> {
  const target = new Target(buildFixture('uprobe_target'));
  try {
    const art = compile({ name: 'test', text: script }, { params: [String(target.pid)] });
    let out = '';
    let links: string[] = [];
    let failure: unknown;
    const rt = new ScriptRuntime(art, {
      quiet: true, handleSignals: false, write: (s) => (out += s), message: () => {},
      onStart: (r) => void (async () => {
        links = ownLinkTypes();
        for (let i = 0; i < rounds; i++) await target.do('getppid 1');
      })().then(() => r.stop(0), (e: unknown) => { failure = e; r.stop(1); }),
    });
    await rt.run();
    if (failure) throw failure;
    const counts = new Map<string, number>();
    for (const m of out.matchAll(/^@\[(?:kprobe:)?([\w.]+)\]: (\d+)$/gm)) counts.set(m[1], Number(m[2]));
    return { counts, links };
  } finally {
    await target.end();
  }
}

featureTest('kprobe_multi: kprobe:vfs_* through one kprobe_multi link (probe from the cookie) counts what one kprobe per function counts', 'kprobe_multi', () => hasFeature('kprobe_multi'), async () => {
  const rounds = 25;
  // `probe` alone: one program for every vfs_* function, attached by one kprobe_multi link with a cookie per function.
  const multi = await vfsCounts('kprobe:vfs_* /pid == $1/ { @[probe] = count(); }', rounds);
  assert.ok(multi.links.includes('kprobe_multi'), `link types while attached: ${multi.links.join(', ')}`);
  // `func`: one program per function, each attached by a kprobe of its own.
  const single = await vfsCounts('kprobe:vfs_* /pid == $1/ { @[func] = count(); }', rounds);
  assert.ok(!single.links.includes('kprobe_multi'), `link types while attached: ${single.links.join(', ')}`);
  // Ground truth: one write(2) of "ok\n" per command; each read(2) of the next command starts after the previous answer.
  assert.equal(multi.counts.get('vfs_write'), rounds, [...multi.counts].join(' '));
  assert.equal(multi.counts.get('vfs_read'), rounds, [...multi.counts].join(' '));
  assert.deepEqual(Object.fromEntries([...multi.counts].sort()), Object.fromEntries([...single.counts].sort()));
}, { timeout: 300_000 });
