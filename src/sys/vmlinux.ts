/**
 * The one reader of the running kernel's BTF file, /sys/kernel/btf/vmlinux:
 * read once per process and shared by the BTF parser (src/ebpf/btf.ts) and the
 * feature probes (which live below it and only need FUNC ids).
 */
import * as fs from 'node:fs';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

let bytes: Buffer | undefined;

/** The raw BTF blob; throws the read error (ENOENT: the kernel has no BTF). */
export function vmlinuxBtfBytes(): Buffer {
  return (bytes ??= fs.readFileSync(VMLINUX_BTF));
}
