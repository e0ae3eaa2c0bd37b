/**
 * The kernel a script is compiled for, passed in: `compile(source, { target })`.
 *
 * Everything the compiler needs to know about the machine — kernel BTF,
 * kallsyms, tracepoint formats and lists, the functions kprobes can attach to,
 * kernel features and the architecture — is asked of a Target, never read from
 * /sys or /proc directly. One implementation per source (`KernelTarget` reads
 * the running kernel, lazily, each source once; `RecordedTarget` replays
 * answers recorded from a kernel, for unit tests that must pass unprivileged
 * and on any machine).
 *
 * Below src/lang and src/runtime, above src/ebpf and src/sys: it imports only
 * from those and from src/arch.
 */
import type { Arch } from '../arch';
import type { Btf } from '../ebpf/btf';
import type { TracepointFormat, TracepointName } from '../sys/tracefs';

/**
 * A feature answer. 'unknown' carries why the question could not be answered
 * (no BTF to look in, a probe refused with EPERM when not root, ...), so a
 * caller can say so instead of guessing.
 */
export type FeatureAnswer =
  | { readonly state: 'yes' }
  | { readonly state: 'no' }
  | { readonly state: 'unknown'; readonly error: string };

/** The parts of the BTF reader the compiler uses (a recorded target answers exactly these). */
export type KernelBtf = Pick<Btf, 'enumerator' | 'find' | 'findMember' | 'findPrefix' | 'funcParams' | 'kind' | 'memberOffset' | 'resolve' | 'sizeOf' | 'type' | 'typeName'>;

export interface Target {
  /** What this target describes, for messages ('the running kernel 6.18.4', 'recording …'). */
  readonly description: string;
  /** Kernel release (uname -r). */
  readonly release: string;
  readonly arch: Arch;
  /** The kernel's BTF; throws an Error that says why it is unavailable. */
  btf(): KernelBtf;
  /** Address of a kernel symbol (first in kallsyms), undefined when unknown or hidden. */
  kernelSymbolAddress(name: string): bigint | undefined;
  /**
   * Kernel functions a kprobe can attach to, sorted: available_filter_functions
   * (kallsyms text symbols when tracefs is unreadable) minus the kprobe blacklist.
   */
  kprobeFunctions(): readonly string[];
  /** Tracepoint categories (events/ subdirectories), sorted. */
  tracepointCategories(): readonly string[];
  /** Tracepoints whose category and event match the wildcards, sorted by category then event. */
  tracepoints(categoryGlob?: string, eventGlob?: string): TracepointName[];
  /** A tracepoint's record format; throws UnknownTracepointError when it does not exist. */
  tracepointFormat(category: string, event: string): TracepointFormat;
  /** Whether the kernel has a feature (a name of sys/features' featureNames). */
  feature(name: string): FeatureAnswer;
  /** Syscall tracepoint name (without sys_enter_) → number; null when unknown for this architecture. */
  syscallNumbers(): ReadonlyMap<string, number> | null;
}

/** True only for a definite yes. */
export function has(target: Target, feature: string): boolean {
  return target.feature(feature).state === 'yes';
}

/** The target's BTF, or null when it has none (kernel pointers are then plain integers). */
export function optionalBtf(target: Target): KernelBtf | null {
  try {
    return target.btf();
  } catch {
    return null;
  }
}
