/**
 * Stack output shared by profile, offcputime and stackcount: bcc's
 * multi-line layout and its folded (flame graph input) lines.
 */
import type { Value } from '../../runtime/values';

/** Frames innermost first, as bcc prints them: symbol names without +offset, or (-s) with it in hex. */
export function framesOf(v: Value | undefined, offsets = false): string[] {
  if (!v || v.kind !== 'stack') return [];
  if (offsets) return v.frames.map((f) => f.trim().replace(/\+(\d+)$/, (_, n: string) => `+0x${Number(n).toString(16)}`) || '[unknown]');
  return v.frames.map((f) => f.replace(/\+(0x[0-9a-f]+|\d+)$/i, '').trim() || '[unknown]');
}

/** Merges samples whose symbolized stacks print the same (different addresses in one function). */
export function mergeSamples(xs: StackSample[]): StackSample[] {
  const m = new Map<string, StackSample>();
  for (const s of xs) {
    const k = JSON.stringify([s.comm, s.pid, s.kernel, s.user]);
    const prev = m.get(k);
    if (prev) prev.count += s.count;
    else m.set(k, { ...s });
  }
  return [...m.values()];
}

export interface StackSample {
  comm: string;
  pid: number;
  /** Innermost first. */
  kernel: string[];
  user: string[];
  count: bigint;
}

export interface StackPrintOptions {
  userOnly: boolean;
  kernelOnly: boolean;
  /** Put "--" (multi-line) or "-" (folded) between kernel and user frames. */
  delimited: boolean;
  /** Add _[k] to kernel frames (folded). */
  annotate: boolean;
}

/** bcc's multi-line block for one stack: frames, "-  comm (pid)", the count, a blank line. */
export function multiLineStack(s: StackSample, o: StackPrintOptions, countLabel = ''): string {
  let out = '';
  if (!o.userOnly) for (const f of s.kernel) out += `    ${f}\n`;
  if (!o.kernelOnly) {
    if (o.delimited && s.kernel.length && s.user.length) out += '    --\n';
    for (const f of s.user) out += `    ${f}\n`;
  }
  out += `    ${'-'.padEnd(16)} ${s.comm} (${s.pid})\n`;
  out += `        ${s.count}${countLabel}\n\n`;
  return out;
}

/** bcc's folded line: comm;user outermost..innermost;[-;]kernel outermost..innermost count. */
export function foldedStack(s: StackSample, o: StackPrintOptions): string {
  const parts = [s.comm];
  if (!o.kernelOnly) parts.push(...[...s.user].reverse());
  if (!o.userOnly) {
    if (o.delimited && s.kernel.length && s.user.length) parts.push('-');
    parts.push(...[...s.kernel].reverse().map((f) => (o.annotate ? `${f}_[k]` : f)));
  }
  return `${parts.join(';')} ${s.count}\n`;
}

/** Frames outermost first, for foldedFromCounts / flame graphs. */
export function flameFrames(s: StackSample, o: StackPrintOptions): string[] {
  const f = [s.comm];
  if (!o.kernelOnly) f.push(...[...s.user].reverse());
  if (!o.userOnly) f.push(...[...s.kernel].reverse().map((k) => `${k}_[k]`));
  return f;
}
