/**
 * The man page, tsbpf(1), made from the very text `-h` prints: `tsbpf -h`
 * (args.ts USAGE), each command's `-h` and each tool's `-h`, captured by
 * running them. scripts/build.js writes it to man/tsbpf.1 at every build, so the
 * page and the help cannot drift; test/unit/install-man.test.ts checks that
 * the rendered page holds every line of every `-h`.
 */
import { USAGE } from './args';
import { commandNames, dispatch } from './main';
import { toolNames, getTool } from '../tools/registry';

export interface HelpTexts {
  /** `tsbpf -h`. */
  usage: string;
  /** `tsbpf COMMAND -h`, for prog, map, ... */
  commands: Array<{ name: string; help: string }>;
  /** `tsbpf TOOL -h`, with the tool's one-line description. */
  tools: Array<{ name: string; description: string; help: string }>;
}

/** Runs `tsbpf ARGV` in this process and returns what it wrote to stdout. */
async function stdoutOf(argv: string[]): Promise<string> {
  const write = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await dispatch(argv);
    if (code !== 0) throw new Error(`tsbpf ${argv.join(' ')} exited with ${code}`);
  } finally {
    process.stdout.write = write;
  }
  return text;
}

export async function collectHelp(): Promise<HelpTexts> {
  const commands: HelpTexts['commands'] = [];
  for (const name of commandNames()) commands.push({ name, help: await stdoutOf([name, '-h']) });
  const tools: HelpTexts['tools'] = [];
  for (const name of toolNames()) tools.push({ name, description: getTool(name)?.description ?? '', help: await stdoutOf([name, '-h']) });
  return { usage: USAGE, commands, tools };
}

/** Text shown as is (.nf): backslashes escaped, and no line may start a roff request. */
function verbatim(text: string): string {
  const lines = text.replace(/\n+$/, '').split('\n').map((l) => {
    const e = l.replace(/\\/g, '\\e');
    return /^[.']/.test(e) ? `\\&${e}` : e;
  });
  return ['.nf', ...lines, '.fi'].join('\n');
}

/** One word of running text, escaped for roff. */
function text(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1');
}

/** Splits `tsbpf -h` at its "HEADING:" lines into man sections. */
function usageSections(usage: string): Array<{ title: string; body: string }> {
  const out: Array<{ title: string; body: string }> = [];
  for (const line of usage.split('\n')) {
    const h = /^([A-Z][A-Z ]*):$/.exec(line);
    if (h) out.push({ title: h[1], body: '' });
    else if (out.length) out[out.length - 1].body += `${line}\n`;
  }
  return out.filter((s) => s.body.trim());
}

export function renderManPage(h: HelpTexts, version: string): string {
  const out: string[] = [];
  out.push(`.TH TSBPF 1 "" "${text(version)}" "User Commands"`);
  out.push('.SH NAME', 'tsbpf \\- BPF observability for Linux: a bpftrace\\-compatible language, bcc\\-style tools, BPF introspection');
  for (const s of usageSections(h.usage)) {
    out.push(`.SH ${s.title === 'USAGE' ? 'SYNOPSIS' : s.title}`, verbatim(s.body));
  }
  out.push('.SH COMMANDS');
  for (const c of h.commands) out.push(`.SS ${c.name}`, verbatim(c.help));
  out.push('.SH TOOLS', 'Each tool is run as', '.B tsbpf', '.I TOOL', '[flags]; its flags follow.');
  for (const t of h.tools) out.push(`.SS ${t.name}`, text(t.description), '.PP', verbatim(t.help));
  out.push('.SH SHELL COMPLETION', 'bash:', '.B source <(tsbpf completion bash)', '.br', 'zsh:', '.B source <(tsbpf completion zsh)');
  out.push('.SH SEE ALSO', 'bpftrace(8), bpftool(8)');
  return out.join('\n') + '\n';
}
