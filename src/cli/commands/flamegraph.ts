/**
 * `tsbpf flamegraph [options] [FILE...] > out.svg`: folded stacks (from a
 * file or stdin) to an interactive SVG flame graph.
 */
import * as fs from 'node:fs';
import { FlameGraphOptionError, parseFolded, renderFlameGraph, type FlameGraphOptions } from '../../runtime/flamegraph';
import { UsageError, guarded, out } from '../../inspect/cliutil';

const HELP = `Usage: tsbpf flamegraph [options] [FILE...] < folded.txt > out.svg

Reads folded stacks ("outer;inner;leaf COUNT" per line, as written by
'tsbpf profile -f', stackcollapse-*.pl or --flamegraph options) and writes a
standalone SVG: hover for details, click to zoom, Ctrl-F to search.

  --title TEXT       heading (default "Flame Graph")
  --subtitle TEXT    second heading line
  --width PX         image width (default 1200)
  --height PX        frame height (default 16)
  --fontsize PX      font size (default 12)
  --countname NAME   what the counts are (default "samples")
  --minwidth PX      omit frames narrower than this (default 0.1)
  --reverse          reverse each stack (leaves become roots)
  --inverted         icicle graph: root at the top
  -o, --output FILE  write the SVG to FILE instead of stdout
`;

function num(flag: string, v: string | undefined): number {
  if (v === undefined) throw new UsageError(`${flag} needs a value`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got '${v}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  return guarded('flamegraph', async () => {
    const opts: FlameGraphOptions = {};
    const files: string[] = [];
    let output: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      const eq = a.startsWith('--') ? a.indexOf('=') : -1;
      const flag = eq > 0 ? a.slice(0, eq) : a;
      const value = (): string | undefined => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
      switch (flag) {
        case '-h': case '--help': out(HELP); return 0;
        case '--title': opts.title = value(); if (opts.title === undefined) throw new UsageError('--title needs a value'); break;
        case '--subtitle': opts.subtitle = value(); if (opts.subtitle === undefined) throw new UsageError('--subtitle needs a value'); break;
        case '--countname': opts.countName = value(); if (opts.countName === undefined) throw new UsageError('--countname needs a value'); break;
        case '--width': opts.width = num(flag, value()); break;
        case '--height': opts.frameHeight = num(flag, value()); break;
        case '--fontsize': opts.fontSize = num(flag, value()); break;
        case '--minwidth': opts.minWidth = num(flag, value()); break;
        case '--reverse': opts.reverse = true; break;
        case '--inverted': case '--icicle': opts.inverted = true; break;
        case '-o': case '--output': output = value(); if (!output) throw new UsageError(`${flag} needs a file name`); break;
        default:
          if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}' (try 'tsbpf flamegraph -h')`);
          files.push(a);
      }
    }
    let text = '';
    if (!files.length) {
      if (process.stdin.isTTY) throw new UsageError("no input: pipe folded stacks in, or name a file (try 'tsbpf flamegraph -h')");
      text = fs.readFileSync(0, 'utf8');
    }
    for (const f of files) {
      try {
        text += fs.readFileSync(f === '-' ? 0 : f, 'utf8') + '\n';
      } catch (e) {
        throw new UsageError(`cannot read '${f}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
    }
    const { stacks, ignored } = parseFolded(text);
    if (ignored) process.stderr.write(`tsbpf flamegraph: ignored ${ignored} line${ignored === 1 ? '' : 's'} that are not "stack count"\n`);
    if (!stacks.size) process.stderr.write('tsbpf flamegraph: no stacks in the input; writing an empty graph\n');
    let svg: string;
    try {
      svg = renderFlameGraph(text, opts);
    } catch (e) {
      if (e instanceof FlameGraphOptionError) throw new UsageError(e.message);
      throw e;
    }
    if (output) fs.writeFileSync(output, svg);
    else out(svg);
    return 0;
  });
}
