/**
 * uprobe and usdt binaries named by wildcards (issue 20, P rows): `-l` over
 * every ELF file a path wildcard matches, `uprobe:*:FUNC -p PID` over every
 * object the process maps, `-l -p PID` and `-l '*:BIN:*'` including the
 * binary's probes. Counts come from the fixture doing exactly what the test
 * asks after attach (test/fixtures/uprobe_target.c).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf, tsbpfBin } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';
import { track } from './tools-harness';
import { Target } from './lang-target';

kernelTest('uprobe wildcards: -l over the ELF files a path wildcard matches, and *:BIN:* lists the binary\'s uprobes', async () => {
  const bin = buildFixture('uprobe_target');
  const dir = path.dirname(bin);
  const r = await runTsbpf(['-l', `uprobe:${dir}/uprobe_tar*:tsbpf_*`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [`uprobe:${bin}:tsbpf_add`]);
  const all = await runTsbpf(['-l', `*:${bin}:*`]);
  assert.equal(all.code, 0, all.stderr);
  assert.ok(all.stdout.split('\n').includes(`uprobe:${bin}:tsbpf_add`), all.stdout);
  assert.ok(!all.stdout.split('\n').some((l) => l.startsWith('tracepoint:')), 'a binary pattern lists that binary only');
});

kernelTest('uprobe wildcards: uprobe:*:FUNC -p PID attaches in the objects the process maps; -l -p PID lists them', async () => {
  const bin = buildFixture('uprobe_target');
  const target = new Target(bin);
  try {
    await target.do('add 0'); // the process is up and has mapped its libraries
    const listed = await runTsbpf(['-l', '-p', String(target.pid)]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.split('\n').includes(`uprobe:${bin}:tsbpf_add`), listed.stdout.slice(0, 2000));
    const t = track(spawn(tsbpfBin, ['-p', String(target.pid), '-e', 'uprobe:*:tsbpf_a* { @calls = count(); }'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1' },
    }));
    await t.waitFor('__BPFTRACE_NOTIFY_PROBES_ATTACHED');
    await target.do('add 6');
    const r = await t.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Attached 1 probe/);
    assert.match(r.stdout, /^@calls: 6$/m, r.stdout);
  } finally {
    await target.end();
  }
  const none = await runTsbpf(['-p', String(process.pid), '-e', 'uprobe:*:tsbpf_no_such_function { exit(); }']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no function matches 'tsbpf_no_such_function' in the objects of process/);
});
