/**
 * `tsbpf perf list`: which processes hold perf-event fds with BPF programs
 * attached (tracepoints, kprobes, uprobes), as `bpftool perf list` prints it.
 */
import { bpftoolJson } from '../../inspect/json';
import { formatPerfPlain, listPerfAttachments, perfJson } from '../../inspect/perf';
import { UsageError, commonFlags, guarded, out } from '../../inspect/cliutil';

const HELP = `Usage: tsbpf perf { list | show } [-j|--json] [-p|--pretty]

  Every process holding a perf-event or raw-tracepoint fd with a BPF program
  attached: pid, fd, prog_id, attach type and target (tracepoint name, kprobe
  function + offset, uprobe file + offset).
`;

export async function run(argv: string[]): Promise<number> {
  return guarded('perf', () => {
    const f = commonFlags(argv);
    if (f.help) {
      out(HELP);
      return 0;
    }
    const args = [...f.rest];
    const sub = args.shift() ?? 'list';
    if (sub !== 'list' && sub !== 'show') throw new UsageError(`unknown subcommand '${sub}' (list; try 'tsbpf perf -h')`);
    if (args.length) throw new UsageError(`unexpected argument '${args[0]}' (try 'tsbpf perf -h')`);
    const list = listPerfAttachments();
    if (f.json) out(bpftoolJson(list.map(perfJson), f.pretty) + '\n');
    else out(list.map(formatPerfPlain).join(''));
    return 0;
  });
}
