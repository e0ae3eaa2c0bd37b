/**
 * `tsbpf stats on [-- CMD ARGS...] | on --sysctl | off | status`: switch BPF
 * run-time statistics (run_time_ns/run_cnt in `tsbpf prog list`).
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { holdStats, setSysctlStats, sysctlStatsEnabled } from '../../inspect/stats';
import { UsageError, guarded, out } from '../../inspect/cliutil';

const HELP = `Usage: tsbpf stats on [-- CMD [ARGS...]]
       tsbpf stats on --sysctl
       tsbpf stats off
       tsbpf stats status

  on            statistics on while this command runs (BPF_ENABLE_STATS):
                until Ctrl-C, or while CMD runs (exit status is CMD's)
  on --sysctl   set kernel.bpf_stats_enabled=1: on until 'tsbpf stats off'
  off           set kernel.bpf_stats_enabled=0 (a running 'tsbpf stats on'
                keeps them on until it exits)
  status        whether the sysctl switch is on
`;

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

function runChild(cmd: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit' });
    // Ctrl-C reaches the child through the terminal; we only wait for it.
    const ignore = (): void => {};
    process.on('SIGINT', ignore);
    child.on('error', (e) => {
      process.off('SIGINT', ignore);
      reject(new UsageError(`cannot run '${cmd[0]}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : e.message}`));
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
    });
  });
}

export async function run(argv: string[]): Promise<number> {
  return guarded('stats', async () => {
    const dd = argv.indexOf('--');
    const args = dd >= 0 ? argv.slice(0, dd) : argv;
    const cmd = dd >= 0 ? argv.slice(dd + 1) : [];
    if (args.includes('-h') || args.includes('--help') || args[0] === 'help') {
      out(HELP);
      return 0;
    }
    const sub = args[0];
    if (sub === 'status' && args.length === 1) {
      out(`kernel.bpf_stats_enabled = ${sysctlStatsEnabled() ? 1 : 0}\n`);
      return 0;
    }
    if (sub === 'off' && args.length === 1) {
      if (!sysctlStatsEnabled()) {
        out('kernel.bpf_stats_enabled is already 0; statistics held on by a running \'tsbpf stats on\' stop when it exits\n');
        return 0;
      }
      setSysctlStats(false);
      out('BPF statistics off (kernel.bpf_stats_enabled = 0)\n');
      return 0;
    }
    if (sub === 'on') {
      const rest = args.slice(1);
      if (rest.length === 1 && rest[0] === '--sysctl' && !cmd.length) {
        setSysctlStats(true);
        out("BPF statistics on (kernel.bpf_stats_enabled = 1); they stay on until 'tsbpf stats off'\n");
        return 0;
      }
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}' (try 'tsbpf stats -h')`);
      if (dd >= 0 && !cmd.length) throw new UsageError("nothing to run after '--'");
      const release = holdStats();
      try {
        if (cmd.length) {
          process.stderr.write(`BPF statistics on (BPF_ENABLE_STATS) while '${cmd.join(' ')}' runs\n`);
          return await runChild(cmd);
        }
        process.stderr.write('BPF statistics on (BPF_ENABLE_STATS) until Ctrl-C\n');
        await waitForSignal();
        process.stderr.write('BPF statistics off\n');
        return 0;
      } finally {
        release();
      }
    }
    throw new UsageError(`expected 'on', 'off' or 'status' (try 'tsbpf stats -h')`);
  });
}
