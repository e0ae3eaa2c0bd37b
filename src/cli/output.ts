/**
 * Where the CLI's output goes besides fd 1 and 2 (those are written by
 * src/sys/fdwrite.ts): streams created only when first used, and -o FILE,
 * which never follows a link or writes a file that another user planted in a
 * world-writable directory (openOutputFile). A failed write ends the run with
 * one sentence and exit 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { errorText, outputFailed } from '../sys/fdwrite';

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

/** -o FILE cannot be opened: one sentence for the user. */
export class OutputError extends UserError {}

/**
 * A world-writable sticky directory (/tmp, /var/tmp, /dev/shm): anyone may
 * create names there, so a name's owner says who planted it.
 */
function isSharedDir(st: fs.Stats): boolean {
  return (st.mode & 0o1000) !== 0 && (st.mode & 0o002) !== 0;
}

/**
 * Refuses what the kernel's protected_symlinks / protected_regular would
 * refuse, whether or not those sysctls are on: in a shared directory, a
 * symlink or an existing file owned by neither us nor the directory's owner.
 */
function checkPlanted(file: string, st: fs.Stats, dir: fs.Stats): void {
  if (!isSharedDir(dir)) return;
  const me = process.geteuid?.() ?? 0;
  if (st.uid === me || st.uid === dir.uid) return;
  const what = st.isSymbolicLink() ? 'a symbolic link' : 'a file';
  throw new OutputError(`refusing to write to ${file}: it is ${what} owned by uid ${st.uid} in the world-writable directory ${path.dirname(file)}`);
}

/** Opens -o FILE for writing (created 0644, truncated). Throws OutputError with one sentence. */
export function openOutputFile(file: string): number {
  const dirName = path.dirname(path.resolve(file));
  let dir: fs.Stats;
  try {
    dir = fs.statSync(dirName);
  } catch (e) {
    throw new OutputError(`cannot open output file ${file}: ${errorText(e)}`);
  }
  let link: fs.Stats | undefined;
  try {
    link = fs.lstatSync(file);
  } catch {
    // absent: created below
  }
  if (link) checkPlanted(file, link, dir);
  const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_NOCTTY } = fs.constants; // libuv adds O_CLOEXEC itself
  // A link checked above is followed; otherwise O_NOFOLLOW keeps a link planted
  // between the check and the open from being followed.
  const flags = O_WRONLY | O_CREAT | O_NOCTTY | (link?.isSymbolicLink() ? 0 : O_NOFOLLOW);
  let fd: number;
  try {
    fd = fs.openSync(file, flags, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new OutputError(`cannot open output file ${file}: it is a directory`);
    throw new OutputError(`cannot open output file ${file}: ${errorText(e)}`);
  }
  try {
    // The file opened may not be the one checked (a race in the shared directory): check what was opened.
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new OutputError(`cannot open output file ${file}: it is a directory`);
    if (isSharedDir(dir) && !link?.isSymbolicLink()) checkPlanted(file, st, dir);
    if (st.isFile()) fs.ftruncateSync(fd, 0);
  } catch (e) {
    fs.closeSync(fd);
    if (e instanceof OutputError) throw e;
    throw new OutputError(`cannot open output file ${file}: ${errorText(e)}`);
  }
  return fd;
}

/** Writes all of `b` to `fd`; a failure ends the process with one sentence (exit handlers still detach). */
export function writeOrExit(fd: number, b: Uint8Array, what: string): void {
  try {
    let off = 0;
    while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
  } catch (e) {
    outputFailed(what, e);
  }
}
