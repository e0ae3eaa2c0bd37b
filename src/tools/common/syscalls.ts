/**
 * Syscall names by number as the UAPI names them (libbpf-tools' names), read at
 * run time from this architecture's kernel UAPI header (linux-libc-dev), else
 * from the architecture's embedded table (src/arch); errno names from Node's
 * os.constants.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { hostArch } from '../../arch';
import { X86_64 } from '../../arch/x86_64';

const arch = hostArch() ?? X86_64;

let table: Map<number, string> | undefined;

/** Parses `#define __NR_name N` lines. */
export function parseUnistd(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const r of text.matchAll(/^#define\s+__NR_(\w+)\s+(\d+)\s*$/gm)) m.set(Number(r[2]), r[1]);
  return m;
}

/** Number → name; empty when no header is installed. */
export function syscallTable(): Map<number, string> {
  if (table) return table;
  for (const h of arch.uapiSyscallHeaders) {
    try {
      table = parseUnistd(fs.readFileSync(h, 'utf8'));
      if (table.size) return table;
    } catch {
      // try the next location
    }
  }
  // No header: the embedded table, its tracepoint names turned back into UAPI names.
  const uapiName = new Map(Object.entries(arch.uapiSyscallAliases).map(([uapi, tp]) => [tp, uapi]));
  table = new Map();
  arch.syscalls.forEach((name, nr) => {
    if (name !== '-') table!.set(nr, uapiName.get(name) ?? name);
  });
  return table;
}

/** The name libbpf-tools prints: the syscall's name, or "[unknown: N]". */
export function syscallName(nr: number): string {
  return syscallTable().get(nr) ?? `[unknown: ${nr}]`;
}

/** ENOENT or 2 → 2; undefined when unknown. */
export function errnoValue(s: string): number | undefined {
  if (/^\d+$/.test(s)) return Number(s);
  const v = (os.constants.errno as Record<string, number>)[s.toUpperCase()];
  return typeof v === 'number' ? v : undefined;
}
