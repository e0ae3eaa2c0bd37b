/**
 * In translated (xlated) program dumps the kernel has rewritten helper call
 * immediates into offsets from __bpf_call_base, so the helper id is gone;
 * bpftool names the target through /proc/kallsyms, and so do we.
 */
import * as fs from 'node:fs';

/** Maps each call immediate to the kernel symbol it points at (missing when kallsyms hides addresses). */
export function resolveCallTargets(imms: number[]): Map<number, string> {
  const out = new Map<number, string>();
  if (!imms.length) return out;
  let text: string;
  try {
    text = fs.readFileSync('/proc/kallsyms', 'utf8');
  } catch {
    return out;
  }
  const base = /^([0-9a-f]+) \S __bpf_call_base$/m.exec(text);
  if (!base || /^0+$/.test(base[1])) return out;
  const b = BigInt('0x' + base[1]);
  const want = new Map<string, number>();
  for (const imm of imms) want.set((b + BigInt(imm)).toString(16).padStart(base[1].length, '0'), imm);
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    const imm = want.get(line.slice(0, sp));
    if (imm === undefined || out.has(imm)) continue;
    const name = line.slice(sp + 3).split(/[\s\t]/)[0];
    if (name) out.set(imm, name);
  }
  return out;
}
