/**
 * Wildcard syscall tracepoints served by one raw_syscalls program: the same
 * script attached per tracepoint and merged must count exactly the same, and
 * exactly what the child did.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { loadScript, type Loaded } from './lang-helpers';
import { Target, attachAll, sum } from './lang-target';
import { closeLinks } from '../../src/ebpf/attach';

function byProbe(l: Loaded, map: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [k, vs] of l.entries(map)) out.set(l.artifact.probeNames[Number(k.readBigUInt64LE(0))], BigInt.asIntN(64, sum(vs)));
  return out;
}

async function run(perTracepoint: boolean): Promise<{ enter: Map<string, bigint>; ret: Map<string, bigint>; ids: Map<string, bigint>; programs: number; attach: string[] }> {
  const t = new Target(buildFixture('uprobe_target'));
  let l: Loaded;
  try {
    l = loadScript(`
      tracepoint:syscalls:sys_enter_get* /pid == $1/ { @e[probe] = count(); @id[args.__syscall_nr] = count(); }
      tracepoint:syscalls:sys_exit_get* /pid == $1/ { @r[probe] = sum(args.ret); }`, { params: [String(t.pid)], perTracepoint });
  } catch (e) {
    await t.end();
    throw e;
  }
  const links = attachAll(l);
  try {
    await t.do('getppid 137');
    const ids = new Map<string, bigint>();
    for (const [k, vs] of l.entries('@id')) ids.set(String(k.readBigInt64LE(0)), sum(vs));
    return {
      enter: byProbe(l, '@e'),
      ret: byProbe(l, '@r'),
      ids,
      programs: l.artifact.programs.length,
      attach: l.artifact.programs.flatMap((p) => p.attach.map((a) => (a.kind === 'tracepoint' ? `${a.category}:${a.event}` : a.kind))),
    };
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
}

kernelTest('lang syscalls: sys_enter_get*/sys_exit_get* merged into raw_syscalls count exactly like per-tracepoint attach', async () => {
  const merged = await run(false);
  assert.deepEqual(merged.attach, ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit']);
  assert.equal(merged.enter.get('tracepoint:syscalls:sys_enter_getppid'), 137n);
  assert.equal(merged.ret.get('tracepoint:syscalls:sys_exit_getppid'), 137n * BigInt(process.pid));
  assert.equal(merged.ids.get('110'), 137n); // __NR_getppid
  const separate = await run(true);
  assert.ok(separate.programs > 16, `per-tracepoint attach uses one program per tracepoint (${separate.programs})`);
  assert.deepEqual(merged.enter, separate.enter);
  assert.deepEqual(merged.ret, separate.ret);
  assert.deepEqual(merged.ids, separate.ids);
}, { timeout: 120_000 });

kernelTest('lang syscalls: args.id and shared argument fields in a merged program', async () => {
  const t = new Target(buildFixture('uprobe_target'));
  let l: Loaded;
  try {
    l = loadScript(`tracepoint:syscalls:sys_enter_get* /pid == $1/ { @id[args.id] = count(); @nr = sum(args.__syscall_nr); }`, { params: [String(t.pid)] });
  } catch (e) {
    await t.end();
    throw e;
  }
  const links = attachAll(l);
  try {
    await t.do('getppid 20');
    const ids = l.entries('@id').map(([k, vs]) => [k.readBigInt64LE(0), sum(vs)]);
    assert.deepEqual(ids, [[110n, 20n]]);
    assert.equal(l.scalar('@nr'), 2200n);
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
});

kernelTest('lang syscalls: a merged program ignores 32-bit compat syscalls like the per-syscall tracepoints do', async (t) => {
  let bin: string;
  try {
    bin = buildFixture('compat32', ['-m32', '-nostdlib', '-static']);
  } catch {
    t.skip('cannot build a 32-bit fixture here (cc -m32)');
    return;
  }
  const l = loadScript('tracepoint:syscalls:sys_enter_* /comm == "compat32"/ { @e[probe] = count(); } tracepoint:syscalls:sys_enter_semget /comm == "compat32"/ { @semget = count(); }');
  const links = attachAll(l);
  try {
    assert.equal(l.artifact.programs.filter((p) => p.attach.some((a) => a.kind === 'tracepoint' && a.category === 'raw_syscalls')).length, 1);
    await new Promise<void>((res, rej) => {
      const p = spawn(bin, [], { stdio: 'ignore' });
      p.on('error', rej);
      p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`compat32 exited with ${code}`))));
    });
    // ia32 getppid is number 64 = x86-64 semget: counting it would be the bug
    assert.deepEqual([...byProbe(l, '@e')], []);
    assert.equal(l.scalar('@semget') ?? 0n, 0n); // a key-less count: a per-CPU array whose one entry stays 0
  } finally {
    closeLinks(links);
    l.close();
  }
});
