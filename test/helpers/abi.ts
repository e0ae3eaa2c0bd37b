/**
 * Generates src/sys/abi.ts from kernel BTF with the project's own reader
 * (src/ebpf/btf.ts): sizes and member offsets of the kernel structs tsbpf
 * lays out by hand (bpf_attr by command, bpf_prog_info, bpf_map_info,
 * bpf_link_info, perf_event_attr, pt_regs). test/kernel/abi.test.ts
 * regenerates it from the running kernel and compares.
 */
import type { Btf } from '../../src/ebpf/btf';

/**
 * bpf_attr's anonymous per-command structs, named by their first named member. BPF_PROG_ATTACH's
 * starts with target_fd up to 6.5 and with an anonymous union { target_fd; target_ifindex } after.
 */
const ATTR_GROUPS: Record<string, string> = {
  map_type: 'map_create', map_fd: 'map_elem', prog_type: 'prog_load', pathname: 'obj', attach_bpf_fd: 'prog_attach', target_fd: 'prog_attach',
  next_id: 'get_id', btf: 'btf_load',
};

/** Byte offsets of a struct's members, anonymous struct/union members flattened in. */
function offsets(btf: Btf, id: number, base = 0, out: Record<string, number> = {}): Record<string, number> {
  for (const m of btf.members(btf.resolve(id))) {
    if (m.bitfieldSize) continue; // bitfields share a word: named by the word's first member elsewhere
    const off = base + m.bitOffset / 8;
    const t = btf.resolve(m.type);
    const k = btf.kind(t);
    if (!m.name && (k === 'struct' || k === 'union')) offsets(btf, t, off, out);
    else if (m.name && !(m.name in out)) out[m.name] = off;
  }
  return out;
}

function firstNamed(btf: Btf, id: number): string {
  for (const m of btf.members(btf.resolve(id))) {
    if (m.name) return m.name;
  }
  return '';
}

function need(btf: Btf, name: string, kind: 'struct' | 'union'): number {
  const id = btf.find(name, kind);
  if (id === undefined) throw new Error(`${kind} ${name} is not in this BTF`);
  return id;
}

function literal(o: Record<string, number>, indent: string): string {
  return `{\n${Object.entries(o).map(([k, v]) => `${indent}  ${k}: ${v},`).join('\n')}\n${indent}}`;
}

/** The text of src/sys/abi.ts for this BTF. */
export function generateAbi(btf: Btf, release: string): string {
  const attr = need(btf, 'bpf_attr', 'union');
  const groups: Record<string, Record<string, number>> = {};
  for (const m of btf.members(attr)) {
    const t = btf.resolve(m.type);
    const name = m.name || ATTR_GROUPS[firstNamed(btf, t)];
    if (!name) throw new Error(`bpf_attr: an anonymous command struct starting with '${firstNamed(btf, t)}' has no name in ATTR_GROUPS`);
    groups[name] = offsets(btf, t);
  }
  const structs: [string, string, 'struct' | 'union'][] = [
    ['BPF_PROG_INFO', 'bpf_prog_info', 'struct'], ['BPF_MAP_INFO', 'bpf_map_info', 'struct'], ['BPF_LINK_INFO', 'bpf_link_info', 'struct'],
    ['PERF_EVENT_ATTR', 'perf_event_attr', 'struct'], ['PT_REGS', 'pt_regs', 'struct'],
  ];
  const lines = [
    '/**',
    ` * Kernel ABI offsets, generated from the BTF of Linux ${release} by test/helpers/abi.ts`,
    ' * (the project\'s own BTF reader). Do not edit: TSBPF_REGENERATE_ABI=1 node test/run.js kernel abi',
    ' * rewrites it; test/kernel/abi.test.ts fails when it differs from the running kernel\'s BTF.',
    ' * Structs only grow, so offsets stay valid on newer kernels; sizes are this kernel\'s.',
    ' */',
    '',
    `export const BPF_ATTR_SIZE = ${btf.sizeOf(attr)};`,
    '',
    '/** bpf_attr members by command struct (anonymous unions flattened). */',
    `export const BPF_ATTR = {\n${Object.entries(groups).map(([g, o]) => `  ${g}: ${literal(o, '  ')},`).join('\n')}\n} as const;`,
  ];
  for (const [constName, sname, kind] of structs) {
    const id = need(btf, sname, kind);
    lines.push('', `export const ${constName}_SIZE = ${btf.sizeOf(id)};`, '', `export const ${constName} = ${literal(offsets(btf, id), '')} as const;`);
  }
  return `${lines.join('\n')}\n`;
}
