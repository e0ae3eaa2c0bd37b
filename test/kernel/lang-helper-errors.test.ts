/**
 * Issue 12 item 4: with -k every failed memory read is counted per call site
 * in the kernel and reported at exit (without -k the programs are unchanged).
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { runTsbpf } from '../helpers/tsbpf';
import { attachAll, FixtureProcess, loadScript } from './lang-helpers';
import { closeLinks } from '../../src/ebpf/attach';

kernelTest('-k: 9 reads of an unmapped address in 9 syscalls are 9 failures of that site; a good read counts none', async () => {
  const t = new FixtureProcess(buildFixture('uprobe_target'));
  const l = loadScript(`tracepoint:syscalls:sys_enter_getppid /pid == ${t.pid}/ { @bad = str(8); @good = comm; }`, { helperErrors: true });
  const links = attachAll(l);
  try {
    await t.do('getppid 9');
    const h = l.artifact.helperErrors!;
    assert.equal(h.sites.length, 1);
    assert.match(h.sites[0].helper, /^probe_read(_user)?_str$/);
    const counts = (l.maps[h.map].lookupPerCpu(0) ?? []).reduce((s, v) => s + v.readBigUInt64LE(0), 0n);
    assert.equal(counts, 9n);
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
  assert.equal(loadScript('BEGIN { @s = str(8); }').artifact.helperErrors, undefined, 'without -k nothing is counted');
});

kernelTest('-k: the runtime reports each failing read site at exit, with its position', async () => {
  const r = await runTsbpf(['-k', '-e', 'BEGIN { $p = (uint64)8;\n printf("[%s]\\n", str($p)); exit(); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^stdin:2:2: WARNING: 1 call to probe_read_str failed \(the memory could not be read\)$/m);
  const quiet = await runTsbpf(['-e', 'BEGIN { printf("[%s]\\n", str(8)); exit(); }']);
  assert.doesNotMatch(quiet.stderr, /WARNING/);
});
