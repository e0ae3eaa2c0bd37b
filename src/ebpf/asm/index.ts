/** The eBPF assembler: instruction encoding, a label-resolving builder, helper ids, a disassembler. */
export * from './insn';
export * from './builder';
export * from './helpers';
export * from './disasm';
export * from './reachable';
