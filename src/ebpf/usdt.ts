/**
 * USDT (SystemTap SDT) probes: reading `.note.stapsdt`, computing the file
 * offsets a uprobe and its reference counter (semaphore) attach to, and
 * parsing argument specifications (x86-64's AT&T operands, or AArch64's, by the
 * file's ELF machine) into a typed form the compiler turns into loads from
 * `struct pt_regs`.
 *
 * Note layout (type 3, owner "stapsdt"): three addresses (probe pc, link-time
 * address of `.stapsdt.base`, semaphore) followed by three NUL-terminated
 * strings (provider, name, arguments).
 *
 * @example
 *   for (const p of readUsdtProbes('/usr/bin/python3')) console.log(p.provider, p.name, p.fileOffset);
 */
import { ElfError, ElfFile, globToRegExp, malformedIsElfError, type ElfSymbol } from './elf';
import { ARM64 } from '../arch/arm64';
import { UserError } from '../errors';

/** A USDT argument spec the parser does not understand. */
export class UsdtArgError extends UserError {
  readonly spec: string;
  constructor(spec: string, why: string) {
    super(`cannot parse USDT argument '${spec}': ${why}`);
    this.name = 'UsdtArgError';
    this.spec = spec;
  }
}

/** A probe named by the user does not exist in the file. */
export class UsdtProbeNotFoundError extends UserError {
  constructor(readonly path: string, readonly provider: string, readonly probe: string) {
    super(`USDT probe ${provider}:${probe} not found in ${path} (list them with: tsbpf -l 'usdt:${path}:*')`);
    this.name = 'UsdtProbeNotFoundError';
  }
}

/** Where a register lives in `struct pt_regs` and how much of it an alias names. */
export interface PtRegsSlot {
  /** Canonical 64-bit register name, e.g. 'rax' for 'eax'. */
  readonly reg: string;
  /** Byte offset of the slot read (includes +1 for ah/bh/ch/dh). */
  readonly offset: number;
  /** Bytes the alias covers (8, 4, 2 or 1). */
  readonly size: number;
}

/** Offsets of the 64-bit registers in x86-64 `struct pt_regs` (arch/x86/include/asm/ptrace.h). */
export const PT_REGS_X86_64: Readonly<Record<string, number>> = {
  r15: 0, r14: 8, r13: 16, r12: 24, rbp: 32, rbx: 40, r11: 48, r10: 56,
  r9: 64, r8: 72, rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112,
  orig_rax: 120, rip: 128, cs: 136, eflags: 144, rsp: 152, ss: 160,
};

/** sizeof(struct pt_regs) on x86-64. */
export const PT_REGS_SIZE_X86_64 = 168;

const regAliases = new Map<string, PtRegsSlot>();
function addAlias(alias: string, reg: string, size: number, extra = 0): void {
  regAliases.set(alias, { reg, offset: PT_REGS_X86_64[reg] + extra, size });
}
for (const r of Object.keys(PT_REGS_X86_64)) addAlias(r, r, 8);
for (const l of ['a', 'b', 'c', 'd']) {
  const r = `r${l}x`;
  addAlias(`e${l}x`, r, 4);
  addAlias(`${l}x`, r, 2);
  addAlias(`${l}l`, r, 1);
  addAlias(`${l}h`, r, 1, 1);
}
for (const l of ['si', 'di', 'bp', 'sp']) {
  const r = `r${l}`;
  addAlias(`e${l}`, r, 4);
  addAlias(l, r, 2);
  addAlias(`${l}l`, r, 1);
}
for (let n = 8; n <= 15; n++) {
  const r = `r${n}`;
  addAlias(`${r}d`, r, 4);
  addAlias(`${r}w`, r, 2);
  addAlias(`${r}b`, r, 1);
  addAlias(`${r}l`, r, 1);
}
addAlias('eip', 'rip', 4);
addAlias('ip', 'rip', 2);
addAlias('eflags', 'eflags', 8);

/**
 * Looks up an x86-64 register name (with or without '%'): 'rdi', '%edi', 'r8d',
 * 'al', 'ah'. Returns undefined for unknown names.
 */
export function ptRegsSlot(name: string): PtRegsSlot | undefined {
  return regAliases.get(name.replace(/^%/, '').toLowerCase());
}

/** AArch64 operand registers: x0..x30 and sp (8 bytes), w0..w30 and wsp (their low 4 bytes). */
const aarch64Regs = new Map<string, PtRegsSlot>();
for (const reg of [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp']) {
  const offset = ARM64.ptRegs[reg];
  aarch64Regs.set(reg, { reg, offset, size: 8 });
  aarch64Regs.set(reg === 'sp' ? 'wsp' : `w${reg.slice(1)}`, { reg, offset, size: 4 });
}

/** All known (x86-64) register names, for diagnostics and tests. */
export function ptRegsNames(): string[] {
  return [...regAliases.keys()];
}

interface ArgBase {
  /** The original text, e.g. "-4@-20(%rbp)". */
  readonly spec: string;
  /** Value size in bytes (1, 2, 4, 8). */
  readonly size: number;
  /** True when the size prefix was negative (sign-extend when widening). */
  readonly signed: boolean;
}

/** `N@$imm`: the value is a constant. */
export interface UsdtConstArg extends ArgBase {
  readonly kind: 'const';
  readonly value: bigint;
}

/** `N@%reg`: the value is (the low `size` bytes of) a register. */
export interface UsdtRegArg extends ArgBase {
  readonly kind: 'reg';
  readonly reg: PtRegsSlot;
}

/**
 * `N@disp(%base,%index,scale)`: the value is read from memory at
 * base + index*scale + disp. base or index may be absent.
 */
export interface UsdtMemArg extends ArgBase {
  readonly kind: 'mem';
  readonly base?: PtRegsSlot;
  readonly index?: PtRegsSlot;
  readonly scale: number;
  readonly disp: bigint;
}

/**
 * `N@symbol+off(%rip)`: the value is read from a global variable. The
 * address is the symbol's link-time address plus the load bias of the
 * object (0 for ET_EXEC); `symbolValue` is filled in when the file has the symbol.
 */
export interface UsdtRipArg extends ArgBase {
  readonly kind: 'rip';
  readonly symbol?: string;
  /** Link-time address of the symbol, if found in the ELF file. */
  readonly symbolValue?: number;
  readonly disp: bigint;
}

export type UsdtArg = UsdtConstArg | UsdtRegArg | UsdtMemArg | UsdtRipArg;

export interface UsdtProbe {
  readonly path: string;
  readonly provider: string;
  readonly name: string;
  /** Probe address from the note (link-time virtual address). */
  readonly pc: number;
  /** `.stapsdt.base` address recorded in the note. */
  readonly base: number;
  /** Semaphore link-time address, 0 when the probe has none. */
  readonly semaphore: number;
  /** Raw argument string, e.g. "-4@-20(%rbp) 8@%rax". */
  readonly argString: string;
  /** pc adjusted for prelinking (see readUsdtProbes). */
  readonly address: number;
  /** File offset for the uprobe. */
  readonly fileOffset: number;
  /** File offset of the semaphore, for the uprobe's ref_ctr_offset; 0 when none. */
  readonly semaphoreOffset: number;
  /** Parsed arguments; undefined when the arg string could not be parsed (see argError). */
  readonly args?: UsdtArg[];
  readonly argError?: string;
}

function parseIntLit(s: string, spec: string): bigint {
  const m = /^([+-]?)(0x[0-9a-f]+|\d+)$/i.exec(s);
  if (!m) throw new UsdtArgError(spec, `bad number '${s}'`);
  const v = BigInt(m[2]);
  return m[1] === '-' ? -v : v;
}

function reg(name: string, spec: string): PtRegsSlot {
  const r = ptRegsSlot(name);
  if (!r) throw new UsdtArgError(spec, `unknown register '${name}'`);
  return r;
}

/** The ELF e_machine of AArch64 binaries. */
const EM_AARCH64 = ARM64.elfMachine;

/**
 * Parses one argument spec of a probe in `elf` (x86-64 unless the file is
 * AArch64's; see parseAarch64Arg).
 *
 * x86-64 Forms: `-8@%rax`, `8@-16(%rbp)`, `4@$5`,
 * `-4@%edi`, `8@sym+8(%rip)`, `8@(%rax,%rdx,8)`, `-2@8(,%rcx,2)`. A spec
 * without `N@` (version-1 SDT notes) is taken as unsigned, as wide as the
 * register it names (8 bytes for memory and constants).
 */
export function parseUsdtArg(spec: string, elf?: ElfFile): UsdtArg {
  const { size, signed, operand } = sizePrefix(spec);
  if (elf?.machine === EM_AARCH64) return parseAarch64Arg(spec, size, signed, operand);
  if (operand.startsWith('$')) {
    return { kind: 'const', spec, size: size || 8, signed, value: parseIntLit(operand.slice(1), spec) };
  }
  if (operand.startsWith('%')) {
    const r = reg(operand, spec);
    return { kind: 'reg', spec, size: size || r.size, signed, reg: r };
  }
  const mem = /^([^(]*)\(([^)]*)\)$/.exec(operand);
  if (!mem) throw new UsdtArgError(spec, 'expected $imm, %reg or disp(%base,%index,scale)');
  const dispText = mem[1].trim();
  const parts = mem[2].split(',').map((p) => p.trim());
  if (parts.length > 3) throw new UsdtArgError(spec, 'too many address components');
  const baseName = parts[0] ?? '';
  if (baseName === '%rip' || baseName === '%eip') {
    if (parts.length > 1) throw new UsdtArgError(spec, 'rip-relative addressing takes no index');
    // symbol, symbol+off, symbol-off, or a plain number
    let symbol: string | undefined;
    let disp = 0n;
    if (/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(dispText)) disp = parseIntLit(dispText, spec);
    else if (dispText !== '') {
      const sm = /^([A-Za-z_.$][\w.$@]*)([+-](?:0x[0-9a-f]+|\d+))?$/i.exec(dispText);
      if (!sm) throw new UsdtArgError(spec, `bad rip-relative displacement '${dispText}'`);
      symbol = sm[1];
      if (sm[2]) disp = parseIntLit(sm[2], spec);
    }
    let symbolValue: number | undefined;
    if (symbol && elf) symbolValue = elf.symbol(symbol)?.value;
    return { kind: 'rip', spec, size: size || 8, signed, symbol, symbolValue, disp };
  }
  const base = baseName ? reg(baseName, spec) : undefined;
  const index = parts[1] ? reg(parts[1], spec) : undefined;
  const scale = parts[2] ? Number(parts[2]) : 1;
  if (![1, 2, 4, 8].includes(scale)) throw new UsdtArgError(spec, `bad scale ${parts[2]}`);
  if (!base && !index) throw new UsdtArgError(spec, 'memory operand without registers');
  const disp = dispText === '' ? 0n : parseIntLit(dispText, spec);
  return { kind: 'mem', spec, size: size || 8, signed, base, index, scale, disp };
}

/** The `N@` prefix of a spec: size 0 when absent (version-1 notes), negative N = signed. */
function sizePrefix(spec: string): { size: number; signed: boolean; operand: string } {
  const at = /^([+-]?)(\d+)@(.*)$/.exec(spec);
  if (!at) return { size: 0, signed: false, operand: spec };
  const size = Number(at[2]);
  if (![1, 2, 4, 8].includes(size)) throw new UsdtArgError(spec, `unsupported size ${size}`);
  return { size, signed: at[1] === '-', operand: at[3] };
}

/**
 * AArch64 operands as GCC prints them into the note: a register (`x0`, `w1`,
 * `sp`), memory at a register plus an optional offset (`[sp, 8]`, `[x29, -12]`,
 * `[x0]`, with or without `#` before the number) or a constant (`5`, `-1`).
 */
function parseAarch64Arg(spec: string, size: number, signed: boolean, operand: string): UsdtArg {
  const regOf = (name: string): PtRegsSlot => {
    const r = aarch64Regs.get(name.toLowerCase());
    if (!r) throw new UsdtArgError(spec, `unknown register '${name}'`);
    return r;
  };
  if (/^#?[+-]?(0x[0-9a-f]+|\d+)$/i.test(operand)) {
    return { kind: 'const', spec, size: size || 8, signed, value: parseIntLit(operand.replace(/^#/, ''), spec) };
  }
  const mem = /^\[\s*(\w+)\s*(?:,\s*#?([+-]?(?:0x[0-9a-f]+|\d+))\s*)?\]$/i.exec(operand);
  if (mem) return { kind: 'mem', spec, size: size || 8, signed, base: regOf(mem[1]), scale: 1, disp: mem[2] ? parseIntLit(mem[2], spec) : 0n };
  if (/^\w+$/.test(operand)) {
    const r = regOf(operand);
    return { kind: 'reg', spec, size: size || r.size, signed, reg: r };
  }
  throw new UsdtArgError(spec, 'expected a register (x0, w0, sp), [reg, offset] or a constant');
}

/** Splits an argument string on blanks (not those inside AArch64's `[sp, 8]`) and parses every argument. */
export function parseUsdtArgs(argString: string, elf?: ElfFile): UsdtArg[] {
  const s = argString.trim();
  if (!s) return [];
  return (s.match(/(?:\[[^\]]*\]|[^\s[])+/g) ?? []).map((a) => parseUsdtArg(a, elf));
}

/**
 * Reads all USDT probes of an ELF file.
 *
 * Address rules (SystemTap's note conventions): when the file has a
 * `.stapsdt.base` section and it was moved after linking (prelink), the
 * probe pc and the semaphore move with it: pc += sh_addr(.stapsdt.base) −
 * note base. The uprobe offset is the pc converted to a file offset through
 * the PT_LOAD segment that contains it; the semaphore's offset likewise
 * through the (data) segment holding it, which is what the kernel's
 * ref_ctr_offset counts from.
 */
export function readUsdtProbes(path: string): UsdtProbe[] {
  return malformedIsElfError(path, () => readProbes(path));
}

function readProbes(path: string): UsdtProbe[] {
  const elf = ElfFile.open(path);
  const sec = elf.section('.note.stapsdt');
  if (!sec) return [];
  const baseSec = elf.section('.stapsdt.base');
  const out: UsdtProbe[] = [];
  for (const n of elf.notes('.note.stapsdt')) {
    if (n.name !== 'stapsdt' || n.type !== 3 || n.desc.length < 24) continue;
    const d = n.desc;
    const pc = Number(d.readBigUInt64LE(0));
    const base = Number(d.readBigUInt64LE(8));
    const semaphore = Number(d.readBigUInt64LE(16));
    let o = 24;
    const str = (): string => {
      const end = d.indexOf(0, o);
      const s = d.toString('utf8', o, end < 0 ? d.length : end);
      o = end < 0 ? d.length : end + 1;
      return s;
    };
    const provider = str();
    const name = str();
    const argString = str();
    const delta = baseSec && base ? baseSec.addr - base : 0;
    const address = pc + delta;
    const sema = semaphore ? semaphore + delta : 0;
    const fileOffset = elf.vaddrToFileOffset(address);
    if (fileOffset === undefined) throw new ElfError(path, `USDT probe ${provider}:${name} at 0x${address.toString(16)} is outside every loadable segment`);
    const semaphoreOffset = sema ? elf.vaddrToFileOffset(sema) ?? 0 : 0;
    let args: UsdtArg[] | undefined;
    let argError: string | undefined;
    try {
      args = parseUsdtArgs(argString, elf);
    } catch (e) {
      argError = (e as Error).message;
    }
    out.push({ path, provider, name, pc, base, semaphore: sema, argString, address, fileOffset, semaphoreOffset, args, argError });
  }
  return out;
}

/**
 * Probes matching provider and name globs (`*` matches everything). Throws
 * UsdtProbeNotFoundError when an exact (non-glob) name matches nothing.
 * A probe may appear several times (inlined at several sites); all sites are returned.
 */
export function findUsdtProbes(path: string, provider: string, name: string): UsdtProbe[] {
  const pr = globToRegExp(provider || '*');
  const nr = globToRegExp(name || '*');
  const l = readUsdtProbes(path).filter((p) => pr.test(p.provider) && nr.test(p.name));
  if (!l.length && !/[*?[]/.test(provider + name)) throw new UsdtProbeNotFoundError(path, provider, name);
  return l;
}

/**
 * Distinct probes as listing tools print them: `tplist -l BIN` shows
 * `BIN provider:name`, `bpftrace -l 'usdt:BIN:*'` shows `usdt:BIN:provider:name`.
 * Sites of the same probe are listed once, in note order.
 */
export function listUsdt(path: string, style: 'bpftrace' | 'tplist' = 'bpftrace'): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of readUsdtProbes(path)) {
    const k = `${p.provider}:${p.name}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(style === 'bpftrace' ? `usdt:${path}:${k}` : `${path} ${k}`);
  }
  return out;
}

/** The symbol (function) containing a probe site, for diagnostics. */
export function usdtProbeFunction(p: UsdtProbe): ElfSymbol | undefined {
  return ElfFile.open(p.path).symbolAt(p.address)?.symbol;
}
