/**
 * Which Linux capabilities this process has (its effective set, from
 * /proc/self/status), so a non-root run is judged as the kernel judges it:
 * bpftrace 0.25+ checks capabilities, not the uid.
 *
 * @example
 *   missingCapabilities(['CAP_BPF', 'CAP_PERFMON']); // [] as root, ['CAP_PERFMON'] with CAP_BPF only
 */
import * as fs from 'node:fs';

/** Capability numbers (linux/capability.h) of the ones tsbpf may need. */
export const CAPABILITIES = {
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

export type CapabilityName = keyof typeof CAPABILITIES;

/** The effective capability set as a bit mask (0n when /proc is unreadable). */
export function effectiveCapabilities(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

export function hasCapability(name: CapabilityName, caps = effectiveCapabilities()): boolean {
  return ((caps >> BigInt(CAPABILITIES[name])) & 1n) === 1n;
}

/**
 * The capabilities of `needed` this process lacks. CAP_SYS_ADMIN stands in for
 * CAP_BPF and CAP_PERFMON, as on kernels before 5.8.
 */
export function missingCapabilities(needed: readonly CapabilityName[], caps = effectiveCapabilities()): CapabilityName[] {
  if (hasCapability('CAP_SYS_ADMIN', caps)) needed = needed.filter((n) => n !== 'CAP_BPF' && n !== 'CAP_PERFMON');
  return needed.filter((n) => !hasCapability(n, caps));
}
