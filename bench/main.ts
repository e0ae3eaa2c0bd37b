/**
 * `npm run bench`: tsbpf side by side with bpftrace 0.17, bpftrace 0.23 (some
 * sections) and libbpf-tools on this kernel, in one run, alternating the sides
 * run by run. Writes
 * bench/results/latest.md and latest.json.
 *
 * Options: --quick (fewer runs, smaller loads), --only=1,2,... (sections),
 * --cases=TEXT,... (section 2: only the programs whose name contains one of
 * them, and the empty probe), --runs=N (override), --no-install (do not
 * apt-get the peers).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ROOT, WORK, buildLoadgen, machineInfo, progSizes, progStats, setSysctl, sleep, startLoad, summarize, traceRun,
  type ProgStat, type Summary, type TracedRun,
} from './lib';
import { bpftrace023, bpftrace023Script } from '../test/helpers/peers';
import { PER_EVENT_PROGRAMS } from './programs';

/** 'peer2' is a section's second peer (bpftrace 0.23 beside 0.17), when it has one. */
type SideName = 'tsbpf' | 'peer' | 'peer2';

/** One measured quantity of one case, both sides. */
interface Row {
  case: string;
  metric: string;
  unit: string;
  /** Which direction is better, for reading the ratio; 'info' rows get no verdict. */
  better: 'lower' | 'higher' | 'info';
  tsbpf?: Summary;
  peer?: Summary;
  peer2?: Summary;
  tsbpfError?: string;
  peerError?: string;
  peer2Error?: string;
  /** tsbpf median / peer median. */
  ratio?: number;
  /** Node's own start in the same run (`node -e 0`), for start-up rows: the floor under tsbpf. */
  floor?: Summary;
  /** tsbpf median / second peer median. */
  ratio2?: number;
}

interface Section {
  id: number;
  title: string;
  peer: string;
  /** The second peer's column title, when the section has one. */
  peer2?: string;
  note: string;
  rows: Row[];
}

interface Config {
  quick: boolean;
  only: Set<number> | undefined;
  runs: number | undefined;
  install: boolean;
  /** Section 2: substrings of the program names to run (the empty probe always runs: it is the floor). */
  cases: string[] | undefined;
}

function parseArgs(argv: string[]): Config {
  const c: Config = { quick: false, only: undefined, runs: undefined, install: true, cases: undefined };
  for (const a of argv) {
    if (a === '--quick') c.quick = true;
    else if (a === '--no-install') c.install = false;
    else if (a.startsWith('--only=')) c.only = new Set(a.slice(7).split(',').map(Number));
    else if (a.startsWith('--runs=')) c.runs = Number(a.slice(7));
    else if (a.startsWith('--cases=')) c.cases = a.slice(8).split(',');
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: npm run bench -- [--quick] [--only=1,2,...] [--cases=TEXT,...] [--runs=N] [--no-install]\n');
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  return c;
}

const BPFTRACE = '/usr/bin/bpftrace';
const README_START = '<!-- results:start -->';
const README_END = '<!-- results:end -->';
let TSBPF = ['/bin/sh', path.join(ROOT, 'bin', 'tsbpf')]; // bin/tsbpf is a /bin/sh launcher
/** Set when tsbpf had to be run through bench/keepalive.js; shown in the results. */
let keepAliveNote = '';
// bpftrace refuses more than 512 probes/programs by default; the scaling cases need more.
const BT_ENV = { ...process.env, BPFTRACE_MAX_PROBES: '5000', BPFTRACE_MAX_BPF_PROGS: '5000' };

function log(s: string): void {
  process.stderr.write(s + '\n');
}

function firstLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter((l) => l && !/RLIMIT_MEMLOCK/.test(l));
  return (lines.find((l) => /error|ERROR|cannot|not /.test(l)) ?? lines[0] ?? 'failed').slice(0, 160);
}

/** Installs the peers from Debian's packages when absent. */
function ensurePeers(install: boolean): void {
  const missing: string[] = [];
  if (!fs.existsSync(BPFTRACE)) missing.push('bpftrace');
  if (!fs.existsSync('/usr/sbin/execsnoop') && !fs.existsSync('/usr/sbin/bitesize')) missing.push('libbpf-tools');
  if (install && bpftrace023.unavailable()) {
    log('bench: building the Debian 13 root for bpftrace 0.23 (about a minute, once per machine)');
    spawnSync(bpftrace023Script, ['--build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!missing.length) return;
  if (!install) {
    log(`bench: peers missing (${missing.join(', ')}); their columns will say so`);
    return;
  }
  log(`bench: installing ${missing.join(' ')} from Debian's packages`);
  spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit' });
}

/** Whether tsbpf can run a script at all right now, and why not. */
function tsbpfStatus(): { ok: boolean; why: string } {
  const r = spawnSync(TSBPF[0], [TSBPF[1], '-e', 'BEGIN { exit(); }'], { encoding: 'utf8', timeout: 30_000, cwd: ROOT });
  if (r.status !== 0) return { ok: false, why: `tsbpf not available: ${firstLine((r.stderr ?? '') + (r.stdout ?? ''))}` };
  // A tracing script must keep running until interrupted; if it does not, a
  // runtime bug would hide every per-event number, so work around it visibly.
  const t = spawnSync(TSBPF[0], [TSBPF[1], '-e', 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }'], { encoding: 'utf8', timeout: 3000, cwd: ROOT });
  if (t.error === undefined) {
    TSBPF = [process.execPath, path.join(ROOT, 'bench', 'keepalive.js')];
    keepAliveNote = 'tsbpf exited by itself right after attaching a script without events (a runtime bug at the time of this run), ' +
      'so it was run through bench/keepalive.js, which only adds an idle timer that keeps Node\'s event loop open.';
    log(`bench: ${keepAliveNote}`);
  }
  return { ok: true, why: '' };
}

type Metrics = Record<string, number | undefined>;
interface MetricDef { key: string; label: string; unit: string; better: 'lower' | 'higher' | 'info' }

/**
 * Runs `fn` for both sides `runs` times, alternating which side goes first,
 * and appends one row per metric. A side that throws (or is unavailable)
 * gets its error in the table instead of numbers.
 */
async function compare(
  section: Section, caseName: string, runs: number, metrics: MetricDef[],
  fn: (side: SideName) => Promise<Metrics>, skip: Partial<Record<SideName, string>> = {},
  floor?: () => Promise<Metrics>,
): Promise<void> {
  const samples: Record<SideName, Metrics[]> = { tsbpf: [], peer: [], peer2: [] };
  const floorSamples: Metrics[] = [];
  const errors: Partial<Record<SideName, string>> = { ...skip };
  const sides: SideName[] = section.peer2 ? ['tsbpf', 'peer', 'peer2'] : ['tsbpf', 'peer'];
  const title = (side: SideName): string => (side === 'peer' ? section.peer : side === 'peer2' ? section.peer2 ?? side : 'tsbpf');
  for (let i = 0; i < runs; i++) {
    if (floor) floorSamples.push(await floor());
    // Each side goes first in turn (with two sides: alternately).
    const order = sides.map((_, k) => sides[(k + i) % sides.length]);
    for (const side of order) {
      if (errors[side]) continue;
      try {
        samples[side].push(await fn(side));
      } catch (e) {
        errors[side] = (e as Error).message.split('\n')[0].slice(0, 200);
        log(`  ${section.id}. ${caseName} [${title(side)}]: ${errors[side]}`);
      }
    }
  }
  for (const m of metrics) {
    const row: Row = { case: caseName, metric: m.label, unit: m.unit, better: m.better };
    const ts = summarize(samples.tsbpf.map((s) => s[m.key]));
    const pe = summarize(samples.peer.map((s) => s[m.key]));
    if (ts) row.tsbpf = ts; else row.tsbpfError = errors.tsbpf ?? 'no data';
    if (pe) row.peer = pe; else row.peerError = errors.peer ?? 'no data';
    if (ts && pe && pe.median !== 0) row.ratio = ts.median / pe.median;
    const fl = summarize(floorSamples.map((x) => x[m.key]));
    if (fl) row.floor = fl;
    if (section.peer2) {
      const p2 = summarize(samples.peer2.map((s) => s[m.key]));
      if (p2) row.peer2 = p2; else row.peer2Error = errors.peer2 ?? 'no data';
      if (ts && p2 && p2.median !== 0) row.ratio2 = ts.median / p2.median;
    }
    section.rows.push(row);
  }
  const brief = metrics.slice(0, 2).map((m) => {
    const r = section.rows.find((x) => x.case === caseName && x.metric === m.label);
    return `${m.label} ${fmt(r?.tsbpf?.median)} vs ${fmt(r?.peer?.median)}${section.peer2 ? ` vs ${fmt(r?.peer2?.median)}` : ''}`;
  }).join('; ');
  log(`  ${section.id}. ${caseName}: ${brief}`);
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (Number.isInteger(x)) return a >= 10000 ? x.toLocaleString('en-US') : String(x);
  if (a >= 100000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function failIfBad(r: TracedRun, what: string): void {
  if (r.timedOut) throw new Error(`${what}: timed out`);
  if (r.attachMs === undefined) throw new Error(`${what}: ${firstLine(r.stderrTail + '\n' + r.stdoutTail)}`);
  if (r.detachMs === undefined) {
    const said = r.stderrTail.split('\n').filter((l) => l.trim() && !/Attach|RLIMIT_MEMLOCK/.test(l)).join(' ').slice(0, 160);
    throw new Error(`${what} exited by itself while it should have been tracing (status ${r.usage?.status ?? '?'})${said ? ': ' + said : ''}`);
  }
}

function scriptArgv(side: SideName, script: string, extra: string[] = []): { argv: string[]; env: NodeJS.ProcessEnv } {
  if (side === 'tsbpf') return { argv: [...TSBPF, ...extra, '-e', script], env: process.env };
  return { argv: [...(side === 'peer2' ? bpftrace023.command : [BPFTRACE]), ...extra, '-e', script], env: BT_ENV };
}

// ---------------------------------------------------------------------------

/**
 * The floor under tsbpf's start-up: Node starting and exiting (`node -e 0`), with the
 * environment bin/tsbpf gives Node (it removes every NODE_* variable, e.g.
 * NODE_EXTRA_CA_CERTS, which alone costs Node ~30 ms of CPU to parse certificates).
 */
async function nodeFloor(loadgen: string): Promise<Metrics> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODE_')));
  const r = await traceRun(loadgen, [process.execPath, '-e', '0'], { selfExit: true, env, timeoutMs: 30_000 });
  if (!r.usage || r.usage.status !== 0) throw new Error(`node -e 0 failed: ${firstLine(r.stderrTail)}`);
  return { wall: r.usage.wallMs, cpu: r.usage.cpuMs, rss: r.usage.maxRssMb };
}

async function sectionStartup(s: Section, loadgen: string, runs: number, skip: Partial<Record<SideName, string>>): Promise<void> {
  const cases: Array<[string, string]> = [
    ['BEGIN { exit(); }', 'BEGIN { exit(); }'],
    ['tracepoint + interval:ms:100 exit', 'tracepoint:syscalls:sys_enter_getppid { @ = count(); } interval:ms:100 { exit(); }'],
  ];
  const metrics: MetricDef[] = [
    { key: 'wall', label: 'wall', unit: 'ms', better: 'lower' },
    { key: 'cpu', label: 'CPU user+sys', unit: 'ms', better: 'lower' },
    { key: 'rss', label: 'peak RSS', unit: 'MB', better: 'lower' },
  ];
  for (const [name, script] of cases) {
    await compare(s, name, runs, metrics, async (side) => {
      const { argv, env } = scriptArgv(side, script);
      const r = await traceRun(loadgen, argv, { selfExit: true, env, timeoutMs: 60_000 });
      if (r.timedOut || !r.usage || r.usage.status !== 0) throw new Error(firstLine(r.stderrTail + '\n' + r.stdoutTail));
      return { wall: r.usage.wallMs, cpu: r.usage.cpuMs, rss: r.usage.maxRssMb };
    }, skip, () => nodeFloor(loadgen));
  }
}

/** Programs of `pid` that ran, with run-count and run-time deltas since `before`. */
function ranSince(before: ProgStat[], after: ProgStat[]): Array<ProgStat & { dCnt: number; dNs: number }> {
  return after.map((a) => {
    const b = before.find((x) => x.id === a.id);
    return { ...a, dCnt: a.runCnt - (b?.runCnt ?? 0), dNs: a.runTimeNs - (b?.runTimeNs ?? 0) };
  }).filter((p) => p.dCnt > 0);
}

async function sectionPerEvent(s: Section, loadgen: string, runs: number, n: number, skip: Partial<Record<SideName, string>>, cases?: string[]): Promise<void> {
  const metrics: MetricDef[] = [
    { key: 'ns', label: 'run time per event', unit: 'ns', better: 'lower' },
    { key: 'insns', label: 'xlated instructions', unit: 'insns', better: 'lower' },
    { key: 'jited', label: 'JITed size', unit: 'bytes', better: 'lower' },
    { key: 'counted', label: 'events run / calls made', unit: 'ratio', better: 'info' },
  ];
  const restore = setSysctl('kernel.bpf_stats_enabled', '1');
  try {
    const chosen = PER_EVENT_PROGRAMS.filter((p) => p.name === 'empty probe' || !cases || cases.some((c) => p.name.includes(c)));
    for (const { name, syscall, script } of chosen) {
      await compare(s, name, runs, metrics, async (side) => {
        const load = await startLoad(loadgen, syscall, n);
        try {
          const { argv, env } = scriptArgv(side, script.replace('PID', String(load.pid)));
          const probes = script.split('tracepoint:').length - 1;
          let m: Metrics = {};
          const r = await traceRun(loadgen, argv, {
            env, timeoutMs: 120_000, expectPerfFds: probes,
            whileAttached: async (pid) => {
              const before = progStats(pid);
              const done = await load.go();
              const ran = ranSince(before, progStats(pid));
              if (!ran.length) throw new Error('no program of the tracer ran');
              // Per event = per call: a case with an entry and an exit probe costs both programs per call.
              const cnt = Math.max(...ran.map((p) => p.dCnt));
              const ns = ran.reduce((a, p) => a + p.dNs, 0);
              const sizes = ran.map((p) => progSizes(p.id));
              const total = (k: 'xlatedInsns' | 'jitedBytes'): number | undefined =>
                sizes.every((z) => z) ? sizes.reduce((a, z) => a + (z?.[k] ?? 0), 0) : undefined;
              m = { ns: ns / cnt, insns: total('xlatedInsns'), jited: total('jitedBytes'), counted: cnt / done.calls };
            },
          });
          failIfBad(r, 'tracer');
          if (m.ns === undefined) throw new Error('no run statistics (did the probe attach?)');
          return m;
        } finally {
          load.kill();
        }
      }, skip);
    }
  } finally {
    restore();
  }
  // A case with entry and exit probes runs two programs per call: two floors.
  const programsOf = (name: string): number => (PER_EVENT_PROGRAMS.find((p) => p.name === name)?.script.split('tracepoint:').length ?? 2) - 1;
  addAboveFloor(s, 'empty probe', 'run time per event', programsOf);
}

/**
 * Rows of each program's cost above the empty program's (the floor: the
 * tracepoint's own cost of running any BPF program), per side: what the
 * generated code itself costs (issue 17). Each sample minus the floor's median
 * times the number of programs the case runs per event.
 */
function addAboveFloor(s: Section, floorCase: string, metric: string, programsOf: (name: string) => number): void {
  const floor = s.rows.find((r) => r.case === floorCase && r.metric === metric);
  if (!floor) return;
  for (const r of s.rows.filter((x) => x.metric === metric && x.case !== floorCase)) {
    const k = programsOf(r.case);
    const minus = (x: Summary | undefined, f: Summary | undefined): Summary | undefined =>
      x && f ? { median: x.median - k * f.median, min: x.min - k * f.median, max: x.max - k * f.median, n: x.n } : undefined;
    const row: Row = { case: r.case, metric: 'above the empty-probe floor', unit: r.unit, better: r.better };
    row.tsbpf = minus(r.tsbpf, floor.tsbpf);
    row.peer = minus(r.peer, floor.peer);
    if (!row.tsbpf) row.tsbpfError = r.tsbpfError ?? floor.tsbpfError ?? 'no data';
    if (!row.peer) row.peerError = r.peerError ?? floor.peerError ?? 'no data';
    if (row.tsbpf && row.peer && row.peer.median > 0) row.ratio = row.tsbpf.median / row.peer.median;
    if (s.peer2) {
      row.peer2 = minus(r.peer2, floor.peer2);
      if (!row.peer2) row.peer2Error = r.peer2Error ?? floor.peer2Error ?? 'no data';
      if (row.tsbpf && row.peer2 && row.peer2.median > 0) row.ratio2 = row.tsbpf.median / row.peer2.median;
    }
    s.rows.push(row);
  }
}

async function sectionDelivery(s: Section, loadgen: string, runs: number, n: number, skip: Partial<Record<SideName, string>>): Promise<void> {
  const metrics: MetricDef[] = [
    { key: 'pct', label: 'delivered', unit: '%', better: 'higher' },
    { key: 'delivered', label: 'events delivered', unit: 'events', better: 'higher' },
    { key: 'lost', label: 'losses reported', unit: 'events', better: 'lower' },
    { key: 'unaccounted', label: 'neither delivered nor reported lost', unit: 'events', better: 'lower' },
    { key: 'rate', label: 'generated rate', unit: 'events/s', better: 'higher' },
    { key: 'cpu', label: 'consumer CPU', unit: 'ms', better: 'lower' },
  ];
  await compare(s, `printf per event, ${n.toLocaleString('en-US')} getppid calls`, runs, metrics, async (side) => {
    const load = await startLoad(loadgen, 'getppid', n);
    try {
      const script = `tracepoint:syscalls:sys_enter_getppid /pid == ${load.pid}/ { printf("%d %s\\n", pid, comm); }`;
      const { argv, env } = scriptArgv(side, script);
      let calls = n;
      let genNs = NaN;
      const r = await traceRun(loadgen, argv, {
        env, timeoutMs: 180_000, countMatch: ' loadgen\n', expectPerfFds: 1,
        whileAttached: async (_pid, progress) => {
          const done = await load.go();
          calls = done.calls;
          genNs = done.ns;
          // Let the consumer catch up: stop when output has been still for 1 s.
          let last = -1;
          for (let waited = 0; waited < 60_000 && progress.matchedLines !== last; waited += 1000) {
            last = progress.matchedLines;
            await sleep(1000);
          }
        },
      });
      failIfBad(r, 'tracer');
      return {
        delivered: r.matchedLines, pct: (100 * r.matchedLines) / calls, lost: r.lost,
        unaccounted: Math.max(0, calls - r.matchedLines - r.lost), rate: calls / (genNs / 1e9), cpu: r.usage?.cpuMs,
      };
    } finally {
      load.kill();
    }
  }, skip);
}

async function sectionAttachScale(s: Section, loadgen: string, runs: number, skip: Partial<Record<SideName, string>>): Promise<void> {
  const probes = fs.readdirSync('/sys/kernel/tracing/events/syscalls').filter((e) => e.startsWith('sys_enter_')).length;
  const metrics: MetricDef[] = [
    { key: 'attached', label: 'start → all attached', unit: 'ms', better: 'lower' },
    { key: 'attach', label: 'start → attach message', unit: 'ms', better: 'lower' },
    { key: 'detach', label: 'SIGINT → exit', unit: 'ms', better: 'lower' },
    { key: 'reported', label: 'probes the tool reports attaching', unit: 'probes', better: 'info' },
    { key: 'perfFds', label: 'perf-event fds held (attachments + output buffers)', unit: 'fds', better: 'info' },
    { key: 'cpu', label: 'CPU user+sys', unit: 'ms', better: 'lower' },
    { key: 'rss', label: 'peak RSS', unit: 'MB', better: 'lower' },
  ];
  await compare(s, `tracepoint:syscalls:sys_enter_* (${probes} probes) { @ = count(); }`, runs, metrics, async (side) => {
    const { argv, env } = scriptArgv(side, 'tracepoint:syscalls:sys_enter_* { @ = count(); }');
    const r = await traceRun(loadgen, argv, { env, timeoutMs: 180_000, expectPerfFds: probes });
    failIfBad(r, 'tracer');
    const said = /Attach(?:ing|ed) (\d+) probe/.exec(r.stderrTail + r.stdoutTail);
    return { reported: said ? Number(said[1]) : undefined, perfFds: r.peakPerfFds, attached: r.attachedMs, attach: r.attachMs, detach: r.detachMs, cpu: r.usage?.cpuMs, rss: r.usage?.maxRssMb };
  }, skip);
}

/** N distinct tracepoints: syscalls first, then the other categories. */
function tracepointNames(n: number): string[] {
  const names: string[] = [];
  for (const e of fs.readdirSync('/sys/kernel/tracing/events/syscalls').sort()) {
    if (e.startsWith('sys_')) names.push(`syscalls:${e}`);
  }
  for (const line of fs.readFileSync('/sys/kernel/tracing/available_events', 'utf8').split('\n').sort()) {
    if (line && !line.startsWith('syscalls:') && !names.includes(line)) names.push(line);
  }
  return names.slice(0, n);
}

function generatedScript(n: number): string {
  return tracepointNames(n).map((t, i) => `tracepoint:${t} { @[${i}] = count(); }\n`).join('');
}

async function sectionCompile(s: Section, loadgen: string, runs: number, sizes: number[], attachSizes: number[], skip: Partial<Record<SideName, string>>): Promise<void> {
  const compileOnly = path.join(ROOT, 'dist', 'bench', 'compile-only.js');
  for (const n of sizes) {
    const file = path.join(WORK, `probes-${n}.bt`);
    fs.writeFileSync(file, generatedScript(n));
    const metrics: MetricDef[] = [
      { key: 'wall', label: 'compile-only process wall', unit: 'ms', better: 'lower' },
      { key: 'cpu', label: 'CPU user+sys', unit: 'ms', better: 'lower' },
      { key: 'inproc', label: 'in-process compile() (tsbpf only)', unit: 'ms', better: 'lower' },
    ];
    await compare(s, `${n} probe${n === 1 ? '' : 's'}, compile only`, runs, metrics, async (side) => {
      const elf = path.join(WORK, `probes-${n}.o`);
      const argv = side === 'tsbpf' ? [process.execPath, compileOnly, file] : [BPFTRACE, '--emit-elf', elf, file];
      const r = await traceRun(loadgen, argv, { selfExit: true, env: BT_ENV, timeoutMs: 300_000 });
      if (!r.usage || r.usage.status !== 0) throw new Error(firstLine(r.stderrTail + '\n' + r.stdoutTail));
      const inproc = side === 'tsbpf' ? (JSON.parse(r.stdoutTail.trim().split('\n').pop() ?? '{}') as { compileMs?: number }).compileMs : undefined;
      return { wall: r.usage.wallMs, cpu: r.usage.cpuMs, inproc };
    }, skip);
  }
  for (const n of attachSizes) {
    const file = path.join(WORK, `probes-${n}.bt`);
    fs.writeFileSync(file, generatedScript(n));
    const metrics: MetricDef[] = [
      { key: 'attach', label: 'start → attached (compile+load+attach)', unit: 'ms', better: 'lower' },
      { key: 'cpu', label: 'CPU user+sys', unit: 'ms', better: 'lower' },
    ];
    await compare(s, `${n} probe${n === 1 ? '' : 's'}, run to attached`, runs, metrics, async (side) => {
      const argv = side === 'tsbpf' ? [...TSBPF, file] : [BPFTRACE, file];
      const r = await traceRun(loadgen, argv, { env: BT_ENV, timeoutMs: 300_000, expectPerfFds: n });
      failIfBad(r, 'tracer');
      return { attach: r.attachedMs, cpu: r.usage?.cpuMs };
    }, skip);
  }
}

interface ToolCase {
  name: string;
  libbpfArgs: string[];
  tsbpfArgs: string[];
  /** Drives the events the tool traces. */
  work: () => Promise<void>;
}

function runQuiet(cmd: string, args: string[]): Promise<void> {
  return new Promise((res) => {
    const c: ChildProcess = spawn(cmd, args, { stdio: 'ignore' });
    c.on('close', () => res());
  });
}

async function sectionTools(s: Section, loadgen: string, runs: number, skip: Partial<Record<SideName, string>>): Promise<void> {
  const ioFile = path.join(WORK, 'io.tmp');
  const io = async (): Promise<void> => {
    await runQuiet('dd', ['if=/dev/zero', `of=${ioFile}`, 'bs=4k', 'count=2000', 'oflag=direct', 'status=none']);
    await runQuiet('dd', [`if=${ioFile}`, 'of=/dev/null', 'bs=4k', 'iflag=direct', 'status=none']);
  };
  const execs = async (): Promise<void> => {
    for (let i = 0; i < 200; i++) await runQuiet('/bin/true', []);
  };
  const cases: ToolCase[] = [
    { name: 'bitesize', libbpfArgs: [], tsbpfArgs: [], work: io },
    { name: 'biolatency', libbpfArgs: [], tsbpfArgs: [], work: io },
    { name: 'execsnoop', libbpfArgs: [], tsbpfArgs: [], work: execs },
    { name: 'opensnoop', libbpfArgs: [], tsbpfArgs: [], work: () => runQuiet(loadgen, ['openat', '20000']) },
    { name: 'runqlat', libbpfArgs: [], tsbpfArgs: [], work: execs },
    { name: 'syscount', libbpfArgs: [], tsbpfArgs: [], work: () => runQuiet(loadgen, ['getppid', '200000']) },
  ];
  const toolList = spawnSync(TSBPF[0], [TSBPF[1], 'tools'], { encoding: 'utf8', cwd: ROOT });
  const metrics: MetricDef[] = [
    { key: 'ready', label: 'start → first output', unit: 'ms', better: 'lower' },
    { key: 'cpu', label: 'CPU user+sys (start, workload, exit)', unit: 'ms', better: 'lower' },
    { key: 'rss', label: 'peak RSS', unit: 'MB', better: 'lower' },
    { key: 'ns', label: 'BPF run time per event', unit: 'ns', better: 'lower' },
    { key: 'insns', label: 'xlated instructions (all programs)', unit: 'insns', better: 'lower' },
  ];
  const hasTool = (name: string): string | undefined =>
    skip.tsbpf ?? (toolList.status === 0 && new RegExp(`^\\s*${name}\\b`, 'm').test(toolList.stdout) ? undefined : `tsbpf has no '${name}' tool yet`);
  const argvOf = (side: SideName, t: ToolCase): string[] =>
    // libbpf-tools print with stdio buffering; line-buffer them so the header marks readiness.
    side === 'tsbpf' ? [...TSBPF, t.name, ...t.tsbpfArgs] : ['stdbuf', '-oL', `/usr/sbin/${t.name}`, ...t.libbpfArgs];
  // Start-up alone: started, interrupted 100 ms after it prints (its header: it is attached;
  // libbpf-tools install their SIGINT handler around that line, a signal right at it can be lost), exit.
  const startMetrics: MetricDef[] = [
    { key: 'cpu', label: 'CPU user+sys (start → ready → SIGINT → exit)', unit: 'ms', better: 'lower' },
    { key: 'rss', label: 'peak RSS', unit: 'MB', better: 'lower' },
  ];
  for (const t of cases) {
    await compare(s, `${t.name} start-up`, runs, startMetrics, async (side) => {
      const r = await traceRun(loadgen, argvOf(side, t), { ready: /\S/, timeoutMs: 60_000, whileAttached: () => sleep(100) });
      if (r.attachMs === undefined || r.timedOut || !r.usage) throw new Error(firstLine(r.stderrTail + '\n' + r.stdoutTail));
      return { cpu: r.usage.cpuMs, rss: r.usage.maxRssMb };
    }, { ...skip, tsbpf: hasTool(t.name) }, () => nodeFloor(loadgen));
  }
  const restore = setSysctl('kernel.bpf_stats_enabled', '1');
  try {
    for (const t of cases) {
      const tsSkip = hasTool(t.name);
      await compare(s, t.name, runs, metrics, async (side) => {
        const argv = argvOf(side, t);
        let m: Metrics = {};
        const r = await traceRun(loadgen, argv, {
          ready: /\S/, timeoutMs: 120_000,
          whileAttached: async (pid) => {
            await sleep(300);
            const before = progStats(pid);
            await t.work();
            const ran = ranSince(before, progStats(pid));
            const cnt = ran.reduce((a, p) => a + p.dCnt, 0);
            const ns = ran.reduce((a, p) => a + p.dNs, 0);
            const insns = progStats(pid).reduce((a, p) => a + (progSizes(p.id)?.xlatedInsns ?? 0), 0);
            m = { ns: cnt ? ns / cnt : undefined, insns };
          },
        });
        const failed = r.detachMs === undefined && r.usage?.status !== 0;
        if (r.attachMs === undefined || r.timedOut || failed) throw new Error(firstLine(r.stderrTail + '\n' + r.stdoutTail));
        return { ...m, ready: r.attachMs, cpu: r.usage?.cpuMs, rss: r.usage?.maxRssMb };
      }, { ...skip, tsbpf: tsSkip });
    }
  } finally {
    restore();
    try { fs.unlinkSync(ioFile); } catch { /* absent */ }
  }
}

async function sectionLibrary(s: Section, loadgen: string, runs: number, n: number): Promise<void> {
  // BTF: tsbpf only (bpftool reads the same file; its time is shown as the reference).
  const btfJs = path.join(ROOT, 'dist', 'bench', 'btf.js');
  const btfSamples: Metrics[] = [];
  let btfError: string | undefined;
  if (fs.existsSync(btfJs)) {
    for (let i = 0; i < runs; i++) {
      const usageLoad = await traceRun(loadgen, [process.execPath, '--expose-gc', btfJs, '1'], { selfExit: true, timeoutMs: 120_000 });
      const out = usageLoad.stdoutTail;
      const cold = /cold\s+read\+scan\s+([\d.]+) ms\s+name index\s+([\d.]+) ms.*?rss \+([\d.]+) MB\s+heap \+([\d.]+) MB/.exec(out);
      if (!cold || !usageLoad.usage) {
        btfError = firstLine(usageLoad.stderrTail + '\n' + out);
        break;
      }
      btfSamples.push({ total: Number(cold[1]) + Number(cold[2]), rss: Number(cold[3]), heap: Number(cold[4]), peak: usageLoad.usage.maxRssMb });
    }
  } else {
    btfError = 'dist/bench/btf.js absent';
  }
  const bpftoolSamples: Metrics[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await traceRun(loadgen, ['bpftool', 'btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], { selfExit: true, timeoutMs: 120_000 });
    if (r.usage) bpftoolSamples.push({ total: r.usage.wallMs, peak: r.usage.maxRssMb });
  }
  const push = (metric: string, unit: string, key: string, peerKey: string | undefined): void => {
    const ts = summarize(btfSamples.map((x) => x[key]));
    const pe = peerKey ? summarize(bpftoolSamples.map((x) => x[peerKey])) : undefined;
    s.rows.push({
      case: 'vmlinux BTF (cold, first load in a process)', metric, unit, better: 'lower', tsbpf: ts, peer: pe,
      tsbpfError: ts ? undefined : btfError ?? 'no data', peerError: pe ? undefined : peerKey ? 'no data' : 'n/a',
      ratio: ts && pe ? ts.median / pe.median : undefined,
    });
  };
  push('read + index (tsbpf) vs bpftool full raw dump wall', 'ms', 'total', 'total');
  push('RSS growth', 'MB', 'rss', undefined);
  push('JS heap growth', 'MB', 'heap', undefined);
  push('process peak RSS', 'MB', 'peak', 'peak');
  log(`  7. BTF: ${fmt(summarize(btfSamples.map((x) => x.total))?.median)} ms`);

  const rbJs = path.join(ROOT, 'dist', 'bench', 'ringbuf.js');
  for (const mode of ['watch', 'poll']) {
    const samples: Metrics[] = [];
    let err: string | undefined;
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, [rbJs, loadgen, String(n), mode], { encoding: 'utf8', timeout: 120_000, cwd: ROOT });
      try {
        const j = JSON.parse(r.stdout.trim()) as { received: number; lost: number; eventsPerSec: number; cpuMs: number; genRate: number };
        samples.push({ rate: j.eventsPerSec, received: (100 * j.received) / n, lost: j.lost, cpu: j.cpuMs, gen: j.genRate });
      } catch {
        err = firstLine(r.stderr + '\n' + r.stdout);
        break;
      }
    }
    const caseName = `RingBufReader, ${mode === 'watch' ? 'event-loop wake-ups' : 'setImmediate polling'}, ${n.toLocaleString('en-US')} records`;
    for (const [key, metric, unit, better] of [
      ['rate', 'records received per second', 'records/s', 'higher'], ['received', 'received', '%', 'higher'],
      ['lost', 'failed outputs (counted in-kernel)', 'records', 'lower'], ['cpu', 'consumer CPU', 'ms', 'lower'],
      ['gen', 'producer syscall rate', 'calls/s', 'higher'],
    ] as const) {
      const ts = summarize(samples.map((x) => x[key]));
      s.rows.push({ case: caseName, metric, unit, better, tsbpf: ts, tsbpfError: ts ? undefined : err ?? 'no data', peerError: 'n/a' });
    }
    log(`  7. ring buffer ${mode}: ${err ?? fmt(summarize(samples.map((x) => x.rate))?.median) + ' records/s'}`);
  }
}

// ---- 8. Prometheus export ---------------------------------------------------

/** CPU time (user+sys, all threads) a process has used, in ms (clock ticks of /proc/PID/stat). */
function processCpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // utime, stime (fields 14, 15) at USER_HZ = 100
}

async function scrape(url: string): Promise<{ ms: number; bytes: number; series: number }> {
  const t0 = process.hrtime.bigint();
  const res = await fetch(url);
  const body = await res.text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 200) throw new Error(`scrape: HTTP ${res.status}`);
  return { ms, bytes: body.length, series: body.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('tsbpf_')).length };
}

let exportPort = 19500 + (process.pid % 400);

async function sectionExport(s: Section, loadgen: string, runs: number, n: number, skip: Partial<Record<SideName, string>>): Promise<void> {
  // 10,000 series: the low bits of the clock as a key, filled by n umask calls (n / 10,000 per key on average)
  const many = 'config = { max_map_keys = 16384 } tracepoint:syscalls:sys_enter_umask /pid == PID/ { @series[nsecs % 10000] = count(); }';
  const samples: Metrics[] = [];
  let err: string | undefined = skip.tsbpf;
  for (let i = 0; i < runs && !err; i++) {
    const load = await startLoad(loadgen, 'umask', n);
    const url = `http://127.0.0.1:${++exportPort}/metrics`;
    try {
      let m: Metrics = {};
      const r = await traceRun(loadgen, [...TSBPF, 'export', '--listen', `127.0.0.1:${exportPort}`, '--name', 'bench', '-e', many.replace('PID', String(load.pid))], {
        ready: /tsbpf export: serving/, timeoutMs: 120_000,
        whileAttached: async (pid) => {
          await load.go();
          const idle0 = processCpuMs(pid);
          await sleep(2000);
          const idle = (processCpuMs(pid) - idle0) / 2;
          const first = await scrape(url); // warm-up (JIT), not counted
          const K = 20;
          const cpu0 = processCpuMs(pid);
          const walls: number[] = [];
          for (let k = 0; k < K; k++) walls.push((await scrape(url)).ms);
          const cpu = (processCpuMs(pid) - cpu0) / K;
          walls.sort((a, b) => a - b);
          m = { wall: walls[K >> 1], cpu, series: first.series, kb: first.bytes / 1024, idle };
        },
      });
      if (m.wall === undefined) throw new Error(firstLine(r.stderrTail) || 'the exporter did not serve');
      samples.push(m);
    } catch (e) {
      err = (e as Error).message.split('\n')[0].slice(0, 200);
    } finally {
      load.kill();
    }
  }
  const caseName = 'one counter map with ~10,000 series (`@series[nsecs % 10000] = count()`)';
  for (const [key, metric, unit] of [
    ['wall', 'scrape time (median of 20)', 'ms'], ['cpu', 'exporter CPU per scrape', 'ms'], ['series', 'series exposed', 'series'],
    ['kb', 'response size', 'KB'], ['idle', 'exporter CPU while not scraped', 'ms/s'],
  ] as const) {
    const ts = summarize(samples.map((x) => x[key]));
    s.rows.push({ case: caseName, metric, unit, better: key === 'series' || key === 'kb' ? 'info' : 'lower', tsbpf: ts, tsbpfError: ts ? undefined : err ?? 'no data', peerError: 'n/a' });
  }
  log(`  8. 10,000 series: ${err ?? `${fmt(summarize(samples.map((x) => x.wall))?.median)} ms per scrape`}`);

  // Per-event cost: the same script with the exporter (scraped every 100 ms) and without it (tsbpf -e)
  const cases: Array<[string, string]> = [
    ['@[pid] = count()', 'tracepoint:syscalls:sys_enter_umask { @[pid] = count(); }'],
    ['@[comm] = hist(arg) (the exporter adds a sum() for _sum)', 'tracepoint:syscalls:sys_enter_umask { @[comm] = hist(args->mask); }'],
    ['@[comm] = hist(arg), annotated sum=no (no _sum)', '// export @ sum=no\ntracepoint:syscalls:sys_enter_umask { @[comm] = hist(args->mask); }'],
  ];
  const metrics: MetricDef[] = [
    { key: 'ns', label: 'run time per event', unit: 'ns', better: 'lower' },
    { key: 'insns', label: 'xlated instructions', unit: 'insns', better: 'lower' },
  ];
  const restore = setSysctl('kernel.bpf_stats_enabled', '1');
  try {
    for (const [name, script] of cases) {
      await compare(s, name, runs, metrics, async (side) => {
        const load = await startLoad(loadgen, 'umask', n);
        const port = ++exportPort;
        try {
          const argv = side === 'tsbpf' ? [...TSBPF, 'export', '--listen', `127.0.0.1:${port}`, '-e', script] : [...TSBPF, '-e', script];
          let m: Metrics = {};
          const r = await traceRun(loadgen, argv, {
            ready: side === 'tsbpf' ? /tsbpf export: serving/ : undefined, timeoutMs: 120_000, expectPerfFds: 1,
            whileAttached: async (pid) => {
              const before = progStats(pid);
              let scraping = side === 'tsbpf';
              const scraper = (async () => {
                while (scraping) {
                  await scrape(`http://127.0.0.1:${port}/metrics`);
                  await sleep(100);
                }
              })();
              try {
                await load.go();
              } finally {
                scraping = false;
                await scraper;
              }
              const ran = ranSince(before, progStats(pid));
              if (!ran.length) throw new Error('no program of the tracer ran');
              const cnt = ran.reduce((a, p) => a + p.dCnt, 0);
              const ns = ran.reduce((a, p) => a + p.dNs, 0);
              const main = ran.reduce((a, p) => (p.dCnt > a.dCnt ? p : a));
              m = { ns: ns / cnt, insns: progSizes(main.id)?.xlatedInsns };
            },
          });
          if (m.ns === undefined) throw new Error(firstLine(r.stderrTail) || 'no run statistics');
          return m;
        } finally {
          load.kill();
        }
      }, skip.tsbpf ? { tsbpf: skip.tsbpf, peer: skip.tsbpf } : {});
    }
  } finally {
    restore();
  }
}

// ---- 9. USDT probes of a Node.js program (usdt.provider) -------------------

interface UsdtApp { pid: number; run(n: number, mode: 'fire' | 'floor'): Promise<Metrics>; kill(): void }

/** Starts dist/bench/node-usdt.js (myapp:firstProbe enabled) and waits for its "ready PID". */
async function startUsdtApp(): Promise<UsdtApp> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'node-usdt.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const waitLine = async (re: RegExp): Promise<RegExpExecArray> => {
    for (;;) {
      const m = re.exec(out);
      if (m) {
        out = out.slice(m.index + m[0].length);
        return m;
      }
      if (child.exitCode !== null) throw new Error(`bench/node-usdt exited: ${firstLine(err)}`);
      await sleep(10);
    }
  };
  await waitLine(/^ready \d+\n/m);
  return {
    pid: child.pid as number,
    async run(n, mode) {
      child.stdin!.write(`go ${n} ${mode}\n`);
      const j = JSON.parse((await waitLine(/^\{.*\}\n/m))[0]) as { nsPerCall: number; wallNsPerCall: number; callbacks: number; total: number };
      return { ns: j.nsPerCall, wall: j.wallNsPerCall, callbacks: j.callbacks, total: j.total };
    },
    kill: () => child.kill('SIGKILL'),
  };
}

async function sectionNodeUsdt(s: Section, loadgen: string, runs: number, untracedN: number, tracedN: number, skip: Partial<Record<SideName, string>>): Promise<void> {
  // Not traced: fire() against the floor of any enabled-check in JavaScript.
  await compare(s, `probe.fire(() => [i, 'My little string']), not traced (${untracedN.toLocaleString('en-US')} calls)`, runs, [
    { key: 'ns', label: 'CPU per call', unit: 'ns', better: 'lower' },
    { key: 'callbacks', label: 'callbacks run', unit: 'calls', better: 'info' },
  ], async (side) => {
    const app = await startUsdtApp();
    try {
      return await app.run(untracedN, side === 'tsbpf' ? 'fire' : 'floor');
    } finally {
      app.kill();
    }
  }, skip.tsbpf ? { tsbpf: skip.tsbpf } : {});

  // Traced: each fire traps into the kernel's uprobe, the tracer's program counts it.
  const script = 'BEGIN { printf("ready\\n"); } usdt:*:myapp:firstProbe { @ = count(); }';
  await compare(s, `probe.fire(...), traced: -p PID '${script.replace(/^BEGIN[^}]*\} /, '')}' (${tracedN.toLocaleString('en-US')} calls)`, runs, [
    { key: 'ns', label: 'CPU per call (the firing process)', unit: 'ns', better: 'lower' },
    { key: 'counted', label: 'fires counted by the tracer', unit: '%', better: 'higher' },
  ], async (side) => {
    const app = await startUsdtApp();
    try {
      let m: Metrics = {};
      const argv = [...(side === 'tsbpf' ? TSBPF : [BPFTRACE]), '-p', String(app.pid), '-e', script];
      const r = await traceRun(loadgen, argv, {
        ready: /^ready$/m, timeoutMs: 120_000,
        whileAttached: async () => {
          m = await app.run(tracedN, 'fire');
        },
      });
      const count = /^@: (\d+)$/m.exec(r.stdoutTail);
      if (m.ns === undefined || !count) throw new Error(firstLine(r.stderrTail) || 'no result');
      if (m.callbacks !== tracedN) throw new Error(`${m.callbacks} callbacks ran for ${tracedN} traced fires`);
      return { ...m, counted: (100 * Number(count[1])) / (m.total as number) };
    } finally {
      app.kill();
    }
  }, skip);
}

// ---------------------------------------------------------------------------

function cell(x: Summary | undefined, err: string | undefined): string {
  if (!x) return `n/a: ${(err ?? '').replace(/\|/g, '\\|')}`;
  return x.n > 1 && x.min !== x.max ? `${fmt(x.median)} (${fmt(x.min)}–${fmt(x.max)})` : fmt(x.median);
}

function ratioCell(r: Row, ratio = r.ratio): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '–';
  if (r.better === 'info') return `${ratio.toFixed(2)}×`;
  const good = r.better === 'lower' ? ratio <= 1 : ratio >= 1;
  return `${ratio.toFixed(2)}× ${good ? '✓' : '✗'}`;
}

function renderMarkdown(sections: Section[], info: Record<string, string | number>, cfg: Config, elapsedS: number, targets: string[], keepAliveNote: string): string {
  const out: string[] = [];
  out.push('# tsbpf benchmark results', '');
  out.push(`Run ${new Date().toISOString()} (${cfg.quick ? 'quick' : 'full'}, ${elapsedS.toFixed(0)} s). ` +
    `Kernel ${info.kernel}, ${info.cpus} × ${info.cpuModel}, ${info.memGb} GB, Node ${info.node}; ` +
    `${info.bpftrace}; ${info.bpftrace023} (Debian 13 root); libbpf-tools ${info.libbpfTools}; ${info.bpftool}.`, '');
  out.push('Cells are median (min–max) over the runs; the two sides alternate run by run. ' +
    'Ratio = tsbpf / peer (✓ = tsbpf is as good or better in the direction that matters).', '');
  if (keepAliveNote) out.push(`Note: ${keepAliveNote}`, '');
  if (targets.length) {
    out.push('## Targets', '');
    for (const t of targets) out.push(`- ${t}`);
    out.push('');
  }
  for (const s of sections) {
    out.push(`## ${s.id}. ${s.title}`, '');
    if (s.note) out.push(s.note, '');
    // Start-up rows also show Node's floor (node -e 0, same run) and how far above it tsbpf is.
    const floor = s.rows.some((r) => r.floor);
    const second = s.peer2 ? ` ${s.peer2} | tsbpf/${s.peer2} |` : '';
    out.push(`| case | metric | tsbpf | ${s.peer} | tsbpf/${s.peer} |${second}${floor ? ' node -e 0 | tsbpf − node |' : ''}`,
      `|---|---|---:|---:|---:|${s.peer2 ? '---:|---:|' : ''}${floor ? '---:|---:|' : ''}`);
    for (const r of s.rows) {
      const above = r.floor && r.tsbpf ? `+${fmt(r.tsbpf.median - r.floor.median)}` : '–';
      const cells2 = s.peer2 ? ` ${cell(r.peer2, r.peer2Error)} | ${ratioCell(r, r.ratio2)} |` : '';
      out.push(`| ${r.case.replace(/\|/g, '\\|')} | ${r.metric} (${r.unit}) | ${cell(r.tsbpf, r.tsbpfError)} | ${cell(r.peer, r.peerError)} | ${ratioCell(r)} |${cells2}` +
        (floor ? ` ${r.floor ? cell(r.floor, undefined) : '–'} | ${above} |` : ''));
    }
    out.push('');
  }
  return out.join('\n');
}

function findRow(sections: Section[], id: number, casePrefix: string, metric: string): Row | undefined {
  return sections.find((s) => s.id === id)?.rows.find((r) => r.case.startsWith(casePrefix) && r.metric === metric);
}

function targetLines(sections: Section[]): string[] {
  const t: string[] = [];
  const v = (x: Summary | undefined): string => fmt(x?.median);
  const s2 = sections.find((s) => s.id === 2);
  if (s2) {
    const rows = s2.rows.filter((r) => r.metric === 'run time per event');
    const ok = rows.filter((r) => r.ratio !== undefined && r.ratio <= 1).length;
    const measured = rows.filter((r) => r.ratio !== undefined).length;
    t.push(`Per-event cost ≤ bpftrace 0.17's: ${measured ? `${ok} of ${measured} programs` : 'not measured (tsbpf unavailable)'}.`);
    // Issue 17: above the floor, at most bpftrace 0.23's for every program.
    const above = s2.rows.filter((r) => r.metric === 'above the empty-probe floor' && r.ratio2 !== undefined);
    if (above.length) {
      const at = above.filter((r) => (r.ratio2 as number) <= 1).length;
      const worst = above.reduce((a, r) => ((r.ratio2 as number) > (a.ratio2 as number) ? r : a));
      t.push(`Per-event cost above the empty-probe floor ≤ bpftrace 0.23's: ${at} of ${above.length} programs (worst: ${worst.case}, ${(worst.ratio2 as number).toFixed(2)}×).`);
    }
  }
  const d = sections.find((s) => s.id === 3)?.rows.find((r) => r.metric === 'delivered');
  if (d) t.push(`≥ 99% of printf events delivered with losses counted: tsbpf ${d.tsbpf ? v(d.tsbpf) + '%' : 'n/a'}, bpftrace ${d.peer ? v(d.peer) + '%' : 'n/a'}.`);
  const a = findRow(sections, 4, 'tracepoint:syscalls', 'start → all attached');
  if (a) t.push(`sys_enter_* attach < 1 s: tsbpf ${a.tsbpf ? v(a.tsbpf) + ' ms' : 'n/a'}, bpftrace ${a.peer ? v(a.peer) + ' ms' : 'n/a'}.`);
  const c = findRow(sections, 1, 'BEGIN', 'CPU user+sys');
  const m = findRow(sections, 1, 'BEGIN', 'peak RSS');
  if (c && m) t.push(`Startup with less CPU and memory than bpftrace: CPU ratio ${c.ratio?.toFixed(2) ?? 'n/a'}, RSS ratio ${m.ratio?.toFixed(2) ?? 'n/a'}.`);
  const above = (r: Row | undefined): number | undefined => (r?.tsbpf && r.floor ? r.tsbpf.median - r.floor.median : undefined);
  if (above(c) !== undefined && above(m) !== undefined) {
    t.push(`Start-up over Node's floor (node -e 0, same run): BEGIN { exit(); } CPU +${fmt(above(c))} ms (target ≤ 15; ` +
      `${fmt(c?.tsbpf?.median)} vs ${fmt(c?.floor?.median)}, ${((c?.tsbpf?.median ?? 0) / (c?.floor?.median ?? 1)).toFixed(2)}×), peak RSS +${fmt(above(m))} MB (target ≤ 15).`);
  }
  const tools = sections.find((x) => x.id === 6)?.rows.filter((r) => r.case.endsWith(' start-up') && r.metric.startsWith('CPU') && above(r) !== undefined) ?? [];
  if (tools.length) {
    const worst = tools.reduce((a, b) => ((above(b) ?? 0) > (above(a) ?? 0) ? b : a));
    t.push(`Tools' start-up CPU over Node's floor: at most +${fmt(above(worst))} ms (${worst.case.replace(/ start-up$/, '')}; target ≤ 25), ` +
      `${tools.map((r) => `${r.case.replace(/ start-up$/, '')} +${fmt(above(r))}`).join(', ')}.`);
  }
  return t;
}

export async function main(argv: string[]): Promise<number> {
  const cfg = parseArgs(argv);
  if (process.getuid?.() !== 0) {
    log('bench: needs root (BPF, sysctl, tracefs)');
    return 1;
  }
  const t0 = Date.now();
  ensurePeers(cfg.install);
  if (!fs.existsSync('/sys/kernel/tracing/events')) spawnSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']);
  const loadgen = buildLoadgen();
  const st = tsbpfStatus();
  if (!st.ok) log(`bench: ${st.why} — tsbpf columns will say so`);
  const skipTs: Partial<Record<SideName, string>> = st.ok ? {} : { tsbpf: st.why };
  const skipBt: Partial<Record<SideName, string>> = fs.existsSync(BPFTRACE) ? {} : { peer: 'bpftrace not installed' };
  const skip = { ...skipTs, ...skipBt };
  // Sections with bpftrace 0.23 beside 0.17 (the root is built by ensurePeers unless --no-install).
  const why023 = bpftrace023.unavailable();
  const skip023: Partial<Record<SideName, string>> = { ...skip, ...(why023 ? { peer2: why023 } : {}) };
  const R = (full: number, quick: number): number => cfg.runs ?? (cfg.quick ? quick : full);
  const want = (id: number): boolean => !cfg.only || cfg.only.has(id);
  const info = machineInfo();
  const sections: Section[] = [];
  const section = (id: number, title: string, peer: string, note: string): Section => {
    const s: Section = { id, title, peer, note, rows: [] };
    sections.push(s);
    log(`${id}. ${title}`);
    return s;
  };

  const withPeer2 = (s: Section): Section => ((s.peer2 = 'bpftrace 0.23'), s);
  if (want(1)) {
    await sectionStartup(withPeer2(section(1, 'Startup', 'bpftrace 0.17',
      'Whole process from exec to exit, measured by wait4(2) (bench/loadgen.c rusage). Peak RSS is ru_maxrss. ' +
      'bpftrace 0.23 (Debian 13\'s package) runs from a Debian 13 root through test/peers/bpftrace-0.23, whose entry ' +
      '(unshare, five bind mounts, chroot) is included in its numbers.')), loadgen, R(5, 3), skip023);
  }
  if (want(2)) {
    const n = cfg.quick ? 50_000 : 200_000;
    await sectionPerEvent(withPeer2(section(2, 'Per-event cost in the kernel', 'bpftrace 0.17',
      `kernel.bpf_stats_enabled=1 (restored after). Same script text on every side, attached to syscall tracepoints; ` +
      `bench/loadgen makes ${n.toLocaleString('en-US')} umask (chdir for str) calls after attach. Run time per event = Δrun_time_ns ` +
      `(all the tracer's programs that ran, found through /proc/PID/fdinfo) / Δrun_cnt (of the one that ran most: a case with ` +
      `entry and exit probes counts both per call); sizes from \`bpftool prog show id N -j\`, summed over the programs that ran. ` +
      `"above the empty-probe floor" subtracts each side's empty-program median: the generated code's own cost. ` +
      `"events run / calls made" checks that every call was seen (others' calls of the same syscall may add a little). ` +
      `bpftrace 0.23 is Debian 13's package, run from a Debian 13 root on this kernel (test/peers/bpftrace-0.23).`)),
    loadgen, R(3, 2), n, skip023, cfg.cases);
  }
  if (want(3)) {
    const n = cfg.quick ? 200_000 : 1_000_000;
    await sectionDelivery(section(3, 'Event delivery (printf per event)', 'bpftrace',
      `\`tracepoint:syscalls:sys_enter_getppid /pid == LOADGEN/ { printf("%d %s\\n", pid, comm); }\`, loadgen calling getppid as fast as it can; ` +
      `stdout is a pipe read by the harness; delivered = lines naming loadgen; losses as each tool reports them ("Lost N events"). ` +
      `Consumer CPU covers the whole tracer process.`), loadgen, R(3, 1), n, skip);
  }
  if (want(4)) {
    await sectionAttachScale(section(4, 'Attach at scale', 'bpftrace',
      'From exec until every probe is attached (the later of the attach message and the moment the tracer\'s perf-event fd count peaks; ' +
      'bpftrace 0.17 prints "Attaching N probes..." *before* attaching, so the message time is shown separately), then from SIGINT until exit.'),
    loadgen, R(3, 1), skip);
  }
  if (want(5)) {
    await sectionCompile(section(5, 'Compile time vs program size', 'bpftrace',
      'Generated scripts of N distinct tracepoint probes (`tracepoint:CAT:EV { @[i] = count(); }`). "Compile only": bpftrace 0.17 ' +
      '`--emit-elf FILE` (parse, semantic analysis, LLVM codegen to ELF, no load) vs a fresh Node process running tsbpf\'s `compile()` ' +
      'on the same file (dist/bench/compile-only.js; no load). Both columns include process start. "Run to attached" adds loading ' +
      'through the verifier and attaching, for both.'),
    loadgen, R(3, 1), cfg.quick ? [1, 10, 100] : [1, 10, 100, 1000], cfg.quick ? [1, 10] : [1, 10, 100], skip);
  }
  if (want(6)) {
    await sectionTools(section(6, 'Tools', 'libbpf-tools',
      'Each tool started without arguments, made to trace a workload (direct I/O with dd for bitesize/biolatency, 200 execs of /bin/true ' +
      'for execsnoop/runqlat, 20,000 failing openat for opensnoop, 200,000 getppid for syscount), then stopped with SIGINT. ' +
      'libbpf-tools run under `stdbuf -oL` so their header shows when they are ready. Per-event cost as in section 2 (bpf_stats).'),
    loadgen, R(3, 1), skipBt.peer ? { tsbpf: skipTs.tsbpf } : skipTs);
  }
  if (want(7)) {
    await sectionLibrary(section(7, 'Library internals', 'reference',
      'BTF: dist/bench/btf.js (bench/btf.ts) cold read+index of /sys/kernel/btf/vmlinux in a fresh process; the reference column is ' +
      '`bpftool btf dump file /sys/kernel/btf/vmlinux format raw` (which does more: it prints every type). Ring buffer: ' +
      'bench/ringbuf.ts, a tracepoint program assembled with src/ebpf sending 16-byte records via bpf_ringbuf_output on each loadgen ' +
      'getppid, received by RingBufReader.'),
    loadgen, R(3, 1), cfg.quick ? 200_000 : 1_000_000);
  }

  if (want(8)) {
    const n = cfg.quick ? 50_000 : 200_000;
    await sectionExport(section(8, 'Prometheus export', 'tsbpf -e (no exporter)',
      `\`tsbpf export\` on loopback. Scrapes by fetch() from the harness; exporter CPU from /proc/PID/stat (all threads, 10 ms ticks) ` +
      `over 20 scrapes after one warm-up; ${n.toLocaleString('en-US')} umask calls by bench/loadgen. Per-event cost as in section 2, ` +
      'the exporter side scraped every 100 ms while the load runs; the other column is the same script under plain `tsbpf -e`.'),
    loadgen, R(3, 1), n, skipTs);
  }

  if (want(9)) {
    await sectionNodeUsdt(section(9, 'USDT probes of a Node.js program (usdt.provider)', 'reference / bpftrace',
      'bench/node-usdt.ts: `myapp:firstProbe(int, string)` of `usdt.provider()`, fired in a loop after a warm-up; CPU time (user+sys) ' +
      'of the firing process per call. Not traced: the reference column is the same call shape on a function testing an ordinary ' +
      'Uint16Array (the least an enabled-check costs in JavaScript). Traced: the reference column is the same process traced by ' +
      'bpftrace instead of tsbpf (the uprobe trap dominates); both run `BEGIN { printf("ready\\n"); }` first, so firing starts once everything is ' +
      'attached; "counted" = the tracer\'s @ count / fires made (warm-up included).'),
    loadgen, R(3, 1), cfg.quick ? 2_000_000 : 20_000_000, cfg.quick ? 20_000 : 100_000, skip);
  }

  const elapsedS = (Date.now() - t0) / 1000;
  const targets = targetLines(sections);
  const resultsDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const md = renderMarkdown(sections, info, cfg, elapsedS, targets, keepAliveNote);
  fs.writeFileSync(path.join(resultsDir, 'latest.md'), md);
  fs.writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify({
    date: new Date().toISOString(), quick: cfg.quick, elapsedS, machine: info, tsbpf: { ...st, keepAlive: keepAliveNote || undefined }, targets, sections,
  }, null, 2) + '\n');
  log(`bench: wrote bench/results/latest.md and latest.json (${elapsedS.toFixed(0)} s)`);
  // A complete run also refreshes the table shown in bench/README.md.
  const readme = path.join(ROOT, 'bench', 'README.md');
  if (!cfg.only && !cfg.quick && !cfg.cases && fs.existsSync(readme)) {
    const text = fs.readFileSync(readme, 'utf8');
    const a = text.indexOf(README_START);
    const b = text.indexOf(README_END);
    if (a >= 0 && b > a) {
      const body = md.replace(/^# .*\n\n/, '').replace(/^## /gm, '### ');
      fs.writeFileSync(readme, text.slice(0, a + README_START.length) + '\n' + body + '\n' + text.slice(b));
      log('bench: updated the table in bench/README.md');
    }
  }
  for (const t of targets) log(`  ${t}`);
  return 0;
}
