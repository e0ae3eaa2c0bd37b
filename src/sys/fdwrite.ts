/**
 * Output straight to fd 1 and 2 with write(2). Creating process.stdout and
 * process.stderr (a net.Socket each when they are pipes) costs ~2.5 ms of CPU
 * at start-up, and on Linux those streams write synchronously anyway, so a
 * script run or a tool writes its bytes itself and a stream is created only if
 * something else asks for it. An fd that would block (a non-blocking pipe,
 * EAGAIN) hands the rest, and everything after, to the stream, so order is
 * kept. A closed pipe (`tsbpf ... | head`) ends the run quietly, as for any
 * Unix filter; any other failed write (disk full, EIO, /dev/full) ends it with
 * one sentence and exit 1 (the exit handlers still detach everything).
 */
import * as fs from 'node:fs';

export type Writer = (b: Uint8Array) => void;

export function fdWriter(fd: 1 | 2): Writer {
  let stream: NodeJS.WriteStream | undefined;
  return (data) => {
    if (stream) {
      stream.write(data);
      return;
    }
    let b = data;
    while (b.length) {
      try {
        b = b.subarray(fs.writeSync(fd, b));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN') outputFailed(fd === 1 ? 'stdout' : 'stderr', e);
        stream = fd === 1 ? process.stdout : process.stderr;
        stream.write(b);
        return;
      }
    }
  };
}

/** "no space left on device" from Node's "ENOSPC: no space left on device, write". */
export function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const m = /^[A-Z0-9]+: (.*?)(?:, \w+(?: '.*')?)?$/.exec(err.message ?? '');
  return m ? m[1] : String(err.message ?? e);
}

/** Reports a failed output write and exits 1 (a closed pipe is not a failure: exit 0, as Unix filters do). */
export function outputFailed(what: string, e: unknown): never {
  if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0);
  try {
    fs.writeSync(2, `tsbpf: cannot write the output to ${what}: ${errorText(e)}\n`);
  } catch {
    // stderr is gone too: the exit code still tells
  }
  process.exit(1);
}
