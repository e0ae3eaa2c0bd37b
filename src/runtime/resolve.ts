/**
 * Userspace resolution for decoded values: stack ids → symbolized frames,
 * addresses → symbols, uids → user names, probe indices → names, and boot
 * time → wall-clock time for strftime.
 */
import * as fs from 'node:fs';
import type { BpfMap } from '../ebpf/maps';
import { captureProcess, ksym, type ResolvedSymbol } from '../ebpf/symbolize';
import { native } from '../sys/native';
import type { Resolver } from './decode';
import * as V from './values';

function frameText(s: ResolvedSymbol | undefined, addr: bigint, withOffset: boolean): string {
  if (!s || !s.name) return `0x${addr.toString(16)}`; // a mapping without a symbol covering addr
  return withOffset ? `${s.name}+${s.offset}` : s.name;
}

export class ScriptResolver implements Resolver {
  private users: Map<number, string> | undefined;
  private bootOffsetNs: bigint | undefined;

  constructor(private readonly maps: () => readonly BpfMap[], private readonly probeNames: readonly string[]) {}

  /** Addresses of stack `id` from a stack_trace map (zeros end the stack). */
  private addrs(stackMap: number, id: number): bigint[] {
    if (id < 0) return [];
    const m = this.maps()[stackMap];
    const v = m?.lookup(id);
    if (!v) return [];
    const out: bigint[] = [];
    for (let o = 0; o + 8 <= v.length; o += 8) {
      const a = v.readBigUInt64LE(o);
      if (a === 0n) break;
      out.push(a);
    }
    return out;
  }

  stack(kind: 'kstack' | 'ustack', stackMap: number, id: number, pid: number, mode: 'bpftrace' | 'perf' | 'raw', limit: number): V.StackValue {
    const addrs = this.addrs(stackMap, id).slice(0, limit > 0 ? limit : undefined);
    const proc = kind === 'ustack' ? captureProcess(pid) : undefined;
    const sym = (a: bigint): ResolvedSymbol | undefined => (kind === 'kstack' ? ksym(a) : proc?.lookup(a));
    if (mode === 'raw') return V.stack(addrs.map((a) => a.toString(16)), 'raw');
    if (mode === 'perf') {
      const frames = addrs.map((a) => {
        const s = sym(a);
        const mod = s?.module ? ` (${s.module})` : kind === 'kstack' ? ' ([kernel.kallsyms])' : ' ([unknown])';
        return `${s?.name ? frameText(s, a, true) : '[unknown]'}${mod}`; // perf(1) prints unresolved frames this way
      });
      return V.stack(frames, 'perf', addrs);
    }
    return V.stack(addrs.map((a) => frameText(sym(a), a, true)), 'bpftrace');
  }

  ksym(addr: bigint): string {
    return frameText(ksym(addr), addr, false);
  }

  usym(pid: number, addr: bigint): string {
    return frameText(captureProcess(pid)?.lookup(addr), addr, false);
  }

  username(uid: number): string {
    if (!this.users) {
      this.users = new Map();
      try {
        for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
          const f = line.split(':');
          if (f.length > 2) this.users.set(Number(f[2]), f[0]);
        }
      } catch {
        // no passwd file: fall back to numbers
      }
    }
    return this.users.get(uid) ?? String(uid);
  }

  probeName(index: number): string {
    return this.probeNames[index] ?? `probe#${index}`;
  }

  /** Converts a bpf_ktime_get_boot_ns() timestamp to nanoseconds since the epoch. */
  bootToRealtime(bootNs: bigint): bigint {
    if (this.bootOffsetNs === undefined) {
      const n = native();
      this.bootOffsetNs = n.clockNs(0) - n.clockNs(7);
    }
    return bootNs + this.bootOffsetNs;
  }
}
