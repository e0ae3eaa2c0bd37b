/**
 * Issue 12 item 4: a map update the kernel refuses (the map holds
 * max_map_keys entries) is counted per map in the kernel and reported, like
 * lost events; no update is lost silently.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { runTsbpf } from '../helpers/tsbpf';
import { attachAll, FixtureProcess, loadScript } from './lang-helpers';
import { closeLinks } from '../../src/ebpf/attach';

kernelTest('map full: 25 distinct keys into a 10-key map lose exactly 15 updates, counted for that map only', async () => {
  const t = new FixtureProcess(buildFixture('uprobe_target'));
  const l = loadScript(`config = { max_map_keys = 10 }
    tracepoint:syscalls:sys_enter_getppid /pid == ${t.pid}/ { @[nsecs] = count(); @total = count(); }`);
  const links = attachAll(l);
  try {
    await t.do('getppid 25');
    assert.equal(l.entries('@').length, 10);
    const counter = l.maps[l.artifact.mapErrorCounter as number];
    const lost = (name: string) => {
      const i = l.artifact.userMaps.findIndex((u) => u.name === name);
      return (counter.lookupPerCpu(i) ?? []).reduce((s, v) => s + v.readBigUInt64LE(0), 0n);
    };
    assert.equal(lost('@'), 15n);
    assert.equal(lost('@total'), 0n);
    assert.equal(l.scalar('@total'), 25n);
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
});

kernelTest('map full: the runtime reports lost updates per map at exit, in text and JSON', async () => {
  const script = 'config = { max_map_keys = 10 } BEGIN { $i = 0; while ($i < 25) { @a[$i] = 1; @b[$i % 5] = count(); $i++; } exit(); }';
  const r = await runTsbpf(['-e', script]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.filter((x) => x.startsWith('WARNING: Map full')), [
    "WARNING: Map full; can't update element: lost 15 map updates to @a (it holds 10 keys; config = { max_map_keys = N } or a map declaration raises it), or out of memory",
  ]);
  assert.equal(lines.filter((x) => x.startsWith('@a[')).length, 10);
  assert.equal(lines.filter((x) => x.startsWith('@b[')).length, 5);
  const j = await runTsbpf(['-f', 'json', '-e', script]);
  assert.equal(j.code, 0, j.stderr);
  assert.ok(j.stdout.split('\n').includes('{"type": "lost_map_updates", "data": {"map": "@a", "updates": 15, "max_entries": 10}}'), j.stdout);
});
