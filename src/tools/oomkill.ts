/**
 * oomkill: one line per OOM kill, from the oom:mark_victim tracepoint (it
 * fires in the task whose allocation triggered the OOM killer); output as
 * bcc oomkill, which uses a kprobe on oom_kill_process.
 */
import * as fs from 'node:fs';
import type { EventSpec } from '../lang/artifact';
import type { ScriptRuntime } from '../runtime/run';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';
import { requireTracepoint, tpHasField } from './common/tp';

export interface OomkillOptions {
  ebpf: boolean;
  /** mark_victim has comm and total_vm since Linux 6.8; before, only the pid. */
  victimFields?: boolean;
}

const EV = 'OOM %d %d %d %s %s\n';

export function oomkillProgram(o: OomkillOptions): string {
  const full = o.victimFields ?? true;
  return `tracepoint:oom:mark_victim
{
  // The triggering task's user stack (bcc prints it under the line); kept by victim pid for user space.
  @oom_ustack[args->pid] = ustack;
  printf("${EV.replace('\n', '\\n')}", pid, args->pid, ${full ? 'args->total_vm' : '0'}, comm, ${full ? 'str(args->comm)' : '""'});
}
`;
}

function loadavg(): string {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').trim();
  } catch {
    return '';
  }
}

/** bcc's line; PAGES is the victim's total_vm in pages (the tracepoint's kB / 4). */
export function oomkillLine(v: readonly Value[], now: Date, load = loadavg()): string {
  const pages = intOf(v[2]) / 4n;
  const tcomm = strOf(v[4]);
  return `${clockTime(now)} Triggered by PID ${intOf(v[0])} ("${strOf(v[3])}"), OOM kill of PID ${intOf(v[1])} ("${tcomm}"), ${pages} pages, loadavg: ${load}\n`;
}

const mod: ToolModule<OomkillOptions> = {
  description: 'Trace the out-of-memory killer: who triggered it, who was killed.',
  category: 'memory',
  spec: {
    name: 'oomkill',
    summary: 'Trace oom_kill_process(). For Linux, uses BCC, eBPF.',
    options: [EBPF_OPTION],
    examples: ['oomkill              # trace OOM kills'],
    notes: 'Follows bcc\'s line, from oom:mark_victim instead of a kprobe: "pages" is the victim\'s total_vm (bcc prints the\n' +
      'OOM context\'s totalpages, which the tracepoint does not carry); before Linux 6.8 the tracepoint names the victim by PID\n' +
      'only (empty name, 0 pages). libbpf-tools oomkill is kprobe-based.',
  },
  options(a: ParsedArgs): OomkillOptions {
    return { ebpf: a.flag('ebpf') };
  },
  main(o) {
    if (!o.ebpf) requireTracepoint('oom', 'mark_victim');
    const program = oomkillProgram({ ...o, victimFields: o.ebpf || (tpHasField('oom', 'mark_victim', 'comm') && tpHasField('oom', 'mark_victim', 'total_vm')) });
    if (o.ebpf) return Promise.resolve(printProgram(program));
    const onEvent = (ev: EventSpec, v: Value[], rt: ScriptRuntime): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(oomkillLine(v, new Date()));
      const stacks = rt.map('@oom_ustack');
      const st = stacks?.kind === 'value' ? stacks.entries.find((e) => intOf(e.key[0]) === intOf(v[1]))?.value : undefined;
      if (st?.kind === 'stack' && st.frames.length) rt.print(`  Stack trace:\n${st.frames.map((f) => `    ${f}\n`).join('')}`);
      else rt.print('  Failed to capture stack trace\n');
      return true;
    };
    return runToolProgram({ name: 'oomkill', program, banner: 'Tracing OOM kills... Ctrl-C to stop.\n', onEvent });
  },
};

export const oomkill = mod;
export const tool = defineTool(mod);
