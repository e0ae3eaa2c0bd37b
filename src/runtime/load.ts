/**
 * Loading a compiled script into the kernel: its maps created (with their
 * initial entries), map indexes in the programs replaced by the maps' fds,
 * every program loaded through the verifier. The one loader the runtime
 * (run, --verify, --dry-run) and the tests use; attaching is the runtime's.
 *
 * @example
 *   const l = loadArtifact(compile(source));
 *   try { testRun(l.programs[0], { ctx: Buffer.alloc(8) }); } finally { l.close(); }
 */
import { encode, isLdImm64, PseudoLd, type Insn } from '../ebpf/asm';
import { BpfMap } from '../ebpf/maps';
import { loadProgram, type Program, type ProgTypeName, VerifierError } from '../ebpf/programs';
import { AttachType } from '../sys/bpf';
import { hasFeature, MissingFeatureError } from '../sys/features';
import type { HostValue, ProgramSpec, ScriptArtifact } from '../lang/artifact';
import { possibleCpus } from '../sys/perf';
import { CompileError } from '../lang/diagnostics';
import { UserError } from '../errors';

/** The kernel keeps 15 characters of a map's name. */
const MAP_NAME_MAX = 15;

export interface LoadOptions {
  /** Size of the event ring buffer in bytes (default: the compiler's). */
  ringBytes?: number;
  /** Keep each program's verifier log (`-v`), and quote it when the verifier refuses one. */
  verbose?: boolean;
  /** Called after each program loads (`-v` prints its statistics). */
  onLoaded?: (spec: ProgramSpec, prog: Program) => void;
}

export interface LoadedArtifact {
  /** One per ScriptArtifact.maps entry, same order. */
  readonly maps: BpfMap[];
  /** One per ScriptArtifact.programs entry, same order. */
  readonly programs: Program[];
  /** Closes every program and map (idempotent). */
  close(): void;
}

/** A loaded script does not fit the kernel's rules (an artifact that names a map it lacks). */
export class LoadError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

/**
 * Creates the maps and loads the programs of `a`. On any failure everything
 * created so far is closed and the error thrown: a VerifierError becomes a
 * CompileError pointing at the script line of the rejected instruction; a
 * refused fentry/fexit program names the missing feature.
 */
export function loadArtifact(a: ScriptArtifact, o: LoadOptions = {}): LoadedArtifact {
  const maps: BpfMap[] = [];
  const programs: Program[] = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const p of programs) p.close();
    for (const m of maps) m.close();
  };
  try {
    for (const [i, spec] of a.maps.entries()) {
      const m = BpfMap.create({
        type: spec.kind,
        keySize: spec.keySize,
        valueSize: spec.valueSize,
        maxEntries: i === a.eventRing && o.ringBytes !== undefined ? o.ringBytes : spec.maxEntries,
        flags: spec.flags,
        name: spec.name.slice(0, MAP_NAME_MAX),
      });
      maps.push(m);
      for (const e of spec.initial ?? []) m.update(Buffer.from(e.key, 'hex'), Buffer.from(e.value, 'hex'));
      if (spec.hostValue) m.update(Buffer.alloc(4), u64(hostValue(spec.hostValue)));
    }
    for (const p of a.programs) {
      const prog = loadOne(a, p, maps, o);
      programs.push(prog);
      o.onLoaded?.(p, prog);
    }
  } catch (e) {
    close();
    throw e;
  }
  return { maps, programs, close };
}

function loadOne(a: ScriptArtifact, p: ProgramSpec, maps: readonly BpfMap[], o: LoadOptions): Program {
  const target = p.attach.find((s) => s.kind === 'fentry' || s.kind === 'fexit');
  try {
    return loadProgram({
      // one program on many kernel functions: one kprobe_multi link instead of one kprobe each (compiler groups them)
      expectedAttachType: kprobeMulti(p) ? AttachType.TRACE_KPROBE_MULTI : undefined,
      type: progType(p),
      insns: encode(patchMapFds(p.insns, maps)),
      name: p.name,
      license: a.config?.license, // config = { license = "..." }: one of the GPL-compatible strings (lang/config.ts)
      attachTo: target && 'func' in target ? target.func : undefined,
      keepLog: o.verbose,
      functions: p.functions, // callbacks (for-map loops) need BTF func_info
    });
  } catch (e) {
    if (e instanceof VerifierError) throw verifierDiagnostic(a, p, e, !!o.verbose);
    // fentry/fexit refused (EPERM here): name the feature instead of a permission error
    if (p.type === 'tracing' && !hasFeature('fentry')) {
      const alt = target && 'alternative' in target && target.alternative ? `; ${target.alternative}` : '';
      throw new MissingFeatureError('fentry', `${new MissingFeatureError('fentry').message}${alt}`);
    }
    throw e;
  }
}

function progType(p: ProgramSpec): ProgTypeName {
  if (p.type === 'tracing') return p.expectedAttachType === 'fexit' ? 'fexit' : 'fentry';
  return p.type;
}

/** Replaces map indices in lddw instructions with the created maps' fds. */
function patchMapFds(insns: readonly Insn[], maps: readonly BpfMap[]): Insn[] {
  const out = insns.map((i) => ({ ...i }));
  for (let n = 0; n < out.length; n++) {
    const i = out[n];
    if (!isLdImm64(i)) continue;
    if (i.src === PseudoLd.MAP_FD || i.src === PseudoLd.MAP_VALUE) {
      const m = maps[i.imm];
      if (!m) throw new LoadError(`internal error: program refers to map #${i.imm} which the script does not define`);
      i.imm = m.fd;
    }
    n++;
  }
  return out;
}

/** A verifier rejection, pointed at the script line that produced the rejected instruction. */
function verifierDiagnostic(a: ScriptArtifact, p: ProgramSpec, e: VerifierError, verbose: boolean): CompileError {
  const span = e.insnIndex !== undefined ? p.sourceMap[e.insnIndex] ?? null : null;
  const probe = a.probeNames[p.probeIndex] ?? p.name;
  const reason = e.reason || e.message;
  const notes = [`the verifier rejected instruction ${e.insnIndex ?? '?'} of the program for ${probe}`];
  if (verbose) notes.push(e.log.trimEnd());
  else notes.push('run with -v to see the full verifier log');
  return new CompileError(`the kernel verifier rejected this: ${reason}`, span, a.source, notes);
}

/** Functions of a program that can share one kprobe_multi link, or undefined (then each attaches on its own). */
export function kprobeMulti(p: ProgramSpec): { funcs: string[]; retprobe: boolean } | undefined {
  if (p.type !== 'kprobe' || p.attach.length < 2) return undefined;
  const first = p.attach[0];
  if (first.kind !== 'kprobe') return undefined;
  const ok = p.attach.every((s) => s.kind === 'kprobe' && !s.offset && !s.module && s.retprobe === first.retprobe);
  if (!ok || !hasFeature('kprobe_multi')) return undefined;
  return { funcs: p.attach.map((s) => (s.kind === 'kprobe' ? s.func : '')), retprobe: first.retprobe };
}

/** What a HostValue map holds on this machine. */
function hostValue(name: HostValue): number {
  switch (name) {
    case 'possibleCpus':
      return possibleCpus().length;
  }
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
