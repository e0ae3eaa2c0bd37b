/** The shape of an architecture description (one module per architecture: x86_64.ts, arm64.ts). */
export interface Arch {
  /** The kernel's name ('x86_64'). */
  readonly name: string;
  /** Node's `process.arch` for it ('x64'). */
  readonly nodeArch: string;
  /** ELF e_machine of its binaries (EM_X86_64 62, EM_AARCH64 183): USDT notes are read by the binary's own. */
  readonly elfMachine: number;
  /** `struct pt_regs` member offsets by register name (bpftrace's reg() names). */
  readonly ptRegs: Readonly<Record<string, number>>;
  /** sizeof(struct pt_regs). */
  readonly ptRegsSize: number;
  /** Integer argument registers of the C calling convention, in order (names in ptRegs). */
  readonly argRegs: readonly string[];
  /** Return value register. */
  readonly retReg: string;
  /** Instruction pointer register. */
  readonly ipReg: string;
  /** Stack pointer register. */
  readonly spReg: string;
  /** Debian's multiarch directory name ('x86_64-linux-gnu'): /usr/lib/<this> holds the libraries. */
  readonly multiarch: string;
  /** The architecture byte of a 64-bit libc6 entry in /etc/ld.so.cache (glibc's FLAG_*_LIB64). */
  readonly ldCacheArchFlag: number;
  /** 8-byte slots between sp at function entry and the first stack argument (x86-64: the return address). */
  readonly stackArgSlot: number;
  /** Syscall tracepoint names by number ('-' for numbers without one). */
  readonly syscalls: readonly string[];
  /** UAPI headers listing `#define __NR_name N`, for numbers appended after the table. */
  readonly uapiSyscallHeaders: readonly string[];
  /** UAPI syscall names that differ from the tracepoint names. */
  readonly uapiSyscallAliases: Readonly<Record<string, string>>;
  /** Prefixes of the kernel functions that implement a syscall. */
  readonly syscallFunctionPrefixes: readonly string[];
}

/** `struct pt_regs` offset of register `name`; throws for names the architecture lacks. */
export function regOffset(arch: Arch, name: string): number {
  const off = arch.ptRegs[name];
  if (off === undefined) throw new Error(`${arch.name} has no register '${name}'`);
  return off;
}

/** pt_regs offsets of the argument registers, in order. */
export function argOffsets(arch: Arch): number[] {
  return arch.argRegs.map((r) => regOffset(arch, r));
}
