/**
 * gethostlatency: latency of host name resolution calls (getaddrinfo,
 * gethostbyname, gethostbyname2) via uprobes and uretprobes on libc;
 * columns and flags as libbpf-tools gethostlatency.
 */
import { ElfFile } from '../ebpf/elf';
import { resolveLibrary } from '../ebpf/ldcache';
import { requireFeature } from '../sys/features';
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { intOf, quote, runToolProgram, strOf } from './common/script';
import { ToolError } from './tool';

export interface GethostlatencyOptions {
  pid?: number;
  libc?: string;
}

export const FUNCS = ['getaddrinfo', 'gethostbyname', 'gethostbyname2'];
const EV = '%d %d %s %s\n';

export function gethostlatencyProgram(libc: string, funcs: string[], pid?: number): string {
  const pred = pid !== undefined ? ` /pid == ${pid}/` : '';
  const path = /^[\w/.+-]+$/.test(libc) ? libc : quote(libc);
  const entry = funcs.map((f) => `uprobe:${path}:${f}`).join(',\n');
  const ret = funcs.map((f) => `uretprobe:${path}:${f}`).join(',\n');
  return `${entry}${pred}\n{\n  @start[tid] = nsecs;\n  @host[tid] = str(arg0, 80);\n}\n\n` +
    `${ret} /@start[tid] != 0/\n{\n  $d = nsecs - @start[tid];\n  printf("${EV.replace('\n', '\\n')}", pid, $d, comm, @host[tid]);\n  delete(@start[tid]);\n  delete(@host[tid]);\n}\n`;
}

export const HEADER = `${'TIME'.padEnd(8)} ${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} ${'LATms'.padEnd(10)} HOST\n`;

export function gethostlatencyLine(pid: number, ns: bigint, comm: string, host: string, now: Date): string {
  return `${clockTime(now).padEnd(8)} ${String(pid).padEnd(7)} ${comm.padEnd(16)} ${(Number(ns) / 1e6).toFixed(3).padEnd(10)} ${host}\n`;
}

const mod: ToolModule<GethostlatencyOptions> = {
  description: 'Show latency for getaddrinfo/gethostbyname[2] calls (uprobes on libc).',
  category: 'net',
  spec: {
    name: 'gethostlatency',
    summary: 'Show latency for getaddrinfo/gethostbyname[2] calls.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'Process ID to trace' },
      { short: 'l', long: 'libc', dest: 'libc', kind: 'string', metavar: 'LIBC', help: 'Specify which libc.so to use' },
      EBPF_OPTION,
    ],
    examples: [
      'gethostlatency             # time getaddrinfo/gethostbyname[2] calls',
      'gethostlatency -p 1216     # only trace PID 1216',
    ],
    notes: 'Follows libbpf-tools (columns, -l LIBC). Statically linked programs and other resolvers (musl, Go) are not seen.',
  },
  options(a: ParsedArgs): GethostlatencyOptions {
    return { pid: a.int('pid'), libc: a.str('libc') };
  },
  main(o) {
    requireFeature('uprobes');
    let libc: string;
    try {
      libc = o.libc ?? resolveLibrary('c', o.pid);
    } catch (e) {
      throw new ToolError(`cannot find libc: ${(e as Error).message} (use -l /path/to/libc.so.6)`);
    }
    const elf = ElfFile.open(libc);
    const funcs = FUNCS.filter((f) => elf.symbol(f) !== undefined);
    if (!funcs.length) throw new ToolError(`${libc} has none of ${FUNCS.join(', ')}`);
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(gethostlatencyLine(Number(intOf(v[0])), intOf(v[1]), strOf(v[2]), strOf(v[3]), new Date()));
      return true;
    };
    return runToolProgram({ name: 'gethostlatency', program: gethostlatencyProgram(libc, funcs, o.pid), banner: HEADER, onEvent });
  },
};

export const gethostlatency = mod;
export const tool = defineTool(mod);
