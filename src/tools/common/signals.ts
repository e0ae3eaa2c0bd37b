/** Signal numbers and names (x86-64 Linux, from Node's os.constants.signals). */
import * as os from 'node:os';
import { ToolError } from '../tool';

const BY_NAME = os.constants.signals as Record<string, number>;
const BY_NUMBER = new Map<number, string>();
for (const [name, n] of Object.entries(BY_NAME)) if (!BY_NUMBER.has(n) && name !== 'SIGIOT' && name !== 'SIGPOLL') BY_NUMBER.set(n, name);

/** "SIGTERM" for 15; undefined for numbers without a name (real-time signals, 0). */
export function signalName(n: number): string | undefined {
  return BY_NUMBER.get(n);
}

/** 9, "9", "KILL" or "SIGKILL" → 9; ToolError naming the flag otherwise. */
export function parseSignal(s: string, flag: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n > 64) throw new ToolError(`${flag}: signal number ${n} is out of range (0-64)`);
    return n;
  }
  const up = s.toUpperCase();
  const n = BY_NAME[up.startsWith('SIG') ? up : `SIG${up}`];
  if (n === undefined) throw new ToolError(`${flag}: unknown signal '${s}' (use a number or a name like SIGTERM)`);
  return n;
}
