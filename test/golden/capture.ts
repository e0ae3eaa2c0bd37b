/**
 * Records every program compiled while the test suite runs, for the bytecode
 * golden check (see ./README.md). Loaded with
 *   TSBPF_CAPTURE_COMPILES=/path/corpus.jsonl NODE_OPTIONS="--require $PWD/dist/test/golden/capture.js"
 * it wraps the compiler's three entry points and appends one JSON line per
 * compilation: the source text, the options that affect code, and the
 * environment variables the compiler reads. Nothing is captured unless the
 * variable names the file.
 */
import * as fs from 'node:fs';
import type { CompileOptions } from '../../src/lang/compile';
import type { Program, SourceFile } from '../../src/lang/ast';

export interface CapturedCompile {
  name: string;
  text: string;
  opts: Pick<CompileOptions, 'perTracepoint' | 'params' | 'pid' | 'strlen' | 'unsafe' | 'defines'>;
  env: Record<string, string>;
}

/** Environment variables compile() consults. */
export const COMPILER_ENV = ['BPFTRACE_STRLEN', 'BPFTRACE_MAP_KEYS_MAX', 'BPFTRACE_MAX_MAP_KEYS'];

export function codeOptions(o: CompileOptions | undefined): CapturedCompile['opts'] {
  const r: CapturedCompile['opts'] = {};
  if (!o) return r;
  if (o.perTracepoint !== undefined) r.perTracepoint = o.perTracepoint;
  if (o.params !== undefined) r.params = o.params;
  if (o.pid !== undefined) r.pid = o.pid;
  if (o.strlen !== undefined) r.strlen = o.strlen;
  if (o.unsafe !== undefined) r.unsafe = o.unsafe;
  if (o.defines !== undefined) r.defines = o.defines;
  return r;
}

const file = process.env.TSBPF_CAPTURE_COMPILES;
if (file) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('../../src/lang/compile') as Record<string, unknown>;
  const record = (src: SourceFile, o: CompileOptions | undefined): void => {
    const env: Record<string, string> = {};
    for (const k of COMPILER_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    const line: CapturedCompile = { name: src.name, text: src.text, opts: codeOptions(o), env };
    try {
      fs.appendFileSync(file, JSON.stringify(line) + '\n');
    } catch {
      /* a capture failure must not change what the test sees */
    }
  };
  // compile() calls compileDetailed() and compileProgram() directly, so each compilation is recorded once.
  for (const fn of ['compile', 'compileDetailed'] as const) {
    const orig = mod[fn] as (s: SourceFile, o?: CompileOptions) => unknown;
    mod[fn] = (s: SourceFile, o?: CompileOptions) => {
      record(s, o);
      return orig(s, o);
    };
  }
  const origProgram = mod.compileProgram as (p: Program, o?: CompileOptions) => unknown;
  mod.compileProgram = (p: Program, o?: CompileOptions) => {
    record(p.source, o);
    return origProgram(p, o);
  };
}
