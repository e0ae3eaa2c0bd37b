/**
 * The one reader of the running kernel's BTF, /sys/kernel/btf/vmlinux:
 * read once per process and shared by the BTF parser (src/ebpf/btf.ts) and the
 * feature probes (which live below it and only need FUNC ids).
 */
import * as fs from 'node:fs';
import { btfGetFdById, btfGetNextId, btfInfo, closeFd } from './bpf';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

let bytes: Buffer | undefined;

/** The raw BTF blob; throws the read error (ENOENT: the kernel has no BTF). */
export function vmlinuxBtfBytes(): Buffer {
  return (bytes ??= fromKernelObject() ?? fs.readFileSync(VMLINUX_BTF));
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
