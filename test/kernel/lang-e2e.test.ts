/**
 * End-to-end checks of compiled scripts against exact ground truth: a child
 * process (test/fixtures/uprobe_target.c) performs a known number of
 * syscalls and function calls after the probes are attached, and the maps
 * and events must show exactly those.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { attachAll, FixtureProcess as Target, loadScript } from './lang-helpers';
import { closeLinks } from '../../src/ebpf/attach';
import { RingBufReader } from '../../src/ebpf/events';

kernelTest('lang e2e: tracepoint with pid filter counts exactly N syscalls; args fields are typed', async () => {
  const t = new Target(buildFixture('uprobe_target'));
  const l = loadScript(`
    tracepoint:syscalls:sys_enter_getppid /pid == ${t.pid}/ { @ = count(); @by[comm, tid] = count(); }
    tracepoint:syscalls:sys_exit_getppid /pid == ${t.pid}/ { @ret[args->ret] = count(); @neg = sum(args.ret < 0); }`);
  const links = attachAll(l);
  try {
    await t.do('getppid 137');
    assert.equal(l.scalar('@'), 137n);
    const by = l.entries('@by');
    assert.equal(by.length, 1);
    assert.equal(by[0][0].toString('latin1', 0, 16).replace(/\0.*$/s, ''), 'uprobe_target');
    assert.equal(by[0][0].readBigUInt64LE(16), BigInt(t.pid));
    const ret = l.entries('@ret');
    assert.equal(ret.length, 1);
    assert.equal(ret[0][0].readBigInt64LE(0), BigInt(process.pid)); // getppid() returns the test runner's pid
    assert.equal(ret[0][1].reduce((s, v) => s + v.readBigUInt64LE(0), 0n), 137n);
    assert.equal(l.scalar('@neg'), 0n);
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
});

kernelTest('lang e2e: uprobe args and uretprobe retval, printf records through the ring buffer', async () => {
  const bin = buildFixture('uprobe_target');
  const t = new Target(bin);
  const l = loadScript(`
    uprobe:${bin}:tsbpf_add /pid == ${t.pid}/ { @n = count(); @s = sum(arg0); printf("add %d %d %s\\n", arg0, arg1, comm); }
    uretprobe:${bin}:tsbpf_add /pid == ${t.pid}/ { @mx = max(retval); @h = hist(retval); }`);
  const records: Buffer[] = [];
  const ev = l.artifact.eventRing;
  const reader = new RingBufReader({ fd: l.maps[ev].fd, maxEntries: l.artifact.maps[ev].maxEntries }, (r) => records.push(Buffer.from(r)), { start: false });
  const links = attachAll(l);
  try {
    await t.do('add 50');
    assert.equal(l.scalar('@n'), 50n);
    assert.equal(l.scalar('@s'), 1225n);
    const lost = l.maps[l.artifact.lossCounter].lookupPerCpu(0) ?? [];
    assert.equal(lost.reduce((s, v) => s + v.readBigUInt64LE(0), 0n), 0n, 'no event was lost');
    const mx = l.entries('@mx')[0][1].map((v) => (v.readBigUInt64LE(8) ? v.readBigInt64LE(0) : -1n));
    assert.equal(mx.reduce((a, b) => (a > b ? a : b)), 50n);
    // drained synchronously: the records were all submitted before the child answered
    reader.drainNow();
    assert.equal(records.length, 50);
    const spec = l.artifact.events[Number(records[0].readBigUInt64LE(0))];
    assert.equal(spec.kind, 'printf');
    if (spec.kind !== 'printf') return;
    const seen = records.map((r) => Number(r.readBigInt64LE(spec.fields[0].offset))).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i));
    assert.ok(records.every((r) => r.readBigInt64LE(spec.fields[1].offset) === 1n));
    assert.ok(records.every((r) => r.toString('latin1', spec.fields[2].offset, spec.fields[2].offset + 13) === 'uprobe_target'));
  } finally {
    closeLinks(links);
    reader.close();
    l.close();
    await t.end();
  }
});
