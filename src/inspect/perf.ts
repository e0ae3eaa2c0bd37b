/**
 * `perf list`: which processes hold perf-event (and raw tracepoint) fds with
 * BPF programs attached, like `bpftool perf list`: walk every /proc/PID/fd
 * and ask the kernel with BPF_TASK_FD_QUERY.
 */
import { FD_TYPE_NAMES, taskFdQuery } from './bpfinfo';
import { fdTarget, fdsOf, pids } from './procfs';
import type { JsonValue } from './json';

export interface PerfAttachment {
  pid: number;
  fd: number;
  progId: number;
  /** BPF_FD_TYPE_*: 0 raw_tracepoint, 1 tracepoint, 2 kprobe, 3 kretprobe, 4 uprobe, 5 uretprobe. */
  fdType: number;
  /** Tracepoint name, kprobe function, or uprobe file. */
  name: string;
  probeOffset: bigint;
  probeAddr: bigint;
}

/** Fd link targets worth asking about; everything else cannot carry a perf-attached program. */
function maybeAttached(target: string | undefined): boolean {
  return target === undefined || target.startsWith('anon_inode:');
}

/** Every (pid, fd) with an attached program, in pid then fd order. */
export function listPerfAttachments(): PerfAttachment[] {
  const out: PerfAttachment[] = [];
  for (const pid of pids()) {
    for (const fd of fdsOf(pid)) {
      // Skipping regular files and sockets avoids thousands of pointless syscalls on a busy host.
      if (!maybeAttached(fdTarget(pid, fd))) continue;
      const q = taskFdQuery(pid, fd);
      if (!q) continue;
      out.push({ pid, fd, ...q });
    }
  }
  return out;
}

/** One `bpftool perf list` line (with newline). */
export function formatPerfPlain(a: PerfAttachment): string {
  let s = `pid ${a.pid}  fd ${a.fd}: prog_id ${a.progId}  `;
  switch (a.fdType) {
    case 0: return s + `raw_tracepoint  ${a.name}\n`;
    case 1: return s + `tracepoint  ${a.name}\n`;
    case 2:
    case 3: {
      const kind = a.fdType === 2 ? 'kprobe' : 'kretprobe';
      return s + (a.name ? `${kind}  func ${a.name}  offset ${a.probeOffset}\n` : `${kind}  addr ${a.probeAddr}\n`);
    }
    case 4: return s + `uprobe  filename ${a.name}  offset ${a.probeOffset}\n`;
    case 5: return s + `uretprobe  filename ${a.name}  offset ${a.probeOffset}\n`;
    default: return s + `type ${a.fdType}\n`;
  }
}

/** One `bpftool -j perf list` object. */
export function perfJson(a: PerfAttachment): JsonValue {
  const o: { [k: string]: JsonValue } = { pid: a.pid, fd: a.fd, prog_id: a.progId };
  const t = FD_TYPE_NAMES[a.fdType];
  if (t === undefined) return o;
  o.fd_type = t;
  if (a.fdType <= 1) o.tracepoint = a.name;
  else if (a.fdType <= 3) {
    if (a.name) {
      o.func = a.name;
      o.offset = a.probeOffset;
    } else o.addr = a.probeAddr;
  } else {
    o.filename = a.name;
    o.offset = a.probeOffset;
  }
  return o;
}
