/**
 * The file a read or write went to, as filetop and fileslower show it: from
 * the `struct file *` argument of vfs_read/vfs_write (kprobes), or, in their
 * --syscalls approximation (no kprobes), from the syscall's fd looked up in
 * /proc/PID/fd by the tool (the language cannot follow the fd table), and
 * the syscalls that stand in for vfs_read/vfs_write there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tpExists } from './tp';

/** include/uapi/linux/stat.h */
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFSOCK = 0o140000;

/** bcc's T column from a file's mode: R regular, S socket, O anything else. */
export type FileType = 'R' | 'S' | 'O';

export function fileTypeOfMode(mode: number): FileType {
  const t = mode & S_IFMT;
  return t === S_IFREG ? 'R' : t === S_IFSOCK ? 'S' : 'O';
}

/** tsbpf expressions over a `struct file *` held in variable `f` (a kprobe's arg0 cast). */
export const fileExpr = (f: string) => ({
  mode: `${f}->f_inode->i_mode`,
  isRegular: `((${f}->f_inode->i_mode & ${S_IFMT}) == ${S_IFREG})`,
  /** The file type bits (S_IFMT) of its mode. */
  format: `(${f}->f_inode->i_mode & ${S_IFMT})`,
  nameLen: `${f}->f_path.dentry->d_name.len`,
  /** bcc copies DNAME_INLINE_LEN (32) bytes of the last path component. */
  name: `str(${f}->f_path.dentry->d_name.name, 33)`,
  ino: `${f}->f_inode->i_ino`,
  dev: `${f}->f_inode->i_sb->s_dev`,
  rdev: `${f}->f_inode->i_rdev`,
  parentIno: `${f}->f_path.dentry->d_parent->d_inode->i_ino`,
});

/** From fileExpr().format (or a variable holding it): 0 regular, 1 socket, 2 other (typeCode() turns it back into R/S/O). */
export const typeOfFormat = (v: string) => `(${v} == ${S_IFREG} ? 0 : (${v} == ${S_IFSOCK} ? 1 : 2))`;

export const typeCode = (n: bigint): FileType => (n === 0n ? 'R' : n === 1n ? 'S' : 'O');

/** bcc: a name longer than the 32 bytes copied loses its last 3 characters to "...". */
export function dname(name: string, len: bigint | number): string {
  return Number(len) > 32 ? `${name.slice(0, 32).slice(0, -3)}...` : name;
}

export interface FdFile {
  name: string;
  type: FileType;
  ino: number;
  parentIno?: number;
}

/** What /proc/PID/fd/FD points to now (undefined once it was closed or the process is gone). */
export function fdFile(pid: number, fd: number): FdFile | undefined {
  const link = `/proc/${pid}/fd/${fd}`;
  try {
    const target = fs.readlinkSync(link);
    const st = fs.statSync(link);
    const type = fileTypeOfMode(st.mode);
    let parentIno: number | undefined;
    let name = target;
    if (target.startsWith('/')) {
      name = path.basename(target.replace(/ \(deleted\)$/, ''));
      try {
        parentIno = fs.statSync(path.dirname(target)).ino;
      } catch {
        // the directory is gone too
      }
    }
    return { name, type, ino: st.ino, parentIno };
  } catch {
    return undefined;
  }
}

/** The syscalls that call vfs_read/vfs_write with a user buffer and a size: what --syscalls traces. */
export function rwSyscalls(kind: 'read' | 'write'): string[] {
  const all = kind === 'read' ? ['read', 'pread64'] : ['write', 'pwrite64'];
  return all.filter((sc) => tpExists('syscalls', `sys_enter_${sc}`));
}

export const SYSCALLS_NOTE =
  '--syscalls is tsbpf\'s own approximation for kernels without kprobes: it traces the read, pread64, write and pwrite64\n' +
  'syscalls (the callers of vfs_read/vfs_write), and names each file by looking its fd up in /proc/PID/fd when it\n' +
  'reports, so a file closed by then is not named (shown with -a only, as "[fd N]", type ?).';
