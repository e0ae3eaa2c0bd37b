/**
 * Tracepoint facts the tools adapt to at start: which fields exist (they get
 * renamed across kernels, e.g. block_rq_issue's nr_bytes became bytes in 6.x)
 * and whether a tracepoint exists at all.
 */
import { MissingFeatureError } from '../../sys/features';
import { tracepointExists, tracepointFormat } from '../../sys/tracefs';

/** Whether tracepoint category:event has a field called `field`. */
export function tpHasField(category: string, event: string, field: string): boolean {
  try {
    return tracepointFormat(category, event).fields.some((f) => f.name === field);
  } catch {
    return false;
  }
}

/** The first of `names` that tracepoint category:event has; throws MissingFeatureError when none. */
export function tpField(category: string, event: string, names: readonly string[]): string {
  for (const n of names) if (tpHasField(category, event, n)) return n;
  throw new MissingFeatureError(`tracepoint:${category}:${event}`, `tracepoint ${category}:${event} has none of the fields ${names.join(', ')} on this kernel`);
}

/** Whether the tracepoint exists (false when tracefs is unreadable too). */
export function tpExists(category: string, event: string): boolean {
  try {
    return tracepointExists(category, event);
  } catch {
    return false;
  }
}

/** Throws MissingFeatureError naming the tracepoint when it does not exist. */
export function requireTracepoint(category: string, event: string, why = ''): void {
  if (!tpExists(category, event)) {
    throw new MissingFeatureError(`tracepoint:${category}:${event}`, `tracepoint ${category}:${event} does not exist on this kernel${why ? ` (${why})` : ''}`);
  }
}
