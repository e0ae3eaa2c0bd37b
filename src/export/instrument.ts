/**
 * What the exporter learns from a script's text before compiling it: for
 * each map, the label names its keys become (named after the key
 * expressions as written: `@[comm, args.ret]` → `comm`, `ret`) and a HELP
 * line (the aggregation as written); and the script text to compile, with a
 * companion `@name__sum[keys] = sum(expr)` after every hist()/lhist(), since
 * a histogram's buckets do not carry the sum of the values Prometheus wants
 * as `_sum`. The compiler is not changed: the companion is ordinary script.
 *
 * Annotations in comments name labels and help explicitly, or turn the
 * companion sum off (sum=no: no `_sum`, and no extra work per event):
 *   // export @lat labels=disk,flags help="Block I/O latency in microseconds"
 *
 * @example
 *   const s = instrumentScript('t:block:block_rq_complete { @b[args->dev] = hist(args->nr_sector); }');
 *   s.maps.get('@b')?.labels; // ['dev']
 *   s.text; // '... hist(args->nr_sector);@b__sum[args->dev] = sum(args->nr_sector); }'
 */
import { parse } from '../lang/parser';
import { distinctNames } from './metrics';

export interface MapInfo {
  /** Label names, one per key component. */
  labels: string[];
  /**
   * Per key component, a number better shown by name: `disk` for a kernel dev_t
   * (`args->dev`), `syscall` for a raw_syscalls tracepoint's `args->id`.
   */
  named: Array<NamedKey | undefined>;
  /** HELP text. */
  help: string;
  /** The companion map holding the sum of a hist()/lhist()'s values. */
  sumMap?: string;
}

/** Numbers the exporter labels by name (the label is named after the kind too). */
export type NamedKey = 'disk' | 'syscall';

export interface InstrumentedScript {
  text: string;
  maps: Map<string, MapInfo>;
}

/** Suffix of the companion maps; maps ending with it are not exported on their own. */
export const SUM_SUFFIX = '__sum';

interface Span { start: number; end: number }
interface Node { kind: string; span: Span }
interface MapRefNode extends Node { name: string; keys: Node[] | null }
interface CallNode extends Node { name: string; args: Node[] }

const HISTOGRAMS = new Set(['hist', 'lhist']);
const AGGREGATIONS = new Set(['count', 'sum', 'min', 'max', 'avg', 'stats', 'hist', 'lhist']);

/** Calls `fn` on every AST node (any object with a `kind`), whatever shape the rest of the AST has. */
function visit(root: unknown, fn: (node: Record<string, unknown>) => void): void {
  const seen = new Set<object>();
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object' || seen.has(n)) return;
    seen.add(n);
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    const o = n as Record<string, unknown>;
    if (typeof o.kind === 'string') fn(o);
    for (const k of Object.keys(o)) if (k !== 'source' && k !== 'span') walk(o[k]);
  };
  walk(root);
}

/** A map's name with its @ (`@lat`, `@`), however the AST spells it. */
function atName(name: string): string {
  return name.startsWith('@') ? name : `@${name}`;
}

/** Every `@map[keys] = value` in the AST. */
function assignments(root: unknown): Array<{ target: MapRefNode; value: Node }> {
  const found: Array<{ target: MapRefNode; value: Node }> = [];
  visit(root, (o) => {
    const target = o.target as MapRefNode | undefined;
    const value = o.value as Node | undefined;
    if (o.kind === 'AssignStmt' && target?.kind === 'MapRef' && value?.span) found.push({ target, value });
  });
  return found;
}

/** Every `clear(@m)` / `zero(@m)` call in the AST. */
function resets(root: unknown): CallNode[] {
  const found: CallNode[] = [];
  visit(root, (o) => {
    if (o.kind === 'Call' && (o.name === 'clear' || o.name === 'zero') && Array.isArray(o.args)) found.push(o as unknown as CallNode);
  });
  return found;
}

/** A Prometheus label name from a key expression: its last identifier (`args->dev` → `dev`, `str(args.filename)` → `filename`). */
export function labelFromExpr(expr: string, index: number): string {
  const ids = expr.match(/[A-Za-z_][A-Za-z0-9_]*/g);
  let name = ids ? ids[ids.length - 1] : `key${index}`;
  if (/^\d/.test(name)) name = `key${index}`;
  // `le` and `quantile` mean something in histograms and summaries; `__` is Prometheus' own
  if (name === 'le' || name === 'quantile' || name.startsWith('__')) name = `key_${name.replace(/^_+/, '')}`;
  return name;
}

/** A tracepoint's dev_t field (block and file system tracepoints), or a raw_syscalls tracepoint's syscall number. */
function namedKey(expr: string, inRawSyscalls: boolean): NamedKey | undefined {
  const field = /^args\s*(?:->|\.)\s*(\w+)$/.exec(expr.trim())?.[1];
  if (field === 'dev') return 'disk';
  if (field === 'id' && inRawSyscalls) return 'syscall';
  return undefined;
}

/** Assignments in probes on raw_syscalls tracepoints (where args->id is a syscall number). */
function rawSyscallAssignments(ast: unknown): Set<object> {
  const found = new Set<object>();
  visit(ast, (o) => {
    if (o.kind !== 'Probe' || !Array.isArray(o.attachPoints)) return;
    const raw = (o.attachPoints as Array<{ raw?: unknown }>).some((a) => typeof a.raw === 'string' && /^(tracepoint|t):raw_syscalls:/.test(a.raw));
    if (raw) for (const a of assignments(o)) found.add(a.value);
  });
  return found;
}

/** What a `// export @map labels=a,b sum=no help="text"` comment says. */
interface Annotation {
  labels?: string[];
  help?: string;
  /** sum=no: no companion sum for this histogram (no `_sum`, no extra cost per event). */
  sum?: boolean;
}

/** `// export @map ...` lines. */
function annotations(text: string): Map<string, Annotation> {
  const out = new Map<string, Annotation>();
  const re = /\/\/\s*export\s+(@[A-Za-z0-9_]*)((?:\s+(?:labels=[A-Za-z0-9_,]+|sum=(?:yes|no)|help="(?:[^"\\]|\\.)*"))*)\s*$/gm;
  for (const m of text.matchAll(re)) {
    const a: Annotation = {};
    const labels = /labels=([A-Za-z0-9_,]+)/.exec(m[2]);
    const sum = /sum=(yes|no)/.exec(m[2]);
    if (sum) a.sum = sum[1] === 'yes';
    const help = /help="((?:[^"\\]|\\.)*)"/.exec(m[2]);
    if (labels) a.labels = labels[1].split(',').filter(Boolean);
    if (help) a.help = help[1].replace(/\\(.)/g, '$1');
    out.set(m[1], a);
  }
  return out;
}

/** Parses the script (errors propagate as the compiler's CompileError) and instruments it. */
export function instrumentScript(text: string, name = 'script', opts: { noSum?: ReadonlySet<string> } = {}): InstrumentedScript {
  const ast = parse({ name, text });
  const maps = new Map<string, MapInfo>();
  const inserts: Array<{ at: number; text: string }> = [];
  const notes = annotations(text);
  const wantsSum = (map: string) => !(opts.noSum?.has(map) || notes.get(map)?.sum === false);
  const src = (n: Node) => text.slice(n.span.start, n.span.end);
  const fromAggregation = new Set<string>();
  const inRawSyscalls = rawSyscallAssignments(ast);
  for (const { target: ref, value } of assignments(ast)) {
    const target = { ...ref, name: atName(ref.name) };
    const call = value.kind === 'Call' ? (value as CallNode) : undefined;
    const isAgg = call !== undefined && AGGREGATIONS.has(call.name);
    const keyTexts = (target.keys ?? []).map(src);
    const sumMap = `${target.name}${SUM_SUFFIX}`;
    const withSum = call !== undefined && HISTOGRAMS.has(call.name) && wantsSum(target.name);
    if (withSum && call.args.length > 0 && src(target).startsWith('@')) {
      inserts.push({ at: call.span.end, text: `;${sumMap}${target.keys ? `[${keyTexts.join(', ')}]` : ''} = sum(${src(call.args[0])})` });
    }
    // described by its aggregation (`@x = count()`) rather than another assignment, else by its first one
    if (maps.has(target.name) && (!isAgg || fromAggregation.has(target.name))) continue;
    if (isAgg) fromAggregation.add(target.name);
    const note = notes.get(target.name);
    const named = keyTexts.map((k) => namedKey(k, inRawSyscalls.has(value)));
    maps.set(target.name, {
      labels: note?.labels ?? distinctNames(keyTexts.map((k, i) => named[i] ?? labelFromExpr(k, i))),
      named,
      help: note?.help ?? `${target.name}${keyTexts.length ? `[${keyTexts.join(', ')}]` : ''} = ${src(value).replace(/\s+/g, ' ')}`,
      sumMap: withSum ? sumMap : undefined,
    });
  }
  // clear()/zero() of a histogram empties its companion too, so _sum restarts with the buckets
  for (const call of resets(ast)) {
    const arg = call.args[0] as MapRefNode | undefined;
    const sumMap = arg?.kind === 'MapRef' ? maps.get(atName(arg.name))?.sumMap : undefined;
    if (sumMap) inserts.push({ at: call.span.end, text: `;${call.name}(${sumMap})` });
  }
  let out = text;
  for (const ins of inserts.sort((a, b) => b.at - a.at)) out = out.slice(0, ins.at) + ins.text + out.slice(ins.at);
  return { text: out, maps };
}
