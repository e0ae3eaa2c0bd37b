/**
 * Proves the VM lane (test/vm/run): on a kernel with kprobes the kprobe PMU is
 * registered and a kprobe_events probe on vfs_read can be created, fires
 * exactly once per pread(2) of this thread, and is removed without trace; on a
 * kernel with fentry a BPF fentry program on vfs_read counts exactly those
 * reads too. On hosts without these features the tests skip, unless
 * TSBPF_EXPECT_FEATURES names the feature (the VM lane sets
 * kprobes,kprobe_events,fentry), then they fail.
 *
 * Deliberately built from raw bpf(2) attrs and tracefs files, not the
 * library, so the lane can be trusted before the library's attach code is.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { featureTest } from '../helpers/kernel';
import { Asm, FP, R0, R1, R2 } from '../../src/ebpf/asm/builder';
import { Helper } from '../../src/ebpf/asm/helpers';
import { check } from '../../src/sys/errno';
import { native } from '../../src/sys/native';

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

// ---- fentry ------------------------------------------------------------------

const BPF_MAP_CREATE = 0, BPF_MAP_LOOKUP_ELEM = 1, BPF_PROG_LOAD = 5, BPF_RAW_TRACEPOINT_OPEN = 17;
const BPF_MAP_TYPE_ARRAY = 2, BPF_PROG_TYPE_TRACING = 26, BPF_TRACE_FENTRY = 24;
const BTF_KIND_FUNC = 12;
/** Covers every attr field used here; zero tail bytes are accepted by any kernel. */
const ATTR_SIZE = 144;

/** Type id of the kernel function `name` in vmlinux BTF, found by walking the type section. */
function vmlinuxFuncId(name: string): number | undefined {
  let btf: Buffer;
  try {
    btf = fs.readFileSync('/sys/kernel/btf/vmlinux');
  } catch {
    return undefined;
  }
  if (btf.readUInt16LE(0) !== 0xeb9f) return undefined;
  const hdrLen = btf.readUInt32LE(4);
  const typeStart = hdrLen + btf.readUInt32LE(8), typeEnd = typeStart + btf.readUInt32LE(12);
  const strStart = hdrLen + btf.readUInt32LE(16);
  const want = Buffer.from(name + '\0');
  // Bytes that follow each kind's 12-byte common header (kinds 1..19).
  const extra = (kind: number, vlen: number): number => {
    switch (kind) {
      case 1: case 14: case 17: return 4; // INT, VAR, DECL_TAG
      case 3: return 12; // ARRAY
      case 4: case 5: case 15: case 19: return 12 * vlen; // STRUCT, UNION, DATASEC, ENUM64
      case 6: case 13: return 8 * vlen; // ENUM, FUNC_PROTO
      default: return 0;
    }
  };
  let off = typeStart;
  for (let id = 1; off < typeEnd; id++) {
    const nameOff = btf.readUInt32LE(off), info = btf.readUInt32LE(off + 4);
    const kind = (info >>> 24) & 0x1f, vlen = info & 0xffff;
    if (kind === BTF_KIND_FUNC && btf.compare(want, 0, want.length, strStart + nameOff, strStart + nameOff + want.length) === 0) return id;
    off += 12 + extra(kind, vlen);
  }
  return undefined;
}

/** Loads an fentry program on `funcId`; returns the fd or a negative errno, with the verifier log. */
function loadFentry(insns: Buffer, funcId: number): { fd: number; log: string } {
  const attr = Buffer.alloc(ATTR_SIZE);
  const license = Buffer.from('GPL\0');
  const log = Buffer.alloc(64 * 1024);
  attr.writeUInt32LE(BPF_PROG_TYPE_TRACING, 0);
  attr.writeUInt32LE(insns.length / 8, 4);
  attr.writeUInt32LE(1, 24); // log_level
  attr.writeUInt32LE(log.length, 28);
  attr.write('tsbpf_vmsmoke', 48);
  attr.writeUInt32LE(BPF_TRACE_FENTRY, 68);
  attr.writeUInt32LE(funcId, 108);
  const fd = native().bpf(BPF_PROG_LOAD, attr, [[attr, 8, insns], [attr, 16, license], [attr, 32, log]]);
  const end = log.indexOf(0);
  return { fd, log: log.toString('utf8', 0, end < 0 ? log.length : end).trim() };
}

function hasFentry(): boolean {
  const id = vmlinuxFuncId('vfs_read');
  if (id === undefined) return false;
  const a = new Asm();
  a.mov64(R0, 0);
  a.exit();
  const { fd, log } = loadFentry(a.assemble(), id);
  if (fd < 0) {
    console.error(`vm-smoke: fentry probe load failed (errno ${-fd})${log ? `: ${log}` : ''}`);
    return false;
  }
  native().close(fd);
  return true;
}

featureTest('vm-smoke: an fentry program on vfs_read counts exactly N reads of this thread', 'fentry', hasFentry, () => {
  const nat = native();
  const N = 23;
  const fds: number[] = [];
  let readFd = -1;
  try {
    const mapAttr = Buffer.alloc(ATTR_SIZE);
    mapAttr.writeUInt32LE(BPF_MAP_TYPE_ARRAY, 0);
    mapAttr.writeUInt32LE(4, 4);
    mapAttr.writeUInt32LE(8, 8);
    mapAttr.writeUInt32LE(1, 12);
    const mapFd = check('bpf(BPF_MAP_CREATE)', nat.bpf(BPF_MAP_CREATE, mapAttr));
    fds.push(mapFd);

    // if (current tid == ours) counts[0]++  — the main thread's tid is the pid.
    const a = new Asm();
    a.call(Helper.get_current_pid_tgid);
    a.lsh64(R0, 32);
    a.rsh64(R0, 32);
    a.jne(R0, process.pid, 'out');
    a.st('w', FP, -4, 0);
    a.ldMapFd(R1, mapFd);
    a.mov64(R2, FP);
    a.add64(R2, -4);
    a.call(Helper.map_lookup_elem);
    a.jeq(R0, 0, 'out');
    a.mov64(R1, 1);
    a.atomicAdd('dw', R0, 0, R1);
    a.label('out');
    a.mov64(R0, 0);
    a.exit();
    const { fd: progFd, log } = loadFentry(a.assemble(), vmlinuxFuncId('vfs_read')!);
    check('bpf(BPF_PROG_LOAD)', progFd, log);
    fds.push(progFd);

    readFd = fs.openSync('/proc/self/stat', 'r');
    const buf = Buffer.alloc(16);
    const openAttr = Buffer.alloc(ATTR_SIZE);
    openAttr.writeUInt32LE(progFd, 8);
    const linkFd = check('bpf(BPF_RAW_TRACEPOINT_OPEN)', nat.bpf(BPF_RAW_TRACEPOINT_OPEN, openAttr));
    fds.push(linkFd);
    for (let i = 0; i < N; i++) fs.readSync(readFd, buf, 0, buf.length, 0);
    nat.close(fds.pop()!); // detach before anything else of ours can read

    const key = Buffer.alloc(4), value = Buffer.alloc(8);
    const lookup = Buffer.alloc(ATTR_SIZE);
    lookup.writeUInt32LE(mapFd, 0);
    check('bpf(BPF_MAP_LOOKUP_ELEM)', nat.bpf(BPF_MAP_LOOKUP_ELEM, lookup, [[lookup, 8, key], [lookup, 16, value]]));
    assert.equal(value.readBigUInt64LE(0), BigInt(N));
  } finally {
    if (readFd >= 0) fs.closeSync(readFd);
    for (const fd of fds.reverse()) nat.close(fd);
  }
});
