/**
 * `tsbpf -l [PATTERN]` and `-lv`: the probes this machine offers, in
 * bpftrace's `provider:target:name` notation, with `*` wildcards.
 *   tsbpf -l 'tracepoint:syscalls:*'      tracepoints
 *   tsbpf -lv 'tracepoint:sched:*'        ... with their arguments
 *   tsbpf -l 'usdt:/path/to/bin:*'        USDT probes of a binary (or -p PID)
 *   tsbpf -l 'uprobe:/bin/bash:read*'     function symbols of a binary
 */
import * as fs from 'node:fs';
import { listTracepoints, tracepointFormat, tracefsRoot } from '../sys/tracefs';
import { findSymbols } from '../ebpf/elf';
import { readUsdtProbes } from '../ebpf/usdt';
import { processObjects } from '../lang/probes';

const SOFTWARE = ['alignment-faults', 'bpf-output', 'context-switches', 'cpu-clock', 'cpu-migrations', 'dummy',
  'emulation-faults', 'major-faults', 'minor-faults', 'page-faults', 'task-clock'];
const HARDWARE = ['backend-stalls', 'branch-instructions', 'branch-misses', 'bus-cycles', 'cache-misses',
  'cache-references', 'cpu-cycles', 'frontend-stalls', 'instructions', 'ref-cycles'];

const ALIASES: Record<string, string> = {
  t: 'tracepoint', k: 'kprobe', kr: 'kretprobe', u: 'uprobe', ur: 'uretprobe', U: 'usdt', s: 'software', h: 'hardware',
  f: 'fentry', fr: 'fexit', kfunc: 'fentry', kretfunc: 'fexit',
};

function globRe(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${esc}$`);
}

export interface ListOptions {
  verbose: boolean;
  pid: number | null;
}

/**
 * `-l 'usdt:*:[provider:]name' -p PID`: the probes of every object the
 * process maps (its libraries, and objects it generated at run time), named
 * as bpftrace 0.17 names them: usdt:/proc/PID/root/PATH:provider:name.
 */
function listProcessUsdt(rest: string, pid: number): number {
  const parts = rest.split(':');
  const [providerGlob, nameGlob] = parts.length >= 3 ? [parts[1], parts.slice(2).join(':')] : ['*', parts[1] || '*'];
  const pr = globRe(providerGlob || '*');
  const nr = globRe(nameGlob);
  let objects: string[];
  try {
    objects = processObjects(pid);
  } catch {
    process.stderr.write(`tsbpf: cannot read the mappings of process ${pid}\n`);
    return 1;
  }
  const out = new Set<string>();
  for (const file of objects) {
    let probes;
    try {
      probes = readUsdtProbes(file);
    } catch {
      continue; // not an ELF file we can read: it has no probes to list
    }
    for (const p of probes) if (pr.test(p.provider) && nr.test(p.name)) out.add(`usdt:${file}:${p.provider}:${p.name}`);
  }
  process.stdout.write([...out].sort().map((l) => `${l}\n`).join(''));
  return 0;
}

/** Prints matching probes to stdout; returns the exit code. */
export function listProbes(patternIn: string, o: ListOptions): number {
  let pattern = patternIn || '*';
  const colon = pattern.indexOf(':');
  if (colon > 0 && ALIASES[pattern.slice(0, colon)]) pattern = ALIASES[pattern.slice(0, colon)] + pattern.slice(colon);
  // A bare word searches every provider, as bpftrace does: -l '*sleep*'
  const re = globRe(pattern.includes(':') ? pattern : `*${pattern.replace(/^\*|\*$/g, '')}*`);
  const provider = pattern.includes(':') ? pattern.slice(0, pattern.indexOf(':')) : '*';
  const want = (p: string) => provider === '*' || globRe(provider).test(p);
  const out: string[] = [];

  if (provider === 'usdt' || provider === 'uprobe' || provider === 'uretprobe') {
    const rest = pattern.slice(provider.length + 1);
    const sep = rest.lastIndexOf(':');
    let file = sep >= 0 ? rest.slice(0, rest.indexOf(':') >= 0 && provider === 'usdt' ? rest.indexOf(':') : sep) : rest;
    if (provider === 'usdt' && (file === '*' || file === '') && o.pid !== null) return listProcessUsdt(rest, o.pid);
    if ((file === '*' || file === '') && o.pid !== null) file = fs.readlinkSync(`/proc/${o.pid}/exe`);
    if (!file || file.includes('*')) {
      process.stderr.write(`tsbpf: listing ${provider} probes needs a binary path (${provider}:/path:*) or -p PID\n`);
      return 1;
    }
    if (!fs.existsSync(file)) {
      process.stderr.write(`tsbpf: ${file}: no such file\n`);
      return 1;
    }
    if (provider === 'usdt') {
      for (const p of readUsdtProbes(file)) {
        const name = `usdt:${file}:${p.provider}:${p.name}`;
        if (globRe(pattern.replace(/^usdt:[^:]*:/, `usdt:${file}:`)).test(name) || rest.endsWith(':*') || rest === file) out.push(name);
      }
    } else {
      const fnGlob = sep >= 0 ? rest.slice(sep + 1) || '*' : '*';
      for (const s of findSymbols(file, fnGlob, { functionsOnly: true })) out.push(`${provider}:${file}:${s.name}`);
    }
    process.stdout.write([...new Set(out)].sort().map((l) => `${l}\n`).join(''));
    return 0;
  }

  if (want('software')) for (const s of SOFTWARE) if (re.test(`software:${s}:`)) out.push(`software:${s}:`);
  if (want('hardware')) for (const h of HARDWARE) if (re.test(`hardware:${h}:`)) out.push(`hardware:${h}:`);
  if (want('tracepoint')) {
    for (const tp of listTracepoints('*', '*')) {
      const name = `tracepoint:${tp.category}:${tp.event}`;
      if (!re.test(name)) continue;
      out.push(name);
      if (o.verbose) {
        try {
          for (const f of tracepointFormat(tp.category, tp.event).fields) out.push(`    ${f.type} ${f.name}`);
        } catch {
          // format unreadable: list the name alone
        }
      }
    }
  }
  if (want('kprobe') && provider !== '*') {
    try {
      const text = fs.readFileSync(`${tracefsRoot()}/available_filter_functions`, 'utf8');
      const seen = new Set<string>();
      for (const line of text.split('\n')) {
        const fn = line.split(' ')[0];
        if (!fn || seen.has(fn)) continue;
        seen.add(fn);
        if (re.test(`kprobe:${fn}`)) out.push(`kprobe:${fn}`);
      }
    } catch {
      // no tracefs function list
    }
  }
  process.stdout.write(out.map((l) => `${l}\n`).join(''));
  return 0;
}
