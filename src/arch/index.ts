/**
 * The architecture description the compiler and the runtime read: register
 * layout of the probe context, calling convention, syscall numbers. One
 * module per architecture (x86_64.ts, arm64.ts); `hostArch()` picks the running one.
 */
import type { Arch } from './arch';
import { ARM64 } from './arm64';
import { X86_64 } from './x86_64';

export type { Arch } from './arch';
export { argOffsets, regOffset } from './arch';

export const ARCHES: readonly Arch[] = [X86_64, ARM64];

/** The description of the architecture whose ELF binaries have e_machine `machine`. */
export function archOfElfMachine(machine: number): Arch | undefined {
  return ARCHES.find((a) => a.elfMachine === machine);
}

/** The architecture of the running machine, or undefined when tsbpf has no description of it. */
export function hostArch(): Arch | undefined {
  return ARCHES.find((a) => a.nodeArch === process.arch);
}

