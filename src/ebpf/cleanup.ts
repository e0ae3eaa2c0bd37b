/**
 * One registry of everything tsbpf opens that must not outlive the process:
 * links, perf event fds, readers, and above all tracefs probe entries (the
 * kernel drops fds at exit but keeps kprobe_events/uprobe_events lines).
 *
 * Resources are closed in reverse order of registration: on explicit close,
 * on process exit, on SIGINT/SIGTERM/SIGHUP (then the process re-exits with
 * 128+signal, unless the application handles the signal itself), and when an
 * exception goes uncaught. Closing is synchronous and idempotent.
 *
 * @example
 *   const link = track(attachUprobe(prog, '/bin/bash', off)); // closed at exit if not before
 */

/** Anything with a synchronous, idempotent close(). */
export interface Closable {
  close(): void;
}

const live = new Set<Closable>();
let installed = false;
let closing = false;

const SIGNALS: Array<[NodeJS.Signals, number]> = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];

function onSignal(sig: NodeJS.Signals, num: number): void {
  // If the application listens too (e.g. print maps on Ctrl-C), it owns the
  // exit; our 'exit' hook still releases everything when it does exit.
  if (process.listenerCount(sig) > 1) return;
  closeAll();
  process.exit(128 + num);
}

const signalHandlers = new Map<NodeJS.Signals, () => void>();

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', closeAll);
  process.on('uncaughtExceptionMonitor', closeAll);
  for (const [sig, num] of SIGNALS) {
    const h = () => onSignal(sig, num);
    signalHandlers.set(sig, h);
    process.on(sig, h);
  }
}

/** Registers a resource for release at exit; returns it. */
export function track<T extends Closable>(r: T): T {
  install();
  live.add(r);
  return r;
}

/** Forgets a resource (its owner closed it). */
export function untrack(r: Closable): void {
  live.delete(r);
}

/** Number of resources still registered (tests assert it drops to zero). */
export function trackedCount(): number {
  return live.size;
}

/** Errors raised by close() during closeAll, kept for diagnostics instead of masking the exit. */
export const cleanupErrors: Error[] = [];

/** Closes every registered resource, newest first. Safe to call repeatedly. */
export function closeAll(): void {
  if (closing) return;
  closing = true;
  try {
    const items = [...live].reverse();
    for (const r of items) {
      live.delete(r);
      try {
        r.close();
      } catch (e) {
        cleanupErrors.push(e as Error);
      }
    }
  } finally {
    closing = false;
  }
}

/** Removes the process hooks (for embedding applications that manage lifetime themselves). */
export function uninstallHandlers(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', closeAll);
  process.off('uncaughtExceptionMonitor', closeAll);
  for (const [sig, h] of signalHandlers) process.off(sig, h);
  signalHandlers.clear();
}
