/**
 * dcsnoop: one line per failed directory entry cache lookup (d_lookup
 * returning nothing), or with -a per lookup_fast reference too; needs
 * kprobes. Output as bcc dcsnoop: FILE is the name looked up, as far as
 * 64 bytes go (for a reference, the rest of the path from that component).
 */
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { intOf, runToolProgram, strOf, toolEvent } from './common/script';
import { lookupFast } from './dcstat';

export interface DcsnoopOptions {
  all: boolean;
  ebpf: boolean;
}

/** bcc's MAX_FILE_LEN. */
const MAX_FILE_LEN = 64;

export const DC_EVENT = toolEvent('dcsnoop', {
  ns: ['%d', 'nsecs'], pid: ['%d', 'pid'], comm: ['%s', 'comm'], type: ['%s', '$type'], file: ['%s', '$file'],
});

export function dcsnoopProgram(o: DcsnoopOptions, fast: string): string {
  // lookup_fast(struct nameidata *nd, ...): nd->last is the component being looked up (its name runs to the path's end).
  const refs = o.all
    ? `kprobe:${fast}\n{\n  $type = "R";\n  $file = str(((struct nameidata *)arg0)->last.name, ${MAX_FILE_LEN});\n  ${DC_EVENT.send()}\n}\n\n`
    : '';
  return `${refs}// d_lookup(parent, name): remember the name's qstr until it returns.
kprobe:d_lookup
{
  @dc_name[tid] = arg1;
}

kretprobe:d_lookup /@dc_name[tid] != 0/
{
  if (retval == 0) {
    $type = "M";
    $file = str(((struct qstr *)@dc_name[tid])->name, ${MAX_FILE_LEN});
    ${DC_EVENT.send()}
  }
  delete(@dc_name[tid]);
}
`;
}

export const DCSNOOP_HEADER = `${'TIME(s)'.padEnd(11)} ${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} T FILE\n`;

const mod: ToolModule<DcsnoopOptions> = {
  description: 'Trace directory entry cache (dcache) lookups: failed ones, or all with -a; needs kprobes.',
  category: 'fs',
  spec: {
    name: 'dcsnoop',
    summary: 'Trace directory entry cache (dcache) lookups',
    options: [{ short: 'a', long: 'all', dest: 'all', kind: 'flag', help: 'trace all lookups (default is fails only)' }, EBPF_OPTION],
    examples: ['dcsnoop           # trace failed dcache lookups', 'dcsnoop -a        # trace all dcache lookups'],
    notes: 'Follows bcc: T is M for a miss (d_lookup found nothing) and R for a reference (lookup_fast, with -a).\n' +
      'A path component missing from a directory for the first time is a miss where the kernel calls d_lookup for it\n' +
      '(creating, unlinking, renaming; plain lookups go from lookup_fast to the file system). libbpf-tools has no dcsnoop.',
  },
  options(a: ParsedArgs): DcsnoopOptions {
    return { all: a.flag('all'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    if (!o.ebpf && !hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'dcsnoop needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    const program = dcsnoopProgram(o, o.all ? lookupFast('dcsnoop', o.ebpf) : 'lookup_fast');
    if (o.ebpf) return Promise.resolve(printProgram(program));
    // TIME(s) counts from the start, as bcc's does: the kernel's nsecs and Node's hrtime are both CLOCK_MONOTONIC.
    let start = 0n;
    return runToolProgram({
      name: 'dcsnoop',
      program,
      banner: DCSNOOP_HEADER,
      onStart: () => (start = process.hrtime.bigint()),
      on: [DC_EVENT.handle((e, rt) => {
        const t = Number(intOf(e.ns) - start) / 1e9;
        rt.print(`${t.toFixed(6).padEnd(11)} ${String(intOf(e.pid)).padEnd(7)} ${strOf(e.comm).padEnd(16)} ${strOf(e.type)} ${strOf(e.file)}\n`);
      })],
    });
  },
};

export const dcsnoop = mod;
export const tool = defineTool(mod);
