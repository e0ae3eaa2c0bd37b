/**
 * The two output modes of bpftrace (`-f text`, default, and `-f json`) behind
 * one interface, so the runtime writes `out.printf(s)`, `out.map(m)`... and
 * gets exactly the bytes bpftrace would write to stdout.
 *
 * Sequence bpftrace follows, which the runtime should mirror:
 * `attachedProbes(n)` once probes are attached; events as they come
 * (`printf`, `time`, `map` for print(@m), `value` for print(v), `lostEvents`
 * whenever the loss counter grew); at the end `exitPreamble()` (two newlines,
 * in both modes) and then `maps(all printable maps)`.
 *
 * @example
 * const out = createOutput('text');
 * process.stdout.write(out.attachedProbes(1)); // "Attaching 1 probe...\n"
 */
import { type Value } from '../values';
import { jsonAttachedProbes, jsonHelperError, jsonLostEvents, jsonLostMapUpdates, jsonMessage } from './json';
import { type MapDump, type PrintOptions, mapJson, mapText, mapsJson, mapsText, printValueJson, printValueText } from './maps';

export type OutputMode = 'text' | 'json';

export interface OutputFormatter {
  readonly mode: OutputMode;
  /** "Attaching N probes..." */
  attachedProbes(n: number): string;
  /** "Lost N events" — for every batch of events the kernel side could not deliver. */
  lostEvents(n: number | bigint): string;
  /** Updates of user map `map` the kernel refused (map full or out of memory), counted since the last report. */
  lostMapUpdates(map: string, n: bigint, maxEntries: number): string;
  /** Output of printf(): already formatted by formatPrintf; text mode prints it as-is. */
  printf(text: string): string;
  /** Output of time(): already formatted by strftime. */
  time(text: string): string;
  /** Output of join(): text mode adds a newline. */
  join(text: string): string;
  /** Output of cat(). */
  cat(text: string): string;
  /** Output of system(). */
  syscall(text: string): string;
  /** print(@m, top, div) during the run. */
  map(m: MapDump, opts?: PrintOptions): string;
  /** print(value) of a non-map value. */
  value(v: Value): string;
  /** What bpftrace prints between the end of tracing and the final maps: "\n\n" (in JSON mode too). */
  exitPreamble(): string;
  /** All maps at exit, ordered by name. */
  maps(ms: readonly MapDump[]): string;
  /** A helper call failed in the kernel (bpftrace's helper_error): `helper` like "map_update_elem". */
  helperError(helper: string, retcode: number, line: number, col: number, errnoText?: string): string;
}

class TextOutput implements OutputFormatter {
  readonly mode = 'text' as const;
  attachedProbes(n: number): string { return `Attaching ${n} probe${n === 1 ? '' : 's'}...\n`; }
  lostEvents(n: number | bigint): string { return `Lost ${n} events\n`; }
  lostMapUpdates(map: string, n: bigint, maxEntries: number): string {
    // bpftrace's sentence first, then what was lost and what to do
    return `WARNING: Map full; can't update element: lost ${n} map update${n === 1n ? '' : 's'} to ${map} (it holds ${maxEntries} keys; config = { max_map_keys = N } or a map declaration raises it), or out of memory\n`;
  }
  printf(text: string): string { return text; }
  time(text: string): string { return text; }
  join(text: string): string { return text + '\n'; }
  cat(text: string): string { return text; }
  syscall(text: string): string { return text; }
  map(m: MapDump, opts?: PrintOptions): string { return mapText(m, opts); }
  value(v: Value): string { return printValueText(v); }
  exitPreamble(): string { return '\n\n'; }
  maps(ms: readonly MapDump[]): string { return mapsText(ms); }
  helperError(helper: string, retcode: number, line: number, col: number, errnoText?: string): string {
    const why = retcode < 0 ? `${errnoText ?? 'error'} (${retcode})` : String(retcode);
    return `${line}:${col}: WARNING: Failed to ${helper}: ${why}\n`;
  }
}

class JsonOutput implements OutputFormatter {
  readonly mode = 'json' as const;
  attachedProbes(n: number): string { return jsonAttachedProbes(n); }
  lostEvents(n: number | bigint): string { return jsonLostEvents(n); }
  lostMapUpdates(map: string, n: bigint, maxEntries: number): string { return jsonLostMapUpdates(map, n, maxEntries); }
  printf(text: string): string { return jsonMessage('printf', text); }
  time(text: string): string { return jsonMessage('time', text); }
  join(text: string): string { return jsonMessage('join', text); }
  cat(text: string): string { return jsonMessage('cat', text); }
  syscall(text: string): string { return jsonMessage('syscall', text); }
  map(m: MapDump, opts?: PrintOptions): string { return mapJson(m, opts); }
  value(v: Value): string { return printValueJson(v); }
  exitPreamble(): string { return '\n\n'; }
  maps(ms: readonly MapDump[]): string { return mapsJson(ms); }
  helperError(helper: string, retcode: number, line: number, col: number): string {
    return jsonHelperError(helper, retcode, line, col);
  }
}

/** The formatter for bpftrace's `-f text` (default) or `-f json`. */
export function createOutput(mode: OutputMode): OutputFormatter {
  return mode === 'json' ? new JsonOutput() : new TextOutput();
}
