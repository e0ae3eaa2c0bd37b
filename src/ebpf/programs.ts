/**
 * Loading BPF programs and running them with BPF_PROG_TEST_RUN.
 *
 * @example
 *   const a = new Asm(); a.mov64(R0, 0); a.exit();
 *   const prog = loadProgram({ type: 'tracepoint', insns: a, name: 'noop' });
 *   ...
 *   prog.close();
 */
import * as sys from '../sys/bpf';
import { ProgType, AttachType, ProgLoadError } from '../sys/bpf';
import { vmlinuxFuncBtfId } from '../sys/features';
import { EnvironmentError, UserError } from '../errors';

export type ProgTypeName =
  | 'socket_filter' | 'kprobe' | 'tracepoint' | 'raw_tracepoint' | 'perf_event' | 'syscall'
  | 'fentry' | 'fexit' | 'tp_btf';

interface TypeDesc { type: number; expectedAttachType?: number }

const typeByName: Record<ProgTypeName, TypeDesc> = {
  socket_filter: { type: ProgType.SOCKET_FILTER },
  kprobe: { type: ProgType.KPROBE },
  tracepoint: { type: ProgType.TRACEPOINT },
  raw_tracepoint: { type: ProgType.RAW_TRACEPOINT },
  perf_event: { type: ProgType.PERF_EVENT },
  syscall: { type: ProgType.SYSCALL },
  fentry: { type: ProgType.TRACING, expectedAttachType: AttachType.TRACE_FENTRY },
  fexit: { type: ProgType.TRACING, expectedAttachType: AttachType.TRACE_FEXIT },
  tp_btf: { type: ProgType.TRACING, expectedAttachType: AttachType.TRACE_RAW_TP },
};

/** Encoded instructions, or anything that assembles to them (the asm builder). */
export type InsnSource = Uint8Array | { assemble(): Buffer };

export interface ProgramSpec {
  /** A name from ProgTypeName or a raw BPF_PROG_TYPE_* number. */
  type: ProgTypeName | number;
  insns: InsnSource;
  license?: string;
  /** Shown by bpftool (trimmed to 15 characters). */
  name?: string;
  expectedAttachType?: number;
  /** Tracing programs: BTF id of the target; or give attachTo. */
  attachBtfId?: number;
  /** Tracing programs (fentry/fexit): the kernel function to attach to. */
  attachTo?: string;
  /** Verifier log level on failure (1 default; 2 for full register state). */
  logLevel?: number;
  /** Keep the verifier log even when the load succeeds (program.log). */
  keepLog?: boolean;
  /** BPF_F_* load flags (syscall programs get BPF_F_SLEEPABLE automatically). */
  progFlags?: number;
  /**
   * Functions of a program with BPF-to-BPF subprograms or callbacks: where each
   * starts (instruction index; the first must be 0) and its name. The loader
   * describes them in a small BTF object (static functions returning int),
   * which the verifier requires for callbacks such as bpf_for_each_map_elem.
   */
  functions?: { insn: number; name: string }[];
}

/** A BTF blob with one `int`, one `int (void)` prototype and a static FUNC per name (type ids 3, 4, ...). */
export function functionsBtf(names: string[]): Buffer {
  const strs: string[] = ['', 'int', ...names];
  const strOff: number[] = [];
  let off = 0;
  for (const t of strs) {
    strOff.push(off);
    off += Buffer.byteLength(t) + 1;
  }
  const strBuf = Buffer.concat(strs.map((t) => Buffer.from(`${t}\0`)));
  const types: Buffer[] = [];
  const int = Buffer.alloc(16);
  int.writeUInt32LE(strOff[1], 0);
  int.writeUInt32LE(1 << 24, 4); // BTF_KIND_INT
  int.writeUInt32LE(4, 8);
  int.writeUInt32LE((1 << 24) | 32, 12); // signed, 32 bits
  types.push(int);
  const proto = Buffer.alloc(12);
  proto.writeUInt32LE(13 << 24, 4); // BTF_KIND_FUNC_PROTO, no parameters
  proto.writeUInt32LE(1, 8); // returns int
  types.push(proto);
  names.forEach((_, i) => {
    const f = Buffer.alloc(12);
    f.writeUInt32LE(strOff[2 + i], 0);
    f.writeUInt32LE(12 << 24, 4); // BTF_KIND_FUNC, static linkage
    f.writeUInt32LE(2, 8);
    types.push(f);
  });
  const typeBuf = Buffer.concat(types);
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(typeBuf.length, 12);
  hdr.writeUInt32LE(typeBuf.length, 16);
  hdr.writeUInt32LE(strBuf.length, 20);
  return Buffer.concat([hdr, typeBuf, strBuf]);
}

/** BPF_F_SLEEPABLE: required for BPF_PROG_TYPE_SYSCALL. */
export const BPF_F_SLEEPABLE = 1 << 4;

/** The verifier (or the loader) refused a program. */
export class VerifierError extends EnvironmentError {
  /** The whole verifier log. */
  readonly log: string;
  /** Index of the rejected instruction (for mapping back to source), when the log names one. */
  readonly insnIndex: number | undefined;
  /** The verifier's reason line, e.g. "R2 invalid mem access 'scalar'". */
  readonly reason: string;
  readonly errno: number;
  readonly programName: string;
  constructor(programName: string, errno: number, log: string, code: string) {
    const parsed = parseVerifierLog(log);
    const who = programName ? `program '${programName}'` : 'program';
    const where = parsed.insnIndex !== undefined ? ` at instruction ${parsed.insnIndex}` : '';
    const detail = parsed.context.length ? `\n${parsed.context.join('\n')}` : '';
    const reason = parsed.reason || `the kernel refused to load it (${code})`;
    super(`BPF verifier rejected ${who}${where}: ${reason}${detail}`);
    this.name = 'VerifierError';
    this.log = log;
    this.insnIndex = parsed.insnIndex;
    this.reason = reason;
    this.errno = errno;
    this.programName = programName;
  }
}

const FOOTER = [/^processed \d+ insns/, /^verification time/, /^stack depth/, /^max_states_per_insn/, /^mark_read/, /^-- END PROG LOAD LOG --/];
const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;

export interface ParsedVerifierLog {
  insnIndex: number | undefined;
  /** The last meaningful line: the verifier's complaint. */
  reason: string;
  /** Up to three lines before the reason (the rejected instruction and state), for the message. */
  context: string[];
}

/** Extracts the rejected instruction and the reason from a verifier log. */
export function parseVerifierLog(log: string): ParsedVerifierLog {
  const lines = log.split('\n').map((l) => l.replace(/\s+$/, '')).filter((l) => l !== '' && !FOOTER.some((re) => re.test(l)));
  if (!lines.length) return { insnIndex: undefined, reason: '', context: [] };
  const reason = lines[lines.length - 1];
  let insnIndex: number | undefined;
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = INSN_LINE.exec(lines[i]);
    if (m) {
      insnIndex = Number(m[1]);
      at = i;
      break;
    }
  }
  // Context: the rejected instruction and whatever the verifier said between it and the reason.
  const context = at >= 0 && at < lines.length - 1 ? lines.slice(Math.max(at, lines.length - 4), lines.length - 1) : [];
  return { insnIndex, reason, context };
}

/** A loaded program. */
export class Program {
  readonly fd: number;
  readonly type: number;
  readonly expectedAttachType: number;
  readonly name: string;
  readonly insnCount: number;
  /** Verifier log when the spec asked to keep it. */
  readonly log: string | undefined;
  private closed = false;

  constructor(fd: number, type: number, expectedAttachType: number, name: string, insnCount: number, log?: string) {
    this.fd = fd;
    this.type = type;
    this.expectedAttachType = expectedAttachType;
    this.name = name;
    this.insnCount = insnCount;
    this.log = log;
  }

  /** Kernel info (id, tag, map ids, run stats). */
  info(opts?: sys.ProgInfoOptions): sys.ProgInfo {
    return sys.progInfo(this.fd, opts);
  }

  /** BPF_PROG_TEST_RUN; see testRun(). */
  testRun(opts: TestRunOptions = {}): sys.TestRunResult {
    return testRun(this, opts);
  }

  /** Closes the fd; the program stays loaded while links hold it. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys.closeFd(this.fd);
  }
}

function assemble(src: InsnSource): Uint8Array {
  return src instanceof Uint8Array ? src : src.assemble();
}

/** A tracing program's target could not be found in kernel BTF. */
export class AttachTargetError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'AttachTargetError';
  }
}

/**
 * Loads a program. A verifier rejection throws VerifierError (with the log
 * and the rejected instruction); other failures (EPERM, E2BIG) throw the
 * underlying SyscallError.
 */
export function loadProgram(spec: ProgramSpec): Program {
  const desc: TypeDesc = typeof spec.type === 'number' ? { type: spec.type } : typeByName[spec.type];
  if (!desc) throw new TypeError(`unknown program type '${String(spec.type)}'`);
  const insns = assemble(spec.insns);
  let attachBtfId = spec.attachBtfId;
  if (attachBtfId === undefined && spec.attachTo !== undefined) {
    attachBtfId = vmlinuxFuncBtfId(spec.attachTo);
    if (attachBtfId === undefined) throw new AttachTargetError(`kernel function '${spec.attachTo}' is not in the kernel's BTF (/sys/kernel/btf/vmlinux)`);
  }
  const expectedAttachType = spec.expectedAttachType ?? desc.expectedAttachType ?? 0;
  const name = spec.name ?? '';
  let btfFd = 0;
  let funcInfo: Buffer | undefined;
  if (spec.functions?.length) {
    btfFd = sys.btfLoad(functionsBtf(spec.functions.map((f) => f.name.replace(/[^A-Za-z0-9_]/g, '_'))));
    funcInfo = Buffer.alloc(8 * spec.functions.length);
    spec.functions.forEach((f, i) => {
      funcInfo?.writeUInt32LE(f.insn, 8 * i);
      funcInfo?.writeUInt32LE(3 + i, 8 * i + 4);
    });
  }
  try {
    const r = sys.progLoad({
      type: desc.type, insns, license: spec.license ?? 'GPL', name: spec.name, expectedAttachType, attachBtfId,
      logLevel: spec.logLevel, alwaysLog: spec.keepLog,
      progFlags: (spec.progFlags ?? 0) | (desc.type === ProgType.SYSCALL ? BPF_F_SLEEPABLE : 0),
      progBtfFd: btfFd || undefined, funcInfo,
    });
    return new Program(r.fd, desc.type, expectedAttachType, name ? sys.sanitizeObjName(name) : '', insns.byteLength / 8, r.log);
  } catch (e) {
    // EACCES/EINVAL with a log is the verifier talking; without a log it is something else (EPERM, E2BIG...).
    if (e instanceof ProgLoadError && e.log.trim() !== '') throw new VerifierError(name, e.errno, e.log, e.code);
    throw e;
  } finally {
    // the program holds its own reference to the BTF object
    if (btfFd) sys.closeFd(btfFd);
  }
}

export interface TestRunOptions {
  /** Context given to the program (e.g. raw tracepoint args as u64s). */
  ctx?: Uint8Array;
  /** Packet data (socket filter and friends). */
  data?: Uint8Array;
  repeat?: number;
  dataOutSize?: number;
  ctxOutSize?: number;
  flags?: number;
  cpu?: number;
}

/** Runs the program in the kernel once (or `repeat` times) and returns R0 and the mean duration. */
export function testRun(prog: Program | number, o: TestRunOptions = {}): sys.TestRunResult {
  const fd = typeof prog === 'number' ? prog : prog.fd;
  return sys.progTestRun(fd, {
    ctxIn: o.ctx, dataIn: o.data, repeat: o.repeat, dataOutSize: o.dataOutSize, ctxOutSize: o.ctxOutSize, flags: o.flags, cpu: o.cpu,
  });
}
