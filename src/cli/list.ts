/**
 * `tsbpf -l [PATTERN]` and `-lv`: the probes this machine offers, in
 * bpftrace's `provider:target:name` notation, with `*` wildcards. Derived from
 * the provider registry (src/lang/probes.ts): each provider lists its own
 * probes; this module only parses the pattern and prints.
 *   tsbpf -l 'tracepoint:syscalls:*'      tracepoints
 *   tsbpf -lv 'tracepoint:sched:*'        ... with their arguments
 *   tsbpf -l 'kprobe:vfs_*'               kernel functions kprobes can attach to (also fentry:, rawtracepoint:)
 *   tsbpf -l 'usdt:/path/to/bin:*'        USDT probes of a binary (or -p PID)
 *   tsbpf -l 'uprobe:/bin/bash:read*'     function symbols of a binary
 */
import { isExplained } from '../errors';
import { PROVIDERS, providerName } from '../lang/probes';
import { globToRegExp } from '../sys/tracefs';
import { runningKernel } from '../target/kernel';
import type { Target } from '../target/target';
import { Btf } from '../ebpf/btf';
import { formatBtfType } from '../ebpf/btf-c';
import type { Program } from '../lang/ast';

export interface ListOptions {
  verbose: boolean;
  pid: number | null;
  /** The kernel whose probes are listed (default: the running one). */
  target?: Target;
}

/**
 * Prints the probes matching a pattern to stdout; returns the exit code.
 * Several patterns may be given separated by commas (`kprobe:vfs_read,struct file`), as bpftrace takes them.
 */
export function listProbes(patterns: string, o: ListOptions): number {
  let rc = 0;
  for (const p of patterns.split(',')) rc = Math.max(rc, listPattern(p.trim().replace(/\s+/g, ' '), o));
  return rc;
}

/** Providers whose probes are named by an event or unit alone: the count after it is a period, not part of the name. */
const PERIODIC = new Set(['software', 'hardware', 'interval', 'profile']);

/**
 * `-l -e PROGRAM` / `-l script.bt`: the probes the program's attach points
 * match, each listed as `-l` lists it (bpftrace 0.21, C11-C12). BEGIN/END
 * and other probes without a target are not listed.
 */
export function listProgram(program: Program, o: ListOptions): number {
  const patterns: string[] = [];
  for (const probe of program.probes) {
    for (const ap of probe.attachPoints) {
      const name = providerName(ap.provider);
      if (!name || !PROVIDERS.find((p) => p.name === name)?.list) continue;
      if (PERIODIC.has(name)) {
        // interval:1s names the unit in its one part
        const unit = ap.parts.length === 1 ? /^\d+(us|ms|s|hz)$/.exec(ap.parts[0])?.[1] : undefined;
        patterns.push(`${name}:${unit ?? ap.parts[0] ?? '*'}:`);
      } else patterns.push([name, ...ap.parts].join(':'));
    }
  }
  let rc = 0;
  for (const p of patterns) rc = Math.max(rc, listPattern(p, o));
  return rc;
}

function listPattern(patternIn: string, o: ListOptions): number {
  if (/^(struct|union|enum)\s/.test(patternIn.trim())) return listTypes(patternIn.trim(), o.verbose);
  let pattern = patternIn || '*';
  const colon = pattern.indexOf(':');
  const canonical = colon > 0 ? providerName(pattern.slice(0, colon)) : undefined;
  if (canonical) pattern = canonical + pattern.slice(colon);
  // A bare word searches every provider, as bpftrace does: -l '*sleep*'
  const re = globToRegExp(pattern.includes(':') ? pattern : `*${pattern.replace(/^\*|\*$/g, '')}*`);
  const provider = pattern.includes(':') ? pattern.slice(0, pattern.indexOf(':')) : '*';
  const providerRe = globToRegExp(provider);
  const req = {
    matches: (name: string) => re.test(name),
    rest: pattern.slice(provider.length + 1),
    verbose: o.verbose,
    pid: o.pid ?? undefined,
    target: o.target ?? runningKernel(),
  };
  try {
    // a provider that lists the probes of one binary is listed on its own (sorted, once each)
    const alone = PROVIDERS.find((p) => p.name === provider && p.listing === 'alone');
    if (alone?.list) {
      process.stdout.write(sortedOnce(alone.list(req)).map((l) => `${l}\n`).join(''));
      return 0;
    }
    const out: string[] = [];
    // the providers of one binary join a wildcard listing when it names a binary (`*:/bin/bash:*`) or a process (-l -p PID)
    const binaryNamed = req.rest.includes('/') || (o.pid !== null && (patternIn === '' || patternIn === '*'));
    for (const p of PROVIDERS) {
      if (!p.list || !providerRe.test(p.name)) continue;
      if (p.listing === 'alone') {
        if (binaryNamed) out.push(...sortedOnce(p.list(patternIn === '' || patternIn === '*' ? { ...req, rest: '*' } : req)));
        continue;
      }
      if (p.listing !== 'default' && provider === '*') continue;
      out.push(...p.list(req));
    }
    process.stdout.write(out.map((l) => `${l}\n`).join(''));
    return 0;
  } catch (e) {
    if (!isExplained(e)) throw e;
    process.stderr.write(`tsbpf: ${e.message}\n`);
    return 1;
  }
}

/** Probe lines sorted and once each, every probe keeping its -lv detail lines (indented) under it. */
function sortedOnce(lines: string[]): string[] {
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const l of lines) {
    if (l.startsWith(' ') && current) current.push(l);
    else if (!groups.has(l)) groups.set(l, (current = []));
    else current = []; // a probe listed twice keeps its first details
  }
  return [...groups.keys()].sort().flatMap((k) => [k, ...(groups.get(k) ?? [])]);
}

/**
 * `-l 'struct task*'`: kernel struct/union/enum names matching the pattern;
 * with -v each definition as C (ebpf/btf-c.ts), as bpftrace prints them.
 */
function listTypes(pattern: string, verbose: boolean): number {
  const m = /^(struct|union|enum)\s+(\S+)$/.exec(pattern);
  if (!m) {
    process.stderr.write(`tsbpf: cannot read the type pattern '${pattern}': write 'struct NAME' (NAME may have * wildcards)\n`);
    return 1;
  }
  let btf: Btf;
  try {
    btf = Btf.vmlinux();
  } catch (e) {
    process.stderr.write(`tsbpf: kernel BTF is not available: ${(e as Error).message}\n`);
    return 1;
  }
  const kinds = m[1] === 'enum' ? ['enum', 'enum64'] : [m[1]];
  const re = globToRegExp(m[2]);
  const found = new Map<string, number>();
  for (let id = 1; id <= btf.typeCount; id++) {
    const name = btf.name(id);
    if (name && !found.has(name) && kinds.includes(btf.kind(id)) && re.test(name)) found.set(name, id);
  }
  const names = [...found.keys()].sort();
  // -v: the definition, prefixed with the BTF it comes from as bpftrace 0.26 prints it ('vmlinux: struct file {')
  process.stdout.write(names.map((n) => (verbose ? `vmlinux: ${formatBtfType(btf, found.get(n) as number)}\n` : `${m[1]} ${n}\n`)).join(''));
  return 0;
}
