/**
 * Script output straight to fd 1 and 2 with write(2). Creating process.stdout
 * and process.stderr (a net.Socket each when they are pipes) costs ~2.5 ms of
 * CPU at start-up, and on Linux those streams write synchronously anyway, so a
 * script run writes its bytes itself and creates a stream only if something
 * else asks for it. An fd that would block (a non-blocking pipe, EAGAIN) hands
 * the rest, and everything after, to the stream, so order is kept. A closed
 * pipe (`tsbpf ... | head`) ends the run quietly, as main.ts does for streams.
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
        if (code === 'EPIPE') process.exit(0);
        if (code !== 'EAGAIN') throw e;
        stream = fd === 1 ? process.stdout : process.stderr;
        stream.write(b);
        return;
      }
    }
  };
}

/**
 * Runs `fn` with process.stdout or process.stderr when something first uses it,
 * instead of creating it now (Node defines both as configurable lazy getters).
 */
export function whenCreated(name: 'stdout' | 'stderr', fn: (s: NodeJS.WriteStream) => void): void {
  const d = Object.getOwnPropertyDescriptor(process, name);
  if (!d?.get || !d.configurable) {
    fn(process[name]);
    return;
  }
  const create = d.get;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      Object.defineProperty(process, name, d);
      const s = create.call(process) as NodeJS.WriteStream;
      fn(s);
      return s;
    },
  });
}
