/**
 * Shared pieces of the fuzz suites (test/unit/fuzz-elf, test/kernel/fuzz-scripts):
 * a seeded PRNG so a failure reproduces from its seed, the run size (small in
 * CI, TSBPF_FUZZ_LONG=1 for a long development run, TSBPF_FUZZ_SEED to replay),
 * and the rule every fuzz case is judged by: a failure must be one of tsbpf's
 * explained errors (one sentence), never a raw exception, and no case may take
 * more than 5 s.
 */
import { isExplained } from '../../src/errors';

export const FUZZ_LONG = process.env.TSBPF_FUZZ_LONG === '1';
export const FUZZ_SEED = Number(process.env.TSBPF_FUZZ_SEED ?? 0x5eed1234) >>> 0;
export const CASE_LIMIT_MS = 5000;

/** xorshift32: deterministic, fast, good enough to pick mutations. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

export interface FuzzFailure {
  input: string;
  what: string;
}

/** Runs `fn`; an error that is not explained, or a case over 5 s, is a failure. */
export function judge(input: string, fn: () => void, failures: FuzzFailure[]): void {
  const t0 = Date.now();
  try {
    fn();
  } catch (e) {
    if (!isExplained(e)) {
      const err = e as Error;
      failures.push({ input, what: `${err?.name}: ${err?.message}\n${(err?.stack ?? '').split('\n').slice(1, 4).join('\n')}` });
    }
  }
  const ms = Date.now() - t0;
  if (ms > CASE_LIMIT_MS) failures.push({ input, what: `took ${ms} ms (limit ${CASE_LIMIT_MS} ms)` });
}

/** The first failures, for an assertion message. */
export function describeFailures(failures: readonly FuzzFailure[], total: number): string {
  return `${failures.length} of ${total} cases failed (seed ${FUZZ_SEED}):\n` +
    failures.slice(0, 8).map((f) => `--- ${f.input}\n${f.what}`).join('\n');
}
