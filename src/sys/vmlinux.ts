/**
 * The one reader of the running kernel's BTF, /sys/kernel/btf/vmlinux:
 * read once per process and shared by the BTF parser (src/ebpf/btf.ts) and the
 * feature probes (which live below it and only need FUNC ids).
 */
import * as fs from 'node:fs';
import { btfGetFdById, btfGetNextId, btfInfo, closeFd } from './bpf';
import { native } from './native';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

let bytes: Buffer | undefined;

/** The raw BTF blob; throws the read error (ENOENT: the kernel has no BTF). */
export function vmlinuxBtfBytes(): Buffer {
  return (bytes ??= mapped() ?? fromKernelObject() ?? fs.readFileSync(VMLINUX_BTF));
}

/**
 * The kernel's own pages of the blob, mapped read-only (Linux 6.16+ lets
 * /sys/kernel/btf/vmlinux be mmap'ed, for any user who may read it): no copy and
 * no fresh memory, where the copy below costs 5.5 MB of page faults and memcpy
 * at every start that needs BTF. The BTF reader never writes into its buffer
 * (a write would fault). Undefined on older kernels (EACCES/EINVAL) or addons.
 */
function mapped(): Buffer | undefined {
  try {
    const m = native().mapReadOnly?.(VMLINUX_BTF);
    return m instanceof ArrayBuffer ? Buffer.from(m) : undefined;
  } catch {
    return undefined; // no addon: the reads below still work
  }
}

/**
 * The same bytes copied by the kernel in one bpf(BPF_OBJ_GET_INFO_BY_FD) call:
 * sysfs hands the file out a page per read(2), ~1,350 calls and ~5 ms of CPU for
 * vmlinux's 5.5 MB, a fifth of a tool's start-up budget. Opening the BTF object
 * by id needs CAP_SYS_ADMIN (root); undefined when that or anything else fails,
 * and the file is read instead.
 */
function fromKernelObject(): Buffer | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  try {
    const size = fs.statSync(VMLINUX_BTF).size;
    // vmlinux is the first BTF object the kernel registers (id 1); a few more looks cost little.
    for (let id = btfGetNextId(0), tries = 0; id !== undefined && tries < 4; id = btfGetNextId(id), tries++) {
      const fd = btfGetFdById(id);
      try {
        const head = btfInfo(fd);
        if (!head.kernelBtf || head.name !== 'vmlinux') continue;
        if (head.btfSize !== size) return undefined;
        const data = btfInfo(fd, true).data;
        return data && data.length === size ? data : undefined;
      } finally {
        closeFd(fd);
      }
    }
  } catch {
    // not permitted, no BTF objects, an old kernel: the file has the same bytes
  }
  return undefined;
}
