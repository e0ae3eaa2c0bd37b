/**
 * kprobe/kretprobe and fentry: programs pass the verifier everywhere; where
 * kprobes exist (the VM lane), they count exactly what the child did; where
 * they do not (our hosts), running names the missing feature and the
 * tracepoint that observes the same event, in one sentence.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { featureTest, kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { loadScript, type Loaded } from './lang-helpers';
import { Target, sum } from './lang-target';
import { compile } from '../../src/lang/compile';
import { runScript, ScriptRuntime } from '../../src/runtime/run';
import { attachKprobe, attachTracing, closeLinks, type Link } from '../../src/ebpf/attach';
import { hasFeature, MissingFeatureError } from '../../src/sys/features';

kernelTest('lang kprobe: kprobe/kretprobe programs with args, retval, func and a latency pair pass the verifier', () => {
  const l = loadScript(`
    kprobe:vfs_read { @[comm] = count(); @start[tid] = nsecs; @a = sum(arg2); @f[func] = count(); }
    kretprobe:vfs_read /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); @r = hist(retval); @rf[func] = count(); }
    kprobe:vfs_write+4 { @w = count(); }`);
  try {
    assert.equal(l.programs.length, 3);
    assert.deepEqual(l.artifact.programs.map((p) => p.type), ['kprobe', 'kprobe', 'kprobe']);
  } finally {
    l.close();
  }
});

kernelTest('lang kprobe: without kprobes, running fails with one sentence naming the feature and the tracepoint to use', async (t) => {
  if (hasFeature('kprobes')) {
    t.skip('this kernel has kprobes');
    return;
  }
  const art = compile({ name: 'test', text: 'kprobe:vfs_read { @[comm] = count(); } kretprobe:vfs_read { @r = hist(retval); }' });
  const out: string[] = [];
  await assert.rejects(
    runScript(art, { quiet: true, handleSignals: false, write: (s) => out.push(s), message: (s) => out.push(s) }),
    (e: unknown) => {
      assert.ok(e instanceof MissingFeatureError);
      assert.equal(e.message, 'kprobes are not available: this kernel is built without CONFIG_KPROBES (no kprobe PMU and no kprobe_events); tracepoint:syscalls:sys_enter_read observes read(2) calls');
      return true;
    },
  );
  const ret = compile({ name: 'test', text: 'kretprobe:tcp_connect { @ = count(); } kprobe:some_helper_without_tracepoint { @x = count(); }' });
  const specs = ret.programs.flatMap((p) => p.attach);
  assert.deepEqual(specs.map((s) => (s.kind === 'kprobe' ? s.alternative : '')), [
    'tracepoint:syscalls:sys_exit_connect observes connect(2) returns',
    "no tracepoint observes some_helper_without_tracepoint() directly (tsbpf -l 'tracepoint:*' lists the ones this kernel has)",
  ]);
});

kernelTest('lang fentry: a refused tracing program load names the missing feature', async (t) => {
  if (hasFeature('fentry')) {
    t.skip('this kernel has fentry');
    return;
  }
  const art = compile({ name: 'test', text: 'fentry:vfs_read { @ = count(); }' });
  await assert.rejects(runScript(art, { quiet: true, handleSignals: false, write: () => {}, message: () => {} }), (e: unknown) => {
    assert.ok(e instanceof MissingFeatureError);
    assert.match(e.message, /^fentry\/fexit are not available: .*; tracepoint:syscalls:sys_enter_read observes read\(2\) calls$/);
    return true;
  });
});

function attachKprobes(l: Loaded): Link[] {
  const links: Link[] = [];
  try {
    l.artifact.programs.forEach((p, i) => {
      for (const a of p.attach) {
        if (a.kind === 'kprobe') links.push(attachKprobe(l.programs[i], a.func, { retprobe: a.retprobe, offset: a.offset }));
        else if (a.kind === 'fentry' || a.kind === 'fexit') links.push(attachTracing(l.programs[i], a.func));
      }
    });
  } catch (e) {
    closeLinks(links);
    throw e;
  }
  return links;
}

featureTest('lang kprobe: kprobe/kretprobe on the getppid syscall count exactly N calls, retval is the parent pid', 'kprobes', () => hasFeature('kprobes'), async () => {
  const t = new Target(buildFixture('uprobe_target'));
  let l: Loaded;
  try {
    l = loadScript(`
      kprobe:__x64_sys_getppid /pid == $1/ { @n = count(); @start[tid] = nsecs; }
      kretprobe:__x64_sys_getppid /pid == $1 && @start[tid]/ { @ret = sum(retval); @lat = count(); delete(@start[tid]); }`, { params: [String(t.pid)] });
  } catch (e) {
    await t.end();
    throw e;
  }
  const links = attachKprobes(l);
  try {
    await t.do('getppid 137');
    assert.equal(l.scalar('@n'), 137n);
    assert.equal(l.scalar('@lat'), 137n);
    assert.equal(l.scalar('@ret'), 137n * BigInt(process.pid));
    assert.equal(l.entries('@start').length, 0);
    void sum;
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
});

kernelTest('lang fentry: args come from the BTF prototype of the function, fexit reads retval after them', () => {
  const art = compile({ name: 'test', text: 'fexit:vfs_read { @c = sum(args.count); @r = hist(retval); }' });
  const p = art.programs[0];
  assert.equal(p.type, 'tracing');
  assert.equal(p.expectedAttachType, 'fexit');
  // vfs_read(struct file *file, char *buf, size_t count, loff_t *pos): count is the third u64 slot, the return value the fifth
  const loads = p.insns.filter((i) => i.code === 0x79 && i.src === 6).map((i) => i.off);
  assert.ok(loads.includes(16), `args.count read at ctx+16 (${loads.join(',')})`);
  assert.ok(loads.includes(32), `retval read at ctx+32 (${loads.join(',')})`);
  assert.throws(() => compile({ name: 'test', text: 'fentry:vfs_read { @ = args.nosuchparam; }' }), /no field 'nosuchparam'|has no field/);
});

featureTest('lang fentry: fentry/fexit on do_nanosleep count exactly N sleeps with BTF args and retval', 'fentry', () => hasFeature('fentry'), async () => {
  // syscall wrappers are not in every kernel's BTF (6.1 lacks __x64_sys_*); do_nanosleep is, and each sleep(1) calls it once
  const l = loadScript(`
    fentry:do_nanosleep /comm == "sleep"/ { @n = count(); @a = sum(args.t != 0); }
    fexit:do_nanosleep /comm == "sleep"/ { @x = count(); @ret = sum(retval); }`);
  const links = attachKprobes(l);
  try {
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((res, rej) => {
        const p = spawn('sleep', ['0.01'], { stdio: 'ignore' });
        p.on('error', rej);
        p.on('exit', () => res());
      });
    }
    assert.equal(l.scalar('@n'), 3n);
    assert.equal(l.scalar('@a'), 3n);
    assert.equal(l.scalar('@x'), 3n);
    assert.equal(l.scalar('@ret'), 0n);
  } finally {
    closeLinks(links);
    l.close();
  }
});

featureTest('lang kprobe: one program on several functions (kprobe_multi where the kernel has it) counts exactly through the runtime', 'kprobes', () => hasFeature('kprobes'), async () => {
  const t = new Target(buildFixture('uprobe_target'));
  try {
    const art = compile({ name: 'test', text: 'kprobe:__x64_sys_getppid, kprobe:__x64_sys_getpgrp, kprobe:__x64_sys_getpid /pid == $1/ { @n = count(); }' }, { params: [String(t.pid)] });
    assert.equal(art.programs.length, 1);
    assert.equal(art.programs[0].attach.length, 3);
    let out = '';
    let failure: unknown;
    const rt = new ScriptRuntime(art, {
      quiet: true, handleSignals: false, write: (s) => (out += s), message: () => {},
      onStart: (r) => void t.do('getppid 137').then(() => r.stop(0), (e: unknown) => { failure = e; r.stop(1); }),
    });
    await rt.run();
    if (failure) throw failure;
    assert.match(out, /@n: 137\n/);
  } finally {
    await t.end();
  }
});
