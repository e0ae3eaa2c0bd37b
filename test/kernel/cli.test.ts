/**
 * bin/tsbpf's command line, run as a user runs it: program sources (-e, FILE,
 * stdin), parameters, listing (-l/-lv vs bpftrace), -p, -c, -o, -q, -B,
 * --dry-run, --verify, -v, -d, -h, -V, signals (maps printed, END run,
 * nothing left behind), and errors (FILE:LINE:COL with the source line and a
 * caret placed where bpftrace places it; never a stack trace; a sentence when
 * not root).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest, timeScale } from '../helpers/kernel';
import { hasFeature } from '../../src/sys/features';
import {
  hasBpftrace, hasStackTrace, pidsMatching, repoRoot, runBpftrace, runCommand, runTsbpf, stripAttaching, tracefsProbeEntries, tsbpfBin,
  type RunResult,
} from '../helpers/tsbpf';
import { bpftrace023, peerAvailable, runPeer } from '../helpers/peers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-cli-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** The workload's comm, unique to this test process (concurrent runs must not count each other). */
const COMM = `cw${process.pid}`.slice(0, 15);
let workPath: string | undefined;
/** The conformance workload (test/fixtures/conf_work.c), static, in a private directory. */
function work(): string {
  if (workPath) return workPath;
  const out = path.join(tmp, COMM);
  execFileSync('cc', ['-O0', '-static', '-o', out, path.join(repoRoot, 'test', 'fixtures', 'conf_work.c')], { stdio: 'pipe' });
  return (workPath = out);
}

function ok(r: RunResult): void {
  assert.ok(!hasStackTrace(r.stderr), `stack trace:\n${r.stderr}`);
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

/** A user-facing failure: non-zero exit, no stack trace. */
function fails(r: RunResult): void {
  assert.ok(!hasStackTrace(r.stderr), `stack trace:\n${r.stderr}`);
  assert.notEqual(r.code, 0, `expected failure\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.signal, null);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- program sources and parameters ----------------------------------------------------------

kernelTest('-e, FILE and - (stdin) run the same program', async () => {
  const prog = 'BEGIN { printf("hi %d\\n", 1); exit(); }';
  const file = path.join(tmp, 'p.bt');
  fs.writeFileSync(file, prog);
  for (const r of [await runTsbpf(['-e', prog]), await runTsbpf([file]), await runTsbpf(['-'], { input: prog })]) {
    ok(r);
    assert.equal(r.stdout, 'hi 1\n\n\n');
    assert.equal(r.stderr, 'Attached 1 probe\n');
  }
});

kernelTest('positional parameters after FILE: $1 as int, str($2), $#', async () => {
  const file = path.join(tmp, 'params.bt');
  fs.writeFileSync(file, 'BEGIN { printf("%d %s %d\\n", $1 + 1, str($2), $#); exit(); }');
  const r = await runTsbpf([file, '41', 'word']);
  ok(r);
  assert.equal(r.stdout, '42 word 2\n\n\n');
  if (hasBpftrace()) assert.equal(stripAttaching((await runBpftrace([file, '41', 'word'])).stdout), r.stdout, 'bpftrace 0.17');
  if (peerAvailable(bpftrace023)) assert.equal(stripAttaching((await runPeer(bpftrace023, [file, '41', 'word'])).stdout), r.stdout, 'bpftrace 0.23');
});

kernelTest('missing script file: one sentence, exit 1', async () => {
  const r = await runTsbpf([path.join(tmp, 'nope.bt')]);
  fails(r);
  assert.match(r.stderr, /nope\.bt/);
});

// ---- listing ----------------------------------------------------------------------------------

kernelTest('-l and -lv list sys_enter_open* exactly as bpftrace does', async () => {
  for (const flag of ['-l', '-lv']) {
    const r = await runTsbpf([flag, 'tracepoint:syscalls:sys_enter_open*']);
    ok(r);
    assert.match(r.stdout, /^tracepoint:syscalls:sys_enter_openat$/m);
    if (flag === '-lv') assert.match(r.stdout, /^ {4}const char \* filename$/m);
    if (hasBpftrace()) {
      const b = await runBpftrace([flag, 'tracepoint:syscalls:sys_enter_open*']);
      assert.equal(r.stdout, b.stdout, `${flag} differs from bpftrace 0.17`);
    }
    if (peerAvailable(bpftrace023)) {
      const b = await runPeer(bpftrace023, [flag, 'tracepoint:syscalls:sys_enter_open*']);
      assert.equal(r.stdout, b.stdout, `${flag} differs from bpftrace 0.23`);
    }
  }
});

// ---- options ----------------------------------------------------------------------------------

kernelTest('-o FILE gets the program output, -q drops "Attached", stdout stays empty', async () => {
  const out = path.join(tmp, 'out.txt');
  const r = await runTsbpf(['-q', '-o', out, '-e', 'BEGIN { printf("to file\\n"); @ = 3; exit(); }']);
  ok(r);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, '');
  assert.equal(fs.readFileSync(out, 'utf8'), 'to file\n\n\n@: 3\n');
});

kernelTest('-B none|line|full produce the same bytes; a bad mode is a usage error', async () => {
  const prog = 'BEGIN { printf("a\\n"); printf("b\\n"); @x[1] = 2; exit(); }';
  for (const mode of ['none', 'line', 'full']) {
    const r = await runTsbpf(['-B', mode, '-e', prog]);
    ok(r);
    assert.equal(r.stdout, 'a\nb\n\n\n@x[1]: 2\n', `-B ${mode}`);
  }
  const bad = await runTsbpf(['-B', 'bogus', '-e', prog]);
  fails(bad);
  assert.match(bad.stderr, /bogus/);
});

kernelTest('-c CMD: traces the command, exits when it exits, counts exactly its syscalls', async () => {
  const bin = work();
  const r = await runTsbpf(['-c', `${bin} getppid 12`, '-e', `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { @ = count(); }`], { timeoutMs: 20_000 });
  ok(r);
  assert.equal(r.timedOut, false);
  assert.equal(r.stdout, '\n\n@: 12\n');
});

kernelTest('-p PID: uprobes fire only for that process', async () => {
  const bin = work();
  // long spins, killed at the end: tsbpf may start slowly on a loaded machine, and 15x
  // slower under emulation (the VM lane: a 20 s spin ended before tsbpf attached, ESRCH)
  const spinMs = String(Math.round(20_000 * timeScale));
  const a = spawn(bin, ['spin', spinMs], { stdio: 'ignore' });
  const b = spawn(bin, ['spin', spinMs], { stdio: 'ignore' });
  try {
    const r = await runTsbpf(['-p', String(a.pid), '-e', `uprobe:${bin}:now_ms { @[pid] = count(); }`], { stopWhen: { text: 'Attached', delayMs: 1200 }, timeoutMs: 20_000 });
    ok(r);
    const keys = [...r.stdout.matchAll(/^@\[(\d+)\]: (\d+)$/gm)];
    assert.deepEqual(keys.map((k) => Number(k[1])), [a.pid], `${r.stdout}\n${r.stderr}`);
    assert.ok(Number(keys[0][2]) > 10);
  } finally {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  }
  const bad = await runTsbpf(['-p', 'abc', '-e', 'BEGIN { exit(); }']);
  fails(bad);
});

kernelTest('--dry-run attaches and exits 0 without running BEGIN', async () => {
  const r = await runTsbpf(['--dry-run', '-e', 'BEGIN { printf("begin ran\\n"); } tracepoint:syscalls:sys_enter_getppid { @ = count(); }']);
  ok(r);
  assert.doesNotMatch(r.stdout, /begin ran/);
  assert.match(r.stderr, /Attached 2 probes/);
});

kernelTest('--verify: kprobe programs pass without kprobes; a program the kernel rejects fails with the verifier\'s reason at its line', async () => {
  const good = await runTsbpf(['--verify', '-e', 'kprobe:vfs_read { @ = count(); }']);
  ok(good);
  assert.match(good.stderr, /passed the kernel verifier/);
  const prog = 'BEGIN {\n  $i = 0;\n  while ($i < 100000000) { $i++; @[$i] = count(); }\n}';
  const bad = await runTsbpf(['--verify', '-e', prog]);
  fails(bad);
  assert.match(bad.stderr, /^stdin:3:\d+(-\d+)?: ERROR: the kernel verifier rejected this: .*(too complex|too large|infinite loop|limit)/m);
  assert.match(bad.stderr, /^ {2}while \(\$i < 100000000\)/m);
});

kernelTest('-v prints instruction counts and verifier statistics', async () => {
  const r = await runTsbpf(['-v', '-e', 'BEGIN { @ = count(); exit(); }']);
  ok(r);
  assert.match(r.stderr, /Program \S+ \(BEGIN\): \d+ instructions/);
  assert.match(r.stderr, /processed \d+ insns/);
});

kernelTest('-d ast|types|codegen dump the stages without loading anything', async () => {
  const prog = 'BEGIN { @x = 1; exit(); }';
  const ast = await runTsbpf(['-d', 'ast', '-e', prog]);
  ok(ast);
  assert.match(ast.stdout, /BEGIN/);
  assert.match(ast.stdout, /exit/);
  const types = await runTsbpf(['-d', 'types', '-e', prog]);
  ok(types);
  assert.match(types.stdout, /@x :: int64/);
  const cg = await runTsbpf(['-d', 'codegen', '-e', prog]);
  ok(cg);
  assert.match(cg.stdout, /^\s+\d+: \(\w\w\) /m);
  for (const r of [ast, types, cg]) assert.doesNotMatch(r.stderr, /Attached/);
});

kernelTest('-h prints usage (exit 0), -V the version, an unknown option is a usage error', async () => {
  const h = await runTsbpf(['-h']);
  ok(h);
  assert.match(h.stdout, /^USAGE:/);
  const v = await runTsbpf(['-V']);
  ok(v);
  assert.match(v.stdout, /^tsbpf v\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown[^)]*)\)\n$/);
  const u = await runTsbpf(['--frobnicate']);
  fails(u);
  assert.match(u.stderr, /unknown option '--frobnicate'/);
});

// ---- signals and cleanup ----------------------------------------------------------------------

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  kernelTest(`${sig}: END runs, maps print, exit 0, no tracefs entries or children left`, async () => {
    const bin = work();
    const before = tracefsProbeEntries();
    const tag = `pause_${sig}_${process.pid}`;
    // a -c child that only ends when signalled, plus a uprobe on the workload binary
    const r = await runTsbpf(['-c', `${bin} getppid 3 tag ${tag} pause`, '-e',
      `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { @calls = count(); } uprobe:${bin}:now_ms { @u = count(); } END { printf("end ran\\n"); }`],
    { stopWhen: { text: 'ready', delayMs: 500 }, stopSignal: sig, timeoutMs: 20_000 });
    ok(r);
    assert.equal(r.timedOut, false);
    assert.match(r.stdout, /^end ran$/m);
    assert.match(r.stdout, /^@calls: 3$/m);
    // the child may take a moment to handle SIGTERM and be reaped
    for (let i = 0; i < 20 && pidsMatching(tag).length; i++) await sleep(100);
    const left = pidsMatching(tag);
    if (left.length) assert.fail(`the -c child survived: ${execFileSync('ps', ['-o', 'pid,ppid,stat,args', '-p', left.join(',')], { encoding: 'utf8' })}`);
    assert.deepEqual(tracefsProbeEntries().filter((e) => !before.includes(e)), [], 'tracefs probe entries left behind');
  });
}

kernelTest('__BPFTRACE_NOTIFY_PROBES_ATTACHED=1: the line comes once every probe is live (bpftrace\'s test-harness protocol)', async () => {
  const bin = work();
  const env = { ...process.env, __BPFTRACE_NOTIFY_PROBES_ATTACHED: '1' };
  const r = await runTsbpf(['-e', `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { @calls = count(); }`], {
    env, timeoutMs: 20_000,
    onText: { text: '__BPFTRACE_NOTIFY_PROBES_ATTACHED\n', fn: () => execFileSync(bin, ['getppid', '5']) },
    stopWhen: { text: '__BPFTRACE_NOTIFY_PROBES_ATTACHED\n', delayMs: 300 },
  });
  ok(r);
  assert.equal(r.stdout.match(/^__BPFTRACE_NOTIFY_PROBES_ATTACHED$/gm)?.length, 1, r.stdout);
  assert.match(r.stdout, /^@calls: 5$/m);
  const plain = await runTsbpf(['-e', 'BEGIN { exit(); }']);
  assert.doesNotMatch(plain.stdout, /NOTIFY/);
});

kernelTest('dead code (after return, strcontains with an empty or too long needle, strncmp n <= 0) is left out with bpftrace\'s warning, and the rest runs', async () => {
  const long = 'a'.repeat(140);
  const cases: { prog: string; out: string; warn: boolean }[] = [
    // codegen no longer emits statements after return (a9c64bd); a warning there is optional until it warns as bpftrace does
    { prog: 'BEGIN { @a = 1; return; @b = 2; printf("never\\n"); }', out: '\n\n@a: 1\n\n', warn: false },
    { prog: 'BEGIN { if (strcontains("abc", "")) { printf("y\\n"); } exit(); }', out: 'y\n\n\n', warn: false },
    { prog: `BEGIN { if (strcontains("abc", "${long}")) { printf("w\\n"); } printf("done\\n"); exit(); }`, out: 'done\n\n\n', warn: false },
    { prog: 'BEGIN { if (strncmp("abc", "abd", 0) == 0) { printf("z\\n"); } exit(); }', out: 'z\n\n\n', warn: false },
    { prog: 'BEGIN { if (strncmp("abc", "abd", -1) == 0) { printf("z\\n"); } exit(); }', out: 'z\n\n\n', warn: false },
  ];
  for (const c of cases) {
    const r = await runTsbpf(['-e', c.prog]);
    ok(r);
    assert.equal(r.stdout, c.out, c.prog);
    assert.doesNotMatch(r.stderr, /verifier|unreachable insn/, c.prog);
    const d = /^stdin:1:(\d+)-\d+: WARNING: Unreachable statement\.$/m.exec(r.stderr);
    if (d) assert.equal(Number(d[1]), c.prog.indexOf('@b') + 1, r.stderr); // at the first statement left out
    if (!c.warn) assert.doesNotMatch(r.stderr.replace(/^.*Unreachable statement.*\n.*\n.*\n/m, ''), /WARNING/, c.prog);
  }
});

kernelTest('-c with a program that does not exist: bpftrace\'s sentence, exit 1, nothing attached', async () => {
  for (const cmd of ['/nonexistent/tsbpf-prog', 'tsbpf-no-such-command arg']) {
    const r = await runTsbpf(['-c', cmd, '-e', 'BEGIN { printf("began\\n"); }']);
    fails(r);
    assert.match(r.stderr, /^tsbpf: -c: Path '[^']+' does not exist or is not executable$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /began|Attached/);
  }
});

kernelTest('-c child: dies with a SIGKILLed tsbpf (PR_SET_PDEATHSIG), and a path with a \'"\' in it runs', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'q"uote-'));
  const bin = path.join(dir, COMM);
  fs.copyFileSync(work(), bin);
  fs.chmodSync(bin, 0o755);
  const r = await runTsbpf(['-c', `${bin} getppid 4`, '-e', `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { @ = count(); }`], { timeoutMs: 20_000 });
  ok(r);
  assert.equal(r.stdout, '\n\n@: 4\n');
  const tag = `pdeath_${process.pid}`;
  const t = spawn(tsbpfBin, ['-q', '-c', `${bin} tag ${tag} pause`, '-e', 'BEGIN { printf("up\\n"); }'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((res) => t.stdout.on('data', (d: Buffer) => d.toString().includes('up') && res()));
  for (let i = 0; i < 50 && pidsMatching(tag).length === 0; i++) await sleep(100);
  assert.equal(pidsMatching(tag).length, 1, 'the -c child is running');
  t.kill('SIGKILL');
  for (let i = 0; i < 50 && pidsMatching(tag).length; i++) await sleep(100);
  const left = pidsMatching(tag);
  for (const p of left) process.kill(p, 'SIGKILL');
  assert.deepEqual(left, [], 'the -c child outlived a SIGKILLed tsbpf');
});

kernelTest('huge input, one short sentence: a 70 KB uprobe function, a too large interval, a 40 KB literal, an error on a 1 MB line', async () => {
  const bigFile = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const runs: [string[], RegExp][] = [
    [['-e', `uprobe:${work()}:${'a'.repeat(70_000)} { @ = count(); }`], /No matches for uprobe \S+:a+/],
    [['-e', 'i:s:99999999999999999999 { exit(); }'], /period is too large: 99999999999999999999/],
    [['-e', 'i:s:9999999999999 { exit(); }'], /the period is too long/],
    [[bigFile('lit.bt', `BEGIN { printf("%s\\n", "${'x'.repeat(40_000)}"); exit(); }`)], /string literal too long: 40000 bytes \(at most 32766\)/],
    [[bigFile('line.bt', `BEGIN { ${'@x = 1; '.repeat(130_000)} foo(); }`)], /unknown function: foo/],
  ];
  for (const [args, msg] of runs) {
    const r = await runTsbpf(args, { timeoutMs: 60_000 });
    fails(r);
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.ok(r.stderr.length < 2000, `${r.stderr.length} bytes of error for ${args[0].slice(0, 40)}`);
  }
});

// ---- output errors and planted files --------------------------------------------------------------

kernelTest('write errors: -o /dev/full, stdout on a full device, while tracing: one sentence, exit 1', async () => {
  const tracing = `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { printf("call\\n"); }`;
  for (const args of [['-o', '/dev/full', '-e', 'BEGIN { printf("hi\\n"); exit(); }'], ['-o', '/dev/full', '-e', tracing]]) {
    const r = await runTsbpf(args, { onText: { text: 'Attached', fn: () => execFileSync(work(), ['getppid', '3']) }, timeoutMs: 20_000 });
    fails(r);
    assert.equal(r.timedOut, false);
    assert.match(r.stderr, /^tsbpf: cannot write the output to \/dev\/full: no space left on device$/m);
    assert.doesNotMatch(r.stderr, /internal error/);
  }
  for (const b of ['line', 'full']) {
    const r = await runCommand('/bin/sh', ['-c', 'exec "$0" -B "$1" -e \'BEGIN { printf("hi\\n"); exit(); }\' >/dev/full', tsbpfBin, b]);
    fails(r);
    assert.match(r.stderr, /^tsbpf: cannot write the output to stdout: no space left on device$/m);
  }
});

kernelTest('-o to a missing directory, a directory, a path through a file: one sentence, no "internal error"', async () => {
  const cases: [string, RegExp][] = [
    ['/nonexistent/dir/x', /^tsbpf: cannot open output file \/nonexistent\/dir\/x: no such file or directory$/m],
    [tmp, /it is a directory$/m],
    ['/etc/passwd/x', /not a directory$/m],
  ];
  for (const [file, msg] of cases) {
    const r = await runTsbpf(['-o', file, '-e', 'BEGIN { printf("hi\\n"); exit(); }']);
    fails(r);
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /internal error/);
  }
});

kernelTest('-o refuses a symlink or file planted by another user in a world-writable sticky directory; follows its own', async () => {
  const shared = fs.mkdtempSync(path.join(tmp, 'shared-'));
  fs.chmodSync(shared, 0o1777);
  const victim = path.join(tmp, 'victim');
  fs.writeFileSync(victim, 'precious\n');
  const nobody = 65534;
  const planted = path.join(shared, 'out.txt');
  fs.symlinkSync(victim, planted);
  fs.lchownSync(planted, nobody, nobody);
  const prog = ['-e', 'BEGIN { printf("overwritten\\n"); exit(); }'];
  let r = await runTsbpf(['-o', planted, ...prog]);
  fails(r);
  assert.match(r.stderr, /refusing to write to .*out\.txt: it is a symbolic link owned by uid 65534 in the world-writable directory/);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
  // a regular file planted the same way (protected_regular's case: a FIFO or a file another user reads)
  fs.unlinkSync(planted);
  fs.writeFileSync(planted, 'theirs\n');
  fs.chownSync(planted, nobody, nobody);
  r = await runTsbpf(['-o', planted, ...prog]);
  fails(r);
  assert.match(r.stderr, /it is a file owned by uid 65534/);
  assert.equal(fs.readFileSync(planted, 'utf8'), 'theirs\n');
  // our own link in the shared directory, and any link elsewhere, are followed as before
  fs.unlinkSync(planted);
  fs.symlinkSync(victim, planted);
  r = await runTsbpf(['-o', planted, '-q', ...prog]);
  ok(r);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'overwritten\n\n\n');
});

// ---- bytes pass through ----------------------------------------------------------------------

kernelTest('non-ASCII bytes print as they are: literals, comm and file names (UTF-8 or not), text and JSON', async () => {
  // the workload runs under a name whose bytes are UTF-8 "é" and a lone 0xff: that is its comm
  const name = Buffer.concat([Buffer.from('c\u00e9'), Buffer.of(0xff), Buffer.from(String(process.pid))]).subarray(0, 15);
  const dir = fs.mkdtempSync(path.join(tmp, 'bytes-'));
  fs.copyFileSync(work(), Buffer.concat([Buffer.from(`${dir}/`), name]));
  fs.chmodSync(Buffer.concat([Buffer.from(`${dir}/`), name]), 0o755);
  const prog = `tracepoint:syscalls:sys_enter_getppid /comm != "${COMM}" && comm != "tsbpf"/ { printf("café %s|\\n", comm); @[comm, "naïve"] = count(); }`;
  const runIt = (format: string) => runCommand(tsbpfBin, ['-f', format, '-e', prog], {
    stopWhen: { text: 'Attached', delayMs: 300 }, timeoutMs: 20_000,
    onText: { text: 'Attached', fn: () => execFileSync('/bin/sh', ['-c', 'for f in "$1"/c*; do "$f" getppid 2; done', 'sh', dir]) },
  });
  const text = await runIt('text');
  const bytes = Buffer.from(text.stdout, 'latin1'); // runCommand reads stdout as latin1: one char per byte
  const line = Buffer.concat([Buffer.from('caf\u00e9 '), name, Buffer.from('|\n')]);
  assert.ok(bytes.indexOf(line) >= 0, `no line ${line.toString('hex')} in ${bytes.toString('hex')}`);
  assert.ok(bytes.indexOf(Buffer.concat([Buffer.from('@['), name, Buffer.from(', na\u00efve]: 2\n')])) >= 0, bytes.toString('latin1'));
  const json = await runIt('json');
  const events = Buffer.from(json.stdout, 'latin1').toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; data: unknown });
  const escaped = `c\u00e9\uffffffff${name.subarray(4).toString()}`; // 0xff as bpftrace escapes it, \uffffffff: U+FFFF, then "ffff"
  assert.ok(events.some((e) => e.type === 'printf' && e.data === `café ${escaped}|\n`), json.stdout);
});

// ---- security: no debugger in a root process ------------------------------------------------

/** TCP ports the process listens on (its socket fds matched against /proc/net/tcp{,6} LISTEN rows). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '0A' && inodes.has(c[9])) ports.push(parseInt(c[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** Spawns a long-running process, waits for `ready` on stdout, runs `probe(pid)`, then SIGINTs it. */
async function withRunning(cmd: string, args: string[], env: NodeJS.ProcessEnv, ready: string, probe: (pid: number) => Promise<void>): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes(ready)) res();
      });
      child.on('exit', () => rej(new Error(`exited before "${ready}":\n${stdout}\n${stderr}`)));
    });
    await probe(child.pid as number);
  } finally {
    child.kill('SIGINT');
  }
  const code = await exited;
  clearTimeout(guard);
  return { stdout, stderr, code };
}

kernelTest('the check below can fail: plain node opens its inspector on SIGUSR1', async () => {
  await withRunning(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'], process.env, 'ready', async (pid) => {
    process.kill(pid, 'SIGUSR1');
    for (let i = 0; i < 50 && listeningPorts(pid).length === 0; i++) await sleep(100);
    assert.notDeepEqual(listeningPorts(pid), [], 'plain node did not open its inspector: the check proves nothing');
  });
});

kernelTest('an inspector already open when the entry starts is closed (node --inspect, bin/tsbpf bypassed)', async () => {
  // bin/tsbpf never passes --inspect; this is the entry's second line of defence (src/cli/entry.ts).
  const entry = path.join(__dirname, '..', '..', 'src', 'cli', 'entry.js');
  const r = await withRunning(process.execPath, ['--inspect=127.0.0.1:0', entry, '-e', 'BEGIN { printf("ready\\n"); }'], process.env, 'ready', async (pid) => {
    assert.deepEqual(listeningPorts(pid), [], 'the inspector --inspect opened is still listening');
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Debugger listening/, 'node did open its inspector first: the check proves something');
});

kernelTest('SIGUSR1 and NODE_OPTIONS never open an inspector (nothing listens); tracing goes on; comm is tsbpf', async () => {
  const marker = path.join(tmp, 'required-ran');
  const foreign = path.join(tmp, 'foreign.js');
  fs.writeFileSync(foreign, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`);
  const env = { ...process.env, NODE_OPTIONS: `--inspect=127.0.0.1:0 --require ${foreign}`, NODE_DEBUG: 'net' };
  const prog = `BEGIN { printf("ready %s\\n", comm); } tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { @calls = count(); }`;
  const r = await withRunning(tsbpfBin, ['-e', prog], env, 'ready', async (pid) => {
    assert.equal(fs.readFileSync(`/proc/${pid}/comm`, 'utf8'), 'tsbpf\n');
    assert.deepEqual(listeningPorts(pid), [], 'NODE_OPTIONS=--inspect opened an inspector');
    for (let i = 0; i < 3; i++) {
      process.kill(pid, 'SIGUSR1');
      await sleep(300);
    }
    await sleep(1000);
    assert.deepEqual(listeningPorts(pid), [], 'SIGUSR1 opened an inspector');
    execFileSync(work(), ['getppid', '4']);
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  assert.doesNotMatch(r.stderr, /Debugger|inspector|NET \d+/i);
  assert.equal(fs.existsSync(marker), false, 'NODE_OPTIONS --require ran a foreign file');
  assert.match(r.stdout, /^ready tsbpf$/m);
  // bpftrace 0.22+ no longer prints the maps on SIGUSR1 (only self:signal:SIGUSR1 probes run): the maps print once, at exit
  assert.equal(r.stdout.match(/^@calls: /gm)?.length, 1, r.stdout);
  assert.match(r.stdout, /^@calls: 4$/m);
});

kernelTest('exit() in BEGIN ends the run at once; END still runs', async () => {
  // the filter matches nothing: other processes' getppid calls must not show up as @
  const r = await runTsbpf(['-e', 'BEGIN { printf("b\\n"); exit(); } tracepoint:syscalls:sys_enter_getppid /comm == "no_such_comm"/ { @ = count(); } END { printf("e\\n"); }'], { timeoutMs: 10_000 });
  ok(r);
  assert.equal(r.timedOut, false);
  // a key-less count() that never ran prints nothing, as in bpftrace 0.26 (0.17: "@: 0")
  assert.equal(r.stdout.trimEnd(), 'b\ne');
});

// ---- errors -----------------------------------------------------------------------------------

interface Diag {
  file: string;
  line: number;
  col: number;
  message: string;
  source: string;
  caretCol: number;
}

/** The first diagnostic of stderr: "FILE:L:C[-E]: ERROR: msg", the source line, the caret line. */
function firstDiag(stderr: string): Diag | undefined {
  const lines = stderr.split('\n');
  const i = lines.findIndex((l) => /^\S+:\d+:\d+(-\d+)?: ERROR: /.test(l));
  if (i < 0) return undefined;
  const m = /^(\S+):(\d+):(\d+)(?:-\d+)?: ERROR: (.*)$/.exec(lines[i]) as RegExpExecArray;
  const caret = lines[i + 2] ?? '';
  return { file: m[1], line: Number(m[2]), col: Number(m[3]), message: m[4], source: lines[i + 1], caretCol: caret.search(/[\^~]/) + 1 };
}

const mistakes: { name: string; prog: string; message: RegExp }[] = [
  { name: 'unknown function', prog: 'BEGIN { foo(1); }', message: /unknown function: foo/i },
  { name: 'missing semicolon', prog: 'BEGIN { printf("x")\n  exit(); }', message: /syntax error/ },
  { name: 'map function argument count', prog: 'BEGIN { @x = hist(1, 2, 3); }', message: /hist\(\)/ },
  { name: 'unknown tracepoint', prog: 'tracepoint:syscalls:sys_enter_opena { }', message: /No matches for tracepoint syscalls:sys_enter_opena\./ },
  { name: 'printf argument count', prog: 'BEGIN { printf("%d %d\\n", 1); }', message: /printf/ },
];

for (const m of mistakes) {
  kernelTest(`error: ${m.name} — FILE:LINE:COL, source line and caret where bpftrace puts them`, async () => {
    const file = path.join(tmp, 'bad.bt');
    fs.writeFileSync(file, `${m.prog}\n`);
    const r = await runTsbpf([file]);
    fails(r);
    const d = firstDiag(r.stderr);
    assert.ok(d, `no diagnostic:\n${r.stderr}`);
    assert.equal(d.file, file);
    assert.match(d.message, m.message);
    assert.equal(d.source, m.prog.split('\n')[d.line - 1]);
    assert.equal(d.caretCol, d.col, r.stderr);
    // Positions, not messages: bpftrace 0.23 words two of these differently ("expecting ; or }", "hist() takes up to 2 arguments").
    const peers = [...(hasBpftrace() ? [['bpftrace 0.17', () => runBpftrace([file])] as const] : []),
      ...(peerAvailable(bpftrace023) ? [['bpftrace 0.23', () => runPeer(bpftrace023, [file])] as const] : [])];
    for (const [name, run] of peers) {
      const b = firstDiag((await run()).stderr);
      assert.ok(b, name);
      assert.deepEqual([d.line, d.col, d.caretCol, d.source], [b.line, b.col, b.caretCol, b.source], `tsbpf:\n${r.stderr}\n${name} line:col ${b.line}:${b.col} ${b.message}`);
    }
  });
}

kernelTest('error hints: nearest tracepoint names, valid args fields', async () => {
  const tp = await runTsbpf(['-e', 'tracepoint:syscalls:sys_enter_opena { }']);
  fails(tp);
  assert.match(tp.stderr, /did you mean .*sys_enter_openat/);
  const field = await runTsbpf(['-e', 'tracepoint:syscalls:sys_enter_openat { printf("%s\\n", str(args->filenam)); }']);
  fails(field);
  assert.match(field.stderr, /valid fields: .*filename/);
  // bpftrace 0.17 puts the caret at the enclosing str( call (column 55 here); tsbpf at args->filenam
  assert.equal(firstDiag(field.stderr)?.col, 59, field.stderr);
});

kernelTest('error: printf type mismatch points at the offending argument', async () => {
  // bpftrace 0.17 underlines the whole printf call; tsbpf underlines the argument.
  const r = await runTsbpf(['-e', 'BEGIN { printf("%d\\n", "str"); }']);
  fails(r);
  const d = firstDiag(r.stderr);
  assert.ok(d, r.stderr);
  assert.equal(d.col, 24);
  assert.match(d.message, /%d/);
});

kernelTest('missing kernel feature is a sentence: kprobes on a kernel without them', async (t) => {
  if (hasFeature('kprobes')) {
    t.skip('this kernel has kprobes (the VM lane): nothing is missing');
    return;
  }
  const r = await runTsbpf(['-e', 'kprobe:vfs_read { @ = count(); }']);
  fails(r);
  assert.match(r.stderr, /kprobes are not available/);
});

kernelTest('not root: "needs root" sentence, no stack trace', async () => {
  const wrap = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
  const r = await runCommand(tsbpfBin, ['-e', 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }'], { wrap });
  fails(r);
  assert.match(r.stderr, /needs root/);
  assert.doesNotMatch(r.stderr, /internal error/);
});

kernelTest('without root: with CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH (and CAP_SYS_ADMIN for the uprobe) a tracepoint and a uprobe count exactly; each missing one is named', async () => {
  const bin = work();
  const asNobody = (caps: string) => ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
    ...(caps ? [`--inh-caps=${caps}`, `--ambient-caps=${caps}`] : [])];
  // spin: one now_ms() sets the deadline, then each check calls it (N that pass, each followed by one getppid(), and the last that fails)
  const prog = `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { @g = count(); } uprobe:${bin}:now_ms /comm == "${COMM}"/ { @u = count(); }`;
  const r = await runCommand(tsbpfBin, ['-e', prog], {
    wrap: asNobody('+bpf,+perfmon,+dac_read_search,+sys_admin'), timeoutMs: 30_000,
    onText: { text: 'Attached', fn: () => execFileSync(bin, ['spin', '30']) },
    stopWhen: { text: 'Attached', delayMs: 500 },
  });
  ok(r);
  const g = Number(/^@g: (\d+)$/m.exec(r.stdout)?.[1]);
  const u = Number(/^@u: (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(g > 0, r.stdout);
  assert.equal(u, g + 2, r.stdout);
  // a tracepoint alone needs no CAP_SYS_ADMIN
  const tp = await runCommand(tsbpfBin, ['-e', `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { @g = count(); }`], {
    wrap: asNobody('+bpf,+perfmon,+dac_read_search'), timeoutMs: 30_000,
    onText: { text: 'Attached', fn: () => execFileSync(bin, ['getppid', '7']) },
    stopWhen: { text: 'Attached', delayMs: 500 },
  });
  ok(tp);
  assert.match(tp.stdout, /^@g: 7$/m);
  const up = await runCommand(tsbpfBin, ['-e', `uprobe:${bin}:now_ms { @u = count(); }`], { wrap: asNobody('+bpf,+perfmon,+dac_read_search') });
  fails(up);
  assert.match(up.stderr, /CAP_SYS_ADMIN/);
  const cases: [string, RegExp][] = [
    ['', /lacks CAP_BPF and CAP_PERFMON/],
    ['+bpf', /lacks CAP_PERFMON: run with sudo$/m],
    ['+perfmon', /lacks CAP_BPF: run with sudo$/m],
    ['+bpf,+perfmon', /cannot read tracefs at \S+: permission denied \(a non-root user needs CAP_DAC_READ_SEARCH/],
  ];
  for (const [caps, msg] of cases) {
    const f = await runCommand(tsbpfBin, ['-e', 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }'], { wrap: asNobody(caps) });
    fails(f);
    assert.match(f.stderr, msg, caps);
    assert.doesNotMatch(f.stderr, /internal error|not mounted|does not exist|cannot compile/);
  }
  // a tool refuses too, instead of printing its header and exiting 0 untraced
  const t = await runCommand(tsbpfBin, ['opensnoop'], { wrap: asNobody(''), timeoutMs: 10_000 });
  fails(t);
  assert.equal(t.stdout, '');
  assert.match(t.stderr, /lacks CAP_BPF and CAP_PERFMON/);
});

// ---- README ------------------------------------------------------------------------------------

kernelTest('README "What you can do with it": every command runs as shown', async () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## What you can do with it'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'no sh block in the README section');
  const lines = block[1].split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l.startsWith('tsbpf'));
  assert.ok(lines.length >= 5);
  const dir = fs.mkdtempSync(path.join(tmp, 'readme-'));
  fs.writeFileSync(path.join(dir, 'script.bt'), 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }\n');
  fs.writeFileSync(path.join(dir, 'folded.txt'), 'main;foo;bar 3\nmain;baz 2\n');
  const env = { ...process.env, PATH: `${path.dirname(tsbpfBin)}:${process.env.PATH ?? ''}` };
  for (const line of lines) {
    // exec: the signal that stops a tracing command reaches tsbpf, not a shell
    const tracing = / -e /.test(line);
    // kstack: a machine busy only in user space (a CPU hog) gives only empty kernel stacks, so the
    // test makes kernel work of its own while it samples (dd copying /dev/zero in small reads)
    const kernelWork = line.includes('kstack') ? spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=512', 'count=100000000'], { stdio: 'ignore' }) : undefined;
    let r: Awaited<ReturnType<typeof runCommand>>;
    try {
      r = await runCommand('/bin/sh', ['-c', `exec ${line}`], { cwd: dir, env, timeoutMs: 120_000, ...(tracing ? { stopWhen: { text: 'Attached', delayMs: 1500 } } : {}) });
    } finally {
      kernelWork?.kill('SIGKILL');
    }
    assert.ok(!hasStackTrace(r.stderr), `${line}\n${r.stderr}`);
    assert.equal(r.code, 0, `${line}\nexit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /ERROR|^tsbpf: /m, line);
    if (line.includes('Hello world')) assert.equal(r.stdout, 'Hello world!\nGame over!\n\n\n');
    if (line.includes('sys_enter_*')) assert.match(r.stdout, /^@\[tracepoint:syscalls:sys_enter_\w+\]: \d+$/m);
    if (line.includes('kstack')) assert.match(r.stdout, /^@\[\n {4}\w+/m);
    if (line.startsWith('tsbpf -l')) assert.match(r.stdout, /^tracepoint:sched:sched_switch$/m);
    if (line.includes('--verify')) assert.match(r.stderr, /passed the kernel verifier/);
    if (line.includes('flamegraph')) assert.match(fs.readFileSync(path.join(dir, 'out.svg'), 'utf8'), /^<\?xml[\s\S]*<svg/);
  }
}, { timeout: 600_000 });
