/**
 * Glue shared by every tool module: flag parsing, `-h`, and the conversion of
 * a tool's options into its program text (kept separate from running it, so
 * unit tests can check the generated program without a kernel).
 */
import type { ToolCategory, ToolDef } from '../tool';
import { helpText, parseArgs, type ArgSpec, type ParsedArgs } from './args';

export interface ToolModule<O> {
  spec: ArgSpec;
  description: string;
  /** The chapter `tsbpf tools` lists it under. */
  category: ToolCategory;
  /** Flags → options; throws ToolError for impossible combinations. */
  options(a: ParsedArgs): O;
  /** Runs with parsed options; resolves with the exit code. */
  main(o: O): Promise<number>;
}

/** Builds the ToolDef the registry wants from a tool module. */
export function defineTool<O>(m: ToolModule<O>): ToolDef {
  return {
    name: m.spec.name,
    description: m.description,
    category: m.category,
    spec: m.spec,
    async run(argv: string[]): Promise<number> {
      const a = parseArgs(m.spec, argv);
      if (a.help) {
        process.stdout.write(helpText(m.spec));
        return 0;
      }
      return m.main(m.options(a));
    },
  };
}

/** Parses flags into options (tests). */
export function toolOptions<O>(m: ToolModule<O>, argv: string[]): O {
  return m.options(parseArgs(m.spec, argv));
}
