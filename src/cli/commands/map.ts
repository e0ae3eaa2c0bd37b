/**
 * `tsbpf map list|show [ID]`, `tsbpf map dump ID`: BPF maps and their
 * contents, as `bpftool map show` / `bpftool map dump` print them (hex bytes,
 * or keys and values formatted by type for maps that carry BTF).
 */
import { dumpMap, formatDumpBtfPlain, formatDumpJson, formatDumpPlain, formatMapPlain, listMaps, mapJson, mapKvBtf } from '../../inspect/map';
import { UsageError, commonFlags, guarded, listOrShow, out, takeId } from '../../inspect/cliutil';

const HELP = `Usage: tsbpf map { list | show } [ID | id ID] [-j|--json] [-p|--pretty]
       tsbpf map dump { ID | id ID } [-j|--json] [-p|--pretty]

  list, show   every BPF map (or one): id, type, name, flags, key/value sizes,
               max_entries, memlock, btf_id, holders
  dump         every element: key and value bytes (one value per CPU for
               per-CPU maps), then the element count; for maps with BTF,
               keys and values formatted by type (JSON adds "formatted")
`;

export async function run(argv: string[]): Promise<number> {
  return guarded('map', () => {
    const f = commonFlags(argv);
    if (f.help) {
      out(HELP);
      return 0;
    }
    const args = [...f.rest];
    const sub = args.shift() ?? 'list';
    if (sub === 'list' || sub === 'show') return listOrShow('map', args, f, listMaps, mapJson, formatMapPlain);
    if (sub === 'dump') {
      const id = takeId(args, 'map');
      if (id === undefined) throw new UsageError("which map? 'tsbpf map dump ID' (ids from 'tsbpf map list')");
      if (args.length) throw new UsageError(`unexpected argument '${args[0]}' (try 'tsbpf map -h')`);
      const { info, elements } = dumpMap(id);
      const btf = mapKvBtf(info);
      if (f.json) out(formatDumpJson(info, elements, btf, f.pretty) + '\n');
      else if (btf) out(formatDumpBtfPlain(info, elements, btf));
      else out(formatDumpPlain(info, elements));
      return 0;
    }
    throw new UsageError(`unknown subcommand '${sub}' (list, show, dump; try 'tsbpf map -h')`);
  });
}
