/**
 * In translated (xlated) program dumps the kernel has rewritten helper call
 * immediates into offsets from __bpf_call_base, so the helper id is gone;
 * bpftool names the target through /proc/kallsyms, and so do we (through the
 * one kallsyms reader, ebpf/symbolize).
 */
import { kernelSymbols, type KernelSymbols } from '../ebpf/symbolize';

/** Maps each call immediate to the kernel symbol it points at (missing when kallsyms hides addresses). */
export function resolveCallTargets(imms: number[]): Map<number, string> {
  const out = new Map<number, string>();
  if (!imms.length) return out;
  let ks: KernelSymbols;
  try {
    ks = kernelSymbols();
  } catch {
    return out; // addresses hidden (not root)
  }
  const base = ks.address('__bpf_call_base');
  if (base === undefined) return out;
  for (const imm of imms) {
    const s = ks.lookup(base + BigInt(imm));
    if (s && s.offset === 0 && !out.has(imm)) out.set(imm, s.name);
  }
  return out;
}
