/**
 * bashreadline: every command line entered in a bash shell, from a
 * uretprobe on bash's readline (readline_internal_teardown when the binary
 * exports it, as bcc picks: it returns the line as well).
 * Columns and flags as bcc bashreadline.
 */
import * as fs from 'node:fs';
import { ElfFile } from '../ebpf/elf';
import { requireFeature } from '../sys/features';
import type { ParsedArgs } from './common/args';
import { defineTool, type ToolModule } from './common/define';
import { EBPF_OPTION, printProgram } from './common/ebpf';
import { clockTime } from './common/hist';
import { intOf, quote, runToolProgram, strOf, toolEvent } from './common/script';
import { ToolError } from './tool';

export interface BashreadlineOptions {
  /** -s: the readline library bash uses, when it is not built in. */
  shared?: string;
  ebpf: boolean;
}

/** bcc reads this much of the line. */
const LINE_LEN = 80;

const LINE = toolEvent('readline', { pid: ['%d', 'pid'], line: ['%s', `str(retval, ${LINE_LEN})`] });

/** The function whose return value is the line: bcc's choice, the teardown when the binary exports it. */
export function readlineSymbol(path: string): string {
  const elf = ElfFile.open(path);
  if (elf.symbol('readline_internal_teardown') !== undefined) return 'readline_internal_teardown';
  if (elf.symbol('readline') !== undefined) return 'readline';
  throw new ToolError(`${path} has no readline function (bash built without readline? use -s with its libreadline.so)`);
}

export function bashreadlineProgram(path: string, symbol: string): string {
  const p = /^[\w/.+-]+$/.test(path) ? path : quote(path);
  // A readline in a shared library serves other programs too: bcc keeps bash's lines only.
  return `uretprobe:${p}:${symbol} /retval != 0 && comm == "bash"/\n{\n  ${LINE.send()}\n}\n`;
}

export const HEADER = `${'TIME'.padEnd(9)} ${'PID'.padEnd(7)} COMMAND\n`;

export function bashreadlineLine(pid: number, line: string, now: Date): string {
  return `${clockTime(now).padEnd(9)} ${String(pid).padEnd(7)} ${line}\n`;
}

const mod: ToolModule<BashreadlineOptions> = {
  description: 'Print commands entered in any running bash shell (uretprobe on readline).',
  category: 'security',
  spec: {
    name: 'bashreadline',
    summary: 'Print entered bash commands from all running shells',
    options: [
      { short: 's', long: 'shared', dest: 'shared', kind: 'string', metavar: 'SHARED', help: 'specify the location of libreadline.so library (bcc\'s default with a bare -s: /lib/libreadline.so)' },
      EBPF_OPTION,
    ],
    examples: [
      'bashreadline                          # commands entered in bash (/bin/bash\'s own readline)',
      'bashreadline -s /lib/libreadline.so   # bash linked with a shared libreadline',
    ],
    notes: 'Lines longer than 80 bytes are cut there, as in bcc. -s takes its path (bcc also accepts a bare -s).\n' +
      'libbpf-tools bashreadline prints the same columns.',
  },
  options(a: ParsedArgs): BashreadlineOptions {
    return { shared: a.str('shared'), ebpf: a.flag('ebpf') };
  },
  main(o) {
    const path = o.shared ?? '/bin/bash';
    if (!fs.existsSync(path)) throw new ToolError(`${path} does not exist${o.shared ? '' : ' (use -s with the libreadline.so bash uses)'}`);
    const program = bashreadlineProgram(path, readlineSymbol(path));
    if (o.ebpf) return Promise.resolve(printProgram(program));
    requireFeature('uprobes');
    const onLine = LINE.handle((v, rt) => rt.print(bashreadlineLine(Number(intOf(v.pid)), strOf(v.line), new Date())));
    return runToolProgram({ name: 'bashreadline', program, banner: HEADER, on: [onLine] });
  },
};

export const bashreadline = mod;
export const tool = defineTool(mod);
