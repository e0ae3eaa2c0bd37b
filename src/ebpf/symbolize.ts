/**
 * Address → symbol for kernel and user stacks.
 *
 * Kernel: /proc/kallsyms is parsed once into arrays sorted by address
 * (kernel addresses need all 64 bits, so they are kept as two 32-bit halves
 * rather than lossy doubles).
 *
 * User: /proc/PID/maps gives the mapping holding an address; the mapped
 * file's ELF symbols (cached per file by elf.ts) resolve it after undoing the
 * load bias: file offset = addr − map start + map offset, then the PT_LOAD
 * segment covering that offset gives the link-time address. Processes often
 * exit before their stacks are printed, so the runtime calls
 * captureProcess(pid) when a pid first shows up in events; later lookups use
 * that snapshot.
 *
 * @example
 *   ksym(0xffffffff81234567n)           // { name: 'vfs_read', offset: 23, ... }
 *   captureProcess(pid);
 *   formatUstack(pid, addrs)            // "\n        main+41\n        __libc_start_call_main+122\n"
 */
import * as fs from 'node:fs';
import { ElfFile } from './elf';
import { debugFileFor } from './debugfile';
import { demangle } from './demangle';

/** A resolved address. */
export interface ResolvedSymbol {
  readonly name: string;
  /** Bytes past the symbol's start. */
  readonly offset: number;
  /** Kernel: module name for module symbols ('[bpf]' programs give 'bpf'); user: the mapped file. */
  readonly module?: string;
}

interface KsymTable {
  hi: Uint32Array;
  lo: Uint32Array;
  names: string[];
  modules: (string | undefined)[];
  /** 1 for text (t/T) symbols. */
  isText: Uint8Array;
  byName: Map<string, number> | undefined;
}

function splitHex(hex: string): [number, number] {
  const h = hex.padStart(16, '0');
  return [parseInt(h.slice(0, 8), 16), parseInt(h.slice(8), 16)];
}

/** Kernel symbols from /proc/kallsyms (or a file in that format). */
export class KernelSymbols {
  private readonly t: KsymTable;

  /** Parses kallsyms text. Absolute (A) symbols and zero addresses are skipped. */
  constructor(text: string) {
    const his: number[] = [];
    const los: number[] = [];
    const names: string[] = [];
    const modules: (string | undefined)[] = [];
    const isText: boolean[] = [];
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      const sp1 = text.indexOf(' ', pos);
      if (sp1 > pos && sp1 < nl) {
        const type = text[sp1 + 1];
        const nameStart = sp1 + 3;
        if (type !== 'A' && type !== 'a') {
          // Search the tab within this line only: module symbols sit at the end of
          // kallsyms, so an unbounded indexOf scanned megabytes per core symbol (seconds).
          let nameEnd = nameStart;
          while (nameEnd < nl && text.charCodeAt(nameEnd) !== 9) nameEnd++;
          const [hi, lo] = splitHex(text.slice(pos, sp1));
          if (hi !== 0 || lo !== 0) {
            his.push(hi);
            los.push(lo);
            names.push(text.slice(nameStart, nameEnd));
            isText.push(type === 't' || type === 'T');
            // "\t[module]"
            modules.push(nameEnd < nl ? text.slice(nameEnd + 2, nl - 1) : undefined);
          }
        }
      }
      pos = nl + 1;
    }
    // kallsyms is sorted for the core kernel, not across modules: sort an index.
    const order = Array.from(his.keys());
    order.sort((a, b) => his[a] - his[b] || los[a] - los[b]);
    this.t = {
      hi: Uint32Array.from(order, (i) => his[i]),
      lo: Uint32Array.from(order, (i) => los[i]),
      names: order.map((i) => names[i]),
      modules: order.map((i) => modules[i]),
      isText: Uint8Array.from(order, (i) => (isText[i] ? 1 : 0)),
      byName: undefined,
    };
  }

  /** Reads /proc/kallsyms. Throws when addresses are hidden (kptr_restrict, not root). */
  static load(file = '/proc/kallsyms'): KernelSymbols {
    const ks = new KernelSymbols(fs.readFileSync(file, 'latin1'));
    if (ks.size === 0) throw new Error(`${file} shows no addresses: run as root (or lower kernel.kptr_restrict)`);
    return ks;
  }

  get size(): number {
    return this.t.names.length;
  }

  /** The symbol at or before addr (name+offset). Undefined below the first or past the last symbol's page. */
  lookup(addr: bigint): ResolvedSymbol | undefined {
    const hi = Number((addr >> 32n) & 0xffffffffn);
    const lo = Number(addr & 0xffffffffn);
    const t = this.t;
    let a = 0;
    let b = t.names.length - 1;
    let found = -1;
    while (a <= b) {
      const m = (a + b) >>> 1;
      if (t.hi[m] < hi || (t.hi[m] === hi && t.lo[m] <= lo)) {
        found = m;
        a = m + 1;
      } else b = m - 1;
    }
    if (found < 0) return undefined;
    const offset = (hi - t.hi[found]) * 2 ** 32 + (lo - t.lo[found]);
    // Past the last symbol nothing is known; don't attribute arbitrary memory to it.
    if (found === t.names.length - 1 && offset > 1 << 20) return undefined;
    return { name: t.names[found], offset, module: t.modules[found] };
  }

  /** Names of the text (function) symbols, in address order. */
  functionNames(): string[] {
    return this.t.names.filter((_, i) => this.t.isText[i] === 1);
  }

  /** Address of a named symbol (first match), for kaddr(). */
  address(name: string): bigint | undefined {
    const t = this.t;
    if (!t.byName) {
      t.byName = new Map();
      for (let i = 0; i < t.names.length; i++) if (!t.byName.has(t.names[i])) t.byName.set(t.names[i], i);
    }
    const i = t.byName.get(name);
    return i === undefined ? undefined : (BigInt(t.hi[i]) << 32n) | BigInt(t.lo[i]);
  }
}

let kernelSyms: KernelSymbols | undefined;

/** The running kernel's symbols, parsed on first use. */
export function kernelSymbols(): KernelSymbols {
  return (kernelSyms ??= KernelSymbols.load());
}

/** Drops the parsed kallsyms (after modules load or BPF programs appear). */
export function reloadKernelSymbols(): void {
  kernelSyms = undefined;
}

/** Kernel address → symbol, or undefined. */
export function ksym(addr: bigint): ResolvedSymbol | undefined {
  return kernelSymbols().lookup(addr);
}

/** One line of /proc/PID/maps. */
export interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly perms: string;
  readonly offset: number;
  readonly dev: string;
  readonly inode: number;
  /** File path, '[vdso]', '[heap]', '' for anonymous memory. */
  readonly path: string;
}

/** Parses /proc/PID/maps text. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), perms: m[3], offset: parseInt(m[4], 16), dev: m[5], inode: Number(m[6]), path: m[7] });
  }
  return out;
}

/** Reads a process's mappings; throws ENOENT-style errors when it has exited. */
export function readMaps(pid: number): Mapping[] {
  return parseMaps(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

interface PerfMapEntry { start: number; end: number; name: string }

/** A process's address space as captured at one moment, able to resolve user addresses. */
export class ProcessSymbols {
  readonly pid: number;
  readonly mappings: readonly Mapping[];
  /** /proc/PID/root at capture time, so container paths still resolve. */
  private readonly root: string;
  private perfMap?: PerfMapEntry[] | null;

  constructor(pid: number, mappings: Mapping[], root = '') {
    this.pid = pid;
    this.mappings = [...mappings].sort((a, b) => a.start - b.start);
    this.root = root;
  }

  /** Snapshots a live process. */
  static capture(pid: number): ProcessSymbols {
    let root = '';
    try {
      const r = fs.readlinkSync(`/proc/${pid}/root`);
      if (r !== '/') root = `/proc/${pid}/root`;
    } catch {
      // Not allowed or gone: paths are taken as seen from our root.
    }
    return new ProcessSymbols(pid, readMaps(pid), root);
  }

  /** The mapping containing addr. */
  mapping(addr: number): Mapping | undefined {
    const l = this.mappings;
    let a = 0;
    let b = l.length - 1;
    while (a <= b) {
      const m = (a + b) >>> 1;
      if (addr < l[m].start) b = m - 1;
      else if (addr >= l[m].end) a = m + 1;
      else return l[m];
    }
    return undefined;
  }

  private elfFor(p: string): ElfFile | undefined {
    const clean = p.replace(/ \(deleted\)$/, '');
    for (const candidate of this.root ? [this.root + clean, clean] : [clean]) {
      try {
        return ElfFile.open(candidate);
      } catch {
        // Try the next candidate.
      }
    }
    return undefined;
  }

  /**
   * Load bias of a mapped file: runtime address = link-time address + bias
   * (0 for ET_EXEC). Needed for USDT arguments that name globals
   * (`-4@counter+4(%rip)`). Undefined when the file is not mapped.
   */
  loadBias(path: string): number | undefined {
    const elf = this.elfFor(path);
    for (const m of this.mappings) {
      if (m.path.replace(/ \(deleted\)$/, '') !== path) continue;
      // The segment this mapping was created for starts in the mapping's first page.
      const seg = elf?.loadSegments.find((p) => p.offset - (p.offset % 4096) === m.offset);
      if (!seg) continue;
      return m.start - m.offset - (seg.vaddr - seg.offset);
    }
    return undefined;
  }

  /** User address → symbol+offset with the mapped file as module. */
  lookup(addrIn: number | bigint): ResolvedSymbol | undefined {
    const addr = Number(addrIn);
    const m = this.mapping(addr);
    if (m && m.path.startsWith('/')) {
      const elf = this.elfFor(m.path);
      if (!elf) return undefined;
      const fileOff = addr - m.start + m.offset;
      const seg = elf.segmentForOffset(fileOff);
      const vaddr = seg ? fileOff - seg.offset + seg.vaddr : elf.isDyn ? fileOff : addr;
      const hit = withFullSymbols(elf, this.root).symbolAt(vaddr);
      // C++ names demangled, as bpftrace prints them by default
      return hit ? { name: demangle(hit.symbol.name), offset: hit.offset, module: m.path } : { name: '', offset: 0, module: m.path };
    }
    // JIT code (node --perf-basic-prof, JVMs) announces itself in /tmp/perf-PID.map.
    const jit = this.perfMapLookup(addr);
    if (jit) return jit;
    return m && m.path ? { name: '', offset: 0, module: m.path } : undefined;
  }

  private perfMapLookup(addr: number): ResolvedSymbol | undefined {
    if (this.perfMap === undefined) {
      this.perfMap = null;
      try {
        const l: PerfMapEntry[] = [];
        for (const line of fs.readFileSync(`/tmp/perf-${this.pid}.map`, 'utf8').split('\n')) {
          const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.*)$/.exec(line);
          if (m) {
            const start = parseInt(m[1], 16);
            l.push({ start, end: start + parseInt(m[2], 16), name: m[3] });
          }
        }
        this.perfMap = l.sort((a, b) => a.start - b.start);
      } catch {
        // No perf map: nothing to add.
      }
    }
    if (!this.perfMap) return undefined;
    for (let i = this.perfMap.length - 1; i >= 0; i--) {
      const e = this.perfMap[i];
      if (e.start <= addr && addr < e.end) return { name: e.name, offset: addr - e.start, module: `/tmp/perf-${this.pid}.map` };
    }
    return undefined;
  }
}

const fullSymbols = new Map<string, ElfFile>();

/**
 * A stripped file's full symbol table (local functions such as libc's
 * __libc_start_call_main) lives in its separate debug file (libc6-dbg:
 * /usr/lib/debug/.build-id/...), at the same addresses; else the file's own.
 */
function withFullSymbols(elf: ElfFile, root: string): ElfFile {
  if (elf.symtab().length) return elf;
  let f = fullSymbols.get(elf.path);
  if (!f) {
    f = elf;
    try {
      const d = debugFileFor(elf.path, elf, [], root, '.symtab');
      if (d && d !== elf.path) f = ElfFile.open(d);
    } catch {
      // an unreadable or malformed debug file: the binary's own symbols
    }
    fullSymbols.set(elf.path, f);
  }
  return f;
}

const processes = new Map<number, ProcessSymbols>();

/**
 * Snapshots a process's mappings (once per pid) so its addresses still
 * resolve after it exits. Returns undefined when the process is already gone.
 * Call forgetProcess when the pid is no longer needed (or may be reused).
 */
export function captureProcess(pid: number): ProcessSymbols | undefined {
  let p = processes.get(pid);
  if (p) return p;
  try {
    p = ProcessSymbols.capture(pid);
  } catch {
    return undefined;
  }
  processes.set(pid, p);
  return p;
}

/** Forgets a captured process (pid reuse, or to re-read its maps after dlopen). */
export function forgetProcess(pid: number): void {
  processes.delete(pid);
}

/** User address in a process → symbol; captures the process on first use. */
export function usym(pid: number, addr: number | bigint): ResolvedSymbol | undefined {
  const p = captureProcess(pid);
  const r = p?.lookup(addr);
  return r && r.name ? r : undefined;
}

/** bpftrace's stack printing modes. */
export type StackMode = 'bpftrace' | 'perf' | 'raw';

export interface StackFormatOptions {
  mode?: StackMode;
  /** Spaces before each frame in bpftrace mode: 8 in printf/print, 4 for map keys. */
  indent?: number;
  /** Print +offset after names (default true, as bpftrace's stacks do). */
  offsets?: boolean;
}

/** One frame ready to print. */
export interface Frame {
  readonly addr: bigint;
  readonly sym?: ResolvedSymbol;
}

function symText(f: Frame, offsets: boolean): string {
  if (!f.sym || !f.sym.name) return `0x${f.addr.toString(16)}`;
  return offsets ? `${f.sym.name}+${f.sym.offset}` : f.sym.name;
}

/**
 * Formats frames the way bpftrace prints kstack/ustack:
 *   bpftrace: "\n" + ("        func+off\n")*
 *   perf:     "\n" + ("\taddr func+off\n")* with " (module)" on user frames
 *   raw:      "\n" + ("addr\n")*
 */
export function formatStack(frames: Frame[], user: boolean, opts: StackFormatOptions = {}): string {
  const mode = opts.mode ?? 'bpftrace';
  const offsets = opts.offsets ?? true;
  const pad = ' '.repeat(opts.indent ?? 8);
  let s = '\n';
  for (const f of frames) {
    if (mode === 'raw') s += `${f.addr.toString(16)}\n`;
    else if (mode === 'perf') s += `\t${f.addr.toString(16)} ${symText(f, offsets)}${user ? ` (${f.sym?.module ?? '[unknown]'})` : ''}\n`;
    else s += `${pad}${symText(f, offsets)}\n`;
  }
  return s;
}

/** Resolves and formats a kernel stack (addresses as read from a stack map, zeros ignored). */
export function formatKstack(addrs: readonly bigint[], opts: StackFormatOptions = {}): string {
  const ks = kernelSymbols();
  return formatStack(addrs.filter((a) => a !== 0n).map((addr) => ({ addr, sym: ks.lookup(addr) })), false, opts);
}

/** Resolves and formats a user stack of a process (captured or live). */
export function formatUstack(pid: number, addrs: readonly bigint[], opts: StackFormatOptions = {}): string {
  const p = captureProcess(pid);
  return formatStack(addrs.filter((a) => a !== 0n).map((addr) => ({ addr, sym: p?.lookup(addr) })), true, opts);
}
