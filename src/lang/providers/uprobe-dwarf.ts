/**
 * What a uprobe learns from its binary's DWARF (ebpf/dwarf.ts): `args.NAME`
 * for the probed function's parameters, `-lv` listings of them, and attach
 * points written as source locations (`uprobe:BIN@file.c:LINE`).
 *
 * `args` of a uprobe is described as a record laid over struct pt_regs: each
 * parameter is a field at its argument register's offset, with the
 * parameter's own size (the low bytes of the register on a little-endian
 * machine), so `args.c` reuses the tracepoint field machinery.
 */
import { debugInfoFor, DwarfError, type DebugInfo } from '../../ebpf/dwarf';
import type { Btf } from '../../ebpf/btf';
import type { UserTypes } from '../ctypes';
import type { TracepointField, TracepointFormat } from '../../sys/tracefs';
import { argOffsets, type Arch } from '../../arch';

let searchDirs: string[] = [];

/** `--debuginfo DIR` (repeatable): where separate debug files are looked for first. */
export function setDebugInfoDirs(dirs: readonly string[]): void {
  searchDirs = [...dirs];
}

/** The DWARF of `binary`, or a sentence saying why there is none. */
function info(binary: string): DebugInfo | string {
  try {
    return debugInfoFor(binary, searchDirs) ?? `${binary} has no debug information (DWARF) and no separate debug file was found`;
  } catch (e) {
    if (e instanceof DwarfError) return e.message;
    throw e;
  }
}

/** `int *` → `int*`: bpftrace's spelling of pointer types in listings. */
function shownType(btf: Btf, id: number): string {
  return id === 0 ? 'void' : btf.typeName(id).replace(/ \*/g, '*');
}

/** A scalar parameter's size and signedness, or null for what one register cannot hold (structs by value, floats). */
function scalarOf(btf: Btf, id: number): { size: number; signed: boolean } | null {
  const rid = btf.resolve(id);
  const t = btf.type(rid);
  if (t.kind === 'ptr') return { size: 8, signed: false };
  if (t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64') {
    const size = btf.sizeOf(rid);
    return [1, 2, 4, 8].includes(size) ? { size, signed: t.signed && !(t.kind === 'int' && t.bool) } : null;
  }
  return null;
}

/** `args` of a uprobe on `func` in `binary`: a record over pt_regs, or why it is unavailable. */
export function uprobeArgs(binary: string, func: string, arch: Arch): TracepointFormat | string {
  const d = info(binary);
  if (typeof d === 'string') return `args: ${d}`;
  const fn = d.func(func);
  if (!fn) return `args: the debug information of ${binary} does not describe function '${func}'`;
  const btf = d.btf();
  const regs = argOffsets(arch);
  const fields: TracepointField[] = [];
  fn.params.forEach((p, i) => {
    const s = scalarOf(btf, p.type);
    // parameters past the argument registers are on the stack; a struct by value takes several registers
    if (!s || i >= regs.length || !p.name) return;
    fields.push({ name: p.name, type: btf.typeName(p.type), offset: regs[i], size: s.size, signed: s.signed, dataLoc: false, btfType: { id: p.type, file: binary } });
  });
  return { category: 'uprobe', event: func, id: 0, commonFields: [], fields, printFmt: '' };
}

/** `-lv` lines under `uprobe:BIN:FUNC`: one indented `TYPE NAME` per parameter. */
export function uprobeArgLines(binary: string, func: string): string[] {
  const d = info(binary);
  if (typeof d === 'string') return [];
  let fn;
  try {
    fn = d.func(func);
  } catch (e) {
    if (e instanceof DwarfError) return [];
    throw e;
  }
  if (!fn) return [];
  const btf = d.btf();
  return fn.params.map((p) => `    ${shownType(btf, p.type)}${p.name ? ` ${p.name}` : ''}`);
}

/** Link-time addresses where `file:line` begins, from the line tables; or why there are none. */
export function sourceLineAddresses(binary: string, file: string, line: number): bigint[] | string {
  const d = info(binary);
  if (typeof d === 'string') return d;
  try {
    const a = d.lineAddresses(file, line);
    return a.length ? a : `no code in ${binary} is at ${file}:${line} (its line tables have no such line)`;
  } catch (e) {
    if (e instanceof DwarfError) return e.message;
    throw e;
  }
}

/** The C types of the binaries `files` (uprobe targets), searched in order, for casts and `args` members. */
export function userTypesOf(files: readonly string[]): UserTypes {
  const infos = (): { file: string; d: DebugInfo }[] => files.flatMap((file) => {
    const d = info(file);
    return typeof d === 'string' ? [] : [{ file, d }];
  });
  return {
    find(tag, name) {
      for (const { file, d } of infos()) {
        let id: number | undefined;
        try {
          id = d.findType(tag, name);
        } catch (e) {
          if (e instanceof DwarfError) continue; // this binary's DWARF is unreadable: try the next one
          throw e;
        }
        if (id !== undefined) return { file, id };
      }
      return undefined;
    },
    btf(file) {
      const d = info(file);
      if (typeof d === 'string') throw new DwarfError(d);
      return d.btf();
    },
  };
}
