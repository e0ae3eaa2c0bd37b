import type { ArgSpec } from './common/args';

/**
 * The chapters of the BPF performance tools catalogue (Gregg, "BPF Performance
 * Tools") that `tsbpf tools` groups the tools by; 'multi' holds the
 * multi-purpose tools the book introduces first (funccount, trace, argdist...).
 */
import { UserError } from '../errors';
export const TOOL_CATEGORIES = {
  multi: 'Multi-purpose',
  cpu: 'CPUs',
  memory: 'Memory',
  fs: 'File systems',
  disk: 'Disk I/O',
  net: 'Networking',
  security: 'Security',
  apps: 'Languages and applications',
  kernel: 'Kernel',
} as const;

export type ToolCategory = keyof typeof TOOL_CATEGORIES;

/** What every tool module exports. */
export interface ToolDef {
  name: string;
  /** One line for `tsbpf tools`. */
  description: string;
  /** The chapter `tsbpf tools` lists it under. */
  category: ToolCategory;
  /** Its flags, for -h, the man page and shell completion. */
  spec: ArgSpec;
  /** Runs with the tool's own flags; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}

/** A user mistake in a tool's flags or arguments: printed as one sentence. */
export class ToolError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}
