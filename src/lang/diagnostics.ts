/**
 * Compile diagnostics in bpftrace's layout:
 *
 *   script.bt:3:5-12: ERROR: unknown function: prinf
 *       prinf("hi\n");
 *       ~~~~~~~~~~~~~~
 *
 * Every error a user can cause in their script is a CompileError carrying the
 * span; the CLI prints `format()` and exits non-zero, never a stack trace.
 */
import type { SourceFile, Span } from './ast';
import { UserError } from '../errors';

export type Severity = 'ERROR' | 'WARNING';

export interface Diagnostic {
  severity: Severity;
  message: string;
  span: Span | null;
  /** Extra lines shown after the caret, e.g. "did you mean sys_enter_openat?" */
  notes: string[];
}

export class CompileError extends UserError {
  readonly diagnostics: Diagnostic[];
  readonly source: SourceFile | null;
  constructor(message: string, span: Span | null, source: SourceFile | null = null, notes: string[] = []) {
    super(message);
    this.name = 'CompileError';
    this.diagnostics = [{ severity: 'ERROR', message, span, notes }];
    this.source = source;
  }

  /** Several errors at once (passes collect before failing). */
  static many(diags: Diagnostic[], source: SourceFile | null): CompileError {
    const e = new CompileError(diags[0]?.message ?? 'compile error', diags[0]?.span ?? null, source, diags[0]?.notes ?? []);
    e.diagnostics.splice(0, e.diagnostics.length, ...diags);
    return e;
  }

  /** Attaches the source file (for callers that create errors before knowing it). */
  withSource(source: SourceFile): CompileError {
    if (this.source) return this;
    return CompileError.many(this.diagnostics, source);
  }

  format(): string {
    return this.diagnostics.map((d) => formatDiagnostic(d, this.source)).join('');
  }
}

/** Formats one diagnostic with the source line and a caret/underline. */
export function formatDiagnostic(d: Diagnostic, source: SourceFile | null): string {
  const name = source?.name ?? 'stdin';
  if (!d.span || !source) {
    return `${name}: ${d.severity}: ${d.message}\n${d.notes.map((n) => `${n}\n`).join('')}`;
  }
  const s = d.span;
  const range = s.endLine === s.line && s.endCol > s.col + 1 ? `${s.col}-${s.endCol}` : `${s.col}`;
  const lines = source.text.split('\n');
  let text = (lines[s.line - 1] ?? '').replace(/\t/g, ' ');
  let col = s.col;
  let width = s.endLine === s.line ? Math.max(1, s.endCol - s.col) : Math.max(1, text.length - s.col + 1);
  // A very long line (a 1 MB one-liner) is shown as a window around the caret, not echoed whole.
  const WINDOW = 80;
  if (text.length > 3 * WINDOW) {
    const from = Math.max(0, col - 1 - WINDOW);
    const to = Math.min(text.length, col - 1 + Math.min(width, WINDOW) + WINDOW);
    const head = from > 0 ? '...' : '';
    text = head + text.slice(from, to) + (to < text.length ? '...' : '');
    col = col - from + head.length;
    width = Math.min(width, WINDOW);
  }
  const marker = ' '.repeat(Math.max(0, col - 1)) + (width === 1 ? '^' : '~'.repeat(width));
  const message = d.message.length > 500 ? `${d.message.slice(0, 500)}...` : d.message;
  return `${name}:${s.line}:${range}: ${d.severity}: ${message}\n${text}\n${marker}\n${d.notes.map((n) => `${n.length > 500 ? `${n.slice(0, 500)}...` : n}\n`).join('')}`;
}

/** The span covering both a and b. */
export function joinSpans(a: Span, b: Span): Span {
  const first = a.start <= b.start ? a : b;
  const last = a.end >= b.end ? a : b;
  return { line: first.line, col: first.col, start: first.start, endLine: last.endLine, endCol: last.endCol, end: last.end };
}

/** The names in `candidates` closest to `name` (edit distance), best first, for "did you mean". */
export function nearestNames(name: string, candidates: Iterable<string>, max = 3): string[] {
  // bounded: a 70 KB name against every libc symbol took 35 s; nothing that long is a typo
  if (name.length > 256) return [];
  const limit = Math.max(2, Math.floor(name.length / 3));
  const scored: [number, string][] = [];
  for (const c of candidates) {
    if (Math.abs(c.length - name.length) > limit) continue; // the distance is at least the length difference
    const d = editDistance(name, c);
    if (d <= limit) scored.push([d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return scored.slice(0, max).map((x) => x[1]);
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
