/**
 * ttysnoop: prints what is written to one tty or pts device, as it is
 * written, from a kprobe on the n_tty line discipline's write (needs kprobes).
 * Flags and output as bcc ttysnoop.
 *
 * bcc probes tty_write and reads the writer's user-space buffer; tsbpf's
 * kprobes read kernel memory, so it probes n_tty_write, which gets the same
 * bytes in the kernel's copy (tty->write_buf, up to 2 KiB per call).
 */
import * as fs from 'node:fs';
import { MissingFeatureError, hasFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { runToolProgram, toolEvent } from './common/script';
import { ToolError } from './tool';
import type { Value } from '../runtime/values';

export interface TtysnoopOptions {
  noclear: boolean;
  device: string;
  /** The device number as the kernel keeps it in inode->i_rdev (MKDEV: major << 20 | minor). */
  rdev: number;
  datasize: number;
  datacount: number;
  ebpf: boolean;
}

/** The largest buf() the compiler reads in one go. */
const MAX_DATASIZE = 1024;

/** One chunk: its length and datasize bytes from $buf + $off (read straight into the record: no copy on the 512-byte BPF stack). */
export const ttyEvent = (datasize: number) => toolEvent('ttysnoop', { count: ['%d', '$n'], data: ['%r', `buf($buf + $off, ${datasize})`] });

/** The kernel's dev_t from stat's st_rdev (glibc's encoding: major in bits 8-19 and 32-63, minor in 0-7 and 20-31). */
export function kernelDev(rdev: number | bigint): number {
  const r = BigInt(rdev);
  const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
  const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
  return Number((major << 20n) | minor);
}

/** bcc's device argument: a path, or a number meaning /dev/pts/N. */
export function ttyDevice(arg: string): { path: string; rdev: number } {
  const p = arg.startsWith('/') ? arg : `/dev/pts/${arg}`;
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(p, { bigint: true });
  } catch (e) {
    throw new ToolError(`Unable to read device ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isCharacterDevice()) throw new ToolError(`${p} is not a tty device (not a character device)`);
  return { path: p, rdev: kernelDev(st.rdev) };
}

export function ttysnoopProgram(o: TtysnoopOptions): string {
  // n_tty_write(struct tty_struct *tty, struct file *file, const u8 *buf, size_t nr): the file written through names the device.
  let s = `kprobe:n_tty_write /((struct file *)arg1)->f_inode->i_rdev == ${o.rdev}/\n{\n  $buf = arg2;\n  $count = arg3;\n`;
  // bcc's loop: up to datacount chunks of datasize bytes each, the last one short.
  for (let i = 0; i < o.datacount; i++) {
    const off = i * o.datasize;
    s += `  if ($count > ${off}) {\n    $off = ${off};\n    $n = $count - ${off} > ${o.datasize} ? ${o.datasize} : $count - ${off};\n` +
      `    ${ttyEvent(o.datasize).send()}\n  }\n`;
  }
  return `${s}}\n`;
}

function bytesOf(v: Value | undefined): Uint8Array {
  return v && v.kind === 'buf' ? v.bytes : new Uint8Array();
}

const mod: ToolModule<TtysnoopOptions> = {
  description: 'Watch the output written to a tty or pts device (mirror a shell session); needs kprobes.',
  category: 'security',
  spec: {
    name: 'ttysnoop',
    summary: 'Snoop output from a pts or tty device, eg, a shell',
    options: [
      { short: 'C', long: 'noclear', dest: 'noclear', kind: 'flag', help: "don't clear the screen" },
      { short: 's', long: 'datasize', dest: 'datasize', kind: 'int', metavar: 'DATASIZE', min: 1, help: `size of the transmitting buffer (default 256, at most ${MAX_DATASIZE})` },
      { short: 'c', long: 'datacount', dest: 'datacount', kind: 'int', metavar: 'DATACOUNT', min: 1, help: "number of times we check for 'data-size' data (default 16)" },
      EBPF_OPTION,
    ],
    positionals: [{ name: 'device', kind: 'string', help: 'path to a tty device (eg, /dev/tty0) or pts number' }],
    examples: [
      'ttysnoop /dev/pts/2          # snoop output from /dev/pts/2',
      'ttysnoop 2                   # snoop output from /dev/pts/2 (shortcut)',
      'ttysnoop /dev/console        # snoop output from the system console',
      'ttysnoop /dev/tty0           # snoop output from /dev/tty0',
      'ttysnoop /dev/pts/2 -s 1024  # snoop output from /dev/pts/2 with data size 1024',
      'ttysnoop /dev/pts/2 -c 2     # snoop output from /dev/pts/2 with 2 checks for 256 bytes of data in buffer',
      '                               (potentially retrieving 512 bytes)',
    ],
    notes: 'Follows bcc\'s flags and output, but probes n_tty_write (the line discipline\'s write, with the kernel\'s copy of the\n' +
      'bytes) where bcc probes tty_write (the writer\'s own buffer): the same bytes, on ttys using the default N_TTY\n' +
      'discipline. The device is matched by its device number, bcc matches its inode. The screen is cleared only when\n' +
      'stdout is a terminal. libbpf-tools has no ttysnoop.',
  },
  options(a: ParsedArgs): TtysnoopOptions {
    const arg = a.str('device');
    if (arg === undefined) throw new ToolError("ttysnoop needs a device: a path to a tty device (eg, /dev/tty0) or a pts number (see 'ttysnoop -h')");
    const datasize = a.int('datasize') ?? 256;
    if (datasize > MAX_DATASIZE) throw new ToolError(`-s: the data size can be at most ${MAX_DATASIZE} bytes, got ${datasize}`);
    const dev = ttyDevice(arg);
    return { noclear: a.flag('noclear'), device: dev.path, rdev: dev.rdev, datasize, datacount: a.int('datacount') ?? 16, ebpf: a.flag('ebpf') };
  },
  main(o) {
    const program = ttysnoopProgram(o);
    if (o.ebpf) return Promise.resolve(printProgram(program));
    if (!hasFeature('kprobes')) throw new MissingFeatureError('kprobes', 'ttysnoop needs kprobes, but kprobes are not available: this kernel is built without CONFIG_KPROBES');
    const decoder = new TextDecoder('utf-8');
    return runToolProgram({
      name: 'ttysnoop',
      program,
      // bcc runs clear(1) first; a terminal's clear-screen sequence, where there is a terminal
      banner: !o.noclear && process.stdout.isTTY ? '\x1b[H\x1b[2J' : undefined,
      on: [ttyEvent(o.datasize).handle((e, rt) => {
        const n = Number(e.count.kind === 'int' ? e.count.value : 0n);
        rt.print(decoder.decode(bytesOf(e.data).subarray(0, n)));
      })],
    });
  },
};

export const ttysnoop = mod;
export const tool = defineTool(mod);
