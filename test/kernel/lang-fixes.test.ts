/**
 * Wrong results of issue 19, each reproduced through bin/tsbpf with the
 * output bpftrace gives: exit() ends the action, a ternary of statements runs
 * one of them, %% prints %.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

async function out(script: string, params: string[] = []): Promise<string> {
  const r = await runTsbpf(['-e', script, ...params]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\n+$/, '\n'); // the blank lines printed at exit

}

kernelTest('lang fixes: exit() ends the probe action; what follows it never runs, END still does', async () => {
  assert.match(await out('interval:ms:100 { @++; if (@) { exit(); } @++ }'), /^@: 1$/m);
  const o = await out('BEGIN { printf("a\\n"); exit(); printf("b\\n"); } END { printf("end\\n"); }');
  assert.equal(o, 'a\nend\n');
});

kernelTest('lang fixes: records behind an exit() record are not printed (a busy probe prints its line once)', async () => {
  // one thread calls getppid 200 times: its records are in order in the ring, the first exit() ends the output
  const r = await runTsbpf(['-c', buildFixture('uprobe_target'), '-e',
    'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("hit\\n"); exit(); }'], { input: 'getppid 200\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l === 'hit').length, 1, r.stdout);
});

kernelTest('lang fixes: a ternary of printf statements prints one branch; %% prints %', async () => {
  assert.equal(await out('BEGIN { nsecs ? printf("yes\\n") : printf("no"); 0 ? printf("yes\\n") : printf("no\\n"); exit(); }'), 'yes\nno\n');
  assert.equal(await out('BEGIN { printf("100%%\\n"); printf("%d%%|%%\\n", 5); exit(); }'), '100%\n5%|%\n');
});

kernelTest('lang fixes: uint64 literals and keys print unsigned', async () => {
  const o = await out('BEGIN { @a[18446744073709551615] = 1; @b[(uint64)0 - 2] = 2; @c[(int32)-1] = 3; @v = 18446744073709551615; exit(); }');
  assert.match(o, /^@a\[18446744073709551615\]: 1$/m);
  assert.match(o, /^@b\[18446744073709551614\]: 2$/m);
  assert.match(o, /^@c\[-1\]: 3$/m);
  assert.match(o, /^@v: 18446744073709551615$/m);
});

kernelTest('lang fixes: positionals: 0775 is octal, str($N) of a number is its text, BEG$1 expands', async () => {
  const o = await out('BEG$1 { printf("%d %d [%s] [%s] [%s]\\n", $2, $3, str($2), str($4), str($2, 2)); exit(); }', ['IN', '0775', '0x10', 'abc']);
  assert.equal(o, '509 16 [0775] [abc] [07]\n');
});

kernelTest('lang fixes: two probes on one uprobe/uretprobe function both run, in script order', async () => {
  const bin = buildFixture('uprobe_target');
  const r = await runTsbpf(['-c', `/bin/sh -c 'echo add 1 | ${bin}'`, '-e', `
    uprobe:${bin}:tsbpf_add { printf("first"); } uprobe:${bin}:tsbpf_add { printf(" second\\n"); }
    uretprobe:${bin}:tsbpf_add { printf("r1"); } uretprobe:${bin}:tsbpf_add { printf(" r2\\n"); }`]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.ok(lines.includes('first second'), r.stdout);
  assert.ok(lines.includes('r1 r2'), r.stdout);
});

kernelTest('cpid (F row): the -c command\'s pid, in BEGIN and in probes filtered to it; refused without -c', async () => {
  // the command prints its own pid; the shell execs it, so that is the pid bpftrace's cpid names
  const r = await runTsbpf(['-c', `/bin/sh -c 'echo child $$; sleep 0.1'`, '-e',
    'BEGIN { printf("cpid %d\\n", cpid); } tracepoint:syscalls:sys_enter_exit_group /pid == cpid/ { @exits = count(); }']);
  assert.equal(r.code, 0, r.stderr);
  const child = /^child (\d+)$/m.exec(r.stdout), seen = /^cpid (\d+)$/m.exec(r.stdout);
  assert.ok(child && seen, r.stdout);
  assert.equal(seen[1], child[1]);
  assert.match(r.stdout, /^@exits: 1$/m); // the shell's own exit, not its sleep child's, nobody else's
  const bad = await runTsbpf(['-e', 'BEGIN { print(cpid); exit(); }']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^tsbpf: cpid is the pid of the command run with -c CMD, and no command was given$/m);
});

kernelTest('lang fixes: a USDT wildcard over 3 probes at 6 sites attaches 3 probes (bpftrace counts probes, not sites) and fires at every site', async () => {
  const bin = buildFixture('usdt_multi');
  const r = await runTsbpf(['-c', bin, '-e', `usdt:${bin}:multi:* /pid == cpid/ { @sites = count(); }`], { input: 'go\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^Attached 3 probes$/m);
  assert.match(r.stdout, /^@sites: 6$/m);
});

kernelTest('lang fixes: comparisons as printf arguments (issue 19 item 3: "out of registers" beside the record pointer)', async () => {
  const r = await runTsbpf(['-c', buildFixture('uprobe_target'), '-e',
    'tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("%d %d %d %d\\n", pid == tid, pid != tid, tid == cpid, pid < 1); }'], { input: 'getppid 2\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => /^\d/.test(l)), ['1 0 1 0', '1 0 1 0']);
});
