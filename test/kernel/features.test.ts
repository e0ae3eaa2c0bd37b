import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { kernelTest } from '../helpers/kernel';
import { featureReport, featureNames, hasFeature, hasHelper, requireFeature, MissingFeatureError, kernelRelease } from '../../src/sys/features';
import {
  tracefsRoot, tracepointId, tracepointFormat, listTracepoints, UnknownTracepointError, listOwnProbeEvents, removeStaleProbeEvents,
} from '../../src/sys/tracefs';
import { ProgType } from '../../src/sys/bpf';
import { buildFixture } from '../helpers/fixtures';
import { symbolFileOffset } from '../../src/ebpf/elf';

kernelTest('feature report: every named feature answered, consistent with sysfs/tracefs', () => {
  const r = featureReport();
  assert.equal(r.release, os.release());
  assert.equal(kernelRelease(), os.release());
  assert.deepEqual(Object.keys(r.features).sort(), [...featureNames].sort());
  for (const v of Object.values(r.features)) assert.equal(typeof v, 'boolean');
  const dev = '/sys/bus/event_source/devices';
  assert.equal(r.features.kprobe_pmu, fs.existsSync(`${dev}/kprobe`));
  assert.equal(r.features.uprobe_pmu, fs.existsSync(`${dev}/uprobe`));
  assert.equal(r.features.kprobe_events, fs.existsSync(`${tracefsRoot()}/kprobe_events`));
  assert.equal(r.features.kprobes, r.features.kprobe_pmu || r.features.kprobe_events);
  assert.equal(r.features.btf_vmlinux, fs.existsSync('/sys/kernel/btf/vmlinux'));
  assert.equal(r.progTypes.tracepoint, true);
  // Ring buffers exist since 5.8; every kernel this project supports has them.
  assert.equal(r.features.ringbuf, true);
});

kernelTest('requireFeature: a missing feature is one sentence naming it; unknown names are a programming error', () => {
  for (const f of featureNames) {
    if (hasFeature(f)) {
      assert.doesNotThrow(() => requireFeature(f));
      continue;
    }
    assert.throws(() => requireFeature(f), (e: unknown) => {
      assert.ok(e instanceof MissingFeatureError);
      assert.equal(e.feature, f);
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.message, /not (available|supported)/);
      return true;
    });
  }
  assert.throws(() => hasFeature('warp_drive'), /unknown feature 'warp_drive'/);
});

kernelTest('helper probe: existing helpers are found, unknown ids are not', () => {
  assert.equal(hasHelper(14, ProgType.KPROBE), true); // get_current_pid_tgid
  assert.equal(hasHelper(9999, ProgType.KPROBE), false);
});

kernelTest('tracefs: tracepoint ids, wildcard listing, format fields, unknown tracepoints', () => {
  const id = tracepointId('syscalls', 'sys_enter_getppid');
  assert.equal(id, Number(fs.readFileSync(`${tracefsRoot()}/events/syscalls/sys_enter_getppid/id`, 'utf8')));
  const names = listTracepoints('syscalls', 'sys_enter_get*pid').map((t) => t.event);
  assert.ok(names.includes('sys_enter_getppid') && names.includes('sys_enter_getpid'));
  assert.ok(names.every((n) => /^sys_enter_get.*pid$/.test(n)));
  const f = tracepointFormat('syscalls', 'sys_enter_openat');
  assert.equal(f.id, tracepointId('syscalls', 'sys_enter_openat'));
  const filename = f.fields.find((x) => x.name === 'filename')!;
  assert.equal(filename.type, 'const char *');
  assert.equal(filename.size, 8);
  assert.ok(f.commonFields.some((x) => x.name === 'common_pid'));
  const comm = tracepointFormat('sched', 'sched_switch').fields.find((x) => x.name === 'prev_comm')!;
  assert.equal(comm.arrayLen, 16);
  assert.equal(comm.type, 'char[16]');
  assert.throws(() => tracepointId('syscalls', 'sys_enter_nope'), UnknownTracepointError);
  assert.throws(() => tracepointFormat('nope', 'nope'), /tracepoint nope:nope does not exist/);
});

/** A node child that attaches a tracefs uprobe, says "ready", then `mode`s. */
function childScript(mode: 'wait' | 'throw'): string {
  const dist = path.join(__dirname, '..', '..', 'src');
  const target = buildFixture('uprobe_target');
  const off = symbolFileOffset(target, 'tsbpf_add');
  return `
const { loadProgram } = require(${JSON.stringify(path.join(dist, 'ebpf', 'programs.js'))});
const { attachUprobe } = require(${JSON.stringify(path.join(dist, 'ebpf', 'attach.js'))});
const insns = Buffer.from('b7000000000000009500000000000000', 'hex');
const prog = loadProgram({ type: 'kprobe', insns });
attachUprobe(prog, ${JSON.stringify(target)}, ${off}n, { method: 'tracefs' });
process.stdout.write('ready\\n');
${mode === 'throw' ? "setTimeout(() => { throw new Error('boom'); }, 50);" : 'setInterval(() => {}, 1000);'}
`;
}

function uprobeLinesOf(pid: number): string[] {
  return fs.readFileSync(`${tracefsRoot()}/uprobe_events`, 'utf8').split('\n').filter((l) => l.includes(`tsbpf_${pid}_`));
}

async function runChild(mode: 'wait' | 'throw', signal?: NodeJS.Signals): Promise<{ code: number | null; pid: number; seen: number }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-')), 'child.js');
  fs.writeFileSync(file, childScript(mode));
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const pid = child.pid!;
    let seen = 0;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('child never became ready')), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(t);
          seen = uprobeLinesOf(pid).length;
          if (signal) child.kill(signal);
          resolve();
        }
      });
      child.on('exit', () => { clearTimeout(t); resolve(); });
    });
    const code = await exited;
    return { code, pid, seen };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

kernelTest('SIGTERM and SIGINT: the probe event is removed and the exit code is 128+signal', async () => {
  for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    const r = await runChild('wait', sig);
    assert.equal(r.seen, 1, `the child had created its uprobe event (${sig})`);
    assert.equal(r.code, code);
    assert.deepEqual(uprobeLinesOf(r.pid), [], `no uprobe event left after ${sig}`);
  }
});

kernelTest('an uncaught exception still removes the probe event', async () => {
  const r = await runChild('throw');
  assert.equal(r.seen, 1);
  assert.equal(r.code, 1);
  assert.deepEqual(uprobeLinesOf(r.pid), []);
});

kernelTest('removeStaleProbeEvents removes entries of dead tsbpf processes only', () => {
  const dead = spawnSync('true').pid!;
  const target = buildFixture('uprobe_target');
  const off = symbolFileOffset(target, 'tsbpf_add');
  const file = `${tracefsRoot()}/uprobe_events`;
  fs.appendFileSync(file, `p:uprobes/tsbpf_${dead}_0 ${target}:0x${off.toString(16)}\n`);
  try {
    assert.equal(uprobeLinesOf(dead).length, 1);
    assert.ok(listOwnProbeEvents().some((e) => e.pid === dead));
    assert.ok(removeStaleProbeEvents() >= 1);
    assert.deepEqual(uprobeLinesOf(dead), []);
  } finally {
    try { fs.appendFileSync(file, `-:uprobes/tsbpf_${dead}_0\n`); } catch { /* already gone */ }
  }
});
