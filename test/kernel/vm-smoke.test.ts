/**
 * Proves the VM lane (test/vm/run): on a kernel with kprobes the kprobe PMU is
 * registered and a kprobe_events probe on vfs_read can be created, fires
 * exactly once per read(2) of this thread, and is removed without trace. On
 * hosts without kprobes these skip, unless TSBPF_EXPECT_FEATURES names the
 * feature (the VM lane sets kprobes,kprobe_events,fentry), then they fail.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { featureTest } from '../helpers/kernel';

const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe';

/** tracefs mount point, mounting it at the usual place when nothing is mounted. */
function tracefs(): string | undefined {
  for (const dir of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (fs.existsSync(path.join(dir, 'events'))) return dir;
  }
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return fs.existsSync('/sys/kernel/tracing/events') ? '/sys/kernel/tracing' : undefined;
}

function hasKprobeEvents(): boolean {
  const t = tracefs();
  return t !== undefined && fs.existsSync(path.join(t, 'kprobe_events'));
}

/** kprobe_events takes one command per write; O_APPEND keeps other probes. */
function kprobeCommand(t: string, cmd: string): void {
  fs.writeFileSync(path.join(t, 'kprobe_events'), cmd + '\n', { flag: 'a' });
}

featureTest('vm-smoke: the kprobe PMU is registered', 'kprobes', () => fs.existsSync(KPROBE_PMU), () => {
  // perf_event_open(2) takes this number as attr.type for kprobe events.
  const type = Number(fs.readFileSync(path.join(KPROBE_PMU, 'type'), 'utf8').trim());
  assert.ok(Number.isInteger(type) && type > 0, `kprobe PMU type ${type}`);
  // The retprobe bit position the attach code will rely on.
  assert.equal(fs.readFileSync(path.join(KPROBE_PMU, 'format', 'retprobe'), 'utf8').trim(), 'config:0');
});

featureTest('vm-smoke: a kprobe_events probe on vfs_read counts exactly N reads and leaves nothing', 'kprobe_events', hasKprobeEvents, () => {
  const t = tracefs()!;
  const group = 'tsbpf_vmsmoke';
  const event = `vfs_read_${process.pid}`;
  // A private trace instance: our events never mix with (or clear) the global buffer.
  const instance = path.join(t, 'instances', `tsbpf_vmsmoke_${process.pid}`);
  const N = 17;
  let probeAdded = false;
  let fd = -1;
  try {
    kprobeCommand(t, `p:${group}/${event} vfs_read`);
    probeAdded = true;
    const id = Number(fs.readFileSync(path.join(t, 'events', group, event, 'id'), 'utf8').trim());
    assert.ok(id > 0, `event id ${id}`);
    assert.match(fs.readFileSync(path.join(t, 'kprobe_events'), 'utf8'), new RegExp(`^p:${group}/${event} vfs_read`, 'm'));

    fs.mkdirSync(instance);
    const ev = path.join(instance, 'events', group, event);
    // Main thread only: node's helper threads may read files at any moment.
    fs.writeFileSync(path.join(ev, 'filter'), `common_pid == ${process.pid}`);
    fd = fs.openSync('/proc/self/stat', 'r');
    const buf = Buffer.alloc(16);
    // Between enable and disable this thread makes exactly N read-type
    // syscalls; each pread64 goes through vfs_read once.
    fs.writeFileSync(path.join(ev, 'enable'), '1');
    for (let i = 0; i < N; i++) fs.readSync(fd, buf, 0, buf.length, 0);
    fs.writeFileSync(path.join(ev, 'enable'), '0');

    const hits = fs.readFileSync(path.join(instance, 'trace'), 'utf8').split('\n').filter((l) => l.includes(` ${event}: `));
    assert.equal(hits.length, N, `kprobe hits in trace instance:\n${hits.slice(0, 5).join('\n')}`);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (fs.existsSync(instance)) fs.rmdirSync(instance);
    if (probeAdded) kprobeCommand(t, `-:${group}/${event}`);
  }
  assert.ok(!fs.existsSync(instance), 'trace instance removed');
  assert.ok(!fs.existsSync(path.join(t, 'events', group, event)), 'event directory removed');
  assert.doesNotMatch(fs.readFileSync(path.join(t, 'kprobe_events'), 'utf8'), new RegExp(`${group}/${event}`));
});
