/**
 * Seed scenarios of dynamic and user-space tracing, end to end through the
 * compiler and the runtime, each against ground truth the test controls:
 * (a) DTRACE_PROBE3-style USDT probes (with a semaphore) traced by path and
 *     by pid; (b) bash's readline() return value from a scripted interactive
 *     shell; (c) gethostlatency-style getaddrinfo() entry/return pairs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { compile, type CompileOptions } from '../../src/lang/compile';
import { ScriptRuntime, type RunOptions } from '../../src/runtime/run';

/** Runs a script until `drive` resolves (it starts once probes are attached); returns the program output. */
async function trace(text: string, copts: CompileOptions, drive: () => Promise<void>, ropts: RunOptions = {}): Promise<string> {
  const art = compile({ name: 'test', text }, copts);
  let out = '';
  let failure: unknown;
  const rt = new ScriptRuntime(art, {
    quiet: true,
    handleSignals: false,
    write: (s) => (out += s),
    message: () => {},
    ...ropts,
    onStart: (r) => {
      drive().then(() => r.stop(0), (e: unknown) => {
        failure = e;
        r.stop(1);
      });
    },
  });
  await rt.run();
  if (failure) throw failure;
  return out;
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    p.on('error', rej);
    p.on('exit', (code) => res({ code, stdout }));
    if (input !== undefined) p.stdin?.end(input);
  });
}

function monoNs(): bigint {
  return process.hrtime.bigint(); // CLOCK_MONOTONIC, the fixture's clock
}

/** Checks the probe_boottime lines: phase i % 3, and times within [before, after], non-decreasing. */
function checkBoottime(out: string, n: number, before: bigint, after: bigint): void {
  const lines = out.split('\n').filter((l) => l.startsWith('boot '));
  assert.equal(lines.length, n, out);
  let last = 0n;
  lines.forEach((l, i) => {
    const [, phase, sec, nsec] = l.split(' ');
    assert.equal(Number(phase), i % 3);
    const t = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
    assert.ok(BigInt(nsec) < 1_000_000_000n);
    assert.ok(t >= before && t <= after, `${t} within [${before}, ${after}]`);
    assert.ok(t >= last);
    last = t;
  });
}

const BOOT = (bin: string): string => `usdt:${bin}:app:probe_boottime { printf("boot %d %d %d\\n", arg0, arg1, arg2); }`;

kernelTest('lang dynamic (a): USDT probe_boottime (semaphore) by path prints one line per hit with phase, seconds, nanoseconds', async () => {
  const bin = buildFixture('usdt_target');
  let before = 0n, after = 0n;
  const out = await trace(BOOT(bin), {}, async () => {
    before = monoNs();
    const r = await run(bin, ['7']);
    after = monoNs();
    assert.equal(r.code, 0);
  });
  checkBoottime(out, 7, before, after);
});

kernelTest('lang dynamic (a): the same probe by pid (-p), through usdt:*:name and by path, only that process', async () => {
  const bin = buildFixture('usdt_target');
  // the target waits 1.5 s before its first iteration so the tracer attaches to it by pid
  const child = spawn(bin, ['5', '0', 'x', '1500'], { stdio: 'ignore' });
  const exited = new Promise((res) => child.on('exit', res));
  const other = spawn(bin, ['4', '0', 'y', '1500'], { stdio: 'ignore' }); // not traced: a different pid
  const otherExited = new Promise((res) => other.on('exit', res));
  try {
    const before = monoNs();
    const text = `usdt:*:probe_boottime { printf("boot %d %d %d\\n", arg0, arg1, arg2); } usdt:${bin}:app:greet { printf("greet %s %d\\n", str(arg0), arg1); }`;
    const out = await trace(text, { pid: child.pid }, async () => {
      await exited;
      await otherExited;
    });
    checkBoottime(out, 5, before, monoNs());
    assert.deepEqual(out.split('\n').filter((l) => l.startsWith('greet ')), ['greet x 0', 'greet x 1', 'greet x 2', 'greet x 3', 'greet x 4']);
  } finally {
    child.kill();
    other.kill();
  }
});

kernelTest('lang dynamic (b): uretprobe:/bin/bash:readline prints the lines typed into an interactive bash', async (t) => {
  if (!fs.existsSync('/bin/bash') || !fs.existsSync('/usr/bin/python3')) {
    t.skip('needs /bin/bash and python3 (for a pty)');
    return;
  }
  // python3 runs bash -i on a pty, waits until bash shows its prompt (it is then inside
  // readline()), prints bash's pid, waits for "go", and types four lines. The first
  // readline() call was entered before the probe existed, so its return is not seen
  // (a uretprobe arms at function entry): exactly the last three lines are.
  const driver = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.environ['PS1'] = '$ '
    os.execv('/bin/bash', ['bash', '--norc', '--noprofile', '-i'])
buf = b''
def drain(t, until=None):
    global buf
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: buf += os.read(fd, 4096)
            except OSError: return
            if until and until in buf: return
drain(10, b'$ ')
print(pid, flush=True)
sys.stdin.readline()
for line in ['true before-attach', 'echo first-line', 'true second', 'exit']:
    buf = b''
    os.write(fd, (line + '\\n').encode())
    drain(2, b'$ ')
os.waitpid(pid, 0)
`;
  const py = spawn('/usr/bin/python3', ['-c', driver], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((res) => py.on('exit', res));
  try {
    const bashPid = await new Promise<number>((res) => py.stdout.once('data', (d: Buffer) => res(Number(d.toString().trim()))));
    const out = await trace('uretprobe:/bin/bash:readline { printf("%s\\n", str(retval)); }', { pid: bashPid }, async () => {
      py.stdin.write('go\n');
      await exited;
    });
    assert.deepEqual(out.split('\n').filter(Boolean), ['echo first-line', 'true second', 'exit']);
  } finally {
    py.kill();
  }
});

kernelTest('lang dynamic (c): gethostlatency-style getaddrinfo entry/return pairs count exactly the lookups', async () => {
  const text = `
    uprobe:libc:getaddrinfo /comm == "getent"/ { @start[tid] = nsecs; @name[tid] = str(arg0); }
    uretprobe:libc:getaddrinfo /@start[tid]/ {
      $lat = nsecs - @start[tid];
      printf("lookup %s %d %d\\n", @name[tid], retval, $lat > 0);
      @n = count();
      delete(@start[tid]); delete(@name[tid]);
    }`;
  const out = await trace(text, {}, async () => {
    for (let i = 0; i < 4; i++) {
      const r = await run('getent', ['ahosts', 'localhost']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /127\.0\.0\.1|::1/);
    }
  });
  const lines = out.split('\n').filter((l) => l.startsWith('lookup '));
  assert.deepEqual(lines, Array(4).fill('lookup localhost 0 1'));
  assert.match(out, /@n: 4\n/);
});

kernelTest('lang dynamic: user stacks and usym of a process that exited before printing resolve (captured at event time)', async () => {
  const bin = buildFixture('usdt_target');
  // 3 iterations 100 ms apart: the process lives long enough for the capture event, then exits before the maps print
  const out = await trace(`uprobe:${bin}:fixture_leaf { @[ustack] = count(); @f[func] = count(); @u[usym(reg("ip"))] = count(); }`, {}, async () => {
    const r = await run(bin, ['3', '100']);
    assert.equal(r.code, 0);
  });
  assert.match(out, /@\[\n {4}fixture_leaf\+0\n {4}fixture_middle\+\d+\n {4}fixture_outer\+\d+\n {4}main\+\d+\n(?: {4}\S+\n)*\]: 3\n/);
  assert.match(out, /@f\[fixture_leaf\]: 3\n/);
  assert.match(out, /@u\[fixture_leaf\]: 3\n/);
});

kernelTest('lang dynamic: a uprobe wildcard using probe is one program; probe comes from each attachment\'s cookie', async () => {
  const bin = buildFixture('usdt_target');
  const text = `uprobe:${bin}:fixture_* { @[probe] = count(); } uretprobe:${bin}:fixture_* { @r[probe] = count(); }`;
  const art = compile({ name: 'test', text });
  assert.equal(art.programs.length, 2);
  assert.deepEqual(art.programs.map((p) => p.attach.length), [3, 3]);
  const out = await trace(text, {}, async () => {
    const r = await run(bin, ['4']);
    assert.equal(r.code, 0);
  });
  for (const f of ['fixture_outer', 'fixture_middle', 'fixture_leaf']) {
    assert.match(out, new RegExp(`^@\\[uprobe:${bin}:${f}\\]: 4$`, 'm'));
    assert.match(out, new RegExp(`^@r\\[uretprobe:${bin}:${f}\\]: 4$`, 'm'));
  }
});
