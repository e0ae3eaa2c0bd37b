/**
 * Introspection against ground truth: our own program and map (known id,
 * name, tag, sizes, and an exact execution count) and bpftool, asked at the
 * same moment. The set of programs on the machine may change between the two
 * listings, so entries are compared for the ids both saw, and ours must be
 * in both.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { commOf, kernelTest } from '../helpers/kernel';
import { attachTracepoint, loadCounter, readCounter, type Counter } from './inspect-helpers';
import { run as progCli } from '../../src/cli/commands/prog';
import { run as mapCli } from '../../src/cli/commands/map';
import { run as perfCli } from '../../src/cli/commands/perf';
import { listPrograms } from '../../src/inspect/prog';
import { listMaps } from '../../src/inspect/map';
import { holdStats } from '../../src/inspect/stats';

type Obj = Record<string, unknown>;

async function captured(fn: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string | Uint8Array) => { stdout += String(s); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { stderr += String(s); return true; }) as typeof process.stderr.write;
  try {
    return { code: await fn(), stdout, stderr };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

async function ours(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<string> {
  const r = await captured(() => fn(argv));
  assert.equal(r.code, 0, `tsbpf ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const BPFTOOL = '/usr/sbin/bpftool';
const bpftool = (...args: string[]): string => execFileSync(BPFTOOL, args, { encoding: 'utf8' });
const hasBpftool = fs.existsSync(BPFTOOL);

function myProgId(name: string): number {
  const p = listPrograms().find((x) => x.name === name && x.pids.some((r) => r.pid === process.pid));
  assert.ok(p, `our program ${name} is listed`);
  return p.id;
}

/** Does `n` getppid(2) calls on this thread (Node asks the kernel every time process.ppid is read). */
function getppid(n: number): void {
  for (let i = 0; i < n; i++) void process.ppid;
}

kernelTest('prog list --json agrees with bpftool prog show -j (ids, types, names, tags, sizes)', async (t) => {
  if (!hasBpftool) return t.skip('BPFTOOL NOT INSTALLED: apt-get install -y bpftool');
  const c = loadCounter('tsbpf_insp_a', 'tsbpf_insp_am');
  try {
    const mine = JSON.parse(await ours(progCli, ['list', '--json'])) as Obj[];
    const theirs = JSON.parse(bpftool('-j', 'prog', 'show')) as Obj[];
    const id = myProgId('tsbpf_insp_a');
    const a = new Map(mine.map((p) => [p.id as number, p]));
    const b = new Map(theirs.map((p) => [p.id as number, p]));
    assert.ok(a.has(id) && b.has(id), 'our program is in both listings');
    let compared = 0;
    for (const [pid, p] of a) {
      const q = b.get(pid);
      if (!q) continue;
      compared++;
      for (const k of ['type', 'name', 'tag', 'gpl_compatible', 'bytes_xlated', 'jited', 'bytes_jited', 'bytes_memlock', 'uid', 'btf_id', 'map_ids']) {
        assert.deepEqual(p[k], q[k], `prog ${pid} field ${k}`);
      }
      assert.ok(Math.abs((p.loaded_at as number) - (q.loaded_at as number)) <= 1, `prog ${pid} loaded_at`);
    }
    assert.ok(compared >= 1);
    const me = a.get(id)!;
    assert.equal(me.type, 'tracepoint');
    assert.equal(me.bytes_xlated, 20 * 8, 'the verifier inlines the array lookup: 14 insns become 20');
    assert.deepEqual(me.map_ids, [JSON.parse(await ours(mapCli, ['list', '--json'])).find((m: Obj) => m.name === 'tsbpf_insp_am').id]);
    assert.deepEqual(me.pids, [{ pid: process.pid, comm: fs.readFileSync('/proc/self/comm', 'utf8').trim() }]);
  } finally {
    c.close();
  }
});

kernelTest('prog show ID prints what bpftool prints, and prog dump matches bpftool prog dump xlated', async (t) => {
  if (!hasBpftool) return t.skip('BPFTOOL NOT INSTALLED: apt-get install -y bpftool');
  const c = loadCounter('tsbpf_insp_b', 'tsbpf_insp_bm');
  try {
    const id = myProgId('tsbpf_insp_b');
    // bpftool in Debian 12 is built without the pids iterator; loaded_at may tick between the two calls.
    const norm = (s: string): string => s.replace(/\n\tpids [^\n]*/, '').replace(/loaded_at \S+/, 'loaded_at T');
    const mine = await ours(progCli, ['show', String(id)]);
    assert.equal(norm(mine), norm(bpftool('prog', 'show', 'id', String(id))));
    assert.match(mine, new RegExp(`^${id}: tracepoint  name tsbpf_insp_b  tag [0-9a-f]{16}  gpl\\n\\tloaded_at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[+-]\\d{4}  uid 0\\n`));
    assert.equal(await ours(progCli, ['dump', 'xlated', 'id', String(id)]), bpftool('prog', 'dump', 'xlated', 'id', String(id)));
  } finally {
    c.close();
  }
});

kernelTest('map dump shows exactly the number of times our program ran; run_cnt too while stats are on', async () => {
  const c: Counter = loadCounter('tsbpf_insp_c', 'tsbpf_insp_cm');
  try {
    attachTracepoint(c, 'syscalls', 'sys_enter_getppid', process.pid);
    const mapId = (JSON.parse(await ours(mapCli, ['list', '--json'])) as Obj[]).find((m) => m.name === 'tsbpf_insp_cm')!.id as number;
    const dumpValue = async (): Promise<bigint> => {
      const els = JSON.parse(await ours(mapCli, ['dump', String(mapId), '--json'])) as { key: string[]; value: string[] }[];
      assert.equal(els.length, 1);
      assert.deepEqual(els[0].key, ['0x00', '0x00', '0x00', '0x00']);
      return Buffer.from(els[0].value.map((h) => parseInt(h, 16))).readBigUInt64LE(0);
    };
    const before = await dumpValue();
    assert.equal(before, readCounter(c));
    getppid(37);
    const after = await dumpValue();
    assert.equal(after - before, 37n);
    const text = await ours(mapCli, ['dump', String(mapId)]);
    const le = Buffer.alloc(8);
    le.writeBigUInt64LE(after);
    assert.equal(text, `key: 00 00 00 00  value: ${[...le].map((x) => x.toString(16).padStart(2, '0')).join(' ')}\nFound 1 element\n`);

    // run_cnt counts every run of the program, and a tracepoint program runs for every process's
    // getppid: a second counter tells ours (element 0) from the others' (element 1) within the window.
    const c2 = loadCounter('tsbpf_insp_c2', 'tsbpf_insp_c2m', process.pid, true);
    let statsCnt: bigint;
    let statsNs: bigint;
    let others: bigint;
    try {
      attachTracepoint(c2, 'syscalls', 'sys_enter_getppid', process.pid);
      const progId = myProgId('tsbpf_insp_c2');
      const release = holdStats();
      try {
        const othersBefore = readCounter(c2, 1);
        const base = listPrograms([progId])[0].runCnt;
        getppid(23);
        const p = listPrograms([progId])[0];
        others = readCounter(c2, 1) - othersBefore;
        statsCnt = p.runCnt - base;
        statsNs = p.runTimeNs;
        assert.equal(readCounter(c2, 0), 23n);
      } finally {
        release();
      }
    } finally {
      c2.close();
    }
    // exactly 23 on an idle machine; never fewer, and never more than the other processes' runs meanwhile
    assert.ok(statsCnt >= 23n && statsCnt <= 23n + others, `run_cnt grew by ${statsCnt}: 23 of ours and ${others} of other processes`);
    assert.ok(statsNs > 0n);
    const progId = myProgId('tsbpf_insp_c');
    const plain = await ours(progCli, ['show', String(progId)]);
    assert.match(plain, /gpl run_time_ns \d+ run_cnt \d+\n/);
  } finally {
    c.close();
  }
});

async function waitFor(what: string, ms: number, cond: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}

kernelTest('perf list --json agrees with bpftool perf list -j (our tracepoint and a libbpf-tools execsnoop)', async (t) => {
  if (!hasBpftool) return t.skip('BPFTOOL NOT INSTALLED: apt-get install -y bpftool');
  const tool = ['/usr/sbin/execsnoop', '/usr/sbin/opensnoop'].find((p) => fs.existsSync(p));
  if (!tool) return t.skip('LIBBPF-TOOLS NOT INSTALLED: apt-get install -y libbpf-tools');
  const c = loadCounter('tsbpf_insp_d', 'tsbpf_insp_dm');
  let child: ChildProcess | undefined;
  try {
    attachTracepoint(c, 'syscalls', 'sys_enter_getppid', process.pid);
    child = spawn(tool, [], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const pid = child.pid!;
    const theirsNow = (): Obj[] => JSON.parse(bpftool('-j', 'perf', 'list')) as Obj[];
    await waitFor(`${tool} to attach (${stderr})`, 20_000, () => child!.exitCode === null && theirsNow().some((e) => e.pid === pid));

    const mine = JSON.parse(await ours(perfCli, ['list', '--json'])) as Obj[];
    const theirs = theirsNow();
    const key = (e: Obj): string => `${e.pid}/${e.fd}`;
    const b = new Map(theirs.map((e) => [key(e), e]));
    let compared = 0;
    for (const e of mine) {
      const q = b.get(key(e));
      if (!q) continue;
      compared++;
      assert.deepEqual(e, q);
    }
    const self = mine.find((e) => e.pid === process.pid && e.fd === c.perfFd);
    assert.deepEqual(self, { pid: process.pid, fd: c.perfFd, prog_id: myProgId('tsbpf_insp_d'), fd_type: 'tracepoint', tracepoint: 'sys_enter_getppid' });
    assert.ok(b.has(key(self)), 'bpftool sees our attachment too');
    const toolEntries = mine.filter((e) => e.pid === pid);
    assert.ok(toolEntries.length >= 1, `${tool}'s attachments are listed`);
    assert.equal(toolEntries.length, theirs.filter((e) => e.pid === pid).length);
    assert.ok(compared >= 1 + toolEntries.length);
    // Plain text, line for line, for the processes that cannot change under us.
    const plain = (await ours(perfCli, ['list'])).split('\n').filter((l) => l.startsWith(`pid ${process.pid} `) || l.startsWith(`pid ${pid} `));
    const theirPlain = bpftool('perf', 'list').split('\n').filter((l) => l.startsWith(`pid ${process.pid} `) || l.startsWith(`pid ${pid} `));
    assert.deepEqual(plain, theirPlain);
  } finally {
    if (child) await stop(child);
    c.close();
  }
});

kernelTest('map list --json agrees with bpftool map show -j', async (t) => {
  if (!hasBpftool) return t.skip('BPFTOOL NOT INSTALLED: apt-get install -y bpftool');
  const c = loadCounter('tsbpf_insp_e', 'tsbpf_insp_em');
  try {
    const mine = JSON.parse(await ours(mapCli, ['list', '--json'])) as Obj[];
    const theirs = new Map((JSON.parse(bpftool('-j', 'map', 'show')) as Obj[]).map((m) => [m.id, m]));
    const me = mine.find((m) => m.name === 'tsbpf_insp_em');
    assert.ok(me && theirs.has(me.id));
    assert.deepEqual({ ...me, pids: undefined }, { ...(JSON.parse(bpftool('-j', 'map', 'show', 'id', String(me.id))) as Obj), pids: undefined });
    assert.deepEqual(me.pids, [{ pid: process.pid, comm: fs.readFileSync('/proc/self/comm', 'utf8').trim() }]);
    // btf_id is left out here: bpftool 7.1's full listing reuses one info struct across maps, so a map
    // without BTF can show the previous map's btf_id (compare 'bpftool map show id N' for such a map).
    for (const m of mine) {
      const q = theirs.get(m.id);
      if (q) for (const k of ['type', 'name', 'flags', 'bytes_key', 'bytes_value', 'max_entries', 'bytes_memlock', 'frozen']) assert.deepEqual(m[k], q[k], `map ${m.id} ${k}`);
    }
    const id = String(me.id);
    const norm = (s: string): string => s.replace(/\n\tpids [^\n]*/, '');
    assert.equal(norm(await ours(mapCli, ['show', id])), bpftool('map', 'show', 'id', id));
  } finally {
    c.close();
  }
});

kernelTest('bad ids and arguments are one sentence and a non-zero exit', async () => {
  const r1 = await captured(() => progCli(['show', '4294967295']));
  assert.equal(r1.code, 1);
  assert.equal(r1.stderr, 'tsbpf prog: there is no BPF program with id 4294967295\n');
  const r2 = await captured(() => mapCli(['dump', 'x']));
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /^tsbpf map: 'x' is not a map id/);
  const r3 = await captured(() => perfCli(['frobnicate']));
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /^tsbpf perf: unknown subcommand 'frobnicate'/);
  const r4 = await captured(() => progCli(['dump']));
  assert.equal(r4.code, 2);
  for (const r of [r1, r2, r3, r4]) assert.doesNotMatch(r.stderr, /\n\s+at /);
});

kernelTest('map dump formats BTF-typed maps like bpftool (a libbpf-tools runqlat: .rodata exactly, hists per key)', async (t) => {
  if (!hasBpftool) return t.skip('BPFTOOL NOT INSTALLED: apt-get install -y bpftool');
  const tool = '/usr/sbin/runqlat';
  if (!fs.existsSync(tool)) return t.skip('LIBBPF-TOOLS NOT INSTALLED: apt-get install -y libbpf-tools');
  // A process that keeps waking up, so runqlat records it under its own pid.
  const ticker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 2)'], { stdio: 'ignore' });
  let child: ChildProcess | undefined;
  try {
    const tick = ticker.pid!;
    // Ground truth we choose: per-process histograms in ms for the ticker only; these land in .rodata.
    child = spawn(tool, ['-P', '-m', '-p', String(tick), '3600', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const pid = child.pid!;
    const toolMaps = (): { id: number; name: string }[] => listMaps().filter((m) => m.pids.some((r) => r.pid === pid));
    const byName = (n: string): number | undefined => toolMaps().find((m) => m.name === n)?.id;
    await waitFor(`${tool} to load its maps (${stderr})`, 20_000, () => child!.exitCode === null && byName('runqlat_.rodata') !== undefined && byName('hists') !== undefined);

    const rodata = String(byName('runqlat_.rodata'));
    const text = await ours(mapCli, ['dump', rodata]);
    assert.equal(text, bpftool('map', 'dump', 'id', rodata));
    assert.match(text, /"targ_per_process": true/);
    assert.match(text, /"targ_per_thread": false/);
    assert.match(text, /"targ_ms": true/);
    assert.match(text, new RegExp(`"targ_tgid": ${tick}\\b`));
    assert.equal(await ours(mapCli, ['dump', rodata, '-j']), bpftool('-j', 'map', 'dump', 'id', rodata));
    assert.equal(await ours(mapCli, ['dump', rodata, '-p']), bpftool('-p', 'map', 'dump', 'id', rodata));

    // hists: key = the ticker's pid, value = struct hist { u32 slots[26]; char comm[16]; }. Counts only
    // grow, so bpftool's dump (taken first) is at most ours slot by slot.
    const hists = String(byName('hists'));
    type Entry = { key: string[]; value: string[]; formatted: { key: number; value: { slots: number[]; comm: string } } };
    await waitFor('runqlat to record the ticker', 10_000, () => (JSON.parse(bpftool('-j', 'map', 'dump', 'id', hists)) as Entry[]).length > 0);
    const theirs = JSON.parse(bpftool('-j', 'map', 'dump', 'id', hists)) as Entry[];
    const mine = JSON.parse(await ours(mapCli, ['dump', hists, '-j'])) as Entry[];
    assert.deepEqual(mine.map((e) => e.formatted.key), [tick]);
    assert.deepEqual(theirs.map((e) => e.formatted.key), [tick]);
    const [m] = mine;
    const [q] = theirs;
    assert.deepEqual(m.key, q.key);
    assert.equal(m.formatted.value.comm, commOf(tick));
    assert.equal(q.formatted.value.comm, commOf(tick));
    assert.equal(m.formatted.value.slots.length, 26);
    const raw = Buffer.from(m.value.map((h) => parseInt(h, 16)));
    assert.deepEqual(m.formatted.value.slots, Array.from({ length: 26 }, (_, i) => raw.readUInt32LE(i * 4)), 'formatted agrees with our own hex');
    m.formatted.value.slots.forEach((n, i) => assert.ok(q.formatted.value.slots[i] <= n, `slot ${i}: ${q.formatted.value.slots[i]} <= ${n}`));
    assert.ok(m.formatted.value.slots.reduce((a, b) => a + b, 0) > 0);
    // Plain text: the same layout once the counts are blanked out.
    const blank = (s: string): string => s.replace(/"slots": \[[\d,]*/g, '"slots": [N');
    assert.equal(blank(await ours(mapCli, ['dump', hists])), blank(bpftool('map', 'dump', 'id', hists)));
  } finally {
    if (child) await stop(child);
    await stop(ticker);
  }
});
