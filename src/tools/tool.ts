/** What every tool module exports. */
export interface ToolDef {
  name: string;
  /** One line for `tsbpf tools`. */
  description: string;
  /** Runs with the tool's own flags; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}

/** A user mistake in a tool's flags or arguments: printed as one sentence. */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}
