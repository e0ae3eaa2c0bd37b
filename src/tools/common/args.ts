/**
 * bcc-style (Python argparse-like) flag parsing and `-h` help for the tools.
 *
 * Accepts what argparse accepts for the flags tools use: `-p 123`, `-p123`,
 * `--pid 123`, `--pid=123`, clustered short flags (`-tx`), repeated list
 * options (`-e a -e b` or `-e a,b` where declared), `--` to end options, and
 * positionals (interval, count, a probe spec...). Mistakes throw ToolError
 * with one sentence naming the flag.
 *
 * @example
 *   const spec: ArgSpec = { name: 'bitesize', summary: '...', options: [
 *     { short: 'c', long: 'comm', dest: 'comm', kind: 'string', metavar: 'COMM', help: 'trace this comm only' },
 *   ], positionals: [{ name: 'interval', kind: 'int', help: 'output interval, in seconds' }] };
 *   const a = parseArgs(spec, ['-c', 'dd', '1']); // a.str('comm') === 'dd', a.int('interval') === 1
 */
import { ToolError } from '../tool';

/** remainder: every argument after the option is its value (argparse's nargs=REMAINDER: bcc's `--exec CMD ARGS...`). */
export type OptKind = 'flag' | 'count' | 'int' | 'string' | 'list' | 'remainder';

export interface OptSpec {
  /** One letter, without the dash. */
  short?: string;
  /** Without the dashes. */
  long?: string;
  /** Key the value is stored under. */
  dest: string;
  /** flag: boolean; count: how often given (-vv); int/string: last value wins; list: every value. */
  kind: OptKind;
  metavar?: string;
  help: string;
  /** For 'list': also split each value on commas (`-e read,write`). */
  commaSplit?: boolean;
  /** For 'int': smallest accepted value. */
  min?: number;
}

export interface PositionalSpec {
  name: string;
  kind: 'int' | 'string';
  help: string;
  /** Collects every remaining positional (a list of strings). */
  rest?: boolean;
  min?: number;
}

export interface ArgSpec {
  name: string;
  /** One paragraph under the usage line. */
  summary: string;
  options: OptSpec[];
  positionals?: PositionalSpec[];
  /** `tool -x    # what it does` lines. */
  examples?: string[];
  /** Extra paragraph (differences from bcc/libbpf-tools, kernel notes). */
  notes?: string;
}

type Value = boolean | number | string | string[] | undefined;

/** Parsed flags with typed getters. */
export class ParsedArgs {
  constructor(
    private readonly values: Map<string, Value>,
    /** True when -h/--help was given: the tool prints help() and exits 0. */
    readonly help: boolean,
  ) {}

  flag(dest: string): boolean {
    return this.values.get(dest) === true;
  }

  count(dest: string): number {
    const v = this.values.get(dest);
    return typeof v === 'number' ? v : 0;
  }

  int(dest: string): number | undefined {
    const v = this.values.get(dest);
    return typeof v === 'number' ? v : undefined;
  }

  str(dest: string): string | undefined {
    const v = this.values.get(dest);
    return typeof v === 'string' ? v : undefined;
  }

  list(dest: string): string[] {
    const v = this.values.get(dest);
    return Array.isArray(v) ? v : [];
  }

  has(dest: string): boolean {
    return this.values.get(dest) !== undefined;
  }
}

function parseInt10(s: string, what: string, min?: number): number {
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(s)) throw new ToolError(`${what} expects an integer, got '${s}'`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ToolError(`${what} is out of range: '${s}'`);
  if (min !== undefined && n < min) throw new ToolError(`${what} must be at least ${min}, got ${n}`);
  return n;
}

function optName(o: OptSpec): string {
  return o.long ? `--${o.long}` : `-${o.short}`;
}

/** Parses `argv` (the tool's arguments, without the tool name) against `spec`. */
export function parseArgs(spec: ArgSpec, argv: readonly string[]): ParsedArgs {
  const values = new Map<string, Value>();
  const positionals: string[] = [];
  let help = false;
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short as string, o]));
  const byLong = new Map(spec.options.filter((o) => o.long).map((o) => [o.long as string, o]));

  const store = (o: OptSpec, raw: string | undefined): void => {
    switch (o.kind) {
      case 'flag':
        values.set(o.dest, true);
        return;
      case 'count':
        values.set(o.dest, ((values.get(o.dest) as number | undefined) ?? 0) + 1);
        return;
      case 'int':
        values.set(o.dest, parseInt10(raw as string, optName(o), o.min));
        return;
      case 'string':
        values.set(o.dest, raw as string);
        return;
      case 'list': {
        const prev = (values.get(o.dest) as string[] | undefined) ?? [];
        const parts = o.commaSplit ? (raw as string).split(',').filter((s) => s !== '') : [raw as string];
        values.set(o.dest, [...prev, ...parts]);
        return;
      }
      case 'remainder':
        return; // taken whole where it is met
    }
  };
  const takesValue = (o: OptSpec) => o.kind === 'int' || o.kind === 'string' || o.kind === 'list';

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      let o = byLong.get(name);
      if (!o) {
        // argparse accepts unambiguous prefixes of long options.
        const cands = [...byLong.keys()].filter((k) => k.startsWith(name));
        if (cands.length === 1) o = byLong.get(cands[0]);
        else if (cands.length > 1) throw new ToolError(`ambiguous option --${name} (could be ${cands.map((c) => '--' + c).join(', ')})`);
      }
      if (!o) throw new ToolError(`unrecognized option '--${name}' (see '${spec.name} -h')`);
      if (o.kind === 'remainder') {
        values.set(o.dest, [...(eq >= 0 ? [a.slice(eq + 1)] : []), ...argv.slice(i + 1)]);
        break;
      }
      if (takesValue(o)) {
        const v: string | undefined = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new ToolError(`option --${o.long} needs a value`);
        store(o, v);
      } else {
        if (eq >= 0) throw new ToolError(`option --${o.long} takes no value`);
        store(o, undefined);
      }
      continue;
    }
    // -4/-6 are flags where a tool declares them (tcpstates), negative numbers otherwise.
    if (a.startsWith('-') && a.length > 1 && (!/^-\d/.test(a) || byShort.has(a[1]))) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        if (c === 'h') {
          help = true;
          continue;
        }
        const o = byShort.get(c);
        if (!o) throw new ToolError(`unrecognized option '-${c}' (see '${spec.name} -h')`);
        if (takesValue(o)) {
          const rest = a.slice(j + 1);
          const v = rest !== '' ? rest.replace(/^=/, '') : argv[++i];
          if (v === undefined) throw new ToolError(`option -${c} needs a value`);
          store(o, v);
          break;
        }
        store(o, undefined);
      }
      continue;
    }
    positionals.push(a);
  }

  const pos = spec.positionals ?? [];
  let pi = 0;
  for (const p of pos) {
    if (p.rest) {
      values.set(p.name, positionals.slice(pi));
      pi = positionals.length;
      break;
    }
    if (pi >= positionals.length) break;
    const raw = positionals[pi++];
    values.set(p.name, p.kind === 'int' ? parseInt10(raw, p.name, p.min) : raw);
  }
  if (pi < positionals.length && !help) {
    throw new ToolError(`unexpected argument '${positionals[pi]}' (see '${spec.name} -h')`);
  }
  return new ParsedArgs(values, help);
}

function optLabel(o: OptSpec): string {
  const mv = o.metavar ?? o.dest.toUpperCase();
  const v = o.kind === 'int' || o.kind === 'string' || o.kind === 'list' ? ` ${mv}` : o.kind === 'remainder' ? ` ${mv} ...` : '';
  const parts: string[] = [];
  if (o.short) parts.push(`-${o.short}${v}`);
  if (o.long) parts.push(`--${o.long}${v}`);
  return parts.join(', ');
}

/** argparse-like help: usage, summary, positionals, options, examples, notes. */
export function helpText(spec: ArgSpec): string {
  const usageOpts = spec.options.map((o) => {
    const mv = o.metavar ?? o.dest.toUpperCase();
    const flag = o.short ? `-${o.short}` : `--${o.long}`;
    return o.kind === 'flag' || o.kind === 'count' ? `[${flag}]` : o.kind === 'remainder' ? `[${flag} ${mv} ...]` : `[${flag} ${mv}]`;
  });
  const pos = spec.positionals ?? [];
  const usagePos = pos.map((p) => (p.rest ? `[${p.name} ...]` : `[${p.name}]`));
  const lines: string[] = [];
  lines.push(`usage: ${spec.name} [-h] ${[...usageOpts, ...usagePos].join(' ')}`.trimEnd());
  lines.push('', spec.summary, '');
  if (pos.length) {
    lines.push('positional arguments:');
    for (const p of pos) lines.push(formatHelpRow(p.name, p.help));
    lines.push('');
  }
  lines.push('options:');
  lines.push(formatHelpRow('-h, --help', 'show this help message and exit'));
  for (const o of spec.options) lines.push(formatHelpRow(optLabel(o), o.help));
  if (spec.examples?.length) {
    lines.push('', 'examples:');
    for (const e of spec.examples) lines.push(`    ${e}`);
  }
  if (spec.notes) lines.push('', spec.notes);
  return lines.join('\n') + '\n';
}

function formatHelpRow(label: string, help: string): string {
  const l = `  ${label}`;
  return l.length <= 22 ? `${l.padEnd(24)}${help}` : `${l}\n${''.padEnd(24)}${help}`;
}
