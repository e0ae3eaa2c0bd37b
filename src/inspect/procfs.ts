/**
 * /proc walking for introspection: which processes hold which BPF objects
 * (what bpftool learns with its task_file iterator, learned here from
 * /proc/PID/fd links and fdinfo, which needs no BPF program of our own).
 */
import * as fs from 'node:fs';

/** A process holding a reference to a BPF object. */
export interface ObjRef {
  pid: number;
  comm: string;
}

function numericEntries(dir: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
}

/** Every pid in /proc, ascending. */
export function pids(): number[] {
  return numericEntries('/proc');
}

/** Every open fd of `pid`, ascending (empty when the process vanished or is not readable). */
export function fdsOf(pid: number): number[] {
  return numericEntries(`/proc/${pid}/fd`);
}

/** Where /proc/PID/fd/FD points, e.g. 'anon_inode:bpf-prog'; undefined when gone. */
export function fdTarget(pid: number | 'self', fd: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** The key/value lines of /proc/PID/fdinfo/FD ('memlock' → '4096'). */
export function fdinfo(pid: number | 'self', fd: number): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** The process's command name (what bpftool shows in `pids comm(pid)`). */
export function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return '';
  }
}

/**
 * Which processes hold fds to BPF programs and maps, keyed by object id.
 * Mirrors bpftool's `pids` lines: only prog/map fds count (not links), one
 * entry per process, processes in pid order.
 */
export function bpfObjectRefs(): { progs: Map<number, ObjRef[]>; maps: Map<number, ObjRef[]> } {
  const progs = new Map<number, ObjRef[]>();
  const maps = new Map<number, ObjRef[]>();
  const add = (m: Map<number, ObjRef[]>, id: number, pid: number): void => {
    let list = m.get(id);
    if (!list) m.set(id, (list = []));
    if (!list.some((r) => r.pid === pid)) list.push({ pid, comm: comm(pid) });
  };
  for (const pid of pids()) {
    for (const fd of fdsOf(pid)) {
      const target = fdTarget(pid, fd);
      if (target === 'anon_inode:bpf-prog') {
        const id = Number(fdinfo(pid, fd).get('prog_id'));
        if (id) add(progs, id, pid);
      } else if (target === 'anon_inode:bpf-map') {
        const id = Number(fdinfo(pid, fd).get('map_id'));
        if (id) add(maps, id, pid);
      }
    }
  }
  return { progs, maps };
}
