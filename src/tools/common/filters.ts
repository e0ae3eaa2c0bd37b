/**
 * Flag values shared by several tools, checked before anything is loaded:
 * a user given by name or number (bcc's -u), a PID that must exist (-p), and
 * a cgroup v2 directory turned into the id `cgroup` compares against
 * (libbpf-tools' -c CGROUP).
 */
import * as fs from 'node:fs';
import { ToolError } from '../tool';

/** A UID from a number or a user name in /etc/passwd (bcc's parse_uid). */
export function parseUser(s: string, flag = '-u'): number {
  if (/^\d+$/.test(s)) return Number(s);
  let passwd = '';
  try {
    passwd = fs.readFileSync('/etc/passwd', 'utf8');
  } catch {
    // no passwd file: only numbers work
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === s && /^\d+$/.test(f[2] ?? '')) return Number(f[2]);
  }
  throw new ToolError(`${flag}: '${s}' is not a valid UID or user name`);
}

/** Refuses a PID that names no running process (tracing it would silently show nothing). */
export function requireProcess(pid: number | undefined, flag = '-p'): void {
  if (pid === undefined) return;
  if (!fs.existsSync(`/proc/${pid}`)) throw new ToolError(`${flag}: no process with PID ${pid}`);
}

/** The cgroup id (cgroup v2 directory inode) of a cgroup path, as bpf_get_current_cgroup_id() reports it. */
export function cgroupId(path: string, flag = '-c'): bigint {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(path, { bigint: true });
  } catch (e) {
    throw new ToolError(`${flag}: cannot open cgroup ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isDirectory()) throw new ToolError(`${flag}: ${path} is not a cgroup directory`);
  let fsType = '';
  try {
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    const real = fs.realpathSync(path);
    let best = '';
    for (const line of mounts.split('\n')) {
      const f = line.split(' ');
      const sep = f.indexOf('-');
      if (sep < 0) continue;
      const mnt = f[4];
      if ((real === mnt || real.startsWith(mnt.endsWith('/') ? mnt : mnt + '/')) && mnt.length >= best.length) {
        best = mnt;
        fsType = f[sep + 1];
      }
    }
  } catch {
    // unknown: trust the caller
    fsType = 'cgroup2';
  }
  if (fsType !== 'cgroup2') throw new ToolError(`${flag}: ${path} is not in a cgroup v2 hierarchy`);
  return st.ino;
}
