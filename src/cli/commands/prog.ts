/**
 * `tsbpf prog list|show [ID] [--json|-p]`, `tsbpf prog dump ID`: loaded BPF
 * programs, as `bpftool prog show` / `bpftool prog dump xlated` print them.
 */
import { bpftoolJson } from '../../inspect/json';
import { formatProgPlain, listPrograms, progJson, NoSuchProgramError } from '../../inspect/prog';
import { closeFd, progFdById, progXlatedInsns } from '../../inspect/bpfinfo';
import { UsageError, commonFlags, guarded, listOrShow, out, takeId } from '../../inspect/cliutil';
import { disassemble } from '../../ebpf/asm';
import { resolveCallTargets } from '../../inspect/kcalls';

const HELP = `Usage: tsbpf prog { list | show } [ID | id ID] [-j|--json] [-p|--pretty]
       tsbpf prog dump [xlated] { ID | id ID } [-j|--json]

  list, show   every loaded BPF program (or one): id, type, name, tag, gpl,
               loaded_at, uid, xlated/jited sizes, memlock, map ids, btf_id,
               run_time_ns/run_cnt when statistics are on (tsbpf stats on)
  dump         the program's translated instructions, disassembled
  -j, --json   JSON like 'bpftool -j'; -p, --pretty indents it
`;

export async function run(argv: string[]): Promise<number> {
  return guarded('prog', () => {
    const f = commonFlags(argv);
    if (f.help) {
      out(HELP);
      return 0;
    }
    const args = [...f.rest];
    const sub = args.shift() ?? 'list';
    if (sub === 'list' || sub === 'show') return listOrShow('prog', args, f, listPrograms, progJson, formatProgPlain);
    if (sub === 'dump') {
      if (args[0] === 'xlated') args.shift();
      else if (args[0] === 'jited') throw new UsageError("dumping JIT-compiled machine code is not supported; use 'tsbpf prog dump xlated ID'");
      const id = takeId(args, 'prog');
      if (id === undefined) throw new UsageError("which program? 'tsbpf prog dump ID' (ids from 'tsbpf prog list')");
      if (args.length) throw new UsageError(`unexpected argument '${args[0]}' (try 'tsbpf prog -h')`);
      const fd = progFdById(id);
      if (fd === undefined) throw new NoSuchProgramError(id);
      let insns: Buffer;
      try {
        insns = progXlatedInsns(fd);
      } finally {
        closeFd(fd);
      }
      if (!insns.length) throw new Error(`the kernel did not return instructions for program ${id} (kernel.kptr_restrict or missing privileges?)`);
      // In translated dumps the kernel has replaced map fds with map ids.
      const raw = disassemble(insns, { mapRef: (v, pseudo) => (pseudo === 1 ? `map[id:${v}]` : `map[id:${v}][0]`) });
      const callRe = /\) call (?:unknown|bpf_\w+)#(-?\d+)$/;
      const syms = resolveCallTargets(raw.map((l) => callRe.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])));
      const lines = raw.map((l) => l.replace(callRe, (all, imm: string) => {
        const sym = syms.get(Number(imm));
        return sym ? `) call ${sym}#${imm}` : all;
      }));
      // bpftool -j keeps the opcode inside the text and drops the index.
      if (f.json) out(bpftoolJson(lines.map((l) => ({ disasm: l.replace(/^\s*\d+: /, '') })), f.pretty) + '\n');
      else out(lines.join('\n') + '\n');
      return 0;
    }
    throw new UsageError(`unknown subcommand '${sub}' (list, show, dump; try 'tsbpf prog -h')`);
  });
}
