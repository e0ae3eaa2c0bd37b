/**
 * Shared plumbing for the introspection commands: flag parsing for the
 * handful of bpftool-like flags, and turning failures into one sentence on
 * stderr (a user never sees a stack trace for their own mistake).
 */
import { SyscallError } from '../sys/errno';
import { bpftoolJson, type JsonValue } from './json';
import { UserError } from '../errors';

/** A mistake in how the command was invoked: printed as-is, exit status 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CommonFlags {
  json: boolean;
  pretty: boolean;
  help: boolean;
  /** Everything that is not one of the common flags, in order. */
  rest: string[];
}

/** Pulls -j/--json, -p/--pretty (implies JSON, like bpftool) and -h/--help out of argv. */
export function commonFlags(argv: string[]): CommonFlags {
  const out: CommonFlags = { json: false, pretty: false, help: false, rest: [] };
  for (const a of argv) {
    if (a === '-j' || a === '--json') out.json = true;
    else if (a === '-p' || a === '--pretty') {
      out.json = true;
      out.pretty = true;
    } else if (a === '-h' || a === '--help' || a === 'help') out.help = true;
    else out.rest.push(a);
  }
  return out;
}

/** Parses an object id given as `N` or `id N`; consumes from `args`. */
export function takeId(args: string[], what: string): number | undefined {
  if (!args.length) return undefined;
  if (args[0] === 'id') args.shift();
  const s = args.shift();
  if (s === undefined) throw new UsageError(`expected a ${what} id after 'id'`);
  if (!/^\d+$/.test(s) || Number(s) <= 0 || Number(s) > 0xffffffff) throw new UsageError(`'${s}' is not a ${what} id (a positive number, as shown by 'tsbpf ${what} list')`);
  return Number(s);
}

/** One sentence for a failure, with what the user can do about it. */
export function describeError(cmd: string, e: unknown): string {
  if (e instanceof SyscallError && (e.code === 'EPERM' || e.code === 'EACCES')) {
    return `tsbpf ${cmd}: ${e.message}; BPF introspection needs root (or CAP_SYS_ADMIN + CAP_BPF)`;
  }
  if (e instanceof Error) return `tsbpf ${cmd}: ${e.message}`;
  return `tsbpf ${cmd}: ${String(e)}`;
}

/** Runs a command body, mapping thrown errors to a message and an exit status. */
export async function guarded(cmd: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    process.stderr.write(describeError(cmd, e) + '\n');
    return e instanceof UsageError ? 2 : 1;
  }
}

/** Writes to stdout, tolerating a closed pipe (`tsbpf prog list | head`). */
export function out(text: string): void {
  try {
    process.stdout.write(text);
  } catch {
    /* EPIPE: the reader went away, nothing useful left to do */
  }
}

/**
 * `tsbpf prog|map list|show [ID]`: every object of a kind (or one), as
 * bpftool prints them in text or JSON. `args` has the subcommand removed.
 */
export function listOrShow<T>(
  kind: 'prog' | 'map', args: string[], f: CommonFlags,
  list: (ids?: number[]) => T[], json: (x: T) => JsonValue, plain: (x: T) => string,
): number {
  const id = takeId(args, kind);
  if (args.length) throw new UsageError(`unexpected argument '${args[0]}' (try 'tsbpf ${kind} -h')`);
  const xs = list(id === undefined ? undefined : [id]);
  if (f.json) out(bpftoolJson(id === undefined ? xs.map(json) : json(xs[0]), f.pretty) + '\n');
  else out(xs.map(plain).join(''));
  return 0;
}
