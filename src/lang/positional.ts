/**
 * Positional parameters ($1, $2, ...) as bpftrace reads them: a parameter is
 * an integer when it is all decimal digits, 0x-hex, or 0-prefixed octal
 * (`0775` is 509), optionally negative; anything else is a string.
 */

/** The integer value of a positional parameter, or undefined when it is a string. */
export function positionalInt(p: string): bigint | undefined {
  const m = /^(-?)(0x[0-9a-f]+|0[0-7]+|\d+)$/i.exec(p);
  if (!m) return undefined;
  const digits = m[2];
  const v = /^0[0-7]+$/.test(digits) ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
  return m[1] ? -v : v;
}
