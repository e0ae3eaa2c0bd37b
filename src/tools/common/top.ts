/**
 * The screen of bcc's "top" tools (biotop, filetop): every interval the
 * screen is cleared (bcc runs `clear`; -C prints a blank line instead), then
 * the time and /proc/loadavg, then the table; "Detaching..." after the last.
 */
import * as fs from 'node:fs';
import type { OptSpec, PositionalSpec } from './args';
import { clockTime } from './hist';

/** What `clear` writes on a VT100-style terminal: home, erase the screen and the scroll-back. */
export const CLEAR = '\x1b[H\x1b[2J\x1b[3J';

export const TOP_OPTIONS: OptSpec[] = [
  { short: 'C', long: 'noclear', dest: 'noclear', kind: 'flag', help: "don't clear the screen" },
  { short: 'r', long: 'maxrows', dest: 'maxrows', kind: 'int', metavar: 'MAXROWS', min: 1, help: 'maximum rows to print, default 20' },
];

export const TOP_POSITIONALS: PositionalSpec[] = [
  { name: 'interval', kind: 'int', min: 1, help: 'output interval, in seconds' },
  { name: 'count', kind: 'int', min: 1, help: 'number of outputs' },
];

/** The lines above a top tool's table: a clear (or a blank line) and "HH:MM:SS loadavg: ...", then a blank line. */
export function topPreamble(clear: boolean, now: Date = new Date()): string {
  let load = '';
  try {
    load = fs.readFileSync('/proc/loadavg', 'utf8');
  } catch {
    load = '?\n';
  }
  return `${clear ? CLEAR : '\n'}${clockTime(now).padEnd(8)} loadavg: ${load}\n`;
}

export const topBanner = (interval: number): string => `Tracing... Output every ${interval} secs. Hit Ctrl-C to end\n`;
