/**
 * Block devices by name and by kernel dev_t (block tracepoints carry the
 * kernel's dev_t: major << 20 | minor, not the userspace encoding).
 */
import * as fs from 'node:fs';
import { ToolError } from '../tool';

export interface Disk {
  name: string;
  major: number;
  minor: number;
  /** Kernel-internal dev_t as in block tracepoints' `dev` field. */
  dev: number;
}

/** Kernel dev_t from major/minor (MKDEV in include/linux/kdev_t.h). */
export function kdev(major: number, minor: number): number {
  return major * 2 ** 20 + minor;
}

/** Every block device under /sys/class/block. */
export function listDisks(): Disk[] {
  let names: string[];
  try {
    names = fs.readdirSync('/sys/class/block');
  } catch {
    return [];
  }
  const out: Disk[] = [];
  for (const name of names) {
    try {
      const [ma, mi] = fs.readFileSync(`/sys/class/block/${name}/dev`, 'utf8').trim().split(':').map(Number);
      out.push({ name, major: ma, minor: mi, dev: kdev(ma, mi) });
    } catch {
      // A device that vanished while listing.
    }
  }
  return out;
}

/** The disk called `name` (as in /dev/NAME); ToolError when there is none. */
export function diskByName(name: string): Disk {
  const d = listDisks().find((x) => x.name === name.replace(/^\/dev\//, ''));
  if (!d) throw new ToolError(`invalid disk name: ${name} (no such block device in /sys/class/block)`);
  return d;
}

/** Name of the disk with kernel dev_t `dev`, or undefined. */
export function diskNameOf(dev: number | bigint, disks: Disk[] = listDisks()): string | undefined {
  const n = Number(dev);
  return disks.find((d) => d.dev === n)?.name;
}
