/**
 * bcc's `--ebpf` flag: print the program the tool would load and exit. Our
 * tools' programs are tsbpf (bpftrace language) text, so that is what prints.
 */
import type { OptSpec } from './args';

export const EBPF_OPTION: OptSpec = { long: 'ebpf', dest: 'ebpf', kind: 'flag', help: "print the tool's program (tsbpf language) and exit" };

/** Writes the program text; the tool returns this as its exit code. */
export function printProgram(text: string): number {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return 0;
}
