/**
 * Glue shared by every tool module: flag parsing, `-h`, and the conversion of
 * a tool's options into its program text (kept separate from running it, so
 * unit tests can check the generated program without a kernel).
 */
import type { ToolCategory, ToolDef } from '../tool';
import { helpText, parseArgs, type ArgSpec, type ParsedArgs } from './args';
import { EBPF_OPTION } from './ebpf';
import { requireProcess } from './filters';
import { takeToolProgram } from './script';

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
      const o = m.options(a);
      // A PID or TID filter naming no process would trace nothing, silently.
      for (const dest of ['pid', 'tid']) {
        const opt = m.spec.options.find((x) => x.dest === dest && x.kind === 'int');
        if (opt) requireProcess(a.int(dest), opt.short ? `-${opt.short}` : `--${opt.long}`);
      }
      // bcc's --ebpf: print the program the tool would run (tsbpf language), run nothing.
      if (a.flag('ebpf') && m.spec.options.some((x) => x === EBPF_OPTION)) {
        const t = await takeToolProgram(() => m.main(o));
        if (t) process.stdout.write(t.program.endsWith('\n') ? t.program : `${t.program}\n`);
        return 0;
      }
      return m.main(o);
    },
  };
}

/** Parses flags into options (tests). */
export function toolOptions<O>(m: ToolModule<O>, argv: string[]): O {
  return m.options(parseArgs(m.spec, argv));
}
