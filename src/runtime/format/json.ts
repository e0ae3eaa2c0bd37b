/**
 * bpftrace's `-f json` output: one JSON object per line (NDJSON), with the
 * exact spacing bpftrace 0.17 uses (`{"type": "...", "data": ...}`).
 * Map and value lines come from maps.ts (mapJson, printValueJson).
 *
 * @example
 * jsonMessage('printf', 'hi\n'); // '{"type": "printf", "data": "hi\\n"}\n'
 */
import { jsonEscape } from '../values';

/** Message types with string data, as bpftrace names them. */
export type JsonMessageType = 'printf' | 'time' | 'cat' | 'join' | 'syscall' | 'lost_events';

/** `{"type": T, "data": "<escaped text>"}` (printf, time, cat, join, system output). */
export function jsonMessage(type: JsonMessageType, text: string): string {
  return `{"type": "${type}", "data": "${jsonEscape(text)}"}\n`;
}

/** `{"type": "attached_probes", "count": N, "data": {"probes": N}}`: bpftrace 0.26 adds the top-level count (O03). */
export function jsonAttachedProbes(n: number): string {
  return `{"type": "attached_probes", "count": ${n}, "data": {"probes": ${n}}}\n`;
}

/** `{"type": "lost_events", "count": N, "data": {"events": N}}`, as bpftrace 0.26 (O03). */
export function jsonLostEvents(n: number | bigint): string {
  return `{"type": "lost_events", "count": ${n}, "data": {"events": ${n}}}\n`;
}

/** Updates of a user map the kernel refused (full or out of memory), like lost_events. */
export function jsonLostMapUpdates(map: string, n: bigint, maxEntries: number): string {
  return `{"type": "lost_map_updates", "data": {"map": "${jsonEscape(map)}", "updates": ${n}, "max_entries": ${maxEntries}}}\n`;
}

/** A failed helper call reported at run time (bpftrace's helper_error), with the 1-based source position. */
export function jsonHelperError(helper: string, retcode: number, line: number, col: number): string {
  return `{"type": "helper_error", "helper": "${jsonEscape(helper)}", "retcode": ${retcode}, "line": ${line}, "col": ${col}}\n`;
}
