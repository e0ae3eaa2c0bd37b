/** BEGIN and END: run once, before the probes attach and at exit (BPF_PROG_TEST_RUN, no attachment). */
import type { AttachPoint } from '../ast';
import type { ExpandedPoint } from './provider';
import { baseCtx, provider } from './provider';

/**
 * `probe` names them as written: `begin` (bpftrace 0.26's spelling, which prints "begin") or `BEGIN`
 * (0.17's, which printed "BEGIN"; 0.26 prints "begin" for it too, but old scripts keep their output).
 */
function once(which: 'BEGIN' | 'END', ap: AttachPoint): ExpandedPoint[] {
  const name = ap.raw.trim() === which.toLowerCase() ? which.toLowerCase() : which;
  return [{ spec: { kind: which === 'BEGIN' ? 'begin' : 'end' }, ctx: { ...baseCtx(which, 'raw_tracepoint', which), u64Args: true, funcArgs: true, fromUserSpace: true }, name }];
}

// the runtime runs them through BPF_PROG_TEST_RUN: nothing to attach
export const begin = provider({ name: 'BEGIN', aliases: [], attach: { begin: () => [] }, expand: (ap) => once('BEGIN', ap) });
export const end = provider({ name: 'END', aliases: [], attach: { end: () => [] }, expand: (ap) => once('END', ap) });
