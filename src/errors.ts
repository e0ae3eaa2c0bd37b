/**
 * The one base class of tsbpf's errors. Every error class derives from
 * TsbpfError and says what kind of failure it reports, so the CLI decides by
 * type (not by matching names) what the user sees:
 *
 * - 'user': the input was wrong (script, flags, a binary or pid that does not
 *   fit). One sentence, non-zero exit.
 * - 'environment': the machine cannot do it (missing kernel feature, refused
 *   syscall, tracefs absent). One sentence naming what is missing.
 * - 'internal': a bug in tsbpf. "internal error", with the stack under TSBPF_DEBUG=1.
 *
 * `cause` (ES2022) carries the lower-level error a message was made from.
 */
export type ErrorKind = 'user' | 'environment' | 'internal';

export abstract class TsbpfError extends Error {
  abstract readonly kind: ErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input, told in one sentence. */
export class UserError extends TsbpfError {
  readonly kind: ErrorKind = 'user';
}

/** Something the machine lacks or refuses, told in one sentence. */
export class EnvironmentError extends TsbpfError {
  readonly kind: ErrorKind = 'environment';
}

/** A tsbpf bug: a state the code should never reach. */
export class InternalError extends TsbpfError {
  readonly kind: ErrorKind = 'internal';
}

/** True for errors whose message is meant for the user as it is (user and environment errors). */
export function isExplained(e: unknown): e is TsbpfError {
  return e instanceof TsbpfError && e.kind !== 'internal';
}
