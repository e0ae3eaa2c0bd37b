/** The code generator: one typed probe instance → eBPF instructions (see frame.ts for the layers). */
export { Gen, startTimeProgram } from './codegen/program';
export { Shared, keylessHashes } from './codegen/resources';
export type { Loc } from './codegen/frame';
