/**
 * C struct layout for `offsetof(struct S, a.b)`: structs written in the
 * script are laid out with the x86-64 ABI rules (each member aligned to its
 * own alignment, the struct to its largest member); other structs come from
 * the running kernel's BTF.
 */
import type { TypeDef } from './ast';
import type { KernelBtf } from '../target/target';
import { UserError } from '../errors';

interface Layout {
  size: number;
  align: number;
  members?: Map<string, { offset: number; type: Layout }>;
}

const SCALARS: Record<string, number> = {
  char: 1, 'signed char': 1, 'unsigned char': 1, bool: 1, _Bool: 1, int8_t: 1, uint8_t: 1, u8: 1, s8: 1, __u8: 1, __s8: 1, int8: 1, uint8: 1,
  short: 2, 'unsigned short': 2, int16_t: 2, uint16_t: 2, u16: 2, s16: 2, __u16: 2, __s16: 2, int16: 2, uint16: 2,
  int: 4, unsigned: 4, 'unsigned int': 4, int32_t: 4, uint32_t: 4, u32: 4, s32: 4, __u32: 4, __s32: 4, int32: 4, uint32: 4, float: 4, pid_t: 4, uid_t: 4, gid_t: 4,
  long: 8, 'unsigned long': 8, 'long long': 8, 'unsigned long long': 8, int64_t: 8, uint64_t: 8, u64: 8, s64: 8, __u64: 8, __s64: 8,
  int64: 8, uint64: 8, double: 8, size_t: 8, ssize_t: 8, off_t: 8, loff_t: 8,
};

export class CTypeError extends UserError {}

function structLayout(tag: string, name: string, defs: readonly TypeDef[], seen: Set<string>): Layout {
  const def = defs.find((d) => d.name === name && d.tag === tag);
  if (!def) throw new CTypeError(`unknown type: ${tag} ${name}`);
  if (seen.has(name)) throw new CTypeError(`${tag} ${name} contains itself`);
  seen.add(name);
  const body = def.body.replace(/^[^{]*\{/, '').replace(/\}[^}]*$/, '');
  const members = new Map<string, { offset: number; type: Layout }>();
  let off = 0;
  let align = 1;
  let size = 0;
  for (const declRaw of body.split(';')) {
    const decl = declRaw.replace(/\s+/g, ' ').trim();
    if (!decl) continue;
    const m = /^(.*?)([\s*]+)(\w+)\s*(?:\[(\d+)\])?$/.exec(decl);
    if (!m) throw new CTypeError(`cannot read the member declaration '${decl}' of ${tag} ${name}`);
    const base = m[1].replace(/\b(const|volatile)\b/g, '').trim();
    const ptr = m[2].includes('*');
    let t: Layout;
    if (ptr) t = { size: 8, align: 8 };
    else if (SCALARS[base] !== undefined) t = { size: SCALARS[base], align: SCALARS[base] };
    else {
      const sm = /^(struct|union) (\w+)$/.exec(base);
      if (!sm) throw new CTypeError(`unknown type '${base}' in ${tag} ${name}`);
      t = structLayout(sm[1], sm[2], defs, seen);
    }
    const n = m[4] !== undefined ? Number(m[4]) : 1;
    const full: Layout = n === 1 ? t : { size: t.size * n, align: t.align };
    const at = tag === 'union' ? 0 : Math.ceil(off / t.align) * t.align;
    members.set(m[3], { offset: at, type: t });
    off = at + full.size;
    size = Math.max(size, off);
    align = Math.max(align, t.align);
  }
  seen.delete(name);
  return { size: Math.ceil(size / align) * align, align, members };
}

/**
 * Byte offset of `path` (`a` or `a.b.c`) in `tag name` (a script definition, else
 * the kernel's BTF from `kernelBtf`); throws CTypeError with a user-facing message.
 */
export function offsetOf(tag: string, name: string, path: string, defs: readonly TypeDef[], kernelBtf?: () => KernelBtf): number {
  if (defs.some((d) => d.name === name && d.tag === tag)) {
    let layout = structLayout(tag, name, defs, new Set());
    let total = 0;
    for (const part of path.split('.')) {
      const m = layout.members?.get(part);
      if (!m) throw new CTypeError(`${tag} ${name} has no member '${path}'`);
      total += m.offset;
      layout = m.type;
    }
    return total;
  }
  let btf: KernelBtf;
  try {
    if (!kernelBtf) throw new Error('no kernel given');
    btf = kernelBtf();
  } catch (e) {
    throw new CTypeError(`unknown type ${tag} ${name} (no script definition, and kernel BTF is unavailable: ${(e as Error).message})`);
  }
  const id = btf.find(name, tag === 'union' ? 'union' : 'struct');
  if (id === undefined) throw new CTypeError(`unknown type: ${tag} ${name}`);
  try {
    return btf.memberOffset(id, path);
  } catch (e) {
    throw new CTypeError(`offsetof(${tag} ${name}, ${path}): ${(e as Error).message}`);
  }
}
