/**
 * The registry of probe providers. Each provider is one definition in
 * src/lang/providers/ (expand, list, context, attachers); every stage reads
 * this table: the compiler expands attach points through it, `tsbpf -l`
 * lists through it (src/cli/list.ts), and the runtime attaches each spec with
 * the attacher registered for its kind.
 */
import type { AttachPoint } from './ast';
import type { AttachSpec } from './artifact';
import { CompileError } from './diagnostics';
import type { Link } from '../ebpf/attach';
import type { Program } from '../ebpf/programs';
import { begin, end } from './providers/begin-end';
import { fentry, fexit, kprobe, kretprobe } from './providers/kernel';
import { PERF_PROVIDERS } from './providers/perf';
import { rawTracepointProvider, tracepointProvider } from './providers/tracepoint';
import { uprobe, uretprobe, usdtProvider } from './providers/user';
import {
  err, hintNames, type AttachContext, type AttachKind, type Attacher, type AnyProviderDef, type ExpandedPoint, type ProviderOptions,
} from './providers/provider';

export type { ExpandedPoint, ListRequest, ProbeContext, ProviderOptions } from './providers/provider';
export { processObjects, resolveBinary } from './providers/user';

/** Every provider, in the order `tsbpf -l` lists them. */
export const PROVIDERS: readonly AnyProviderDef[] = [
  begin, end,
  ...PERF_PROVIDERS,
  tracepointProvider,
  kprobe, kretprobe,
  fentry, fexit,
  rawTracepointProvider,
  uprobe, uretprobe, usdtProvider,
];

/** Every attach kind of the artifact (the type check makes this list complete). */
export const ATTACH_KINDS = Object.keys({
  begin: 1, end: 1, tracepoint: 1, raw_tracepoint: 1, kprobe: 1, uprobe: 1, fentry: 1, fexit: 1, perf: 1, interval: 1,
} satisfies Record<AttachKind, 1>) as AttachKind[];

const byName = new Map<string, AnyProviderDef>();
for (const p of PROVIDERS) {
  for (const n of [p.name, ...p.aliases]) {
    if (byName.has(n)) throw new Error(`probe provider name ${n} is defined twice`);
    byName.set(n, p);
  }
}

const attachers = new Map<string, Attacher<AttachKind>>();
for (const p of PROVIDERS) {
  for (const [kind, a] of Object.entries(p.attach) as [AttachKind, Attacher<AttachKind>][]) {
    const had = attachers.get(kind);
    if (had && had !== a) throw new Error(`attach kind ${kind} is attached two ways (provider ${p.name})`);
    attachers.set(kind, a);
  }
}

/** Expands one attach point; throws CompileError (with the point's span) for unknown providers or targets. */
export function expandAttachPoint(ap: AttachPoint, opts: ProviderOptions): ExpandedPoint[] {
  const p = byName.get(ap.provider);
  if (!p) throw err(ap, `unknown probe type '${ap.provider}'`, hintNames(ap.provider, byName.keys()));
  try {
    return p.expand(ap, opts);
  } catch (e) {
    if (e instanceof CompileError) throw e;
    throw err(ap, `${ap.raw}: ${(e as Error).message}`);
  }
}

/** Canonical provider name for an alias, or undefined. */
export function providerName(alias: string): string | undefined {
  return byName.get(alias)?.name;
}

/** The provider registered under a name or alias. */
export function providerDef(name: string): AnyProviderDef | undefined {
  return byName.get(name);
}

/** Attaches a loaded program to one spec with the attacher its provider registered. */
export function attachSpec(prog: Program, spec: AttachSpec, ctx: AttachContext = {}): Link[] {
  const a = attachers.get(spec.kind);
  if (!a) throw new Error(`no provider attaches '${spec.kind}'`);
  return (a as Attacher<typeof spec.kind>)(prog, spec as never, ctx);
}

/** Whether a spec attaches to the -c command's process (the runtime then starts it stopped). */
export function needsCommandPid(spec: AttachSpec): boolean {
  return spec.kind === 'perf' && spec.pidOfCommand === true;
}

/** Attach kinds some provider can attach (for the registry's completeness test). */
export function attachableKinds(): string[] {
  return [...attachers.keys()].sort();
}
