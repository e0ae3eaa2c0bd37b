/**
 * The source document's USDT scenario, end to end: a Node.js program defines
 * myapp:firstProbe(int, string) at run time with `usdt.provider()` and fires
 * it on command (test/kernel/node-usdt-app.ts); tracers find the generated
 * object through /proc/PID/maps. Ground truth: the fires the test orders
 * while a tracer is attached (known values), and the semaphore read from the
 * process's memory through /proc/PID/mem — the word the kernel raises
 * through the uprobe's ref_ctr_offset while a tracer has the probe enabled.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commOf, kernelTest } from '../helpers/kernel';
import { bpftraceBin, hasBpftrace, tsbpfBin } from '../helpers/tsbpf';
import { track, type Running } from './tools-harness';
import { readUsdtProbes } from '../../src/ebpf/usdt';
import { readMaps } from '../../src/ebpf/symbolize';

const appJs = path.join(__dirname, 'node-usdt-app.js');

interface App {
  run: Running;
  pid: number;
  objPath: string;
  /** Sends a command line and waits for its reply line (matching `reply`). */
  send(line: string, reply: RegExp): Promise<string>;
  /** Fires firstProbe(i) and returns whether the probe reported itself traced. */
  fire(i: number): Promise<boolean>;
  /** The probe's semaphore as the kernel sees it, read from the process's memory. */
  semaphore(): number;
}

/** Polls `ok` until true; fails when `proc` exits first or after 30 s (a deadlock, not a timing assertion). */
async function until(what: string, ok: () => boolean, proc: Running): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (proc.child.exitCode !== null) throw new Error(`process exited (${proc.child.exitCode}) before ${what}: ${proc.stderr()}${proc.stdout()}`);
    if (Date.now() - t0 > 30_000) throw new Error(`timed out waiting for ${what}; stdout: ${proc.stdout()} stderr: ${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startApp(): Promise<App> {
  const run = track(spawn(process.execPath, [appJs], { stdio: ['pipe', 'pipe', 'pipe'] }));
  await run.waitFor(/^ready .*\n/m);
  const objPath = (/^ready (.*)$/m.exec(run.stdout()) as RegExpExecArray)[1];
  const pid = run.child.pid as number;
  let seen = run.stdout().length;
  const send = async (line: string, reply: RegExp): Promise<string> => {
    run.child.stdin?.write(`${line}\n`);
    const from = seen;
    await until(`the app's reply to '${line}'`, () => reply.test(run.stdout().slice(from)), run);
    const m = reply.exec(run.stdout().slice(from)) as RegExpExecArray;
    seen = from + m.index + m[0].length;
    return m[0];
  };
  const site = readUsdtProbes(objPath).find((p) => p.name === 'firstProbe');
  assert.ok(site && site.semaphoreOffset, 'the generated object has a firstProbe note with a semaphore');
  return {
    run, pid, objPath, send,
    async fire(i) {
      const r = await send(`fire ${i}`, new RegExp(`^fired ${i} traced=(\\d)$`, 'm'));
      return r.endsWith('=1');
    },
    semaphore() {
      // The kernel updates the word at the file offset ref_ctr_offset names, in the mapping of that offset.
      const m = readMaps(pid).find((x) => x.path === objPath && x.offset <= site.semaphoreOffset && site.semaphoreOffset < x.offset + (x.end - x.start));
      assert.ok(m, `${objPath} is mapped by process ${pid}`);
      const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
      try {
        const b = Buffer.alloc(2);
        fs.readSync(fd, b, 0, 2, m.start + site.semaphoreOffset - m.offset);
        return b.readUInt16LE(0);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}


/**
 * Runs a tracer against the app: waits until it says it is attached (`ready`)
 * — the semaphore rises inside perf_event_open, before the program is linked,
 * so a fire in between would hit a probe with nothing behind it — and the
 * semaphore is up, fires `values`, waits for `last` in its output, stops it.
 */
async function traceFires(app: App, cmd: string, args: string[], ready: (t: Running) => boolean, values: number[], last: string): Promise<{ stdout: string; stderr: string; code: number | null; tracedFires: boolean[] }> {
  const tracer = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await until('the tracer is attached', () => ready(tracer), tracer);
    assert.ok(app.semaphore() > 0, 'the attached tracer raised the semaphore');
    const tracedFires: boolean[] = [];
    for (const v of values) tracedFires.push(await app.fire(v));
    await until(`the tracer prints '${last}'`, () => tracer.stdout().includes(last), tracer);
    const r = await tracer.stop();
    return { ...r, tracedFires };
  } finally {
    tracer.child.kill('SIGKILL');
  }
}

const countdown = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
const probeFired = (s: string): number => s.split('\n').filter((l) => l === 'Probe fired!').length;

kernelTest("the document's scenario: trace -p PID 'u::firstProbe \"%d - %s\", arg1, arg2' prints the 10 fires; callbacks run only while traced", async () => {
  const app = await startApp();
  try {
    assert.equal(app.semaphore(), 0);
    for (const i of [100, 101, 102]) assert.equal(await app.fire(i), false);
    assert.equal(probeFired(app.run.stdout()), 0, 'no callback before a tracer attaches');

    const r = await traceFires(app, tsbpfBin, ['trace', '-p', String(app.pid), 'u::firstProbe "%d - %s", arg1, arg2'], (t) => t.stdout().includes('FUNC'), countdown, '0 - My little string\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.tracedFires, countdown.map(() => true));
    const pid = String(app.pid).padEnd(7);
    const comm = commOf(app.pid);
    assert.equal(r.stdout, [
      'PID     TID     COMM            FUNC             -',
      ...countdown.map((i) => `${pid} ${pid} ${comm.padEnd(15)} ${'firstProbe'.padEnd(16)} ${i} - My little string`),
    ].join('\n') + '\n');
    assert.equal(probeFired(app.run.stdout()), 10, 'one callback per fire while traced');

    // The trace has ended: the kernel dropped the semaphore and fires run no callback.
    assert.equal(app.semaphore(), 0);
    for (const i of [200, 201, 202]) assert.equal(await app.fire(i), false);
    assert.equal(probeFired(app.run.stdout()), 10);
  } finally {
    app.run.child.kill('SIGKILL');
  }
});

kernelTest('the same probe through tplist -p, -l -p, tsbpf -p -e usdt:*:myapp:firstProbe and bpftrace 0.17; disable() removes it', async () => {
  const app = await startApp();
  try {
    const list = track(spawn(tsbpfBin, ['tplist', '-p', String(app.pid)], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const l = await list.done();
    assert.equal(l.code, 0, l.stderr);
    assert.ok(l.stdout.split('\n').includes(`${app.objPath} myapp:firstProbe`), l.stdout);
    // -l over every object the process maps, named as bpftrace names them.
    const listed = await track(spawn(tsbpfBin, ['-l', 'usdt:*:myapp:*', '-p', String(app.pid)], { stdio: ['ignore', 'pipe', 'pipe'] })).done();
    assert.equal(listed.stdout, `usdt:/proc/${app.pid}/root${app.objPath}:myapp:firstProbe\n`, listed.stderr);
    if (hasBpftrace()) {
      const theirs = await track(spawn(bpftraceBin, ['-l', 'usdt:*:myapp:*', '-p', String(app.pid)], { stdio: ['ignore', 'pipe', 'pipe'] })).done();
      assert.equal(listed.stdout, theirs.stdout);
    }

    const ours = await traceFires(app, tsbpfBin, ['-p', String(app.pid), '-e', 'usdt:*:myapp:firstProbe { printf("%d %s\\n", arg0, str(arg1)); }'], (t) => t.stderr().includes('Attached 1 probe'), [10, 11, 12, -13], '-13 My little string\n');
    assert.equal(ours.code, 0, ours.stderr);
    // Both print two empty lines at exit (where maps would be printed).
    assert.equal(ours.stdout, '10 My little string\n11 My little string\n12 My little string\n-13 My little string\n\n\n');
    assert.equal(app.semaphore(), 0);

    if (hasBpftrace()) {
      const theirs = await traceFires(app, bpftraceBin, ['-p', String(app.pid), '-e', 'BEGIN { printf("ready\\n"); } usdt:*:firstProbe { printf("%d %s\\n", arg0, str(arg1)); }'], (t) => t.stdout().includes('ready\n'), [20, 21, 22, -23], '-23 My little string\n');
      // bpftrace 0.17 runs BEGIN once every probe is attached: 'ready' says it is listening.
      assert.equal(theirs.stdout.replace(/^Attaching \d+ probes?\.\.\.\nready\n/, ''), '20 My little string\n21 My little string\n22 My little string\n-23 My little string\n\n\n', theirs.stderr);
      assert.equal(app.semaphore(), 0);
    }
    assert.equal(probeFired(app.run.stdout()), hasBpftrace() ? 8 : 4);

    await app.send('disable', /^disabled$/m);
    assert.ok(!fs.readFileSync(`/proc/${app.pid}/maps`, 'utf8').includes(app.objPath), 'the object is unmapped');
    assert.ok(!fs.existsSync(path.dirname(app.objPath)), 'its private directory is removed');
    const after = await track(spawn(tsbpfBin, ['tplist', '-p', String(app.pid)], { stdio: ['ignore', 'pipe', 'pipe'] })).done();
    assert.ok(!after.stdout.includes('myapp:firstProbe'), after.stdout);
    assert.equal(await app.fire(30), false);
  } finally {
    app.run.child.kill('SIGKILL');
  }
});

kernelTest('examples/node-usdt: counts down only on traced fires, then disables the provider and exits', async () => {
  const ex = track(spawn(process.execPath, [path.join(__dirname, '..', '..', 'examples', 'node-usdt.js'), '100'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    await ex.waitFor('Firing probe...\nFiring probe...\n');
    const comm = commOf(ex.child.pid!); // read while it runs: it exits before the lines are checked
    assert.ok(!ex.stdout().includes('Probe fired!'), 'untraced fires run no callback');
    const trace = track(spawn(tsbpfBin, ['trace', '-p', String(ex.child.pid), 'u::firstProbe "%d - %s", arg1, arg2'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await until('the example exits', () => ex.child.exitCode !== null, trace);
      await until('the trace shows the last fire', () => trace.stdout().includes(' 0 - My little string\n'), trace);
      const t = await trace.stop();
      assert.equal(t.code, 0, t.stderr);
      // A tick that fell between the semaphore rising and the program being linked (inside the tracer's
      // attach) ran the callback unseen; every fire after the attach is seen, in order, down to 0.
      const lines = t.stdout.split('\n').slice(1).filter(Boolean);
      assert.ok(lines.length >= 1 && lines.length <= 10, t.stdout);
      const pid = String(ex.child.pid).padEnd(7);
      assert.deepEqual(lines, lines.map((_, k) => `${pid} ${pid} ${comm.padEnd(15)} ${'firstProbe'.padEnd(16)} ${lines.length - 1 - k} - My little string`));
    } finally {
      trace.child.kill('SIGKILL');
    }
    const r = await ex.done();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(probeFired(r.stdout), 10);
    assert.ok(r.stdout.endsWith('Firing probe...\nDisable provider\n'), r.stdout);
  } finally {
    ex.child.kill('SIGKILL');
  }
});
