/**
 * The tool registry: `tsbpf <tool> [flags]`. Each tool is a module under
 * src/tools/ exporting a ToolDef; adding a tool means adding it to TOOLS.
 */
import { TOOL_CATEGORIES, type ToolCategory, type ToolDef } from './tool';

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

/** `tsbpf tools`: one line per tool, grouped by the book's chapters. */
export function toolsHelp(): string {
  const names = toolNames();
  const w = Math.max(8, ...names.map((n) => n.length));
  const groups = new Map<ToolCategory, string[]>();
  for (const n of names) {
    const t = getTool(n);
    if (!t) continue;
    const g = groups.get(t.category) ?? [];
    g.push(`  ${n.padEnd(w)}  ${t.description}`);
    groups.set(t.category, g);
  }
  let out = `tsbpf tools (${names.length}; run 'tsbpf TOOL -h' for a tool's flags and examples):\n`;
  for (const [cat, title] of Object.entries(TOOL_CATEGORIES) as [ToolCategory, string][]) {
    const g = groups.get(cat);
    if (g) out += `\n${title}:\n${g.join('\n')}\n`;
  }
  return out;
}

export async function runTool(name: string, argv: string[]): Promise<number> {
  const t = getTool(name);
  if (!t) {
    process.stderr.write(`tsbpf: unknown tool '${name}'\n`);
    return 1;
  }
  return t.run(argv);
}
