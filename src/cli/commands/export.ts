/**
 * `tsbpf export [--listen ADDR] [--config FILE] (FILE.bt | -e 'PROGRAM' | TOOL [ARGS] [--])...`:
 * serves the maps of scripts and tools as Prometheus metrics until SIGTERM
 * (src/export/ does the work; this is the command line).
 */
import type { ExporterOptions, ScriptSource } from '../../export/config';
import { UserError } from '../../errors';

const HELP = `Usage: tsbpf export [OPTIONS] (FILE.bt | -e 'PROGRAM' | TOOL [ARGS] [--])...

Serves the maps of scripts and tools as Prometheus metrics (GET /metrics, the
text format or OpenMetrics as the scraper asks) until SIGTERM or Ctrl-C.
count()/sum() are counters, hist()/lhist() histograms, avg()/stats() summaries,
min()/max()/values gauges; map keys are labels named after the key expressions.

OPTIONS:
    --listen ADDR        HOST:PORT, [IPV6]:PORT, or :PORT for every interface
                         (default 127.0.0.1:9435)
    --config FILE        YAML: listen, series_limit, scripts (see README,
                         "Metrics for a fleet")
    --series-limit N     series per metric (default 10000); the rest are
                         dropped and counted in tsbpf_series_dropped
    --name NAME          metric prefix of the next script or tool (default:
                         the file's or tool's name, 'script' for -e)
    -e PROGRAM           a program
    TOOL [ARGS]          a tool with its flags; '--' ends its flags

EXAMPLES:
    tsbpf export biolatency -D -- -e 'tracepoint:raw_syscalls:sys_enter { @calls[comm] = count(); }'
    tsbpf export --config /etc/tsbpf/export.yaml
`;

class ExportUsageError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface ExportArgs {
  help: boolean;
  listen?: string;
  config?: string;
  seriesLimit?: number;
  sources: ScriptSource[];
}

export function parseExportArgs(argv: readonly string[], isTool: (name: string) => boolean): ExportArgs {
  const a: ExportArgs = { help: false, sources: [] };
  let name: string | undefined;
  const add = (s: ScriptSource): void => {
    a.sources.push(name !== undefined ? { ...s, name } : s);
    name = undefined;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new ExportUsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        a.help = true;
        continue;
      case '--listen':
        a.listen = value();
        continue;
      case '--config':
        a.config = value();
        continue;
      case '--series-limit': {
        const v = value();
        const n = Number(v);
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new ExportUsageError(`--series-limit expects a positive integer, got '${v}'`);
        a.seriesLimit = n;
        continue;
      }
      case '--name':
        name = value();
        continue;
      case '-e':
        add({ program: value() });
        continue;
      case '--':
        continue;
    }
    if (arg.startsWith('-')) throw new ExportUsageError(`unknown option '${arg}' (see 'tsbpf export -h')`);
    if (!arg.includes('/') && !arg.endsWith('.bt') && isTool(arg)) {
      const args: string[] = [];
      while (i + 1 < argv.length && argv[i + 1] !== '--') args.push(argv[++i]);
      add({ tool: arg, args });
      continue;
    }
    add({ file: arg });
  }
  if (name !== undefined) throw new ExportUsageError(`--name ${name} names no script: put it before a script, -e or tool`);
  return a;
}

export async function run(argv: string[]): Promise<number> {
  const { toolNames } = require('../../tools/registry') as typeof import('../../tools/registry');
  const tools = new Set(toolNames());
  const a = parseExportArgs(argv, (n) => tools.has(n));
  if (a.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { parseConfig, readTrustedFile } = require('../../export/config') as typeof import('../../export/config');
  const fromFile = a.config !== undefined ? parseConfig(readTrustedFile(a.config, 'config'), a.config) : { scripts: [] };
  const opts: ExporterOptions = {
    ...fromFile,
    scripts: [...fromFile.scripts, ...a.sources],
    listen: a.listen ?? fromFile.listen,
    seriesLimit: a.seriesLimit ?? fromFile.seriesLimit,
  };
  if (process.getuid && process.getuid() !== 0) {
    process.stderr.write('tsbpf: BPF tracing needs root (CAP_BPF and CAP_PERFMON): run with sudo\n');
    return 1;
  }
  const { exporter } = require('../../export/exporter') as typeof import('../../export/exporter');
  // a signal while starting stops it once started, through the same clean detach
  let close: (() => void) | undefined;
  let stopRequested = false;
  const stop = (): void => (close ? close() : void (stopRequested = true));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);
  const ex = await exporter(opts);
  close = () => void ex.close();
  if (stopRequested) close();
  process.stderr.write(`tsbpf export: serving ${opts.scripts.length} script${opts.scripts.length === 1 ? '' : 's'} on ${ex.url}\n`);
  return ex.done;
}
