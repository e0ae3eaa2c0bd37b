/**
 * tplist: lists kernel tracepoints (with -v their fields) and USDT probes of
 * a binary or library (-l) or of every object mapped by a process (-p), as
 * bcc's tplist. Needs no BPF.
 */
import * as fs from 'node:fs';
import { resolveLibrary } from '../ebpf/ldcache';
import { readUsdtProbes, type UsdtProbe } from '../ebpf/usdt';
import { globToRegExp, listTracepoints, tracepointFormat } from '../sys/tracefs';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { ToolError } from './tool';

export interface TplistOptions {
  pid?: number;
  lib?: string;
  verbose: number;
  filter?: string;
  write?: (s: string) => void;
}

/** Executable objects a process maps (its binary and shared libraries), in map order. */
export function mappedObjects(pid: number): string[] {
  let maps: string;
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    throw new ToolError(`-p: no process with PID ${pid}`);
  }
  const seen = new Set<string>();
  for (const line of maps.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !f[5].startsWith('/')) continue;
    // Read through the process's root so containers and deleted files still resolve.
    seen.add(f.slice(5).join(' ').replace(/ \(deleted\)$/, ''));
  }
  return [...seen];
}

function probeLines(objPath: string, probes: UsdtProbe[], verbose: number, re: RegExp): string[] {
  const byName = new Map<string, UsdtProbe[]>();
  for (const p of probes) {
    const k = `${p.provider}:${p.name}`;
    if (!re.test(k) && !re.test(p.name)) continue;
    const l = byName.get(k) ?? [];
    l.push(p);
    byName.set(k, l);
  }
  const out: string[] = [];
  for (const [k, sites] of byName) {
    if (!verbose) {
      out.push(`${objPath} ${k}`);
      continue;
    }
    const sema = sites[0].semaphore ? ` [sema 0x${sites[0].semaphore.toString(16)}]` : '';
    out.push(`${objPath} ${k}${sema}`);
    out.push(`  ${sites.length} location${sites.length === 1 ? '' : 's'} found`);
    if (verbose > 1) {
      for (const s of sites) {
        out.push(`  location 0x${s.address.toString(16)} raw args: ${s.argString}`);
        for (const a of s.argString.split(/\s+/).filter(Boolean)) out.push(`    ${a}`);
      }
    } else {
      const n = sites[0].argString.split(/\s+/).filter(Boolean).length;
      out.push(`  ${n} argument${n === 1 ? '' : 's'} found`);
    }
  }
  return out;
}

/** The whole listing, one line per entry, in bcc tplist's format. */
export function tplistText(o: TplistOptions): string {
  const lines: string[] = [];
  if (o.lib !== undefined || o.pid !== undefined) {
    const re = globToRegExp(o.filter ?? '*');
    const objs: string[] = [];
    if (o.lib !== undefined) {
      try {
        objs.push(o.lib.includes('/') ? o.lib : resolveLibrary(o.lib, o.pid));
      } catch (e) {
        throw new ToolError(`cannot find library or binary '${o.lib}': ${(e as Error).message}`);
      }
    } else {
      objs.push(...mappedObjects(o.pid as number));
    }
    for (const obj of objs) {
      const path = o.pid !== undefined && o.lib === undefined ? `/proc/${o.pid}/root${obj}` : obj;
      let probes: UsdtProbe[];
      try {
        probes = readUsdtProbes(fs.existsSync(path) ? path : obj);
      } catch {
        continue;
      }
      lines.push(...probeLines(obj, probes, o.verbose, re));
    }
    return lines.length ? lines.join('\n') + '\n' : '';
  }
  const filter = o.filter ?? '*:*';
  const [cat, ev] = filter.includes(':') ? filter.split(':', 2) : ['*', filter];
  for (const t of listTracepoints(cat || '*', ev || '*')) {
    lines.push(`${t.category}:${t.event}`);
    if (o.verbose) {
      try {
        for (const f of tracepointFormat(t.category, t.event).fields) {
          // The format file writes arrays as "char comm[16]"; keep that C spelling.
          const m = /^(.*[^\s])\[(\d+)\]$/.exec(f.type);
          if (m) lines.push(`    ${m[1]} ${f.name}[${m[2]}];`);
          else lines.push(`    ${f.type} ${f.name}${f.arrayLen !== undefined && !f.type.includes('[') ? `[${f.arrayLen}]` : ''};`);
        }
      } catch {
        // Formats of some events are unreadable (permissions, races with module unload).
      }
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

const mod: ToolModule<TplistOptions> = {
  description: 'List kernel tracepoints or USDT probes (with -v, their fields or arguments).',
  category: 'multi',
  spec: {
    name: 'tplist',
    summary: 'Display kernel tracepoints or USDT probes and their formats.',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'List USDT probes in the binaries and libraries PID maps' },
      { short: 'l', long: 'lib', dest: 'lib', kind: 'string', metavar: 'LIB', help: 'List USDT probes in this library or executable' },
      { short: 'v', dest: 'verbose', kind: 'count', help: 'Increase verbosity level (print variables, arguments, etc.)' },
    ],
    positionals: [{ name: 'filter', kind: 'string', help: 'A filter that specifies which probes/tracepoints to print (glob)' }],
    examples: [
      "tplist 'sched:*'               # tracepoints of the sched category",
      "tplist -v 'block:block_rq_*'   # with their fields",
      'tplist -l c                    # USDT probes in libc',
      'tplist -p 1234 -v              # USDT probes of process 1234, with argument counts',
    ],
  },
  options(a: ParsedArgs): TplistOptions {
    return { pid: a.int('pid'), lib: a.str('lib'), verbose: a.count('verbose'), filter: a.str('filter') };
  },
  async main(o) {
    (o.write ?? ((s: string) => process.stdout.write(s)))(tplistText(o));
    return 0;
  },
};

export const tplist = mod;
export const tool = defineTool(mod);
