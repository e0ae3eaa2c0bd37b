/**
 * memleak: outstanding (allocated, not yet freed) memory by allocation
 * stack. With -p, uprobes on the process's allocator (libc malloc, calloc,
 * realloc, aligned_alloc, valloc, memalign, pvalloc, mmap; free and munmap);
 * without, the kernel's kmem tracepoints (kmalloc, kmem_cache_alloc, pages).
 * Flags and report as bcc memleak; --folded and --flamegraph FILE are tsbpf's.
 */
import * as fs from 'node:fs';
import type { EventSpec } from '../lang/artifact';
import { resolveLibrary } from '../ebpf/ldcache';
import { ElfFile } from '../ebpf/elf';
import type { MapDump } from '../runtime/format/maps';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram } from './common/script';
import { tpExists } from './common/tp';
import { ToolError } from './tool';

export interface MemleakOptions {
  pid?: number;
  trace: boolean;
  interval: number;
  count?: number;
  showAllocs: boolean;
  olderMs: number;
  combinedOnly: boolean;
  sampleRate: number;
  top: number;
  minSize?: number;
  maxSize?: number;
  obj: string;
  sort: 'size' | 'count';
  /** --folded: each report as folded lines (frames outermost first, outstanding bytes). */
  folded?: boolean;
  /** --flamegraph FILE: each report also written as an SVG flame graph of outstanding bytes. */
  flamegraph?: string;
  ebpf: boolean;
  /** --symbols-prefix: the allocator's symbols are PREFIX + malloc, PREFIX + free... (jemalloc's je_, say). */
  prefix?: string;
  /** Resolved allocator library and which of its functions exist (user mode). */
  lib?: string;
  have?: Set<string>;
  /** Kernel tracepoints present (kernel mode). */
  tps?: Set<string>;
}

const EV_ALLOC = 'MA %d %d\n';
const EV_FREE = 'MF %d %d\n';

function sizeFilter(o: MemleakOptions, size: string): string {
  return [o.minSize !== undefined ? `${size} >= ${o.minSize}` : '', o.maxSize !== undefined ? `${size} <= ${o.maxSize}` : '', o.sampleRate > 1 ? `nsecs % ${o.sampleRate} == 0` : ''].filter(Boolean).join(' && ');
}

/** What records one allocation: its size, time and stack by address. */
function record(o: MemleakOptions, addr: string, size: string, stack: 'ustack' | 'kstack'): string {
  const f = sizeFilter(o, size);
  const body = `@ml_size[${addr}] = ${size};\n    @ml_ts[${addr}] = nsecs;\n    @ml_stack[${addr}] = ${stack};${o.trace ? `\n    printf("${EV_ALLOC.replace('\n', '\\n')}", ${size}, ${addr});` : ''}`;
  return f ? `  if (${f}) {\n    ${body}\n  }` : `  {\n    ${body}\n  }`;
}

function release(o: MemleakOptions, addr: string): string {
  return `${o.trace ? `  if (@ml_size[${addr}] != 0) {\n    printf("${EV_FREE.replace('\n', '\\n')}", ${addr}, @ml_size[${addr}]);\n  }\n` : ''}  delete(@ml_size[${addr}]);\n  delete(@ml_ts[${addr}]);\n  delete(@ml_stack[${addr}]);`;
}

export function memleakProgram(o: MemleakOptions): string {
  const out: string[] = [];
  if (o.pid !== undefined) {
    const lib = o.lib ?? 'c';
    const sym = (f: string) => `${o.prefix ?? ''}${f}`;
    const has = (f: string) => !o.have || o.have.has(sym(f));
    const pred = ` /pid == ${o.pid}/`;
    // Sizes by entry argument; the address is the return value.
    const sized: [string, string][] = [['malloc', 'arg0'], ['calloc', 'arg0 * arg1'], ['realloc', 'arg1'], ['aligned_alloc', 'arg1'], ['valloc', 'arg0'], ['memalign', 'arg1'], ['pvalloc', 'arg0'], ['mmap', 'arg1']];
    for (const [fn, size] of sized) {
      if (!has(fn)) continue;
      out.push(`uprobe:${lib}:${sym(fn)}${pred}\n{\n  @ml_req[tid] = ${size};${fn === 'realloc' ? '\n  @ml_old[tid] = arg0;' : ''}\n  @ml_live[tid] = 1;\n}\n`);
      const failed = fn === 'mmap' ? '(int64)retval == -1' : 'retval == 0';
      out.push(`uretprobe:${lib}:${sym(fn)} /@ml_live[tid]/\n{\n  $size = @ml_req[tid];\n  $addr = retval;\n` +
        (fn === 'realloc' ? `  $old = @ml_old[tid];\n${release(o, '$old').replace(/^/gm, '')}\n  delete(@ml_old[tid]);\n` : '') +
        `  if (!(${failed})) {\n${record(o, '$addr', '$size', 'ustack').replace(/^/gm, '  ')}\n  }\n  delete(@ml_req[tid]);\n  delete(@ml_live[tid]);\n}\n`);
    }
    for (const fn of ['free', 'munmap']) if (has(fn)) out.push(`uprobe:${lib}:${sym(fn)}${pred}\n{\n${release(o, 'arg0')}\n}\n`);
    return out.join('\n');
  }
  const has = (tp: string) => !o.tps || o.tps.has(tp);
  for (const tp of ['kmalloc', 'kmalloc_node', 'kmem_cache_alloc', 'kmem_cache_alloc_node']) {
    if (has(tp)) out.push(`tracepoint:kmem:${tp}\n{\n  $addr = (uint64)args->ptr;\n  $size = args->bytes_alloc;\n${record(o, '$addr', '$size', 'kstack')}\n}\n`);
  }
  for (const tp of ['kfree', 'kmem_cache_free']) if (has(tp)) out.push(`tracepoint:kmem:${tp}\n{\n  $addr = (uint64)args->ptr;\n${release(o, '$addr')}\n}\n`);
  // Pages are keyed by page frame number, which both allocator interfaces report.
  if (has('mm_page_alloc')) out.push(`tracepoint:kmem:mm_page_alloc\n{\n  $addr = args->pfn;\n  $size = 4096 << args->order;\n${record(o, '$addr', '$size', 'kstack')}\n}\n`);
  if (has('mm_page_free')) out.push(`tracepoint:kmem:mm_page_free\n{\n  $addr = args->pfn;\n${release(o, '$addr')}\n}\n`);
  return out.join('\n');
}

export interface Outstanding {
  frames: string[];
  size: bigint;
  count: number;
}

/** Groups the live allocations older than -o by stack; with -a also lists them (smallest first, as bcc). */
export function outstanding(o: MemleakOptions, size: MapDump | undefined, ts: MapDump | undefined, stack: MapDump | undefined, nowNs: bigint): { groups: Outstanding[]; allocs: string[] } {
  const tsBy = new Map<bigint, bigint>();
  if (ts && (ts.kind === 'int' || ts.kind === 'sum' || ts.kind === 'count')) for (const e of ts.entries) tsBy.set(intOf(e.key[0]), e.value);
  const stackBy = new Map<bigint, Value>();
  if (stack?.kind === 'value') for (const e of stack.entries) stackBy.set(intOf(e.key[0]), e.value);
  const live: [bigint, bigint][] = [];
  if (size && (size.kind === 'int' || size.kind === 'sum' || size.kind === 'count')) for (const e of size.entries) live.push([intOf(e.key[0]), e.value]);
  live.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const minAge = BigInt(o.olderMs) * 1000000n;
  const groups = new Map<string, Outstanding>();
  const allocs: string[] = [];
  for (const [addr, sz] of live) {
    const t = tsBy.get(addr);
    if (t !== undefined && nowNs - minAge < t) continue;
    const st = stackBy.get(addr);
    const frames = st?.kind === 'stack' ? [...st.frames] : [];
    const k = frames.join('\n');
    const g = groups.get(k) ?? { frames, size: 0n, count: 0 };
    g.size += sz;
    g.count++;
    groups.set(k, g);
    if (o.showAllocs) allocs.push(`\taddr = ${BigInt.asUintN(64, addr).toString(16)} size = ${sz}\n`);
  }
  return { groups: [...groups.values()], allocs };
}

export function memleakReport(o: MemleakOptions, groups: Outstanding[], allocs: string[], now = new Date()): string {
  const key = (g: Outstanding) => (o.sort === 'count' ? BigInt(g.count) : g.size);
  const shown = [...groups].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).slice(-o.top);
  let s = `[${clockTime(now)}] Top ${o.top} stacks with outstanding allocations:\n`;
  s += allocs.join('');
  for (const g of shown) s += `\t${g.size} bytes in ${g.count} allocations from stack\n\t\t${(g.frames.length ? g.frames : ['stack information lost']).join('\n\t\t')}\n`;
  return s;
}

/** A group's frames outermost first, without +offsets; kernel frames marked _[k] when `kernel` (flame graph colours). */
export function memleakFlameFrames(g: Outstanding, kernel: boolean): string[] {
  const names = g.frames.map((f) => f.replace(/\+(0x[0-9a-f]+|\d+)$/i, '').trim() || '[unknown]');
  return (names.length ? names : ['[lost stack]']).reverse().map((f) => (kernel ? `${f}_[k]` : f));
}

/** --folded: one line per stack, outermost frame first, then its outstanding bytes (flamegraph.pl's input). */
export function memleakFolded(groups: Outstanding[], kernel: boolean): string {
  return groups.map((g) => `${memleakFlameFrames(g, kernel).join(';')} ${g.size}\n`).join('');
}

const mod: ToolModule<MemleakOptions> = {
  description: 'Report outstanding memory allocations by stack: user allocators with -p, kernel allocators otherwise.',
  category: 'memory',
  spec: {
    name: 'memleak',
    summary: 'Trace outstanding memory allocations that weren\'t freed.\nSupports both user-mode allocations made with libc functions and kernel-mode\nallocations made with kmalloc/kmem_cache_alloc/get_free_pages and corresponding\nmemory release functions.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'the PID to trace; if not specified, trace kernel allocs' },
      { short: 't', long: 'trace', dest: 'trace', kind: 'flag', help: 'print trace messages for each alloc/free call' },
      { short: 'a', long: 'show-allocs', dest: 'showAllocs', kind: 'flag', help: 'show allocation addresses and sizes as well as call stacks' },
      { short: 'o', long: 'older', dest: 'older', kind: 'int', metavar: 'OLDER', min: 0, help: 'prune allocations younger than this age in milliseconds' },
      { short: 'c', long: 'command', dest: 'command', kind: 'string', metavar: 'COMMAND', help: 'execute and trace the specified command (not supported here: use -p)' },
      { long: 'combined-only', dest: 'combined', kind: 'flag', help: 'show combined allocation statistics only' },
      { long: 'wa-missing-free', dest: 'waMissingFree', kind: 'flag', help: 'Workaround to alleviate misjudgments when free is missing (always on here)' },
      { short: 's', long: 'sample-rate', dest: 'sample', kind: 'int', metavar: 'SAMPLE_RATE', min: 1, help: 'sample every N-th allocation to decrease the overhead' },
      { short: 'T', long: 'top', dest: 'top', kind: 'int', metavar: 'TOP', min: 1, help: 'display only this many top allocating stacks (by size)' },
      { short: 'z', long: 'min-size', dest: 'min', kind: 'int', metavar: 'MIN_SIZE', min: 0, help: 'capture only allocations larger than or equal to this size' },
      { short: 'Z', long: 'max-size', dest: 'max', kind: 'int', metavar: 'MAX_SIZE', min: 0, help: 'capture only allocations smaller than or equal to this size' },
      { short: 'O', long: 'obj', dest: 'obj', kind: 'string', metavar: 'OBJ', help: 'attach to allocator functions in the specified object' },
      { long: 'symbols-prefix', dest: 'prefix', kind: 'string', metavar: 'SYMBOLS_PREFIX', help: 'memory allocator symbols prefix' },
      { long: 'sort', dest: 'sort', kind: 'string', metavar: 'SORT', help: 'report sorted in given key; available key list: size, count' },
      { long: 'folded', dest: 'folded', kind: 'flag', help: 'print each report as folded stacks with their outstanding bytes (tsbpf)' },
      { long: 'flamegraph', dest: 'flamegraph', kind: 'string', metavar: 'FILE', help: 'also write each report as an SVG flame graph of outstanding bytes to FILE (tsbpf)' },
      EBPF_OPTION,
    ],
    positionals: [
      { name: 'interval', kind: 'int', min: 1, help: 'interval in seconds to print outstanding allocations' },
      { name: 'count', kind: 'int', min: 1, help: 'number of times to print the report before exiting' },
    ],
    examples: [
      'memleak -p $(pidof allocs)             # trace allocations and display a summary of "leaked" (outstanding) allocations every 5 seconds',
      'memleak -p $(pidof allocs) -t          # trace allocations and display each individual allocator function call',
      'memleak -ap $(pidof allocs) 10         # trace allocations and display allocated addresses, sizes, and stacks every 10 seconds',
      'memleak -p $(pidof allocs) -z 16 -Z 32 # capture only allocations between 16 and 32 bytes',
      'memleak                                # trace kernel allocations and display a summary every 5 seconds',
      'memleak -s 5                           # trace roughly every 5th allocation, to reduce overhead',
      'memleak -p $(pidof allocs) --flamegraph leaks.svg 10 1   # one report, also drawn as a flame graph',
    ],
    notes: 'Follows bcc (a report every interval; unlike bcc, one more at Ctrl-C). Not here: -c, --percpu,\n' +
      'posix_memalign (its address comes back through a pointer). --combined-only prints the same grouping.\n' +
      '--wa-missing-free is accepted and always in effect: an allocation at an address still recorded replaces that record.\n' +
      'libbpf-tools memleak has the same report and -c, -P PERCPU, -S size; it needs kprobes for kernel mode.',
  },
  options(a: ParsedArgs): MemleakOptions {
    if (a.has('command')) throw new ToolError('-c (run a command) is not supported by this memleak: start the program and use -p PID');
    const sort = a.str('sort') ?? 'size';
    if (sort !== 'size' && sort !== 'count') throw new ToolError(`--sort: unknown key '${sort}' (available: size, count)`);
    const minSize = a.int('min');
    const maxSize = a.int('max');
    if (minSize !== undefined && maxSize !== undefined && minSize > maxSize) throw new ToolError("min_size (-z) can't be greater than max_size (-Z)");
    return {
      pid: a.int('pid'), trace: a.flag('trace'), interval: a.int('interval') ?? 5, count: a.int('count'), showAllocs: a.flag('showAllocs'),
      olderMs: a.int('older') ?? 500, combinedOnly: a.flag('combined'), sampleRate: a.int('sample') ?? 1, top: a.int('top') ?? 10,
      minSize, maxSize, obj: a.str('obj') ?? 'c', sort, folded: a.flag('folded'), flamegraph: a.str('flamegraph'), ebpf: a.flag('ebpf'),
      prefix: a.str('prefix'),
    };
  },
  main(o) {
    if (o.pid !== undefined) {
      try {
        o.lib = o.obj.includes('/') ? o.obj : resolveLibrary(o.obj, o.pid);
      } catch (e) {
        throw new ToolError(`cannot find allocator object '${o.obj}': ${(e as Error).message}`);
      }
      const names = new Set(ElfFile.open(o.lib).symbols().filter((s) => (s.type === 'FUNC' || s.type === 'IFUNC') && s.shndx !== 0).map((s) => s.name));
      o.have = names;
      const p = o.prefix ?? '';
      if (!names.has(`${p}malloc`) && !names.has(`${p}free`)) throw new ToolError(`${o.lib} has no ${p}malloc or ${p}free to trace`);
    } else {
      o.tps = new Set(['kmalloc', 'kmalloc_node', 'kfree', 'kmem_cache_alloc', 'kmem_cache_alloc_node', 'kmem_cache_free', 'mm_page_alloc', 'mm_page_free'].filter((t) => tpExists('kmem', t)));
      if (!o.ebpf && !o.tps.size) throw new ToolError('no kmem tracepoints on this kernel: kernel allocations cannot be traced');
    }
    const program = memleakProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf') return false;
      const x = (i: number) => BigInt.asUintN(64, intOf(v[i]));
      if (ev.format === EV_ALLOC) rt.print(`alloc exited, size = ${x(0)}, result = ${x(1).toString(16)}\n`);
      else if (ev.format === EV_FREE) rt.print(`free entered, address = ${x(0).toString(16)}, size = ${x(1)}\n`);
      else return false;
      return true;
    };
    return runToolProgram({
      name: 'memleak',
      program,
      banner: o.pid !== undefined ? `Attaching to pid ${o.pid}, Ctrl+C to quit.\n` : 'Attaching to kernel allocators, Ctrl+C to quit.\n',
      onEvent,
      compile: { pid: o.pid },
      // -t prints every call instead of reports, as bcc does.
      interval: o.trace ? undefined : o.interval,
      count: o.count,
      report: (rt) => {
        if (o.trace) return;
        const { groups, allocs } = outstanding(o, rt.map('@ml_size'), rt.map('@ml_ts'), rt.map('@ml_stack'), process.hrtime.bigint());
        const kernel = o.pid === undefined;
        rt.print(o.folded ? memleakFolded(groups, kernel) : memleakReport(o, groups, o.combinedOnly ? [] : allocs));
        if (o.flamegraph) {
          const { foldedFromCounts, renderFlameGraph } = require('../runtime/flamegraph') as typeof import('../runtime/flamegraph');
          const folded = foldedFromCounts(groups.map((g) => ({ frames: memleakFlameFrames(g, kernel), count: Number(g.size) })));
          fs.writeFileSync(o.flamegraph, renderFlameGraph(folded, { title: 'Outstanding Allocations Flame Graph', subtitle: `tsbpf memleak${kernel ? '' : ` -p ${o.pid}`} (bytes)`, countName: 'bytes' }));
        }
      },
    });
  },
};

export const memleak = mod;
export const tool = defineTool(mod);
