/**
 * Executes a compiled script: creates its maps, loads its programs (mapping
 * verifier rejections back to the script), attaches them, runs BEGIN, turns
 * event records into output, and on exit (Ctrl-C, SIGTERM, exit(), the -c
 * command ending) runs END, prints the maps and the loss count, and detaches
 * everything.
 *
 * @example
 *   const artifact = compile({ name: 'stdin', text: 'BEGIN { printf("hi\\n"); exit(); }' }, {});
 *   const code = await runScript(artifact, { format: 'text' });
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { attachKprobeMulti, closeLinksConcurrently, type Link } from '../ebpf/attach';
import { RingBufReader } from '../ebpf/events';
import { BpfMap, numPossibleCpus } from '../ebpf/maps';
import type { Program } from '../ebpf/programs';
import type { EventSpec, KeylessLayout, ProgramSpec, ScriptArtifact, UserMapSpec } from '../lang/artifact';
import { attachSpec, needsCommandPid } from '../lang/probes';
import { decodeValue, readInt } from './decode';
import { createOutput, type OutputFormatter } from './format/output';
import { type MapDump, withEmptyScalar, withoutZeroCount } from './format/maps';
import { formatPrintf, parseFormat, type ParsedFormat } from './format/printf';
import { strftime, TIME_DEFAULT_FORMAT } from './format/strftime';
import { compileRecordWriter, recordSize, type RecordWriter } from './fastformat';
import { OutBuffer } from './outbuf';
import { decodeBytes, encodeText } from './text';
import { ScriptResolver } from './resolve';
import { captureProcess } from '../ebpf/symbolize';
import * as V from './values';
import { UserError } from '../errors';
import { kprobeMulti, loadArtifact } from './load';
import { AGGREGATIONS, type AggregationDef } from '../lang/aggregations';

export interface RunOptions {
  format?: 'text' | 'json';
  /** Where program output goes (default stdout). */
  write?: (s: string) => void;
  /**
   * Where program output goes, as UTF-8 bytes (the same bytes `write` would
   * produce). Preferred over `write` when both are given: event output is
   * built as bytes, so this saves a decode and re-encode per batch.
   */
  writeBytes?: (b: Uint8Array) => void;
  /**
   * Size in bytes of the ring buffer carrying events (printf...) to user
   * space: a power of two, at least a page. Larger absorbs longer bursts at
   * the cost of locked kernel memory. Default: $TSBPF_RING_BYTES, else the
   * compiler's size.
   */
  ringBytes?: number;
  /** Where messages go (default stderr). */
  message?: (s: string) => void;
  /** --no-warnings: warnf() prints nothing. */
  noWarnings?: boolean;
  quiet?: boolean;
  /** Run this command (via /bin/sh -c) once attached; exit when it exits. */
  cmd?: string | null;
  /** Attach, then exit without tracing. */
  dryRun?: boolean;
  /** Load every program through the verifier, attach nothing. */
  verify?: boolean;
  /** Print instruction counts and verifier statistics. */
  verbose?: boolean;
  /** Install SIGINT/SIGTERM handlers (the CLI does; library users may not want it). */
  handleSignals?: boolean;
  /**
   * Tools' hooks. onEvent sees every decoded printf and join() event first
   * (join: the sending thread's id, then one str per element) and returns true when it printed it itself;
   * onStart runs once tracing is live, before any event is delivered (print
   * headers, set timers there); onExit replaces the default map printing at exit.
   */
  onEvent?: (ev: EventSpec, values: V.Value[], rt: ScriptRuntime) => boolean;
  onStart?: (rt: ScriptRuntime) => void;
  onExit?: (rt: ScriptRuntime) => void;
}

/** An error that stops a script before it runs, phrased for the user. */
export class RuntimeError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/** Event bytes handled per turn of the event loop (a few ms of work even on the slow, hooked path). */
const DRAIN_BATCH_BYTES = 256 << 10;

export class ScriptRuntime {
  private readonly a: ScriptArtifact;
  private readonly o: RunOptions;
  private readonly out: OutputFormatter;
  private readonly write: (s: string) => void;
  private readonly writeBytes: ((b: Uint8Array) => void) | undefined;
  private readonly message: (s: string) => void;
  private maps: BpfMap[] = [];
  private programs: Program[] = [];
  private links: Link[] = [];
  private reader: RingBufReader | undefined;
  private readonly resolver: ScriptResolver;
  private readonly parsedFormats = new Map<number, ParsedFormat>();
  private exitCode = 0;
  private finishing = false;
  /** Set by an exit() record: like bpftrace, the records behind it (other CPUs, the same batch) are not printed; END's are. */
  private exitSeen = false;
  private finished: Promise<number> | undefined;
  private resolveFinished: ((code: number) => void) | undefined;
  private lostReported = 0n;
  /** Failed updates already reported, per user map (UserMapSpec index). */
  private mapUpdatesReported: bigint[] = [];
  /** Key-less count() maps zero() emptied (and no clear() since): printed at exit as `@: 0`. */
  private readonly zeroedCounts = new Set<number>();
  private child: ChildProcess | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** Probes run() attached, counted as bpftrace counts them (BEGIN/END included); 0 until attached. */
  probesAttached = 0;

  constructor(artifact: ScriptArtifact, opts: RunOptions = {}) {
    this.a = artifact;
    this.o = opts;
    this.out = createOutput(opts.format ?? 'text');
    this.write = opts.write ?? ((s) => process.stdout.write(encodeText(s)));
    this.writeBytes = opts.writeBytes ?? (opts.write ? undefined : (b) => process.stdout.write(b));
    this.message = opts.message ?? ((s) => process.stderr.write(s));
    this.resolver = new ScriptResolver(() => this.maps, artifact.probeNames);
  }

  /** Runs the script to completion; resolves with the exit code. */
  async run(): Promise<number> {
    try {
      this.load();
      if (this.o.verify) {
        this.message(`${this.programs.length} program${this.programs.length === 1 ? '' : 's'} passed the kernel verifier\n`);
        return 0;
      }
      // a watchpoint on the -c command needs its pid before attaching: start it stopped, resume it after BEGIN
      const watchesCommand = this.a.programs.some((p) => p.attach.some(needsCommandPid));
      const cpid = this.a.commandPidMap;
      if (cpid !== undefined && !this.o.cmd) throw new RuntimeError('cpid is the pid of the command run with -c CMD, and no command was given');
      // cpid: the command starts stopped too, so every probe sees its pid from its first instruction
      const commandFirst = !!this.o.cmd && !this.o.dryRun && (watchesCommand || cpid !== undefined);
      if (commandFirst) this.startCommand(this.o.cmd as string, true, watchesCommand);
      if (commandFirst && cpid !== undefined && this.child?.pid !== undefined) {
        const value = Buffer.alloc(8);
        value.writeBigUInt64LE(BigInt(this.child.pid));
        this.maps[cpid].update(Buffer.alloc(4), value);
      }
      // BEGIN runs before anything attaches, as in bpftrace: no probe fires before BEGIN's map writes
      // (@ts, @dir = 1 ...), and a BEGIN that calls exit() leaves them idle (the exiting flag, codegen/program.ts).
      // Its records wait in the ring until the reader exists.
      const begun = !this.o.dryRun && this.runOnce('begin');
      const probes = this.attachAll();
      this.probesAttached = probes;
      if (!this.o.quiet) this.message(`Attached ${probes} probe${probes === 1 ? '' : 's'}\n`);
      if (this.o.format === 'json' && !this.o.quiet) this.write(this.out.attachedProbes(probes));
      if (this.o.dryRun) return 0;
      this.finished = new Promise<number>((res) => (this.resolveFinished = res));
      // Tracing runs until exit(), a signal or the -c command ends; a script
      // with no events has no open handle, so hold the event loop explicitly.
      this.timers.push(setInterval(() => undefined, 1 << 30));
      if (this.o.handleSignals ?? true) this.installSignals();
      if (this.a.eventRing >= 0) {
        const m = this.maps[this.a.eventRing];
        this.prepareFastPaths();
        // Started after onStart: a tool's header comes before its first event. Small batches
        // yield to the event loop, so a flood delays neither SIGINT nor a timer by more than a batch.
        const quiet = this.a.ringQuiet !== undefined ? this.maps[this.a.ringQuiet] : undefined;
        const flag = (on: boolean): Buffer => Buffer.from([on ? 1 : 0, 0, 0, 0, 0, 0, 0, 0]);
        this.reader = RingBufReader.withOffsets({ fd: m.fd, maxEntries: this.ringBytes() }, (b, off, len) => this.onRecord(b, off, len),
          { start: false, budgetBytes: DRAIN_BATCH_BYTES, ...(quiet ? { coalesce: { setQuiet: (on: boolean) => quiet.update(0, flag(on)) } } : {}) });
      }
      if (this.a.lossCounter >= 0 || (this.a.mapErrorCounter ?? -1) >= 0) {
        const t = setInterval(() => this.reportLoss(), 1000);
        t.unref();
        this.timers.push(t);
      }
      // BEGIN's output is committed: deliver up to it before a tool's header and the -c command
      if (begun) this.reader?.drainNow(this.reader.pending());
      if (commandFirst) this.resumeCommand();
      else if (this.o.cmd) this.startCommand(this.o.cmd);
      // bpftrace's test-harness protocol: tell the harness every probe is live (always on stdout, as bpftrace does)
      if (process.env.__BPFTRACE_NOTIFY_PROBES_ATTACHED) process.stdout.write('__BPFTRACE_NOTIFY_PROBES_ATTACHED\n');
      this.o.onStart?.(this);
      this.reader?.start();
      if (!this.hasLiveProbes() && !this.o.cmd) {
        // Only BEGIN/END: bpftrace runs END right after BEGIN.
        void this.finish(this.exitCode);
      }
      return await this.finished;
    } finally {
      this.teardown();
    }
  }

  // ---- setup -----------------------------------------------------------------

  /** Size of the event ring buffer: RunOptions.ringBytes, else $TSBPF_RING_BYTES, else the compiler's. */
  private ringBytes(): number {
    const spec = this.a.maps[this.a.eventRing];
    const env = process.env.TSBPF_RING_BYTES;
    const want = this.o.ringBytes ?? (env ? Number(env) : spec.maxEntries);
    const page = 4096;
    if (!Number.isInteger(want) || want < page || (want & (want - 1)) !== 0 || want > 2 ** 30) {
      const from = this.o.ringBytes !== undefined ? 'ringBytes' : 'TSBPF_RING_BYTES';
      throw new RuntimeError(`${from}=${this.o.ringBytes ?? env}: the event ring buffer size must be a power of two between 4096 and 1073741824 bytes`);
    }
    return want;
  }

  /** Creates the maps and loads the programs (runtime/load.ts); teardown closes them. */
  private load(): void {
    const loaded = loadArtifact(this.a, {
      ringBytes: this.a.eventRing >= 0 ? this.ringBytes() : undefined,
      verbose: this.o.verbose,
      onLoaded: (p, prog) => {
        if (this.o.verbose) this.describeProgram(p, prog);
      },
    });
    this.maps = loaded.maps;
    this.programs = loaded.programs;
  }

  private describeProgram(p: ProgramSpec, prog: Program): void {
    const stats = (prog.log ?? '').split('\n').filter((l) => /processed \d+ insns|stack depth|verification time/.test(l));
    this.message(`Program ${p.name} (${this.a.probeNames[p.probeIndex] ?? p.type}): ${p.insns.length} instructions\n`);
    for (const s of stats) this.message(`  ${s.trim()}\n`);
  }

  private hasLiveProbes(): boolean {
    return this.a.programs.some((p) => p.attach.some((s) => s.kind !== 'begin' && s.kind !== 'end'));
  }

  /** Attaches every program to each of its attach points; returns the number of probes (bpftrace counts BEGIN/END too). */
  private attachAll(): number {
    let count = 0;
    // The kernel runs the consumers of one uprobe newest first: uprobes are attached last to first,
    // so two probes on one function run in script order, as bpftrace's (`first second`, issue 19)
    const uprobes: Array<() => void> = [];
    this.a.programs.forEach((p, idx) => {
      const prog = this.programs[idx];
      const multi = kprobeMulti(p);
      if (multi) {
        count += multi.funcs.length;
        const cookies = p.attach.map((s) => BigInt(s.kind === 'kprobe' && s.cookie !== undefined ? s.cookie : 0));
        this.links.push(attachKprobeMulti(prog, multi.funcs, { retprobe: multi.retprobe, cookies }));
        return;
      }
      for (const s of p.attach) {
        // a merged raw_syscalls attachment counts as the syscall tracepoints it serves (compiler's syscall-merge.ts)
        // one USDT probe with several locations counts once (bpftrace: testprobe* over 6 sites of 3 probes is 3)
        count += s.kind === 'tracepoint' && s.serves ? s.serves : s.kind === 'uprobe' && s.usdtLocation ? 0 : 1;
        if (s.kind === 'begin' || s.kind === 'end') continue;
        // the provider's attacher for this kind (lang/probes.ts)
        const opts = { commandPid: this.child?.pid };
        if (s.kind === 'uprobe') uprobes.push(() => this.links.push(...attachSpec(prog, s, opts)));
        else this.links.push(...attachSpec(prog, s, opts));
      }
    });
    for (const attach of uprobes.reverse()) attach();
    return count;
  }

  /** Runs the BEGIN or END programs once in the kernel (BPF_PROG_TEST_RUN). */
  /** Runs the BEGIN or END programs once in the kernel (BPF_PROG_TEST_RUN); whether there were any. */
  private runOnce(kind: 'begin' | 'end'): boolean {
    let ran = false;
    this.a.programs.forEach((p, idx) => {
      if (!p.attach.some((s) => s.kind === kind)) return;
      this.programs[idx].testRun({ ctx: Buffer.alloc(8) });
      ran = true;
    });
    if (kind === 'end') this.reader?.drainNow();
    return ran;
  }

  /**
   * `stopped`: the shell stops itself, then execs the command's words directly (no shell in between, as
   * bpftrace runs -c), so the pid probes attach to is the command's; resumeCommand() lets it run.
   */
  private startCommand(cmd: string, stopped = false, plainOnly = true): void {
    // Its own process group: the shell may fork the command instead of exec'ing it,
    // and signalling only the shell would orphan the command (left running after us).
    // child_process is loaded only for -c: most runs never spawn anything.
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const plain = /^[\w@%+=:,./-]+( +[\w@%+=:,./-]+)*$/.test(cmd.trim());
    if (stopped && plainOnly && !plain) {
      throw new RuntimeError('a watchpoint on the -c command needs a plain command (words without shell syntax): its process is the one watched');
    }
    // Tied to our life as bpftrace ties its child (PR_SET_PDEATHSIG, SIGTERM): if tsbpf is
    // SIGKILLed, the kernel signals the command. Node cannot run code between fork and exec,
    // so util-linux's setpriv sets it and execs the command (same pid); without setpriv the
    // child is only stopped by our exit handlers.
    // A plain command (words only) runs as bpftrace runs it, split at spaces and exec'd directly: no
    // shell quoting to trip on (a path with a '"'), and the pid we tie is the command's own.
    // cpid with quoting: the shell splits the words (quotes honoured) and execs them, so the pid stays the command's
    const argv = stopped
      ? plain ? ['/bin/sh', '-c', 'kill -STOP $$; exec "$@"', 'sh', ...cmd.trim().split(/ +/)] : ['/bin/sh', '-c', 'kill -STOP $$; eval "exec $1"', 'sh', cmd]
      : plainCommand(cmd) ?? ['/bin/sh', '-c', cmd];
    const tie = pdeathsigWrapper();
    const full = tie ? [...tie, ...argv] : argv;
    this.child = spawn(full[0], full.slice(1), { stdio: 'inherit', detached: true });
    if (stopped) this.waitStopped(this.child.pid);
    this.child.on('exit', (code, signal) => {
      this.child = undefined;
      void this.finish(this.exitCode);
      void code;
      void signal;
    });
  }

  /** Waits (at most 5 s) until the command has stopped itself (state T in /proc/PID/stat). */
  private waitStopped(pid: number | undefined): void {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; pid !== undefined && i < 5000; i++) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
        if (stat[stat.lastIndexOf(')') + 2] === 'T') return;
      } catch {
        return; // gone: its exit ends the run
      }
      Atomics.wait(nap, 0, 0, 1);
    }
    throw new RuntimeError(`the -c command (pid ${pid}) did not stop before attaching`);
  }

  private resumeCommand(): void {
    const pid = this.child?.pid;
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
  }

  /** Signals the -c command's whole process group (see startCommand). */
  private killCommand(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      this.child?.kill(sig); // group already gone: at most the shell is left
    }
  }

  private installSignals(): void {
    const stop = () => void this.finish(this.exitCode);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
  }

  // ---- events ----------------------------------------------------------------

  private readonly pendingOut = new OutBuffer();
  private flushQueued = false;
  /** Per event id: printf written straight from the record bytes (see fastformat.ts), and the bytes it needs. */
  private fast: Array<RecordWriter | undefined> = [];
  private fastMinLen: number[] = [];

  /**
   * Event output is batched per wake-up: records drained together are written
   * with one write(2) (a microtask runs right after the drain), instead of one
   * system call per event, which capped delivery far below the kernel's rate.
   */
  private emit(s: string): void {
    this.pendingOut.text(s);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.pendingOut.length === 0) return;
    if (this.writeBytes) this.writeBytes(this.pendingOut.take());
    else this.write(this.pendingOut.takeString());
  }

  /** Builds the fused decode+format writers of printf events (text mode, unless a tool hook wants Values). */
  private prepareFastPaths(): void {
    if (this.o.onEvent || this.out.mode !== 'text') return;
    this.a.events.forEach((ev, id) => {
      if (ev.kind !== 'printf' || ev.diagnostic) return;
      const f = compileRecordWriter(this.parsed(id, ev.format), ev.fields, this.resolver);
      if (!f) return;
      this.fast[id] = f;
      this.fastMinLen[id] = Math.max(8, recordSize(ev.fields));
    });
  }

  private onRecord(b: Buffer, off: number, len: number): void {
    if (len < 8 || this.exitSeen) return;
    // The u64 event id as two u32 reads: ids are small, a BigInt per event is not.
    if ((b[off + 4] | b[off + 5] | b[off + 6] | b[off + 7]) !== 0) return;
    const id = b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24);
    const fast = this.fast[id];
    if (fast !== undefined && len >= this.fastMinLen[id]) {
      fast(b, off, this.pendingOut);
      this.queueFlush();
      return;
    }
    const ev = this.a.events[id];
    if (!ev) return;
    this.handleEvent(id, ev, b.subarray(off, off + len));
  }

  private fields(rec: Buffer, fields: readonly { offset: number; type: import('../lang/artifact').ValueType }[]): V.Value[] {
    return fields.map((f) => decodeValue(rec, f.offset, f.type, this.resolver));
  }

  private parsed(id: number, format: string): ParsedFormat {
    let p = this.parsedFormats.get(id);
    if (!p) {
      p = parseFormat(format);
      this.parsedFormats.set(id, p);
    }
    return p;
  }

  private handleEvent(id: number, ev: EventSpec, rec: Buffer): void {
    if (this.o.onEvent) {
      // join() reaches a tool's hook too (the thread id, then one str per element), in ring order with its printf events.
      const values = ev.kind === 'printf' ? this.fields(rec, ev.fields)
        : ev.kind === 'join' ? [V.uint(rec.readUInt32LE(ev.tid.offset), 32), ...joinParts(ev, rec).map(V.str)] : undefined;
      if (values && this.o.onEvent(ev, values, this)) return;
    }
    switch (ev.kind) {
      case 'capture':
        // the compiler asks for this once per pid that recorded user addresses: the process may exit before printing
        captureProcess(Number(rec.readUInt32LE(ev.pid.offset)));
        return;
      case 'printf': {
        const text = formatPrintf(this.parsed(id, ev.format), this.fields(rec, ev.fields));
        const d = ev.diagnostic;
        if (!d) this.emit(this.out.printf(text));
        else if (d.severity === 'ERROR' || !this.o.noWarnings) this.message(`${this.a.source.name}:${d.line}:${d.cols}: ${d.severity}: ${text.replace(/\n$/, '')}\n`);
        return;
      }
      case 'time': {
        this.emit(this.out.time(strftime(ev.format ?? TIME_DEFAULT_FORMAT, realtimeNow())));
        return;
      }
      case 'strftime': {
        const v = decodeValue(rec, ev.field.offset, ev.field.type, this.resolver);
        const ns = v.kind === 'int' ? v.value : 0n;
        this.emit(this.out.printf(strftime(ev.format, this.resolver.bootToRealtime(ns))));
        return;
      }
      case 'exit': {
        if (ev.code) {
          const v = decodeValue(rec, ev.code.offset, ev.code.type, this.resolver);
          this.exitCode = v.kind === 'int' ? Number(v.value) : 0;
        }
        this.exitSeen = true;
        void this.finish(this.exitCode);
        return;
      }
      case 'printMap': {
        const spec = this.a.userMaps[ev.userMap];
        const zero = (): V.Value => decodeValue(Buffer.alloc(this.maps[spec.map].valueSize), 0, spec.value, this.resolver);
        this.emit(this.out.map(withEmptyScalar(this.dumpMap(spec, ev.div), zero), { top: ev.top }));
        return;
      }
      case 'printValue':
        this.emit(this.out.value(decodeValue(rec, ev.field.offset, ev.field.type, this.resolver)));
        return;
      case 'clear':
        clearUserMap(this.maps[this.a.userMaps[ev.userMap].map], this.a.userMaps[ev.userMap]);
        this.zeroedCounts.delete(ev.userMap);
        return;
      case 'zero':
        this.zeroedCounts.add(ev.userMap);
        this.zeroMap(this.a.userMaps[ev.userMap]);
        return;
      case 'system': {
        const cmd = formatPrintf(this.parsed(id, ev.format), this.fields(rec, ev.fields));
        const { execSync } = require('node:child_process') as typeof import('node:child_process');
        try {
          const stdout = execSync(cmd, { stdio: ['ignore', 'pipe', 'inherit'], shell: '/bin/sh' });
          this.emit(this.out.syscall(decodeBytes(stdout, 0, stdout.length)));
        } catch (e) {
          const err = e as { stdout?: Buffer };
          if (err.stdout?.length) this.emit(this.out.syscall(decodeBytes(err.stdout, 0, err.stdout.length)));
        }
        return;
      }
      case 'cat': {
        const file = formatPrintf(this.parsed(id, ev.format), this.fields(rec, ev.fields));
        try {
          const data = fs.readFileSync(file);
          this.emit(this.out.cat(decodeBytes(data, 0, data.length)));
        } catch (e) {
          this.message(`tsbpf: cat: cannot read ${file}: ${(e as Error).message}\n`);
        }
        return;
      }
      case 'join':
        this.emit(this.out.join(joinParts(ev, rec).join(ev.separator)));
        return;
    }
  }

  private zeroMap(spec: UserMapSpec): void {
    const m = this.maps[spec.map];
    const presentAt = spec.keylessArray?.presentAt;
    if (presentAt !== undefined) {
      // zero the values but keep each CPU's "ran" flag: the entry stays, as a hash's does
      for (const [k, vs] of keylessArraySlots(m, spec.keylessArray ?? {})) {
        m.updatePerCpu(k, vs.map((v) => Buffer.concat([Buffer.alloc(presentAt), v.subarray(presentAt)])));
      }
      return;
    }
    for (const [k] of m.entries()) {
      if (m.isPerCpu) m.updatePerCpu(k, Array.from({ length: numPossibleCpus() }, () => Buffer.alloc(m.valueSize)));
      else m.update(k, Buffer.alloc(m.valueSize));
    }
  }

  /** Events the BPF side could not hand over (ring buffer full) since the script started. */
  lostEvents(): bigint {
    const m = this.a.lossCounter >= 0 ? this.maps[this.a.lossCounter] : undefined;
    const vals = m?.lookupPerCpu(0);
    let total = 0n;
    for (const v of vals ?? []) total += v.readBigUInt64LE(0);
    return total;
  }

  /** Reads losses counted by the BPF side and reports growth. */
  private reportLoss(): void {
    this.reportMapUpdates();
    if (this.a.lossCounter < 0 || !this.maps[this.a.lossCounter]) return;
    const total = this.lostEvents();
    if (total > this.lostReported) {
      const n = total - this.lostReported;
      this.lostReported = total;
      this.emit(this.out.lostEvents(n));
    }
  }

  /** Map updates the BPF side counted as failed (map full, ENOMEM), per user map since the script started. */
  lostMapUpdates(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    const m = (this.a.mapErrorCounter ?? -1) >= 0 ? this.maps[this.a.mapErrorCounter as number] : undefined;
    if (!m) return out;
    this.a.userMaps.forEach((u, i) => {
      let total = 0n;
      for (const v of m.lookupPerCpu(i) ?? []) total += v.readBigUInt64LE(0);
      if (total) out.set(u.name, total);
    });
    return out;
  }

  /** -k: failed memory reads counted per call site since the script started ([site, count] for sites that failed). */
  failedReads(): { helper: string; line: number; col: number; count: bigint }[] {
    const h = this.a.helperErrors;
    const m = h ? this.maps[h.map] : undefined;
    if (!h || !m) return [];
    const out: { helper: string; line: number; col: number; count: bigint }[] = [];
    h.sites.forEach((site, i) => {
      let n = 0n;
      for (const v of m.lookupPerCpu(i) ?? []) n += v.readBigUInt64LE(0);
      if (n) out.push({ ...site, count: n });
    });
    return out;
  }

  /** -k: one warning per read site that failed, at exit. */
  private reportFailedReads(): void {
    for (const f of this.failedReads()) {
      this.message(`${this.a.source.name}:${f.line}:${f.col}: WARNING: ${f.count} call${f.count === 1n ? '' : 's'} to ${f.helper} failed (the memory could not be read)\n`);
    }
  }

  /** Reports growth of the failed-update counters, one line per map. */
  private reportMapUpdates(): void {
    const lost = this.lostMapUpdates();
    this.a.userMaps.forEach((u, i) => {
      const total = lost.get(u.name) ?? 0n;
      const before = this.mapUpdatesReported[i] ?? 0n;
      if (total > before) {
        this.mapUpdatesReported[i] = total;
        this.emit(this.out.lostMapUpdates(u.name, total - before, this.a.maps[u.map].maxEntries));
      }
    });
  }

  // ---- maps ------------------------------------------------------------------

  /**
   * The user map called `name` ('@x'), decoded and reduced; undefined if the script has none.
   * `keep` sees each key's fields one by one, decoded on demand: the entries it refuses are
   * never decoded whole (a tool filtering by one field symbolizes no stack of the others).
   */
  map(name: string, div = 0, keep?: (field: (i: number) => V.Value) => boolean): MapDump | undefined {
    const spec = this.a.userMaps.find((m) => m.name === name);
    return spec ? this.dumpMap(spec, div, keep) : undefined;
  }

  /** Empties the user map called `name`. */
  clearMap(name: string): void {
    const spec = this.a.userMaps.find((m) => m.name === name);
    if (spec) clearUserMap(this.maps[spec.map], spec);
  }

  /** True once tracing is ending (detaching can take a while: tools skip interval reports meanwhile). */
  get stopping(): boolean {
    return this.finishing;
  }

  /** Ends tracing as exit() would. */
  stop(code = 0): void {
    void this.finish(code);
  }

  /** Writes a tool's event line: batched with the other event output (one write per drained batch, not per line). */
  printEvent(s: string): void {
    this.emit(s);
  }

  /** Writes program output (respects -o), in order with event output. */
  print(s: string): void {
    this.flush();
    this.write(s);
  }

  /** Reads a user map and reduces per-CPU values into what the printer takes. */
  dumpMap(spec: UserMapSpec, div = 0, keep?: (field: (i: number) => V.Value) => boolean): MapDump {
    const m = this.maps[spec.map];
    const keyed = spec.key !== null;
    const agg = spec.aggregation;
    const d = BigInt(div > 0 ? div : 1);
    let rawEntries = userMapEntries(m, spec);
    const kt = spec.key;
    if (keep && kt !== null) {
      const field = (k: Buffer) => (i: number): V.Value =>
        spec.multiKey && kt.kind === 'tuple' ? decodeValue(k, kt.fields[i].offset, kt.fields[i].type, this.resolver) : decodeValue(k, 0, kt, this.resolver);
      rawEntries = rawEntries.filter(([k]) => keep(field(k)));
    }
    const keyOf = (k: Buffer): V.Value[] => {
      if (spec.key === null) return [];
      const v = decodeValue(k, 0, spec.key, this.resolver);
      return spec.multiKey && v.kind === 'tuple' ? [...v.items] : [v];
    };
    const name = spec.name;
    if (agg.kind !== 'scalar') {
      // the aggregation's own per-CPU reduction (lang/aggregations.ts)
      const def = AGGREGATIONS[agg.kind] as AggregationDef;
      return def.reduce(agg, spec.value, rawEntries, { name, keyed, div: d, keyOf });
    }
    switch (agg.kind) {
      case 'scalar': {
        if (spec.value.kind === 'int' && !spec.value.pointer && !spec.value.enum) { // pointers print as values (hex), enums as names
          const t = spec.value;
          const entries = rawEntries.map(([k, vs]) => ({ key: keyOf(k), value: readInt(vs[0], 0, t.size, t.signed) / d }));
          return { name, keyed, kind: 'int', signed: t.signed, entries };
        }
        const vt = spec.value;
        const entries = rawEntries.map(([k, vs]) => ({ key: keyOf(k), value: decodeValue(vs[0], 0, vt, this.resolver) }));
        return { name, keyed, kind: 'value', entries };
      }
    }
  }

  // ---- shutdown --------------------------------------------------------------

  /** Stops tracing: detach probes, run END, flush events, print maps and losses. */
  private async finish(code: number): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    // In parallel: each tracepoint's detach waits for an RCU grace period (~50-100 ms on a loaded host);
    // events keep being delivered meanwhile.
    await closeLinksConcurrently(this.links);
    this.links = [];
    this.reader?.drainNow();
    this.exitSeen = false;
    try {
      this.runOnce('end');
    } catch (e) {
      this.message(`tsbpf: END failed: ${(e as Error).message}\n`);
    }
    this.reader?.drainNow();
    this.reportLoss();
    this.reportFailedReads();
    this.reportSkippedRuns();
    if (this.child) this.killCommand('SIGTERM');
    this.flush();
    if (this.o.onExit) this.o.onExit(this);
    else this.printMapsAtExit();
    this.resolveFinished?.(code);
  }

  /**
   * Probe runs the kernel skipped: a tracepoint, kprobe or perf program does not run
   * while another BPF program runs on the same CPU (an interrupt during a probe, say);
   * the kernel counts each skip in the program's recursion_misses (6.x). Counted here
   * so no event is lost without a word.
   */
  skippedRuns(): bigint {
    let total = 0n;
    for (const p of this.programs) {
      try {
        total += p.info().recursionMisses;
      } catch {
        // an info the kernel cannot give (old kernel) counts nothing
      }
    }
    return total;
  }

  private reportSkippedRuns(): void {
    const n = this.skippedRuns();
    if (n > 0n) this.message(`Lost ${n} probe run${n === 1n ? '' : 's'}: the kernel skipped them while another BPF program ran on the same CPU\n`);
  }

  private printMapsAtExit(): void {
    // config = { print_maps_on_exit = false } (C38): the script prints what it wants itself
    if (this.a.config?.print_maps_on_exit === false) return;
    const dumps: MapDump[] = [];
    this.a.userMaps.forEach((spec, i) => {
      // a key-less count() reads 0 both when it never ran and when zero() emptied it; bpftrace prints only the second
      const d = this.dumpMap(spec);
      dumps.push(this.zeroedCounts.has(i) ? d : withoutZeroCount(d));
    });
    this.write(this.out.exitPreamble());
    if (dumps.length) this.write(this.out.maps(dumps));
  }

  private teardown(): void {
    for (const t of this.timers) clearInterval(t);
    this.reader?.close();
    for (const l of this.links) l.close();
    for (const p of this.programs) p.close();
    for (const m of this.maps) m.close();
    this.links = [];
    this.programs = [];
    this.maps = [];
    if (this.child) {
      this.killCommand('SIGKILL');
      this.child = undefined;
    }
  }
}

/** The elements a join() record carries, up to the first empty one. */
function joinParts(ev: Extract<EventSpec, { kind: 'join' }>, rec: Buffer): string[] {
  const parts: string[] = [];
  for (let i = 0; i < ev.maxArgs; i++) {
    const off = ev.field.offset + i * ev.argSize;
    if (off >= rec.length) break;
    const end = rec.indexOf(0, off);
    const s = decodeBytes(rec, off, end < 0 || end > off + ev.argSize ? off + ev.argSize : end);
    if (s === '') break;
    parts.push(s);
  }
  return parts;
}

function realtimeNow(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

let pdeathsigCache: string[] | null | undefined;

/**
 * A -c command as argv when it is plain words (bpftrace's reading: split at spaces), else undefined (run
 * by /bin/sh). Quotes count as shell syntax unless the first word is a file as it stands.
 */
function plainCommand(cmd: string): string[] | undefined {
  if (/[;&|<>()$`\\*?~{}[\]#\n!=]/.test(cmd)) return undefined;
  const words = cmd.trim().split(/[ \t]+/).filter(Boolean);
  if (words.length === 0) return undefined;
  if (/['"]/.test(cmd) && !fs.existsSync(words[0])) return undefined;
  return words;
}

/** ['/usr/bin/setpriv', '--pdeathsig', 'TERM', '--'] when setpriv can set PR_SET_PDEATHSIG, else null. */
function pdeathsigWrapper(): string[] | null {
  if (pdeathsigCache !== undefined) return pdeathsigCache;
  pdeathsigCache = null;
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      pdeathsigCache = [p, '--pdeathsig', 'TERM', '--'];
      break;
    } catch {
      // not here
    }
  }
  return pdeathsigCache;
}

/** Compiles nothing: runs an already compiled script. */
export function runScript(artifact: ScriptArtifact, opts: RunOptions = {}): Promise<number> {
  return new ScriptRuntime(artifact, opts).run();
}

/**
 * A user map's entries as the printers take them: [key, each CPU's value (or
 * the one value)], a key-less array's as a hash would hold them.
 */
export function userMapEntries(m: BpfMap, spec: UserMapSpec): Array<[Buffer, Buffer[]]> {
  if (spec.keylessArray) return keylessArrayEntries(m, spec.keylessArray);
  return m.isPerCpu ? m.entriesPerCpu() : m.entries().map(([k, v]) => [k, [v]]);
}

/**
 * The one entry of a key-less aggregation kept in a per-CPU array, as a hash
 * would hold it: under an 8-byte zero key, each CPU's value without the
 * "ran" flag; no entry when no CPU's flag is set (UserMapSpec.keylessArray).
 */
function keylessArrayEntries(m: BpfMap, layout: KeylessLayout): Array<[Buffer, Buffer[]]> {
  const at = layout.presentAt;
  if (at === undefined) return [[Buffer.alloc(8), m.lookupPerCpu(0) ?? []]];
  return keylessArraySlots(m, layout).map(([k, vs]) => {
    // a hist/lhist hash's key: the key-less map's 8 zero bytes, then the bucket index
    const key = Buffer.alloc(layout.buckets ? 16 : 8);
    if (layout.buckets) key.writeBigUInt64LE(BigInt(k.readUInt32LE(0)), 8);
    return [key, vs.map((v) => v.subarray(0, at))];
  });
}

/** The array's entries (u32 key, each CPU's whole value) whose "ran" flag some CPU set. */
function keylessArraySlots(m: BpfMap, layout: KeylessLayout): Array<[Buffer, Buffer[]]> {
  const at = layout.presentAt;
  const all: Array<[Buffer, Buffer[]]> = layout.buckets ? m.entriesPerCpu() : [[u32key(0), m.lookupPerCpu(0) ?? []]];
  return all.filter(([, vs]) => at !== undefined && vs.some((v) => v.readBigUInt64LE(at) !== 0n));
}

function u32key(i: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(i, 0);
  return b;
}

/** clear() of a user map: a hash loses its entries; an array's flagged entries are zeroed (flag too). */
function clearUserMap(m: BpfMap, spec: UserMapSpec): void {
  if (!spec.keylessArray?.buckets) {
    m.clear();
    return;
  }
  const zero = Array.from({ length: numPossibleCpus() }, () => Buffer.alloc(m.valueSize));
  for (const [k] of keylessArraySlots(m, spec.keylessArray)) m.updatePerCpu(k, zero);
}
