/**
 * vfscount: counts of every kernel vfs_* function call, from kprobes;
 * output as bcc vfscount (needs kprobes).
 */
import type { MapDump } from '../runtime/format/maps';
import { kernelSymbols } from '../ebpf/symbolize';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { runToolProgram, strOf } from './common/script';

export interface VfscountOptions {
  duration?: number;
  ebpf: boolean;
}

export const vfscountProgram = (): string => 'kprobe:vfs_*\n{\n  @vfs_counts[func] = count();\n}\n';

/** Function name → address, from kallsyms (the one reader, ebpf/symbolize). */
function kallsymsAddrs(names: Set<string>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  try {
    const ks = kernelSymbols();
    for (const name of names) {
      const a = ks.address(name);
      if (a !== undefined) out.set(name, a);
    }
  } catch {
    // addresses hidden: they print as 0 then
  }
  return out;
}

export function vfscountReport(m: MapDump | undefined): string {
  let s = `\n${'ADDR'.padEnd(16)} ${'FUNC'.padEnd(26)} ${'COUNT'.padStart(8)}\n`;
  if (!m || m.kind !== 'count') return s;
  const rows = m.entries.map((e) => ({ name: strOf(e.key[0]), n: e.value })).sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  const addrs = kallsymsAddrs(new Set(rows.map((r) => r.name)));
  for (const r of rows) s += `${(addrs.get(r.name) ?? 0n).toString(16).padEnd(16)} ${r.name.padEnd(26)} ${String(r.n).padStart(8)}\n`;
  return s;
}

const mod: ToolModule<VfscountOptions> = {
  description: 'Count VFS calls (every vfs_* kernel function); needs kprobes.',
  category: 'fs',
  spec: {
    name: 'vfscount',
    summary: 'Count VFS calls ("vfs_*").',
    options: [EBPF_OPTION],
    positionals: [{ name: 'time', kind: 'int', min: 1, help: 'seconds to trace (default: until Ctrl-C)' }],
    examples: ['vfscount             # count VFS calls until Ctrl-C', 'vfscount 10          # count for 10 seconds'],
    notes: 'Follows bcc (kprobes on ^vfs_.*). libbpf-tools has no vfscount.',
  },
  options(a: ParsedArgs): VfscountOptions {
    return { duration: a.int('time'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = vfscountProgram();
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (!hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'vfscount needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES (vfsstat --syscalls counts the syscalls instead)');
    return runToolProgram({
      name: 'vfscount',
      program,
      banner: 'Tracing... Ctrl-C to end.\n',
      duration: o.duration,
      report: (rt) => rt.print(vfscountReport(rt.map('@vfs_counts'))),
    });
  },
};

export const vfscount = mod;
export const tool = defineTool(mod);
