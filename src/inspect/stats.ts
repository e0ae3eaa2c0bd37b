/**
 * BPF run-time statistics (run_time_ns / run_cnt per program). The kernel
 * keeps them off by default because they cost two clock reads per program
 * run. Two switches exist: the BPF_ENABLE_STATS fd (on while any such fd is
 * open, so it cannot be left on by accident) and the kernel.bpf_stats_enabled
 * sysctl (on until someone writes 0).
 */
import * as fs from 'node:fs';
import { closeFd, enableRunTimeStats } from './bpfinfo';

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** Whether the sysctl switch is on (the fd switch is not observable from outside). */
export function sysctlStatsEnabled(): boolean {
  try {
    return fs.readFileSync(SYSCTL, 'utf8').trim() !== '0';
  } catch {
    return false;
  }
}

/** Sets kernel.bpf_stats_enabled. */
export function setSysctlStats(on: boolean): void {
  fs.writeFileSync(SYSCTL, on ? '1' : '0');
}

/**
 * Turns statistics on until the returned function is called.
 * @example const off = holdStats(); try { await work(); } finally { off(); }
 */
export function holdStats(): () => void {
  const fd = enableRunTimeStats();
  let open = true;
  return () => {
    if (open) closeFd(fd);
    open = false;
  };
}
