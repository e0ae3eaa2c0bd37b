/**
 * filelife: one line per file deleted after being created while tracing,
 * with its age, from kprobes on vfs_create, security_inode_create, vfs_open
 * (FMODE_CREATED) and vfs_unlink; output as bcc filelife (needs kprobes).
 */
import type { EventSpec } from '../lang/artifact';
import type { Value } from '../runtime/values';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, runToolProgram, strOf } from './common/script';

export interface FilelifeOptions {
  pid?: number;
  ebpf: boolean;
}

/** include/linux/fs.h: set in file->f_mode when the open created the file. */
const FMODE_CREATED = 0x100000;
const EV = 'FL %d %d %s %s\n';

export function filelifeProgram(o: FilelifeOptions): string {
  const pred = o.pid !== undefined ? ` /pid == ${o.pid}/` : '';
  // Since Linux 5.12 vfs_create and vfs_unlink take the mount's user namespace (or idmap) first: the dentry is arg2.
  return `kprobe:vfs_create${pred}
{
  @fl_birth[arg2] = nsecs;
}

kprobe:security_inode_create${pred}
{
  @fl_birth[arg1] = nsecs;
}

kprobe:vfs_open${pred}
{
  if ((((struct file *)arg1)->f_mode & ${FMODE_CREATED}) != 0) {
    @fl_birth[(uint64)((struct path *)arg0)->dentry] = nsecs;
  }
}

kprobe:vfs_unlink${pred}
{
  $t = @fl_birth[arg2];
  if ($t != 0) {
    @fl_dentry[tid] = arg2;
    @fl_age[tid] = (nsecs - $t) / 1000000;
    @fl_name[tid] = str(((struct dentry *)arg2)->d_name.name);
  }
}

kretprobe:vfs_unlink /@fl_dentry[tid] != 0/
{
  // Only a successful unlink ends the file's life.
  if (retval == 0) {
    printf("${EV.replace('\n', '\\n')}", pid, @fl_age[tid], comm, @fl_name[tid]);
    delete(@fl_birth[@fl_dentry[tid]]);
  }
  delete(@fl_dentry[tid]);
  delete(@fl_age[tid]);
  delete(@fl_name[tid]);
}
`;
}

export const FILELIFE_HEADER = `${'TIME'.padEnd(8)} ${'PID'.padEnd(7)} ${'COMM'.padEnd(16)} ${'AGE(s)'.padEnd(7)} FILE\n`;

export function filelifeLine(v: readonly Value[], now: Date): string {
  return `${clockTime(now).padEnd(8)} ${String(intOf(v[0])).padEnd(7)} ${strOf(v[2]).padEnd(16)} ${(Number(intOf(v[1])) / 1000).toFixed(2).padEnd(7)} ${strOf(v[3])}\n`;
}

const mod: ToolModule<FilelifeOptions> = {
  description: 'Trace the lifespan of short-lived files (created, then deleted); needs kprobes.',
  category: 'fs',
  spec: {
    name: 'filelife',
    summary: 'Trace the lifecycle of files',
    options: [{ short: 'p', long: 'pid', dest: 'pid', kind: 'int', metavar: 'PID', min: 1, help: 'trace this PID only' }, EBPF_OPTION],
    examples: ['filelife           # trace lifecycle of file(create->remove)', 'filelife -p 181    # only trace PID 181'],
    notes: 'Follows bcc (kprobes; FILE is the last path component). libbpf-tools filelife prints the same columns.',
  },
  options(a: ParsedArgs): FilelifeOptions {
    return { pid: a.int('pid'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = filelifeProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (!hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'filelife needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    const onEvent = (ev: EventSpec, v: Value[], rt: { print(s: string): void }): boolean => {
      if (ev.kind !== 'printf' || ev.format !== EV) return false;
      rt.print(filelifeLine(v, new Date()));
      return true;
    };
    return runToolProgram({ name: 'filelife', program, banner: FILELIFE_HEADER, onEvent });
  },
};

export const filelife = mod;
export const tool = defineTool(mod);
