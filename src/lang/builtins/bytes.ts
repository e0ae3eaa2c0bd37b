/**
 * Byte-level and identity functions: bswap (byte order of an integer of its
 * own width) and cgroupid (a cgroup v2 directory's id, resolved when the
 * script is compiled, as bpftrace does).
 */
import * as fs from 'node:fs';
import type { FunctionDef } from '../feature';
import { UINT64 } from '../types';

export const BYTE_FUNCTIONS: Record<string, FunctionDef> = {
  // bswap((uint16)0x1234) is 0x3412: the integer's own width decides what is swapped, and the type is kept
  bswap: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const t = c.int(e.args[0], 'bswap() argument');
      return t.kind === 'int' ? { kind: 'int', size: t.size, signed: t.signed } : UINT64;
    },
    scalar(g, e) {
      const t = g.type(e.args[0]);
      const size = t.kind === 'int' ? t.size : 8;
      const r = g.scalar(e.args[0]);
      // BPF_END to big-endian swaps on the little-endian machines BPF runs on (x86_64, arm64)
      if (size > 1) g.a.endian(r, 'be', (size * 8) as 16 | 32 | 64);
      return r;
    },
  },
  // the cgroup id of a cgroup v2 directory is its inode number (kernfs node id), which bpf_get_current_cgroup_id returns
  cgroupid: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const p = e.args[0];
      if (p.kind !== 'StringLit') return c.error('cgroupid(): the path must be a string literal', p.span);
      if (!c.firstPass) {
        try {
          if (fs.statfsSync(p.value).type !== CGROUP2_SUPER_MAGIC) c.error(`cgroupid(): ${p.value} is not on a cgroup v2 file system`, p.span);
        } catch (err) {
          c.error(`cgroupid(): cannot read ${p.value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, p.span);
        }
      }
      return UINT64;
    },
    scalar(g, e) {
      const p = e.args[0];
      const r = g.temp(e.span);
      g.a.movConst(r, p.kind === 'StringLit' ? fs.statSync(p.value, { bigint: true }).ino : 0n);
      return r;
    },
  },
};

/** statfs f_type of cgroup2 (linux/magic.h). */
const CGROUP2_SUPER_MAGIC = 0x63677270;
