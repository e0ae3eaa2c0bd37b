/**
 * bpftrace 0.26 language and command line (issue 20), each through bin/tsbpf
 * with the output bpftrace 0.26's runtime tests expect (tests/runtime/* of
 * bpftrace's repository); feature ids are those of
 * shared/reference/bpftrace-features.md.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';

/** Runs a program and returns its stdout without the blank lines printed at exit. */
async function out(args: string[]): Promise<string> {
  const r = await runTsbpf(args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\n+$/, '\n');
}

kernelTest('0.26 CLI (C06): --probe-filter attaches only the matching probes; BEGIN and END always run', async () => {
  const o = await out(['--probe-filter', ':200', '-e',
    'BEGIN { printf("begin\\n"); } interval:ms:100 { printf("bad\\n"); exit(); } interval:ms:200 { printf("hit\\n"); exit(); } END { printf("end\\n"); }']);
  assert.equal(o, 'begin\nhit\nend\n');
});

kernelTest('BEGIN runs before the other probes are attached and END after they are detached, as in bpftrace', async () => {
  // BEGIN and END run through bpf(BPF_PROG_TEST_RUN = 10) in tsbpf's own thread, whose pid BEGIN records:
  // the exit of that syscall is seen by neither of the probes (it was BEGIN's when BEGIN ran after attaching)
  const o = await out(['-e', 'BEGIN { @me = pid; printf("begin\\n"); } tracepoint:syscalls:sys_enter_bpf /comm == "tsbpf"/ { @cmd[tid] = args.cmd; } ' +
    'tracepoint:syscalls:sys_exit_bpf /pid == @me && @cmd[tid] == 10/ { @runs[probe] = count(); } interval:ms:100 { exit(); } END { printf("end\\n"); clear(@cmd); }']);
  assert.match(o, /^begin\nend\n\n+@me: \d+\n$/, o);
});

kernelTest('0.26 CLI (C18): long options --output FILE and --quiet', async () => {
  const file = `/tmp/tsbpf-lang026-${process.pid}.txt`;
  try {
    const r = await runTsbpf(['-e', 'BEGIN { printf("SUCCESS %d\\n", 1); exit(); }', `--output=${file}`, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Attached/);
    assert.match(require('node:fs').readFileSync(file, 'utf8'), /^SUCCESS 1$/m);
  } finally {
    require('node:fs').rmSync(file, { force: true });
  }
});

kernelTest('0.26 values (S21, F08, F11, O10, O13): bools print true/false in text and JSON; printf %d gives 1/0', async () => {
  assert.equal(await out(['-e', 'BEGIN { print((true, false)); print(1 < 2); print(!1); @m[1] = 1; print(has_key(@m, 1)); print(strcontains("abc", "z")); printf("%d %d\\n", 1 == 1, 1 == 2); clear(@m); }']),
    '(true, false)\ntrue\nfalse\ntrue\nfalse\n1 0\n');
  assert.equal(await out(['-e', 'BEGIN { @a[true] = false; $c = 5; $z = 0; print(((bool)$c, (bool)$z, (bool)256)); }']),
    '(true, false, true)\n\n\n@a[true]: false\n');
  const json = await out(['-f', 'json', '-q', '-e', 'BEGIN { @a[true] = false; print(2 > 1); }']);
  assert.match(json, /^\{"type": "value", "data": true\}$/m);
  assert.match(json, /^\{"type": "map", "data": \{"@a": \{"true": false\}\}\}$/m);
});

kernelTest('0.26 macros (S07-S09): expression, $variable and @map parameters, hygiene, nesting, bare zero-argument use', async () => {
  assert.equal(await out(['-e', 'macro inc($x) { $x += 1; $x } macro add1(x) { x + 1 } macro add2(y) { y + add1(y) } macro one() { $x = 1; $x } macro set(@m) { @m[1] = 2; } '
    + 'BEGIN { $a = 1; $b = inc($a); $y = 2; print(($a, $b, add2(5), one, $y)); set(@t); }']), '(2, 2, 11, 1, 2)\n\n\n@t[1]: 2\n');
  // the argument expression runs at each place the macro uses it
  assert.equal(await out(['-e', 'macro twice(x) { x; x; } BEGIN { twice({ printf("hi") }); printf("\\n"); }']), 'hihi\n');
  // a user macro of a builtin's name and arity replaces it; of another arity it does not
  assert.equal(await out(['-e', 'macro cpu(x) { x } macro comm() { "mine" } BEGIN { printf("%s %s %d\\n", cpu("arg"), comm(), cpu() >= 0); }']), 'arg mine 1\n');
});

kernelTest('0.26 block and if expressions (S11, S12); call-style builtins (S56)', async () => {
  assert.equal(await out(['-e', 'BEGIN { $a = { let $b = 40; $b + 2 }; $c = if ($a == 42) { "yes" } else { "no" }; $d = $a > 50 ? { $e = 1; $e } : { $e = 2; $e }; print(($a, $c, $d)); }']),
    '(42, yes, 2)\n');
  assert.equal(await out(['-e', 'BEGIN { if (pid() == pid && __builtin_pid == pid && comm() == comm) { printf("same\\n"); } }']), 'same\n');
});

kernelTest('0.26 map declarations (S36, S37): hash(N) holds N keys and reports the lost update; lruhash evicts instead', async () => {
  const full = await runTsbpf(['-e', 'let @a = hash(1); BEGIN { @a[1] = 1; @a[2] = 2; }']);
  assert.equal(full.code, 0, full.stderr);
  assert.match(full.stdout, /WARNING: Map full; can't update element: lost 1 map update to @a/);
  assert.match(full.stdout, /^@a\[1\]: 1$/m);
  assert.doesNotMatch(full.stdout, /@a\[2\]/);
  const lru = await runTsbpf(['-e', 'let @a = lruhash(2); BEGIN { @a[0] = 0; @a[1] = 1; @a[2] = 2; }']);
  assert.equal(lru.code, 0, lru.stderr);
  assert.doesNotMatch(lru.stdout, /Map full/);
  assert.equal(lru.stdout.split('\n').filter((l) => /^@a\[\d\]: \d$/.test(l)).length, 2, lru.stdout);
  const unused = await runTsbpf(['-e', 'let @b = percpuhash(1); BEGIN { }']);
  assert.match(unused.stderr, /WARNING: Unused map: @b/);
});

kernelTest('0.26 named program options (C30, C31): getopt() values, -- --help lists them, unknown ones are refused', async () => {
  assert.equal(await out(['-e', 'BEGIN { print(($1, getopt("aa", 10), getopt("cc", "hello"), getopt("dd"), getopt("ee", true))); }', 'pos1', '--', '--aa=20', '--cc=bye', '--dd', '--ee=false']),
    '(pos1, 20, bye, true, false)\n');
  const help = await runTsbpf(['-e', 'BEGIN { print(getopt("aa", 10, "Description of aa")); }', '--', '--help']);
  assert.equal(help.code, 1, help.stderr);
  assert.match(help.stdout, /HINT: expected program options:\n {2}--aa: Description of aa/);
  const bad = await runTsbpf(['-e', 'BEGIN { print(getopt("aa", 10)); }', '--', '--bb']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unexpected program command line options: --bb/);
  assert.doesNotMatch(bad.stderr, /USAGE/);
});

kernelTest('0.26 errorf/warnf (F31, F32): the formatted text on stderr as a diagnostic naming the call; --no-warnings silences warnf', async () => {
  const r = await runTsbpf(['-e', 'BEGIN { errorf("bad: %d, %s", 10, "arg2"); $x = 0x12345678abcdef; warnf("%hhx %x\\n", $x, $x); printf("out\\n"); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^stdin:1:9-42: ERROR: bad: 10, arg2$/m);
  assert.match(r.stderr, /^stdin:1:67-93: WARNING: ef 78abcdef$/m);
  assert.equal(r.stdout.replace(/\n+$/, '\n'), 'out\n');
  const quiet = await runTsbpf(['--no-warnings', '-e', 'BEGIN { warnf("no warn"); }']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr + quiet.stdout, /no warn/);
});

kernelTest('0.26 standard library macros (F34, F36, F37): ppid, leader_tid of a -c child; assert() fails with its message and exit 1', async () => {
  const r = await runTsbpf(['-c', buildFixture('uprobe_target'), '-e',
    'BEGIN { printf("me %d\\n", pid); } tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { printf("child %d %d %d\\n", cpid, ppid, leader_tid); exit(); }'], { input: 'getppid 1\n' });
  assert.equal(r.code, 0, r.stderr);
  const me = /^me (\d+)$/m.exec(r.stdout)?.[1];
  const child = /^child (\d+) (\d+) (\d+)$/m.exec(r.stdout);
  assert.ok(me && child, r.stdout);
  assert.equal(child[2], me, 'the -c child\'s parent is tsbpf');
  assert.equal(child[3], child[1], 'a single-threaded child leads its thread group');
  const a = await runTsbpf(['-e', 'BEGIN { assert(1 == 1, "fine"); assert(false, "My error message"); printf("not reached\\n"); }']);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /^stdin:1:\d+-\d+: ERROR: assert failed: My error message$/m);
  assert.doesNotMatch(a.stdout, /not reached/);
});
