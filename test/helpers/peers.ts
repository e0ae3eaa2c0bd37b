/**
 * The bpftrace peers tests and benchmarks compare with (issue 18): bpftrace
 * 0.17, Debian 12's package at /usr/bin/bpftrace, and bpftrace 0.23, Debian
 * 13's package run from a cached Debian 13 root by test/peers/bpftrace-0.23
 * (which enters the root in a private mount namespace; see that script).
 *
 * The 0.23 root is built once per machine (`test/peers/bpftrace-0.23 --build`,
 * about a minute; .ci/run does it). A test never builds it: without it the
 * 0.23 comparison is skipped loudly, and under TSBPF_REQUIRE_KERNEL=1 it fails.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, runCommand, type RunOpts, type RunResult } from './tsbpf';

export interface Peer {
  /** The version compared with, as tests and tables name it ("bpftrace 0.23"). */
  name: string;
  /** What to exec: argv[0] and the arguments before bpftrace's own. */
  command: string[];
  /** Undefined when the peer can run here; otherwise why not. */
  unavailable(): string | undefined;
}

export const bpftrace017: Peer = {
  name: 'bpftrace 0.17',
  command: ['/usr/bin/bpftrace'],
  unavailable: () => (fs.existsSync('/usr/bin/bpftrace') ? undefined : '/usr/bin/bpftrace is not installed (apt-get install bpftrace)'),
};

export const bpftrace023Script = path.join(repoRoot, 'test', 'peers', 'bpftrace-0.23');

let root023: string | null | undefined;
export const bpftrace023: Peer = {
  name: 'bpftrace 0.23',
  command: [bpftrace023Script],
  unavailable: () => {
    if (root023 === undefined) {
      const r = spawnSync(bpftrace023Script, ['--path'], { encoding: 'utf8' });
      root023 = r.status === 0 ? r.stdout.trim() : null;
    }
    return root023 ? undefined : `the Debian 13 root for bpftrace 0.23 is not built (run: ${path.relative(repoRoot, bpftrace023Script)} --build)`;
  },
};

const warned = new Set<string>();
/**
 * Whether a comparison with `peer` can run. When it cannot, says so once per
 * process on stderr (a skipped comparison must be visible), and throws under
 * TSBPF_REQUIRE_KERNEL=1, where every peer is expected to be there.
 */
export function peerAvailable(peer: Peer): boolean {
  const why = peer.unavailable();
  if (!why) return true;
  if (process.env.TSBPF_REQUIRE_KERNEL === '1' && process.env.TSBPF_IN_VM !== '1') {
    throw new Error(`${peer.name} comparison required (TSBPF_REQUIRE_KERNEL=1) but ${why}`);
  }
  if (!warned.has(peer.name)) {
    warned.add(peer.name);
    process.stderr.write(`PEER COMPARISON SKIPPED: ${peer.name}: ${why}\n`);
  }
  return false;
}

/** Runs the peer's bpftrace with the given arguments (see runCommand). */
export function runPeer(peer: Peer, args: string[], o: RunOpts = {}): Promise<RunResult> {
  return runCommand(peer.command[0], [...peer.command.slice(1), ...args], o);
}
