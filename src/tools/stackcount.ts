/**
 * stackcount: counts the stacks that led to events matching a pattern
 * (same patterns as funccount: t:cat:event, c:malloc, u:lib:probe, kernel
 * functions with kprobes), as bcc's stackcount; -f prints folded lines.
 */
import type { MapDump } from '../runtime/format/maps';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { defineTool, type ToolModule } from './common/define';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { framesOf, mergeSamples, type StackSample } from './common/stacks';
import { attachPoints } from './funccount';
import { ToolError } from './tool';

export interface StackcountOptions {
  /** -s: frames with their +0xoffset. */
  offsets?: boolean;
  pattern: string;
  pid?: number;
  interval?: number;
  duration?: number;
  timestamp: boolean;
  regexp: boolean;
  perProcess: boolean;
  kernelOnly: boolean;
  userOnly: boolean;
  delimited: boolean;
  folded: boolean;
  cpu?: number;
  debug?: boolean;
}

export function stackcountProgram(points: string[], o: StackcountOptions): string {
  const conds = [o.pid !== undefined ? `pid == ${o.pid}` : '', o.cpu !== undefined ? `cpu == ${o.cpu}` : ''].filter(Boolean);
  const pred = conds.length ? ` /${conds.join(' && ')}/` : '';
  // bcc takes user stacks only where they mean something: user-space probes, or -U/-P/-p.
  const user = !o.kernelOnly;
  const kernel = !o.userOnly;
  const key = [kernel ? 'kstack' : '', user ? 'ustack' : '', o.perProcess ? 'comm, pid' : ''].filter(Boolean).join(', ');
  return `${points.join(',\n')}${pred}\n{\n  @stacks[${key}] = count();\n}\n`;
}

export function stackcountSamples(m: MapDump | undefined, o: StackcountOptions): StackSample[] {
  if (!m || m.kind !== 'count') return [];
  const out = m.entries.map((e) => {
    let i = 0;
    const kernel = o.userOnly ? [] : framesOf(e.key[i++], o.offsets);
    const user = o.kernelOnly ? [] : framesOf(e.key[i++], o.offsets);
    const comm = o.perProcess ? strOf(e.key[i++]) : '';
    const pid = o.perProcess ? Number(intOf(e.key[i++])) : 0;
    return { kernel, user, comm, pid, count: e.value };
  });
  return mergeSamples(out).sort((a, b) => (a.count < b.count ? -1 : a.count > b.count ? 1 : 0));
}

export function stackcountText(samples: StackSample[], o: StackcountOptions): string {
  let s = '';
  for (const x of samples) {
    if (o.folded) {
      const parts: string[] = o.perProcess ? [x.comm] : [];
      parts.push(...[...x.user].reverse());
      if (o.delimited && x.user.length && x.kernel.length) parts.push('-');
      parts.push(...[...x.kernel].reverse());
      s += `${parts.join(';')} ${x.count}\n`;
      continue;
    }
    for (const f of x.kernel) s += `  ${f}\n`;
    if (o.delimited && x.user.length && x.kernel.length) s += '    --\n';
    for (const f of x.user) s += `  ${f}\n`;
    if (o.perProcess) s += `    ${x.comm} [${x.pid}]\n`;
    s += `    ${x.count}\n\n`;
  }
  return s;
}

const mod: ToolModule<StackcountOptions> = {
  description: 'Count the stack traces that led to events (functions, tracepoints, USDT probes).',
  category: 'multi',
  spec: {
    name: 'stackcount',
    summary: 'Count events and their stack traces',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' },
      { short: 'i', long: 'interval', dest: 'interval', kind: 'int', metavar: 'INTERVAL', min: 1, help: 'summary interval, seconds' },
      { short: 'D', long: 'duration', dest: 'duration', kind: 'int', metavar: 'DURATION', min: 1, help: 'total duration of trace, seconds' },
      { short: 'T', long: 'timestamp', dest: 'timestamp', kind: 'flag', help: 'include timestamp on output' },
      { short: 'r', long: 'regexp', dest: 'regexp', kind: 'flag', help: 'use regular expressions. Default is "*" wildcards only.' },
      { short: 'P', long: 'perpid', dest: 'perpid', kind: 'flag', help: 'display stacks separately for each process' },
      { short: 'K', long: 'kernel-stacks-only', dest: 'kernel', kind: 'flag', help: 'kernel stack only' },
      { short: 'U', long: 'user-stacks-only', dest: 'user', kind: 'flag', help: 'user stack only' },
      { short: 'd', long: 'delimited', dest: 'delimited', kind: 'flag', help: 'insert delimiter between kernel/user stacks' },
      { short: 'f', long: 'folded', dest: 'folded', kind: 'flag', help: 'output folded format' },
      { short: 'c', long: 'cpu', dest: 'cpu', kind: 'int', metavar: 'CPU', min: 0, help: 'trace this CPU only' },
      { long: 'debug', dest: 'debug', kind: 'flag', help: 'print the program (tsbpf language) before starting' },
      { short: 's', long: 'offset', dest: 'offset', kind: 'flag', help: 'show address offsets' },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'pattern', kind: 'string', help: 'search expression for events' }],
    examples: [
      "stackcount submit_bio          # count kernel stack traces for submit_bio (needs kprobes)",
      "stackcount -d ip_output        # include a user/kernel stack delimiter",
      "stackcount t:sched:sched_process_fork  # count stacks for the sched_process_fork tracepoint",
      "stackcount -p 185 u:node:*     # count stacks for all USDT probes in node",
      "stackcount -P -U c:malloc      # count user stacks of malloc() calls, per process",
      "stackcount -f -P c:malloc      # folded output, for flame graphs",
    ],
    notes: "Follows bcc's stackcount (no libbpf-tools twin). Kernel-function patterns need kprobes.",
  },
  options(a: ParsedArgs): StackcountOptions {
    const pattern = a.str('pattern');
    if (pattern === undefined && !a.help) throw new ToolError("a pattern is required (e.g. stackcount 't:sched:sched_fork')");
    if (a.flag('user') && a.flag('kernel')) throw new ToolError('-U and -K are mutually exclusive');
    return {
      pattern: pattern ?? '', pid: a.int('pid'), interval: a.int('interval'), duration: a.int('duration'), timestamp: a.flag('timestamp'),
      regexp: a.flag('regexp'), perProcess: a.flag('perpid'), kernelOnly: a.flag('kernel'), userOnly: a.flag('user'),
      delimited: a.flag('delimited'), folded: a.flag('folded'), offsets: a.flag('offset'), cpu: a.int('cpu'), debug: a.flag('debug'),
    };
  },
  main(o) {
    const points = attachPoints({ pattern: o.pattern, pid: o.pid, regexp: o.regexp, timestamp: false });
    if (!points.length) throw new ToolError(`no functions matched '${o.pattern}'`);
    const program = stackcountProgram(points, o);
    if (o.debug) process.stdout.write(program);
    return runToolProgram({
      name: 'stackcount',
      program,
      banner: o.folded ? undefined : `Tracing ${points.length} functions for "${o.pattern}"... Hit Ctrl-C to end.\n`,
      interval: o.interval,
      duration: o.duration,
      compile: { pid: o.pid },
      compileHint: 'for tracepoints, use -U (user stacks only) until kernel stacks are supported in tracepoint programs',
      // bcc: a blank line before each report and "Detaching..." after the last (not in folded output)
      report: (rt, final) => {
        let s = o.folded ? '' : '\n';
        if (o.timestamp) s += `${clockTime().padEnd(8)}\n`;
        s += stackcountText(stackcountSamples(rt.map('@stacks'), o), o);
        if (final && !o.folded) s += 'Detaching...\n';
        rt.print(s);
        rt.clearMap('@stacks');
      },
    });
  },
};

export const stackcount = mod;
export const tool = defineTool(mod);
