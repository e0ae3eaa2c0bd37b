/**
 * C constants by name (issue 19 item 2): `AF_INET`, `TCP_ESTABLISHED`,
 * `EPERM`, ... A name is looked up as an enumerator of the target kernel's
 * BTF first (every kernel enum, exact for that kernel), then in the built-in
 * table of uapi #defines (constants-table.ts), so scripts using them run on
 * machines without kernel or libc headers; `__NR_name` is the architecture's
 * syscall number.
 */
import type { Target } from '../target/target';
import { optionalBtf } from '../target/target';
import { UAPI_CONSTANTS, X86_ONLY } from './constants-table';

/** The value of C constant `name` on `target`, or undefined when neither BTF nor the table knows it. */
export function cConstant(name: string, target: Target): bigint | undefined {
  let fromBtf: bigint | undefined;
  try {
    fromBtf = optionalBtf(target)?.enumerator(name);
  } catch {
    fromBtf = undefined; // a recorded target without this answer: the table still applies
  }
  if (fromBtf !== undefined) return fromBtf;
  // __NR_nanosleep: the syscall numbers of the target's architecture (<asm/unistd.h>)
  if (name.startsWith('__NR_')) {
    const nr = target.syscallNumbers()?.get(name.slice(5));
    return nr === undefined ? undefined : BigInt(nr);
  }
  if (!Object.prototype.hasOwnProperty.call(UAPI_CONSTANTS, name)) return undefined;
  if (X86_ONLY.has(name) && target.arch.name !== 'x86_64') return undefined;
  return BigInt(UAPI_CONSTANTS[name]);
}
