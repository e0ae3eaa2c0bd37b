/**
 * The tool registry: `tsbpf <tool> [flags]`. Each tool is a module under
 * src/tools/ exporting a ToolDef; adding a tool means adding it to TOOLS.
 */
import type { ToolDef } from './tool';

/** Lazily loaded so `tsbpf -e ...` never pays for the tools. */
const TOOLS: Record<string, () => ToolDef> = {};

/** Registers a tool module (called from ./index). */
export function register(name: string, load: () => ToolDef): void {
  TOOLS[name] = load;
}

let loaded = false;
function ensure(): void {
  if (loaded) return;
  loaded = true;
  require('./index');
}

export function toolNames(): string[] {
  ensure();
  return Object.keys(TOOLS).sort();
}

export function getTool(name: string): ToolDef | undefined {
  ensure();
  return TOOLS[name]?.();
}

/** `tsbpf tools`: one line per tool. */
export function toolsHelp(): string {
  const names = toolNames();
  const w = Math.max(8, ...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(w)}  ${getTool(n)?.description ?? ''}`);
  return `tsbpf tools (run 'tsbpf TOOL -h' for a tool's flags and examples):\n${lines.join('\n')}\n`;
}

export async function runTool(name: string, argv: string[]): Promise<number> {
  const t = getTool(name);
  if (!t) {
    process.stderr.write(`tsbpf: unknown tool '${name}'\n`);
    return 1;
  }
  return t.run(argv);
}
