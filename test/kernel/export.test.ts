/**
 * `tsbpf export` scraped by a real Prometheus server (Debian's prometheus,
 * on loopback, temporary config and storage, 1 s scrape interval): a counter
 * of a child's getppid() calls equals the number of calls, a hist() of known
 * write sizes puts histogram_quantile(0.5) in the right bucket with exact
 * _sum and _count, and an exporter stopped and restarted shows up as one
 * counter reset. /metrics passes `promtool check metrics`; nothing is left
 * behind (exit 0 on SIGTERM, its BPF programs gone, children reaped).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest, requireKernel, skipInVmWithout } from '../helpers/kernel';
import { tsbpfBin } from '../helpers/tsbpf';
import { startWorkload } from './tools-workload';
import { track, type Running } from './tools-harness';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-export-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port free right now on loopback. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((res) => s.close(res));
  return port;
}

function get(url: string, opts: { method?: string; accept?: string } = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.accept ? { Accept: opts.accept } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `fn` until it returns a value (not undefined); fails with `what` after a generous deadline. */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await sleep(250);
  }
}

/** BPF program ids a process holds (from its fds' fdinfo). */
function progIds(pid: number): number[] {
  const ids: number[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^prog_id:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.push(Number(m[1]));
    } catch {
      // fd closed meanwhile
    }
  }
  return ids;
}

function progLoaded(id: number): boolean {
  return spawnSync('bpftool', ['prog', 'show', 'id', String(id)]).status === 0;
}

/** `tsbpf export ARGS`, once it says it is serving. */
async function startExporter(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Running> {
  const r = track(spawn(tsbpfBin, ['export', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }));
  const t0 = Date.now();
  while (!r.stderr().includes('tsbpf export: serving')) {
    if (r.child.exitCode !== null) throw new Error(`tsbpf export exited (${r.child.exitCode}): ${r.stderr()}`);
    if (Date.now() - t0 > 30_000) throw new Error(`tsbpf export did not start: ${r.stderr()}`);
    await sleep(50);
  }
  return r;
}

/** SIGTERM; asserts a clean exit and that the programs it held are unloaded. */
async function stopExporter(r: Running): Promise<void> {
  const ids = progIds(r.child.pid as number);
  assert.ok(ids.length > 0, 'the exporter holds its BPF programs while running');
  r.child.kill('SIGTERM');
  const done = await r.done(20_000);
  assert.equal(done.code, 0, done.stderr);
  assert.doesNotMatch(done.stderr, /internal error|^\s+at /m, done.stderr);
  for (const id of ids) await until(`BPF program ${id} to be unloaded`, async () => (progLoaded(id) ? undefined : true), 10_000);
}

interface Prometheus {
  child: ChildProcess;
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

async function startPrometheus(target: string): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(tmp, 'prom-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: tsbpf\n    static_configs:\n      - targets: ['${target}']\n`);
  const child = spawn('prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const base = `http://127.0.0.1:${port}`;
  const p: Prometheus = {
    child,
    async query(expr) {
      const r = await get(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const j = JSON.parse(r.body) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
      if (j.status !== 'success') throw new Error(`query ${expr}: ${j.error}`);
      return j.data.result;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await until(`prometheus to be ready (${log})`, async () => ((await get(`${base}/-/ready`)).status === 200 ? true : undefined));
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}

/** The value of a one-series query, once it is `want` (Prometheus sees a scrape within a few seconds). */
async function valueBecomes(p: Prometheus, expr: string, want: (v: number) => boolean, what: string): Promise<number> {
  let seen: string | undefined;
  return until(`${what}: ${expr} (last seen ${seen})`, async () => {
    const r = await p.query(expr);
    seen = JSON.stringify(r.map((x) => x.value[1]));
    if (r.length !== 1) return undefined;
    const v = Number(r[0].value[1]);
    return want(v) ? v : undefined;
  });
}

/** A python child that opens /dev/null, prints the fd, waits for a line on stdin, then writes the given sizes to it. */
function startWriter(sizes: number[]) {
  const code = 'import os,sys\nfd=os.open("/dev/null", os.O_WRONLY)\nprint(fd, flush=True)\nsys.stdin.readline()\n' +
    `for n in ${JSON.stringify(sizes)}: os.write(fd, b"x" * n)\n`;
  const child = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return {
    child,
    async fd(): Promise<number> {
      return until('the writer to open /dev/null', async () => (/^\d+\n/.test(out) ? Number(out) : undefined), 20_000);
    },
    go(): Promise<number | null> {
      child.stdin?.end('go\n');
      return exited;
    },
  };
}

kernelTest('Prometheus scrapes tsbpf export: exact getppid counter, hist quantile in the right bucket, restart seen as a counter reset', async (t) => {
  if (skipInVmWithout(t, 'prometheus') || skipInVmWithout(t, 'python3')) return;
  if (!hasPrometheus) {
    const why = 'prometheus is not installed (apt-get install prometheus; .ci/run installs it)';
    if (requireKernel) assert.fail(why); // CI installs it: a skip there would hide the test
    t.skip(why);
    return;
  }
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const CALLS = 57;
  const w1 = startWorkload('getppid', CALLS);
  const sizes = [...Array(30).fill(300), ...Array(10).fill(5000)]; // median in [256, 512): le="511"
  const writer = startWriter(sizes);
  const fd = await writer.fd();
  const counterScript = (pid: number) => `tracepoint:syscalls:sys_enter_getppid /pid == ${pid}/ { @calls = count(); }`;
  const histScript = `tracepoint:syscalls:sys_enter_write /pid == ${writer.child.pid} && args.fd == ${fd}/ { @bytes = hist(args.count); }`;
  let ex = await startExporter(['--listen', listen, '--name', 'getppid', '-e', counterScript(w1.pid), '--name', 'writes', '-e', histScript]);
  let prom: Prometheus | undefined;
  let w2: ReturnType<typeof startWorkload> | undefined;
  try {
    prom = await startPrometheus(listen);
    // the exporter is up before the calls happen: Prometheus first sees 0, then exactly CALLS
    await valueBecomes(prom, 'getppid_calls_total', (v) => v === 0, 'the counter scraped before the calls');
    assert.equal(await w1.go(), 0);
    assert.equal(await writer.go(), 0);
    assert.equal(await valueBecomes(prom, 'getppid_calls_total', (v) => v === CALLS, 'the getppid count'), CALLS);
    await valueBecomes(prom, 'writes_bytes_count', (v) => v === sizes.length, 'the write count');
    assert.equal(Number((await prom.query('writes_bytes_sum'))[0].value[1]), 30 * 300 + 10 * 5000);
    const q = Number((await prom.query('histogram_quantile(0.5, writes_bytes_bucket)'))[0].value[1]);
    assert.ok(q > 255 && q <= 511, `median ${q} should fall in the bucket of 300, (255, 511]`);
    const q9 = Number((await prom.query('histogram_quantile(0.9, writes_bytes_bucket)'))[0].value[1]);
    assert.ok(q9 > 4095 && q9 <= 8191, `p90 ${q9} should fall in the bucket of 5000, (4095, 8191]`);

    // the text format passes Prometheus' own checker; OpenMetrics when asked (Prometheus asks for it)
    const text = await get(`http://${listen}/metrics`);
    assert.match(text.type, /^text\/plain; version=0\.0\.4/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text.body, encoding: 'utf8' });
    assert.deepEqual({ status: check.status, out: check.stdout + check.stderr }, { status: 0, out: '' }, text.body);
    const om = await get(`http://${listen}/metrics`, { accept: 'application/openmetrics-text; version=1.0.0' });
    assert.match(om.type, /^application\/openmetrics-text; version=1\.0\.0/);
    assert.match(om.body, /^# TYPE getppid_calls counter\ngetppid_calls_total 57$/m);
    assert.ok(om.body.endsWith('# EOF\n'));
    // GET only; nothing but /metrics
    assert.equal((await get(`http://${listen}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await get(`http://${listen}/metrics`, { method: 'PUT' })).status, 405);
    assert.equal((await get(`http://${listen}/load`)).status, 404);

    // stopped and restarted: the counter starts again from zero, which Prometheus counts as one reset
    await stopExporter(ex);
    const CALLS2 = 23;
    w2 = startWorkload('getppid', CALLS2);
    ex = await startExporter(['--listen', listen, '--name', 'getppid', '-e', counterScript(w2.pid)]);
    await valueBecomes(prom, 'getppid_calls_total', (v) => v === 0, 'the restarted counter at zero');
    assert.equal(await w2.go(), 0);
    assert.equal(await valueBecomes(prom, 'getppid_calls_total', (v) => v === CALLS2, 'the count after the restart'), CALLS2);
    assert.equal(await valueBecomes(prom, 'resets(getppid_calls_total[5m])', (v) => v >= 1, 'the reset'), 1);
    assert.equal(Number((await prom.query('max_over_time(getppid_calls_total[5m])'))[0].value[1]), CALLS, 'no garbage value in between');
    await stopExporter(ex);
  } finally {
    for (const c of [ex.child, w1.child, w2?.child, writer.child]) if (c && c.exitCode === null) c.kill('SIGKILL');
    await prom?.stop();
  }
}, { timeout: 180_000 });

kernelTest('tsbpf export tells systemd it is ready (Type=notify): READY=1 on $NOTIFY_SOCKET once serving', async (t) => {
  if (skipInVmWithout(t, 'python3')) return; // the datagram receiver
  const sock = path.join(tmp, 'notify.sock');
  // a unix datagram receiver (Node has none): prints each datagram it gets
  const recv = spawn('python3', ['-c',
    'import socket,sys\ns=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound", flush=True)\n' +
    'while True:\n  print(repr(s.recv(4096).decode()), flush=True)\n', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let got = '';
  recv.stdout?.on('data', (d: Buffer) => (got += d.toString()));
  let ex: Running | undefined;
  try {
    await until('the receiver', async () => (got.includes('bound') ? true : undefined), 20_000);
    // started from a --config file this time (the way the example unit runs it)
    const config = path.join(tmp, 'export.yaml');
    fs.writeFileSync(config, `listen: 127.0.0.1:${await freePort()}\nscripts:\n  - name: cfg\n    program: |\n      tracepoint:syscalls:sys_enter_getppid { @ = count(); }\n`, { mode: 0o644 });
    ex = await startExporter(['--config', config], { ...process.env, NOTIFY_SOCKET: sock });
    const url = /serving 1 script on (\S+)/.exec(ex.stderr())?.[1] ?? '';
    assert.match((await get(url)).body, /^cfg_total \d+$/m);
    await until('READY=1', async () => (/'READY=1\\nSTATUS=serving 1 script on http:\/\/127\.0\.0\.1:\d+\/metrics'/.test(got) ? true : undefined), 10_000);
    await stopExporter(ex);
    await until('STOPPING=1', async () => (got.includes("'STOPPING=1'") ? true : undefined), 10_000);
  } finally {
    if (ex && ex.child.exitCode === null) ex.child.kill('SIGKILL');
    recv.kill('SIGKILL');
  }
});

kernelTest('library: exporter() without a server counts a child\'s getppid calls exactly; bad scripts fail in one sentence', async () => {
  const { exporter } = require('../../src/index') as typeof import('../../src/index');
  const w = startWorkload('getppid', 31);
  const ex = await exporter({ listen: false, scripts: [{ name: 'lib', program: `tracepoint:syscalls:sys_enter_getppid /pid == ${w.pid}/ { @calls[comm] = count(); }` }] });
  try {
    assert.equal(await w.go(), 0);
    const text = await ex.metrics('text');
    assert.match(text, /^lib_calls_total\{comm="tools_workload"\} 31$/m, text);
  } finally {
    w.child.kill('SIGKILL');
    await ex.close();
  }
  assert.equal(await ex.done, 0);
  // the series limit: two pids, one series kept, one dropped and counted
  const p1 = startWorkload('getppid', 3);
  const p2 = startWorkload('getppid', 4);
  const lim = await exporter({ listen: false, seriesLimit: 1, scripts: [{ name: 'lim', program: `tracepoint:syscalls:sys_enter_getppid /pid == ${p1.pid} || pid == ${p2.pid}/ { @p[pid] = count(); }` }] });
  try {
    assert.equal(await p1.go(), 0);
    assert.equal(await p2.go(), 0);
    const text = await lim.metrics('text');
    assert.equal(text.match(/^lim_p_total\{pid="\d+"\} [34]$/gm)?.length, 1, text);
    assert.match(text, /^tsbpf_series_dropped\{metric="lim_p"\} 1$/m);
  } finally {
    p1.child.kill('SIGKILL');
    p2.child.kill('SIGKILL');
    await lim.close();
  }
  await assert.rejects(exporter({ listen: false, scripts: [{ program: 'BEGIN { @x = count(); }' }] }), /stdin: the script has only BEGIN\/END, so it would end at once/);
  await assert.rejects(exporter({ listen: false, scripts: [{ program: 'tracepoint:syscalls:sys_enter_getppid { printf("x\\n"); }' }] }), /stdin: no map to serve/);
  await assert.rejects(exporter({ listen: false, scripts: [{ program: 'tracepoint:syscalls:sys_enter_getppid { @n = count(); }', maps: { '@m': { labels: ['x'] } } }] }),
    /stdin has no map @m \(it has @n\)/);
  const r = spawnSync(tsbpfBin, ['export', '--listen', '127.0.0.1:1', 'nosuchfile.bt'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "tsbpf: cannot read script 'nosuchfile.bt': no such file\n");
});

kernelTest('clear() in the script drops counters and the histogram sum to zero (Prometheus reads it as a counter reset)', async () => {
  const { exporter } = require('../../src/index') as typeof import('../../src/index');
  const a1 = startWorkload('getppid', 31);
  const a2 = startWorkload('getppid', 12);
  const b = startWorkload('enoent', 1);
  const script = `tracepoint:syscalls:sys_enter_getppid /pid == ${a1.pid} || pid == ${a2.pid}/ { @calls = count(); @h = lhist(3, 0, 10, 1); }\n` +
    `tracepoint:syscalls:sys_enter_openat /pid == ${b.pid}/ { clear(@calls); clear(@h); }`;
  const ex = await exporter({ listen: false, scripts: [{ name: 'clr', program: script }] });
  const read = async (want: RegExp) => until(`metrics matching ${want}`, async () => {
    const t = await ex.metrics('text');
    return want.test(t) ? t : undefined;
  }, 20_000);
  try {
    assert.equal(await a1.go(), 0);
    const t1 = await read(/^clr_calls_total 31$/m);
    assert.match(t1, /^clr_h_sum 93$/m);
    assert.match(t1, /^clr_h_count 31$/m);
    assert.equal(await b.go(), 0);
    const t2 = await read(/^clr_calls_total 0$/m);
    assert.doesNotMatch(t2, /^clr_h_sum [1-9]/m); // the companion sum was cleared with the buckets
    assert.equal(await a2.go(), 0);
    const t3 = await read(/^clr_calls_total 12$/m);
    assert.match(t3, /^clr_h_sum 36$/m);
    assert.match(t3, /^clr_h_count 12$/m);
  } finally {
    for (const w of [a1, a2, b]) w.child.kill('SIGKILL');
    await ex.close();
  }
});

/** The whole disk holding `dir` (vda for /dev/vda1), from /sys. */
function diskOf(dir: string): string | undefined {
  const st = fs.statSync(dir);
  try {
    const real = fs.realpathSync(`/sys/dev/block/${Math.floor(st.dev / 256)}:${st.dev % 256}`);
    return fs.existsSync(path.join(real, 'partition')) ? path.basename(path.dirname(real)) : path.basename(real);
  } catch {
    return undefined;
  }
}

kernelTest('a tool as a metric source: biolatency -D -d DISK counts 50 direct writes under disk="DISK", its bookkeeping map not exported', async (t) => {
  const { exporter } = require('../../src/index') as typeof import('../../src/index');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-export-bio-'));
  const disk = diskOf(dir);
  if (!disk) {
    fs.rmSync(dir, { recursive: true, force: true });
    t.skip('temporary directory is not on a block device');
    return;
  }
  const ex = await exporter({ listen: false, scripts: [{ tool: 'biolatency', args: ['-D', '-d', disk] }] });
  try {
    const count = async () => Number(/^biolatency_lat_count\{disk="([^"]+)"\} (\d+)$/m.exec(await ex.metrics())?.[2] ?? 0);
    const before = await count();
    const dd = spawnSync('dd', ['if=/dev/zero', `of=${path.join(dir, 'f')}`, 'bs=64k', 'count=50', 'oflag=direct,dsync'], { encoding: 'utf8' });
    assert.equal(dd.status, 0, dd.stderr);
    await until('50 more completions', async () => ((await count()) - before >= 50 ? true : undefined), 20_000);
    const text = await ex.metrics();
    const disks = new Set([...text.matchAll(/^biolatency_lat_\w+\{disk="([^"]+)"/gm)].map((m) => m[1]));
    assert.deepEqual([...disks], [disk], text);
    const inf = Number(new RegExp(`^biolatency_lat_bucket\\{disk="${disk}",le="\\+Inf"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    assert.equal(inf, Number(new RegExp(`^biolatency_lat_count\\{disk="${disk}"\\} (\\d+)$`, 'm').exec(text)?.[1]));
    assert.match(text, new RegExp(`^biolatency_lat_sum\\{disk="${disk}"\\} [1-9]\\d*$`, 'm'));
    assert.doesNotMatch(text, /biolatency_start/); // the tool's start timestamps are bookkeeping
  } finally {
    await ex.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
