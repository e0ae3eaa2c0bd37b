/**
 * A BTF struct, union or enum as C text, in the layout libbpf's btf_dump
 * writes it (what `bpftrace -lv 'struct task_struct'` and `bpftool btf dump
 * format c` print): one member a line, tab-indented, anonymous members
 * inlined, bitfields `: N`, and explicit `long: 64;`-style padding wherever
 * natural alignment would not put the next member where BTF says it is.
 *
 * @example
 * formatBtfType(btf, btf.find('callback_head', 'struct')!);
 * // "struct callback_head {\n\tstruct callback_head *next;\n\tvoid (*func)(struct callback_head *);\n};\n"
 */
import type { Btf, BtfMember } from './btf';

/** The padding types, widest first, and their width in bits. */
const PADS: ReadonlyArray<readonly [string, number]> = [['long', 64], ['int', 32], ['short', 16], ['char', 8]];

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Natural alignment of a type in bytes (as the compiler would place it). */
function alignOf(btf: Btf, id: number): number {
  const t = btf.type(btf.resolve(id));
  switch (t.kind) {
    case 'int':
    case 'float':
    case 'enum':
    case 'enum64':
      return Math.min(8, Math.max(1, t.size));
    case 'ptr':
      return 8;
    case 'array':
      return alignOf(btf, t.type);
    case 'struct':
    case 'union': {
      let a = 1;
      for (const m of t.members) a = Math.max(a, alignOf(btf, m.type));
      return a;
    }
    default:
      return 1;
  }
}

/** Explicit padding lines for the gap from bit `cur` to bit `next` (the member after it aligned to `nextAlign` bytes). */
function padding(cur: number, next: number, nextAlign: number, inBitfield: boolean, indent: string): string[] {
  if (cur >= next) return [];
  const out: string[] = [];
  // the widest padding type whose natural alignment still falls inside the gap
  let [padType, padBits] = PADS[PADS.length - 1];
  let aligned = roundUp(cur, padBits);
  for (const [name, bits] of PADS) {
    padType = name;
    padBits = bits;
    aligned = roundUp(cur, bits);
    if (aligned <= next) break;
  }
  if (aligned > cur && aligned <= next) {
    // a `type: 0` mark when the compiler would not align there by itself (always after a bitfield, with its bit count)
    const needMark = inBitfield
      || (aligned === next && roundUp(cur, nextAlign * 8) !== aligned)
      || (aligned !== next && next - aligned <= aligned - cur);
    if (needMark) out.push(`${indent}${padType}: ${inBitfield ? aligned - cur : 0};`);
    cur = aligned;
  }
  while (cur < next) {
    const bits = Math.min(next - cur, padBits);
    if (bits === padBits) {
      out.push(`${indent}${padType}: ${padBits};`);
      cur += bits;
      continue;
    }
    // the rest with the narrowest type that holds it
    const fit = [...PADS].reverse().find(([, b]) => b >= bits) ?? PADS[0];
    out.push(`${indent}${fit[0]}: ${bits};`);
    cur += bits;
  }
  return out;
}

/** The body lines of a struct/union (members at `depth` tabs), padding included. */
function recordBody(btf: Btf, id: number, depth: number): string[] {
  const t = btf.type(id);
  if (t.kind !== 'struct' && t.kind !== 'union') return [];
  const indent = '\t'.repeat(depth);
  const out: string[] = [];
  let off = 0;
  let prevBitfield = false;
  for (const m of t.members) {
    const bits = normalizedBits(btf, m);
    // a gap between two bitfields is written as bits; before a plain member the compiler's alignment closes it
    if (t.kind === 'struct') out.push(...padding(off, bits.offset, alignOf(btf, m.type), prevBitfield && bits.size !== 0, indent));
    out.push(...memberLines(btf, m, depth, bits.size));
    off = bits.offset + (bits.size || btf.sizeOf(m.type) * 8);
    prevBitfield = bits.size !== 0;
  }
  if (t.kind === 'struct') out.push(...padding(off, t.size * 8, alignOf(btf, id), false, indent));
  return out;
}

/** Bit offset and bitfield width of a member (old-style bitfields carry them in the int type). */
function normalizedBits(btf: Btf, m: BtfMember): { offset: number; size: number } {
  if (m.bitfieldSize) return { offset: m.bitOffset, size: m.bitfieldSize };
  const t = btf.type(btf.resolve(m.type));
  if (t.kind === 'int' && (t.bitOffset !== 0 || t.bits !== t.size * 8)) return { offset: m.bitOffset + t.bitOffset, size: t.bits };
  return { offset: m.bitOffset, size: 0 };
}

/** One member's declaration; an anonymous struct/union member is written out inline. */
function memberLines(btf: Btf, m: BtfMember, depth: number, bitfield: number): string[] {
  const indent = '\t'.repeat(depth);
  const mt = btf.skipModifiers(m.type);
  const k = btf.kind(mt);
  if ((k === 'struct' || k === 'union') && btf.name(mt) === '') {
    const body = recordBody(btf, mt, depth + 1);
    const name = m.name ? ` ${m.name}` : '';
    return body.length ? [`${indent}${k} {`, ...body, `${indent}}${name};`] : [`${indent}${k} {}${name};`];
  }
  return [`${indent}${btf.typeName(m.type, m.name)}${bitfield ? `: ${bitfield}` : ''};`];
}

/** A struct, union or enum definition as C text, ending with `};` and a newline. */
export function formatBtfType(btf: Btf, id: number): string {
  const t = btf.type(id);
  if (t.kind === 'struct' || t.kind === 'union') {
    return `${t.kind} ${t.name} {\n${recordBody(btf, id, 1).map((l) => `${l}\n`).join('')}};\n`;
  }
  if (t.kind === 'enum' || t.kind === 'enum64') {
    return `enum ${t.name} {\n${t.values.map((v) => `\t${v.name} = ${v.value},\n`).join('')}};\n`;
  }
  return `${btf.typeName(id)};\n`;
}
