/** BEGIN and END: run once, before the probes attach and at exit (BPF_PROG_TEST_RUN, no attachment). */
import type { ExpandedPoint } from './provider';
import { baseCtx, provider } from './provider';

function once(which: 'BEGIN' | 'END'): ExpandedPoint[] {
  return [{ spec: { kind: which === 'BEGIN' ? 'begin' : 'end' }, ctx: { ...baseCtx(which, 'raw_tracepoint', which), u64Args: true, funcArgs: true, fromUserSpace: true }, name: which }];
}

// the runtime runs them through BPF_PROG_TEST_RUN: nothing to attach
export const begin = provider({ name: 'BEGIN', aliases: [], attach: { begin: () => [] }, expand: () => once('BEGIN') });
export const end = provider({ name: 'END', aliases: [], attach: { end: () => [] }, expand: () => once('END') });
