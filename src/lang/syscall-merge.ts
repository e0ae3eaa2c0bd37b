/**
 * Wildcard syscall tracepoints at scale: enabling a tracepoint costs tens of
 * milliseconds, so `tracepoint:syscalls:sys_enter_*` (hundreds of points)
 * would take half a minute to attach. When a probe selects many syscall
 * tracepoints of one direction, they are served by ONE program on
 * `raw_syscalls:sys_enter` / `sys_exit` that looks the syscall id up in an
 * array map (id → probe name index + 1) and returns early for the rest.
 *
 * The raw_syscalls records line up with the per-syscall ones: `id` (long) at
 * offset 8 where `__syscall_nr` (int) sits, syscall arguments at 16 + 8·i in
 * both, and `ret` at 16 on exit. So `args.FIELD` keeps its offset as long as
 * every selected syscall has FIELD at the same place with the same type;
 * when a probe reads a field that differs, it is not merged (one program per
 * tracepoint, correct but slow).
 *
 * Known difference: raw_syscalls also fires for 32-bit compat syscalls,
 * whose numbers differ; the per-syscall tracepoints ignore those.
 */
import type { Probe } from './ast';
import type { ExpandedPoint, ProbeContext } from './probes';
import type { AttachSpec } from './artifact';
import type { TracepointField, TracepointFormat } from '../sys/tracefs';
import { walk } from './visit';

/** Fewer points than this attach individually (each costs one tracepoint enable). */
export const MERGE_THRESHOLD = 8;

export interface MergedSyscalls {
  instances: { ctx: ProbeContext; spec: AttachSpec; names: string[] }[];
  /** Points left for the normal path. */
  rest: ExpandedPoint[];
}

/** How the probe uses `args`: the field names read, and whether `args` appears other than as `args.FIELD`. */
function argsUse(probe: Probe): { fields: Set<string>; whole: boolean } {
  const fields = new Set<string>();
  let whole = false;
  walk([probe.predicate, probe.body], (n) => {
    if (n.kind === 'FieldAccess' && n.object.kind === 'Builtin' && n.object.name === 'args') {
      fields.add(n.field);
      return false;
    }
    if (n.kind === 'Builtin' && n.name === 'args') whole = true;
  });
  return { fields, whole };
}

const normType = (t: string): string => t.replace(/\bconst\b/g, '').replace(/\s+/g, ' ').replace(/ \*/g, '*').trim();

function sameField(a: TracepointField, b: TracepointField): boolean {
  return a.offset === b.offset && a.size === b.size && a.signed === b.signed && a.dataLoc === b.dataLoc && normType(a.type) === normType(b.type);
}

/** Fields of the merged record: `id`, `__syscall_nr`, and those every selected syscall has identically. */
function mergedFormat(formats: TracepointFormat[], exit: boolean): TracepointFormat {
  const first = formats[0];
  const own = first.fields.filter((f) => f.name !== '__syscall_nr' && formats.every((g) => {
    const o = g.fields.find((x) => x.name === f.name);
    return o !== undefined && sameField(o, f);
  }));
  const id: TracepointField = { name: 'id', type: 'long', offset: 8, size: 8, signed: true, dataLoc: false };
  const nr: TracepointField = { name: '__syscall_nr', type: 'int', offset: 8, size: 4, signed: true, dataLoc: false };
  return {
    category: 'raw_syscalls',
    event: exit ? 'sys_exit' : 'sys_enter',
    id: 0,
    commonFields: first.commonFields,
    fields: [id, nr, ...own.filter((f) => f.name !== 'id')],
    printFmt: '',
  };
}

/**
 * Splits a probe's expanded points into merged raw_syscalls instances and the
 * rest. `syscallNumbers` comes from the target (null: this architecture's
 * numbers are unknown); `disabled` keeps every point separate.
 */
export function mergeSyscallPoints(
  points: ExpandedPoint[], probe: Probe, opts: { disabled?: boolean; syscallNumbers: ReadonlyMap<string, number> | null },
): MergedSyscalls {
  const nrs = opts.disabled ? null : opts.syscallNumbers;
  if (!nrs) return { instances: [], rest: points };
  const use = argsUse(probe);
  const byDir: Record<'enter' | 'exit', { p: ExpandedPoint; nr: number }[]> = { enter: [], exit: [] };
  const rest: ExpandedPoint[] = [];
  for (const p of points) {
    const s = p.spec;
    const m = s.kind === 'tracepoint' && s.category === 'syscalls' ? /^sys_(enter|exit)_(\w+)$/.exec(s.event) : null;
    const nr = m ? nrs.get(m[2]) : undefined;
    if (!m || nr === undefined || !p.ctx.tracepoint) rest.push(p);
    else byDir[m[1] as 'enter' | 'exit'].push({ p, nr });
  }
  const instances: MergedSyscalls['instances'] = [];
  for (const dir of ['enter', 'exit'] as const) {
    const sel = byDir[dir];
    const formats = sel.map((x) => x.p.ctx.tracepoint as TracepointFormat);
    const fmt = sel.length ? mergedFormat(formats, dir === 'exit') : undefined;
    const fieldsOk = fmt !== undefined && !use.whole && [...use.fields].every((f) => fmt.fields.some((x) => x.name === f) || fmt.commonFields.some((x) => x.name === f));
    // A syscall selected twice (two overlapping patterns) fires twice per call when attached separately; keep that.
    const unique = new Set(sel.map((x) => x.nr)).size === sel.length;
    if (sel.length < MERGE_THRESHOLD || !fieldsOk || !unique || !fmt) {
      rest.push(...sel.map((x) => x.p));
      continue;
    }
    const event = dir === 'enter' ? 'sys_enter' : 'sys_exit';
    const ctx: ProbeContext = {
      ...sel[0].p.ctx,
      tracepoint: fmt,
      probeName: sel[0].p.name,
      perPoint: false,
      syscalls: { nrs: sel.map((x) => x.nr) },
    };
    instances.push({ ctx, spec: { kind: 'tracepoint', category: 'raw_syscalls', event, serves: sel.length }, names: sel.map((x) => x.p.name) });
  }
  return { instances, rest };
}
