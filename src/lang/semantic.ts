/**
 * Semantic analysis: resolves names and assigns a type to every expression of
 * every probe instance, and a key/value layout and aggregation to every @map.
 *
 * Types follow bpftrace 0.17: integer literals are int64; arithmetic is done
 * in 64 bits and is signed only when both operands are signed; comparisons
 * are signed only when both operands are signed; `/`, `%` and `>>` are
 * unsigned (as in bpftrace 0.17, which had no signed division).
 *
 * In memory (map keys and values, tuples, event records) every integer takes
 * 8 bytes, sign- or zero-extended from its type; that keeps every field
 * aligned and the records simple to decode.
 *
 * Results live in side tables keyed by AST node (the AST is never mutated).
 * A probe with several attach points may be typed once per attach point
 * (`args` differs between tracepoints), so expression types are per instance.
 */
import type { Program } from './ast';
import { CompileError, type Diagnostic } from './diagnostics';
import type { ProbeContext } from './probes';
import { typeName } from './types';
import { EnumError, scriptEnums } from './enums';
import { Checker } from './semantic/checker';
import type { InstanceTypes, MapInfo, SemanticOptions, SemanticResult } from './semantic/shared';

export type { CheckerFacts, InstanceTypes, MapInfo, SemanticOptions, SemanticResult } from './semantic/shared';
export { btfPointer, castType, fieldType, leftSpine } from './semantic/shared';
export { Checker } from './semantic/checker';


/**
 * Types every probe instance of a program. Two passes: the first learns the
 * types of all maps (a map may be read in a probe before the probe that
 * assigns it), the second checks everything against them.
 */
export function analyze(program: Program, instances: { probeIndex: number; ctx: ProbeContext }[], optsIn: SemanticOptions): SemanticResult {
  const opts: SemanticOptions = { ...optsIn, typeDefs: optsIn.typeDefs ?? program.typeDefs };
  try {
    scriptEnums(opts.typeDefs ?? []); // a definition it cannot read is one error at the definition
  } catch (e) {
    if (e instanceof EnumError) throw new CompileError(e.message, e.def.span, program.source);
    throw e;
  }
  const maps = new Map<string, MapInfo>();
  const warnings: Diagnostic[] = [];
  const state = { unsafe: false };
  let result: InstanceTypes[] = [];
  for (const pass of [1, 2]) {
    const diags: Diagnostic[] = [];
    result = [];
    for (const inst of instances) {
      const probe = program.probes[inst.probeIndex];
      const c = new Checker(inst.ctx, opts, maps, diags, warnings, pass === 1, state);
      if (probe.predicate) c.cond(probe.predicate);
      c.stmt(probe.body);
      result.push({ probe, probeIndex: inst.probeIndex, ctx: inst.ctx, exprs: c.exprs, vars: c.vars, facts: c.facts });
    }
    if (diags.length) throw CompileError.many(dedupe(diags), program.source);
  }
  return { maps, instances: result, warnings, unsafe: state.unsafe };
}

function dedupe(d: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return d.filter((x) => {
    const k = `${x.message}@${x.span?.start ?? -1}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** `-d types`: every expression with its type, probe by probe. */
export function dumpTypes(program: Program, sem: SemanticResult): string {
  const out: string[] = [];
  for (const inst of sem.instances) {
    out.push(`${inst.ctx.probeName}`);
    for (const [name, t] of inst.vars) out.push(`  ${name} :: ${typeName(t)}`);
    const entries = [...inst.exprs.entries()].sort((a, b) => a[0].span.start - b[0].span.start);
    for (const [e, t] of entries) {
      const text = program.source.text.slice(e.span.start, e.span.end).replace(/\s+/g, ' ');
      out.push(`  ${e.span.line}:${e.span.col} ${e.kind} ${text} :: ${typeName(t)}`);
    }
  }
  out.push('maps');
  for (const m of sem.maps.values()) {
    out.push(`  ${m.name}[${m.key ? typeName(m.key) : ''}] :: ${typeName(m.value)} (${m.agg.kind})`);
  }
  return out.join('\n') + '\n';
}
