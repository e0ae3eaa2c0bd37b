/**
 * A tiny BPF object of our own for the introspection tests, loaded with raw
 * bpf(2) so the tests depend on nothing but the native addon: an array map
 * and a tracepoint program that adds 1 to element 0 each time it runs in
 * one process,
 * attached with perf_event_open to one tracepoint for one thread.
 */
import * as fs from 'node:fs';
import { native } from '../../src/sys/native';
import { check } from '../../src/sys/errno';

function insn(code: number, dst: number, src: number, off: number, imm: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = code;
  b[1] = (src << 4) | dst;
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
}

export interface Counter {
  mapFd: number;
  progFd: number;
  perfFd?: number;
  close(): void;
}

export function tracefsRoot(): string {
  for (const p of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) if (fs.existsSync(`${p}/events`)) return p;
  throw new Error('tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)');
}

/**
 * Loads the counting program (name `progName`, map `mapName`), counting only process `tgid`, without attaching it.
 * With `countOthers`, element 1 counts the runs for every other process (a tracepoint program runs for all of
 * them, and the kernel's run_cnt includes those runs: tests bound run_cnt with it on a busy machine).
 */
export function loadCounter(progName: string, mapName: string, tgid = process.pid, countOthers = false): Counter {
  const n = native();
  const attr = Buffer.alloc(128);
  attr.writeUInt32LE(2, 0); // BPF_MAP_TYPE_ARRAY
  attr.writeUInt32LE(4, 4);
  attr.writeUInt32LE(8, 8);
  attr.writeUInt32LE(countOthers ? 2 : 1, 12);
  attr.write(mapName, 28, 15, 'latin1');
  const mapFd = check('bpf(MAP_CREATE)', n.bpf(0, attr));
  const insns = Buffer.concat([
    // A program on a tracepoint runs for every task, whatever pid its perf event names: filter ourselves.
    insn(0x85, 0, 0, 0, 14), // call get_current_pid_tgid
    insn(0x77, 0, 0, 0, 32), // r0 >>= 32 (tgid)
    ...(countOthers
      ? [
        insn(0xb7, 1, 0, 0, 0), // r1 = 0 (our element)
        insn(0x15, 0, 0, 1, tgid), // if r0 == tgid goto +1
        insn(0xb7, 1, 0, 0, 1), // r1 = 1 (everyone else's)
        insn(0x63, 10, 1, -4, 0), // *(u32 *)(r10 - 4) = r1
      ]
      : [
        insn(0x55, 0, 0, 9, tgid), // if r0 != tgid goto exit
        insn(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0
      ]),
    insn(0x18, 1, 1, 0, mapFd), insn(0, 0, 0, 0, 0), // r1 = map
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -4), // r2 += -4
    insn(0x85, 0, 0, 0, 1), // call map_lookup_elem
    insn(0x15, 0, 0, 2, 0), // if r0 == 0 goto +2
    insn(0xb7, 1, 0, 0, 1), // r1 = 1
    insn(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
    insn(0xb7, 0, 0, 0, 0), // r0 = 0
    insn(0x95, 0, 0, 0, 0), // exit
  ]);
  const license = Buffer.from('GPL\0');
  const log = Buffer.alloc(65536);
  const pa = Buffer.alloc(128);
  pa.writeUInt32LE(5, 0); // BPF_PROG_TYPE_TRACEPOINT
  pa.writeUInt32LE(insns.length / 8, 4);
  pa.writeUInt32LE(1, 24);
  pa.writeUInt32LE(log.length, 28);
  pa.write(progName, 48, 15, 'latin1');
  const progFd = n.bpf(5, pa, [[pa, 8, insns], [pa, 16, license], [pa, 32, log]]);
  if (progFd < 0) {
    n.close(mapFd);
    throw new Error(`program load failed (${-progFd}): ${log.toString('latin1').replace(/\0.*$/s, '')}`);
  }
  return {
    mapFd,
    progFd,
    close() {
      if (this.perfFd !== undefined) n.close(this.perfFd);
      n.close(progFd);
      n.close(mapFd);
    },
  };
}

/** Attaches the counter to tracepoint `category:name` for thread `tid` (all CPUs). */
export function attachTracepoint(c: Counter, category: string, name: string, tid: number): void {
  const n = native();
  const id = Number(fs.readFileSync(`${tracefsRoot()}/events/${category}/${name}/id`, 'utf8'));
  const attr = Buffer.alloc(128);
  attr.writeUInt32LE(2, 0); // PERF_TYPE_TRACEPOINT
  attr.writeUInt32LE(128, 4);
  attr.writeBigUInt64LE(BigInt(id), 8);
  attr.writeBigUInt64LE(1n, 16); // sample_period
  attr.writeUInt32LE(1, 48); // wakeup_events
  const fd = check('perf_event_open', n.perfEventOpen(attr, tid, -1, -1, 8 /* PERF_FLAG_FD_CLOEXEC */));
  c.perfFd = fd;
  check('ioctl(PERF_EVENT_IOC_SET_BPF)', n.ioctl(fd, 0x40042408, c.progFd));
  check('ioctl(PERF_EVENT_IOC_ENABLE)', n.ioctl(fd, 0x2400, 0));
}

/** The counter's value (element 0 of its map). */
export function readCounter(c: Counter, element = 0): bigint {
  const attr = Buffer.alloc(128);
  attr.writeUInt32LE(c.mapFd, 0);
  const key = Buffer.alloc(4);
  key.writeUInt32LE(element, 0);
  const val = Buffer.alloc(8);
  check('bpf(MAP_LOOKUP_ELEM)', native().bpf(1, attr, [[attr, 8, key], [attr, 16, val]]));
  return val.readBigUInt64LE(0);
}
