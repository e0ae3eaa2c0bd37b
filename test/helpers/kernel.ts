/**
 * Kernel-test gating. Kernel tests need root and a BPF-capable kernel. Without
 * them they skip loudly; with TSBPF_REQUIRE_KERNEL=1 (CI, the VM lane) a skip
 * is a failure, so a lane cannot pass by skipping everything.
 */
import { test, type TestContext } from 'node:test';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export const requireKernel = process.env.TSBPF_REQUIRE_KERNEL === '1';

function kernelUnavailableReason(): string | undefined {
  if (process.getuid && process.getuid() !== 0) return 'not running as root';
  if (!fs.existsSync('/sys/kernel/btf/vmlinux') && !fs.existsSync('/proc/kallsyms')) return 'no kernel interfaces visible';
  return undefined;
}

/**
 * Features the current kernel is expected to have, named in TSBPF_EXPECT_FEATURES
 * (comma separated, e.g. "kprobes,fentry" in the VM lane). A test gated on an
 * expected feature fails instead of skipping when the feature is missing.
 */
export const expectedFeatures = new Set((process.env.TSBPF_EXPECT_FEATURES ?? '').split(',').map((s) => s.trim()).filter(Boolean));

type Fn = (t: TestContext) => Promise<void> | void;

/**
 * How much slower this machine runs than the one the time budgets were set on:
 * the VM lane measures it (test/vm/init, JavaScript under emulation against the
 * host) and exports it; 1 elsewhere. Test timeouts are multiplied by it.
 */
export const timeScale = Math.max(1, Number(process.env.TSBPF_TIME_SCALE) || 1);

/** Inside the VM lane (test/vm/run), whose initramfs carries node and a few tools only. */
export const inVm = process.env.TSBPF_IN_VM === '1';

/**
 * Inside the VM lane without `program` (prometheus, python3, npm: the host suite has
 * them, CI installs them), skips the test with that reason and returns true;
 * elsewhere false, so a missing program fails the test as before.
 */
export function skipInVmWithout(t: TestContext, program: string): boolean {
  if (!inVm || !spawnSync(program, ['--version'], { stdio: 'ignore' }).error) return false;
  t.skip(`${program} is not in the VM lane (the host suite runs this test)`);
  return true;
}

/** A test that needs root and BPF. */
export function kernelTest(name: string, fn: Fn, opts: { timeout?: number } = {}): void {
  const why = kernelUnavailableReason();
  if (why && !requireKernel) {
    test(name, { skip: `KERNEL TEST SKIPPED: ${why}` }, () => {});
    return;
  }
  test(name, { timeout: (opts.timeout ?? 60_000) * timeScale }, async (t) => {
    if (why) throw new Error(`kernel test cannot run (${why}) but TSBPF_REQUIRE_KERNEL=1`);
    await fn(t);
  });
}

/**
 * A kernel test that needs an optional feature (e.g. 'kprobes'). `has` decides
 * whether the running kernel offers it. Missing → skip, unless the feature is
 * listed in TSBPF_EXPECT_FEATURES, then fail.
 */
export function featureTest(name: string, feature: string, has: () => boolean, fn: Fn, opts: { timeout?: number } = {}): void {
  kernelTest(name, async (t) => {
    if (!has()) {
      if (expectedFeatures.has(feature)) throw new Error(`feature '${feature}' is expected on this kernel but missing`);
      t.skip(`FEATURE SKIPPED: ${feature} not available on this kernel`);
      return;
    }
    await fn(t);
  }, opts);
}

/**
 * The comm of a live process, as the kernel reports it (what BPF's comm reads).
 * Tests compare against this rather than 'node': Node 24 names its main thread
 * 'MainThread', which changes a node process's comm.
 */
export function commOf(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
}
