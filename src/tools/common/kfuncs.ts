/**
 * Which kernel function a kprobe tool attaches to: kernels rename the
 * functions the tools probe (add_to_page_cache_lru became filemap_add_folio,
 * mark_page_accessed folio_mark_accessed), so a tool lists its candidates,
 * newest first, and takes the first one the running kernel can kprobe.
 */
import { runningKernel } from '../../target/kernel';

let known: Set<string> | undefined;

/** Whether a kprobe can attach to this kernel function (available_filter_functions, else kallsyms). */
export function kprobeable(name: string): boolean {
  known ??= new Set(runningKernel().kprobeFunctions());
  return known.has(name);
}

/**
 * The first of `names` the running kernel can kprobe; when it lists none of
 * them (the function list is unreadable, or --ebpf on a kernel without them)
 * undefined, and the caller uses the newest name or reports what is missing.
 */
export function firstKprobeable(names: readonly string[]): string | undefined {
  return names.find(kprobeable);
}

/** The kprobe-able kernel functions whose names match (compiler clones: name.constprop.N, name.isra.N). */
export function kprobeableMatching(re: RegExp): string[] {
  known ??= new Set(runningKernel().kprobeFunctions());
  return [...known].filter((f) => re.test(f));
}
