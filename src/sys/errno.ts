import * as os from 'node:os';
import { EnvironmentError } from '../errors';

const names = new Map<number, string>();
for (const [name, num] of Object.entries(os.constants.errno)) names.set(num as number, name);

/** 'EPERM' for 1, etc. */
export function errnoName(errno: number): string {
  return names.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

const messages: Record<string, string> = {
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
  ENOENT: 'no such file or directory',
  EINVAL: 'invalid argument',
  E2BIG: 'argument list too long',
  ENOSPC: 'no space left',
  EBADF: 'bad file descriptor',
  EEXIST: 'already exists',
  ENOTSUPP: 'operation not supported',
  EOPNOTSUPP: 'operation not supported',
  ENOMEM: 'out of memory',
  EBUSY: 'device or resource busy',
  ESRCH: 'no such process',
  EFAULT: 'bad address',
  ENODEV: 'no such device',
  ENXIO: 'no such device or address',
  EAGAIN: 'resource temporarily unavailable',
};

/** A system call failure: carries the syscall name and errno. */
export class SyscallError extends EnvironmentError {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    const what = messages[code] ?? code;
    super(`${syscall}${detail ? ` (${detail})` : ''}: ${what} (${code})`);
    this.name = 'SyscallError';
    this.errno = Math.abs(errno);
    this.code = code;
    this.syscall = syscall;
  }
}

/** Throws a SyscallError when r < 0, else returns r. */
export function check(syscall: string, r: number, detail?: string): number {
  if (r < 0) throw new SyscallError(syscall, -r, detail);
  return r;
}
