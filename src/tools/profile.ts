/**
 * profile: samples stacks at a fixed frequency (perf cpu-clock, 49 Hz by
 * default) and prints them counted, as bcc's profile: multi-line stacks, or
 * folded lines with -f, or an SVG flame graph with --flamegraph FILE.
 */
import * as fs from 'node:fs';
import { foldedFromCounts, renderFlameGraph } from '../runtime/flamegraph';
import type { MapDump } from '../runtime/format/maps';
import type { Value } from '../runtime/values';
import type { ParsedArgs } from './common/args';
import { EBPF_OPTION } from './common/ebpf';
import { requireProcess } from './common/filters';
import { defineTool, type ToolModule } from './common/define';
import { intOf, runToolProgram, strOf } from './common/script';
import { flameFrames, foldedStack, framesOf, mergeSamples, multiLineStack, type StackPrintOptions, type StackSample } from './common/stacks';
import { CGROUPMAP_OPTION, idFilter, MNTNSMAP_OPTION, MNTNS_EXPR, pinnedMapFlags, wantsIds, type PinnedMapFlags } from './common/pinnedmap';
import { ToolError } from './tool';

export interface ProfileOptions extends StackPrintOptions, PinnedMapFlags {
  frequency: number;
  /** -p (bcc: a comma-separated list). */
  pids?: number[];
  /** -L (bcc: a comma-separated list). */
  tids?: number[];
  cpu?: number;
  /** -c: one sample every COUNT ns of CPU clock instead of -F's frequency. */
  samplePeriod?: number;
  hashStorageSize?: number;
  folded: boolean;
  includeIdle: boolean;
  duration?: number;
  flamegraph?: string;
  stackStorageSize?: number;
}

export function profileProgram(o: ProfileOptions): string {
  const conds: string[] = [];
  const anyOf = (v: string, ids: number[]) => (ids.length === 1 ? `${v} == ${ids[0]}` : `(${ids.map((x) => `${v} == ${x}`).join(' || ')})`);
  if (o.pids?.length) conds.push(anyOf('pid', o.pids));
  if (o.tids?.length) conds.push(anyOf('tid', o.tids));
  if (o.cpu !== undefined) conds.push(`cpu == ${o.cpu}`);
  if (!o.includeIdle) conds.push('pid != 0');
  // --cgroupmap/--mntnsmap: samples are kept per cgroup and mount namespace, and the maps decide at the report
  const ids = wantsIds(o) ? ['cgroup', MNTNS_EXPR] : [];
  const key = [o.userOnly ? '' : 'kstack', o.kernelOnly ? '' : 'ustack', 'comm', 'pid', ...ids].filter(Boolean).join(', ');
  const config = o.hashStorageSize !== undefined ? `config = { max_map_keys = ${o.hashStorageSize} }\n\n` : '';
  const probe = o.samplePeriod !== undefined ? `software:cpu-clock:${o.samplePeriod}` : `profile:hz:${o.frequency}`;
  return `${config}${probe}${conds.length ? ` /${conds.join(' && ')}/` : ''}\n{\n  @samples[${key}] = count();\n}\n`;
}

/** Samples from the map, in bcc's order (ascending count). */
export function samplesOf(m: MapDump | undefined, o: ProfileOptions): StackSample[] {
  if (!m || m.kind !== 'count') return [];
  const out = m.entries.map((e) => {
    let i = 0;
    const kernel = o.userOnly ? [] : framesOf(e.key[i++]);
    const user = o.kernelOnly ? [] : framesOf(e.key[i++]);
    return { kernel, user, comm: strOf(e.key[i++]), pid: Number(intOf(e.key[i++])), count: e.value };
  });
  return mergeSamples(out).sort((a, b) => (a.count < b.count ? -1 : a.count > b.count ? 1 : 0));
}

export function profileBanner(o: ProfileOptions): string {
  const who = o.pids?.length ? `PID ${o.pids.join(',')}` : o.tids?.length ? `TID ${o.tids.join(',')}` : 'all threads';
  if (o.samplePeriod !== undefined) {
    const how = o.userOnly ? 'user' : o.kernelOnly ? 'kernel' : 'user + kernel';
    return `Sampling at every ${o.samplePeriod} events of ${who} by ${how} stack${o.duration ? ` for ${o.duration} secs.` : '... Hit Ctrl-C to end.'}\n`;
  }
  const how = o.userOnly ? 'user' : o.kernelOnly ? 'kernel' : 'user + kernel';
  const until = o.duration ? ` for ${o.duration} secs.` : '... Hit Ctrl-C to end.';
  return `Sampling at ${o.frequency} Hertz of ${who} by ${how} stack${until}\n`;
}

const mod: ToolModule<ProfileOptions> = {
  description: 'Profile CPU usage by sampling stack traces at a timed interval (perf cpu-clock).',
  category: 'cpu',
  spec: {
    name: 'profile',
    summary: 'Profile CPU stack traces at a timed interval',
    options: [
      { short: 'p', long: 'pid', dest: 'pid', kind: 'list', commaSplit: true, metavar: 'PID', help: 'profile process with one or more comma separated PIDs only' },
      { short: 'L', long: 'tid', dest: 'tid', kind: 'list', commaSplit: true, metavar: 'TID', help: 'profile thread with one or more comma separated TIDs only' },
      { short: 'U', long: 'user-stacks-only', dest: 'user', kind: 'flag', help: 'show stacks from user space only (no kernel space stacks)' },
      { short: 'K', long: 'kernel-stacks-only', dest: 'kernel', kind: 'flag', help: 'show stacks from kernel space only (no user space stacks)' },
      { short: 'F', long: 'frequency', dest: 'freq', kind: 'int', metavar: 'FREQUENCY', min: 1, help: 'sample frequency, Hertz (default 49)' },
      { short: 'c', long: 'count', dest: 'count', kind: 'int', metavar: 'COUNT', min: 1, help: 'sample period, number of events (ns of CPU clock)' },
      { long: 'hash-storage-size', dest: 'hashSize', kind: 'int', metavar: 'HASH_STORAGE_SIZE', min: 1, help: 'the number of hash keys that can be stored' },
      { long: 'stack-storage-size', dest: 'stackSize', kind: 'int', metavar: 'STACK_STORAGE_SIZE', min: 1, help: 'the number of unique stack traces (accepted: stacks are stored with their counts)' },
      { short: 'd', long: 'delimited', dest: 'delimited', kind: 'flag', help: 'insert delimiter between kernel/user stacks' },
      { short: 'a', long: 'annotations', dest: 'annotate', kind: 'flag', help: 'add _[k] annotations to kernel frames' },
      { short: 'I', long: 'include-idle', dest: 'idle', kind: 'flag', help: 'include CPU idle stacks' },
      { short: 'f', long: 'folded', dest: 'folded', kind: 'flag', help: 'output folded format, one line per stack (for flame graphs)' },
      { short: 'C', long: 'cpu', dest: 'cpu', kind: 'int', metavar: 'CPU', min: 0, help: 'cpu number to run profile on' },
      { long: 'flamegraph', dest: 'flamegraph', kind: 'string', metavar: 'FILE', help: 'also write an interactive SVG flame graph to FILE' },
      CGROUPMAP_OPTION,
      MNTNSMAP_OPTION,
      EBPF_OPTION,
    ],
    positionals: [{ name: 'duration', kind: 'int', min: 1, help: 'duration of trace, in seconds' }],
    examples: [
      'profile             # profile stack traces at 49 Hertz until Ctrl-C',
      'profile -F 99       # profile stack traces at 99 Hertz',
      'profile 5           # profile at 49 Hertz for 5 seconds only',
      'profile -f 5        # output in folded format for flame graphs',
      'profile -p 185      # only profile process with PID 185',
      'profile -U          # only show user space stacks (no kernel)',
      'profile -K          # only show kernel space stacks (no user)',
      'profile --flamegraph cpu.svg 10   # 10 seconds, then write a flame graph',
      'profile --cgroupmap mappath  # only profile cgroups in this BPF map',
      'profile --mntnsmap mappath   # only profile mount namespaces in this BPF map',
    ],
    notes: "Follows bcc's profile (libbpf-tools 0.26 in Debian has no profile). Stacks are symbolized when printed.\n" +
      '--cgroupmap/--mntnsmap: samples are counted per cgroup and mount namespace and the maps are looked up when the\n' +
      'report is printed (bcc looks them up at each sample: keys changed while profiling count for the whole run here).',
  },
  options(a: ParsedArgs): ProfileOptions {
    if (a.flag('user') && a.flag('kernel')) throw new ToolError('-U and -K are mutually exclusive');
    if (a.has('pid') && a.has('tid')) throw new ToolError('-p and -L are mutually exclusive');
    if (a.has('freq') && a.has('count')) throw new ToolError('-F and -c are mutually exclusive');
    const ids = (dest: string, flag: string): number[] =>
      a.list(dest).map((x) => {
        if (!/^\d+$/.test(x) || Number(x) < 1) throw new ToolError(`${flag} expects PIDs separated by commas, got '${x}'`);
        return Number(x);
      });
    return {
      frequency: a.int('freq') ?? 49,
      pids: ids('pid', '-p'),
      tids: ids('tid', '-L'),
      samplePeriod: a.int('count'),
      hashStorageSize: a.int('hashSize'),
      cpu: a.int('cpu'),
      userOnly: a.flag('user'),
      kernelOnly: a.flag('kernel'),
      delimited: a.flag('delimited'),
      annotate: a.flag('annotate'),
      includeIdle: a.flag('idle'),
      folded: a.flag('folded'),
      duration: a.int('duration'),
      flamegraph: a.str('flamegraph'),
      ...pinnedMapFlags(a),
    };
  },
  main(o) {
    for (const p of o.pids ?? []) requireProcess(p, '-p');
    for (const t of o.tids ?? []) requireProcess(t, '-L');
    const inIds = idFilter(o);
    return runToolProgram({
      name: 'profile',
      program: profileProgram(o),
      banner: o.folded ? undefined : profileBanner(o),
      duration: o.duration,
      report: (rt) => {
        // --cgroupmap/--mntnsmap: the two ids end the key; other samples' stacks are never symbolized
        const ids = o.userOnly || o.kernelOnly ? 3 : 4;
        const keep = inIds && ((f: (i: number) => Value) => inIds(intOf(f(ids)), intOf(f(ids + 1))));
        const samples = samplesOf(rt.map('@samples', 0, keep || undefined), o);
        rt.print(samples.map((s) => (o.folded ? foldedStack(s, o) : multiLineStack(s, o))).join(''));
        if (o.flamegraph) {
          const folded = foldedFromCounts(samples.map((s) => ({ frames: flameFrames(s, o), count: Number(s.count) })));
          fs.writeFileSync(o.flamegraph, renderFlameGraph(folded, { title: 'CPU Flame Graph', subtitle: `tsbpf profile -F ${o.frequency}` }));
        }
      },
    });
  },
};

export const profile = mod;
export const tool = defineTool(mod);
