/** Small text helpers shared by the tools' output code. */
import type { Value } from '../../runtime/values';
import { valueText } from '../../runtime/values';

/** A decoded map key as the tools print it (components joined by ', '). */
export function keyString(key: readonly Value[]): string {
  return key.map((k) => valueText(k)).join(', ');
}

/** printf("%-Ns")-style left padding that never truncates. */
export function left(s: string | number | bigint, w: number): string {
  return String(s).padEnd(w);
}

/** printf("%Ns")-style right alignment that never truncates. */
export function right(s: string | number | bigint, w: number): string {
  return String(s).padStart(w);
}

/** printf("%-8.3f"). */
export function fixed(n: number, digits: number, w = 0, leftAlign = true): string {
  const s = n.toFixed(digits);
  return leftAlign ? s.padEnd(w) : s.padStart(w);
}
