/**
 * The running kernel as a Target: each source read once, on first use, and
 * cached for the life of the object (one `KernelTarget` per process is the
 * normal case: runningKernel()).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { hostArch, type Arch } from '../arch';
import { X86_64 } from '../arch/x86_64';
import { Btf } from '../ebpf/btf';
import { KernelSymbols, kernelSymbols } from '../ebpf/symbolize';
import { featureState } from '../sys/features';
import {
  listCategories, listTracepoints, tracefsRoot, tracepointFormat, type TracepointFormat, type TracepointName,
} from '../sys/tracefs';
import type { FeatureAnswer, KernelBtf, Target } from './target';

/**
 * Features answered from BTF, without loading a program: the kernel's own
 * enums list every helper and map type it implements. Used at compile time
 * (the answer does not depend on privileges, so compiling as nobody gives what
 * root would get); the runtime's checks before attaching still ask sys/features.
 */
const BTF_ENUM_FEATURES: Record<string, { enumName: string; value: string }> = {
  bpf_cookie: { enumName: 'bpf_func_id', value: 'BPF_FUNC_get_attach_cookie' },
  ringbuf: { enumName: 'bpf_map_type', value: 'BPF_MAP_TYPE_RINGBUF' },
};

export class KernelTarget implements Target {
  readonly description: string;
  readonly release = os.release();
  readonly arch: Arch;
  private btfCache: { btf: Btf } | { error: Error } | undefined;
  private symbols: KernelSymbols | null | undefined;
  private functions: string[] | undefined;
  private categories: string[] | undefined;
  private readonly formats = new Map<string, TracepointFormat>();
  private readonly features = new Map<string, FeatureAnswer>();
  private syscalls: Map<string, number> | null | undefined;

  constructor() {
    // Without a description of this architecture, x86-64's is used as before; syscallNumbers() then answers null.
    this.arch = hostArch() ?? X86_64;
    this.description = `the running kernel ${this.release} (${os.arch()})`;
  }

  btf(): KernelBtf {
    return this.vmlinux();
  }

  private vmlinux(): Btf {
    if (!this.btfCache) {
      try {
        this.btfCache = { btf: Btf.vmlinux() };
      } catch (e) {
        this.btfCache = { error: e as Error };
      }
    }
    if ('error' in this.btfCache) throw this.btfCache.error;
    return this.btfCache.btf;
  }

  kernelSymbolAddress(name: string): bigint | undefined {
    if (this.symbols === undefined) {
      try {
        this.symbols = kernelSymbols();
      } catch {
        this.symbols = null; // hidden (not root) or unreadable
      }
    }
    return this.symbols?.address(name);
  }

  kprobeFunctions(): readonly string[] {
    if (this.functions) return this.functions;
    const read = (p: string): string | undefined => {
      try {
        return fs.readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    };
    let filter: string | undefined;
    try {
      filter = read(`${tracefsRoot()}/available_filter_functions`);
    } catch {
      // no tracefs
    }
    let names: Iterable<string> | undefined;
    if (filter === undefined) {
      try {
        names = kernelSymbols().functionNames(); // kallsyms' text symbols
      } catch {
        names = []; // no symbol source: wildcards match nothing
      }
    }
    // functions kprobes refuse (debugfs lists them; without debugfs the attach reports them)
    return (this.functions = traceableFunctions(filter, names, read('/sys/kernel/debug/kprobes/blacklist')));
  }

  tracepointCategories(): readonly string[] {
    return (this.categories ??= listCategories());
  }

  tracepoints(categoryGlob = '*', eventGlob = '*'): TracepointName[] {
    return listTracepoints(categoryGlob, eventGlob);
  }

  tracepointFormat(category: string, event: string): TracepointFormat {
    const key = `${category}:${event}`;
    let f = this.formats.get(key);
    if (!f) {
      f = tracepointFormat(category, event);
      this.formats.set(key, f);
    }
    return f;
  }

  feature(name: string): FeatureAnswer {
    let a = this.features.get(name);
    if (!a) {
      const fromBtf = BTF_ENUM_FEATURES[name];
      a = fromBtf ? this.enumHas(fromBtf.enumName, fromBtf.value) : featureState(name);
      this.features.set(name, a);
    }
    return a;
  }

  private enumHas(enumName: string, value: string): FeatureAnswer {
    let btf: Btf;
    try {
      btf = this.vmlinux();
    } catch (e) {
      return { state: 'unknown', error: (e as Error).message };
    }
    const id = btf.find(enumName, 'enum');
    if (id === undefined) return { state: 'unknown', error: `the kernel's BTF has no enum ${enumName}` };
    return btf.enumValues(id).some((v) => v.name === value) ? { state: 'yes' } : { state: 'no' };
  }

  syscallNumbers(): ReadonlyMap<string, number> | null {
    if (this.syscalls !== undefined) return this.syscalls;
    if (!hostArch()) return (this.syscalls = null);
    return (this.syscalls = syscallTable(this.arch, (p) => fs.readFileSync(p, 'utf8')));
  }
}

/**
 * The functions a kprobe can attach to, sorted and unique: the names of
 * available_filter_functions ("name [module]" lines), else `fallback` (kallsyms
 * text symbols), minus the kprobe blacklist ("0xstart-0xend name" lines).
 */
export function traceableFunctions(filterFunctions: string | undefined, fallback: Iterable<string> | undefined, blacklist: string | undefined): string[] {
  const out = new Set<string>();
  if (filterFunctions !== undefined) {
    for (const line of filterFunctions.split('\n')) {
      const name = line.split(/\s/)[0];
      if (name) out.add(name);
    }
  } else {
    // kallsyms' __pfx_/__cfi_ symbols are padding before functions, not functions (ftrace never lists them)
    for (const name of fallback ?? []) if (!/^__(pfx|cfi)_/.test(name)) out.add(name);
  }
  for (const line of (blacklist ?? '').split('\n')) {
    const name = line.trim().split(/\s+/)[1];
    if (name) out.delete(name);
  }
  return [...out].sort();
}

/** The architecture's syscall table, extended by numbers appended later as the installed UAPI header lists them. */
export function syscallTable(arch: Arch, readFile: (path: string) => string): Map<string, number> {
  const m = new Map<string, number>();
  arch.syscalls.forEach((name, nr) => {
    if (name !== '-') m.set(name, nr);
  });
  for (const h of arch.uapiSyscallHeaders) {
    let text: string;
    try {
      text = readFile(h);
    } catch {
      continue;
    }
    for (const r of text.matchAll(/^#define\s+__NR_(\w+)\s+(\d+)\s*$/gm)) {
      const name = arch.uapiSyscallAliases[r[1]] ?? r[1];
      if (!m.has(name)) m.set(name, Number(r[2]));
    }
    break;
  }
  return m;
}

let running: KernelTarget | undefined;

/** The running kernel, one instance per process (so its caches are shared by every compile). */
export function runningKernel(): KernelTarget {
  return (running ??= new KernelTarget());
}
