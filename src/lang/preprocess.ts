/**
 * The C-preprocessor subset bpftrace scripts use: `#include` (recorded only —
 * types come from BTF), object-like `#define`/`#undef`, and conditionals
 * (`#if`, `#ifdef`, `#ifndef`, `#elif`, `#else`, `#endif`), plus a `#!` line.
 *
 * Directive lines and lines in inactive conditional branches are blanked with
 * spaces rather than removed, so every line, column and byte offset of the
 * remaining text is the same as in the user's file and diagnostics point at
 * what the user wrote.
 */
import type { SourceFile, Span } from './ast';
import { CompileError } from './diagnostics';

export interface PreprocessOptions {
  /** Extra object-like macros, as if `#define NAME value` preceded the script (like `-D`). */
  defines?: Record<string, string>;
}

export interface PreprocessResult {
  /** The script with directives blanked and macros substituted. */
  text: string;
  /** Header names as written, e.g. `linux/sched.h` (for `<...>`) or `x.h` (for `"..."`). */
  includes: string[];
  /** Object-like macros in effect at the end of the script. */
  macros: Map<string, string>;
}

/**
 * Macros every script sees. tsbpf always takes types from BTF, so scripts that
 * test `BPFTRACE_HAVE_BTF` (most of bpftrace's tools/) take their BTF branch.
 */
export const PREDEFINED_MACROS: Readonly<Record<string, string>> = { BPFTRACE_HAVE_BTF: '1' };

/**
 * Runs the preprocessor over a script.
 *
 * @example
 *   const r = preprocess({ name: 'x.bt', text: '#define N 4\nBEGIN { print(N); }' });
 *   r.text    // '           \nBEGIN { print(4); }'
 *   r.macros  // Map { 'BPFTRACE_HAVE_BTF' => '1', 'N' => '4' }
 */
export function preprocess(source: SourceFile, opts: PreprocessOptions = {}): PreprocessResult {
  const r = preprocessDirectives(source, opts);
  return { text: substituteMacros(r.text, r.macros), includes: r.includes, macros: r.macros };
}

/**
 * Like `preprocess` but leaves macro uses in place: the parser expands them
 * token by token so that an expansion keeps the span of the name it replaces.
 */
export function preprocessDirectives(source: SourceFile, opts: PreprocessOptions = {}): PreprocessResult {
  const text = source.text;
  const macros = new Map<string, string>(Object.entries(PREDEFINED_MACROS));
  for (const [k, v] of Object.entries(opts.defines ?? {})) macros.set(k, v);
  const includes: string[] = [];
  const out: string[] = [];
  const lines = splitLines(text);
  // One frame per open conditional: is the current branch active, has any branch been taken, where it opened.
  const conds: { active: boolean; taken: boolean; parentActive: boolean; seenElse: boolean; span: Span }[] = [];
  let inComment = false;
  const isActive = () => conds.length === 0 || conds[conds.length - 1].active;

  for (let li = 0; li < lines.length; li++) {
    const { start, body, eol } = lines[li];
    const startsInComment = inComment;
    inComment = endsInBlockComment(body, inComment);
    const hash = startsInComment ? -1 : firstNonBlank(body);
    if (li === 0 && body.startsWith('#!')) {
      out.push(blank(body) + eol);
      continue;
    }
    if (hash < 0 || body[hash] !== '#') {
      out.push((isActive() ? body : blank(body)) + eol);
      continue;
    }
    // A directive: gather backslash-continued lines.
    let full = body;
    const used = [li];
    while (full.endsWith('\\') && li + 1 < lines.length) {
      full = full.slice(0, -1) + ' ' + lines[++li].body;
      used.push(li);
    }
    for (const u of used) out.push(blank(lines[u].body) + lines[u].eol);
    inComment = endsInBlockComment(full, startsInComment);
    const directiveText = stripComments(full.slice(hash + 1));
    const m = /^\s*([A-Za-z_]\w*)?\s*([\s\S]*)$/.exec(directiveText)!;
    const name = m[1] ?? '';
    const rest = m[2].trim();
    const lineNo = used[0] + 1;
    const dspan = lineSpan(lineNo, hash + 1, start + hash, body.length + 1, start + body.length);
    const err = (msg: string) => new CompileError(msg, dspan, source);

    switch (name) {
      case 'if':
      case 'ifdef':
      case 'ifndef': {
        const parentActive = isActive();
        let cond = false;
        if (parentActive) {
          if (name === 'if') cond = evalCondition(rest, macros, err);
          else {
            const id = /^[A-Za-z_]\w*/.exec(rest)?.[0];
            if (!id) throw err(`#${name} needs a macro name`);
            cond = macros.has(id) === (name === 'ifdef');
          }
        }
        conds.push({ active: parentActive && cond, taken: cond, parentActive, seenElse: false, span: dspan });
        continue;
      }
      case 'elif':
      case 'else': {
        const top = conds[conds.length - 1];
        if (!top) throw err(`#${name} without #if`);
        if (top.seenElse) throw err(`#${name} after #else`);
        if (name === 'else') {
          top.seenElse = true;
          top.active = top.parentActive && !top.taken;
          top.taken = true;
        } else {
          const cond = top.parentActive && !top.taken && evalCondition(rest, macros, err);
          top.active = cond;
          top.taken = top.taken || cond;
        }
        continue;
      }
      case 'endif':
        if (!conds.pop()) throw err('#endif without #if');
        continue;
    }
    if (!isActive()) continue;
    switch (name) {
      case 'include': {
        const inc = /^(?:<([^>]*)>|"([^"]*)")/.exec(rest);
        if (!inc) throw err('#include expects <FILE> or "FILE"');
        includes.push(inc[1] ?? inc[2]);
        break;
      }
      case 'define': {
        const d = /^([A-Za-z_]\w*)(\(?)([\s\S]*)$/.exec(rest);
        if (!d) throw err('#define needs a macro name');
        if (d[2] === '(') {
          throw err(`function-like macro '${d[1]}' is not supported: only object-like macros (#define NAME value) are`);
        }
        macros.set(d[1], d[3].trim());
        break;
      }
      case 'undef': {
        const id = /^[A-Za-z_]\w*/.exec(rest)?.[0];
        if (!id) throw err('#undef needs a macro name');
        macros.delete(id);
        break;
      }
      case 'pragma':
      case 'line':
      case '':
        break;
      case 'error':
        throw err(`#error ${rest}`);
      case 'warning':
        break;
      default:
        throw err(`unsupported preprocessor directive: #${name}`);
    }
  }
  if (conds.length) throw new CompileError('unterminated conditional: #if without #endif', conds[conds.length - 1].span, source);
  return { text: out.join(''), includes, macros };
}

/**
 * Replaces whole-identifier uses of macros outside strings and comments,
 * repeatedly (a macro may use another), never re-expanding a name inside
 * its own expansion.
 */
export function substituteMacros(text: string, macros: ReadonlyMap<string, string>, active: ReadonlySet<string> = new Set()): string {
  if (macros.size === 0) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const j = text.indexOf('\n', i);
      const e = j < 0 ? text.length : j;
      out += text.slice(i, e);
      i = e;
    } else if (c === '/' && text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2);
      const e = j < 0 ? text.length : j + 2;
      out += text.slice(i, e);
      i = e;
    } else if (/[A-Za-z_$@]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /\w/.test(text[j])) j++;
      const word = text.slice(i, j);
      const v = macros.get(word);
      if (v !== undefined && !active.has(word) && c !== '$' && c !== '@') {
        out += substituteMacros(v, macros, new Set([...active, word]));
      } else out += word;
      i = j;
    } else if (/[0-9]/.test(c)) {
      // Skip whole numbers so suffixes like 10ms are not taken for a macro 'ms'.
      let j = i + 1;
      while (j < text.length && /\w/.test(text[j])) j++;
      out += text.slice(i, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// ---- #if expressions ---------------------------------------------------------

/** Evaluates a `#if` condition: integers, macros, defined(X), ! ~ - + * / % << >> < <= > >= == != & ^ | && || ?: and parentheses. */
function evalCondition(expr: string, macros: ReadonlyMap<string, string>, err: (m: string) => CompileError): boolean {
  // `defined` must be resolved before macro substitution hides the names.
  const withDefined = expr.replace(/\bdefined\s*(?:\(\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*))/g, (_m, a?: string, b?: string) =>
    macros.has((a ?? b)!) ? '1' : '0',
  );
  const text = substituteMacros(withDefined, macros);
  const toks = text.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%<>!~&^|?:()]|\S/g) ?? [];
  let p = 0;
  const peek = () => toks[p];
  const take = (t: string) => {
    if (toks[p] !== t) throw err(`invalid #if expression: expected '${t}' in '${expr.trim()}'`);
    p++;
  };
  const binLevels: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
  const primary = (): bigint => {
    const t = toks[p++];
    if (t === undefined) throw err(`invalid #if expression: '${expr.trim()}' ends early`);
    if (t === '(') {
      const v = ternary();
      take(')');
      return v;
    }
    if (t === '!') return primary() === 0n ? 1n : 0n;
    if (t === '-') return -primary();
    if (t === '+') return primary();
    if (t === '~') return ~primary();
    if (/^\d/.test(t)) return BigInt(t.replace(/[uUlL]+$/, '').replace(/^0(?=[0-7])/, '0o'));
    // Undefined identifiers are 0, as in C.
    if (/^[A-Za-z_]/.test(t)) return 0n;
    throw err(`invalid #if expression: unexpected '${t}' in '${expr.trim()}'`);
  };
  const binary = (level: number): bigint => {
    if (level >= binLevels.length) return primary();
    let v = binary(level + 1);
    while (p < toks.length && binLevels[level].includes(peek())) {
      const op = toks[p++];
      const r = binary(level + 1);
      v = applyOp(op, v, r, err);
    }
    return v;
  };
  const ternary = (): bigint => {
    const c = binary(0);
    if (peek() !== '?') return c;
    p++;
    const a = ternary();
    take(':');
    const b = ternary();
    return c !== 0n ? a : b;
  };
  if (toks.length === 0) throw err('#if with no expression');
  const v = ternary();
  if (p !== toks.length) throw err(`invalid #if expression: unexpected '${toks[p]}' in '${expr.trim()}'`);
  return v !== 0n;
}

function applyOp(op: string, a: bigint, b: bigint, err: (m: string) => CompileError): bigint {
  const bool = (x: boolean) => (x ? 1n : 0n);
  switch (op) {
    case '||': return bool(a !== 0n || b !== 0n);
    case '&&': return bool(a !== 0n && b !== 0n);
    case '|': return a | b;
    case '^': return a ^ b;
    case '&': return a & b;
    case '==': return bool(a === b);
    case '!=': return bool(a !== b);
    case '<': return bool(a < b);
    case '<=': return bool(a <= b);
    case '>': return bool(a > b);
    case '>=': return bool(a >= b);
    case '<<': return a << b;
    case '>>': return a >> b;
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/':
    case '%':
      if (b === 0n) throw err('division by zero in #if expression');
      return op === '/' ? a / b : a % b;
  }
  throw err(`invalid operator '${op}' in #if expression`);
}

// ---- helpers -----------------------------------------------------------------

function splitLines(text: string): { start: number; body: string; eol: string }[] {
  const res: { start: number; body: string; eol: string }[] = [];
  const re = /\r\n|\n|\r/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    res.push({ start: last, body: text.slice(last, m.index), eol: m[0] });
    last = m.index + m[0].length;
  }
  res.push({ start: last, body: text.slice(last), eol: '' });
  return res;
}

function blank(s: string): string {
  return s.replace(/[^\t]/g, ' ');
}

function firstNonBlank(s: string): number {
  const m = /\S/.exec(s);
  return m ? m.index : -1;
}

/** Whether a line leaves a `/* ... ` comment open, given whether it started inside one. */
function endsInBlockComment(line: string, inComment: boolean): boolean {
  let i = 0;
  while (i < line.length) {
    if (inComment) {
      const j = line.indexOf('*/', i);
      if (j < 0) return true;
      inComment = false;
      i = j + 2;
    } else {
      const c = line[i];
      if (c === '"') {
        i++;
        while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
        i++;
      } else if (c === '/' && line[i + 1] === '/') return false;
      else if (c === '/' && line[i + 1] === '*') {
        inComment = true;
        i += 2;
      } else i++;
    }
  }
  return inComment;
}

function stripComments(s: string): string {
  return s.replace(/\/\*[\s\S]*?(\*\/|$)/g, ' ').replace(/\/\/.*$/, '');
}

function lineSpan(line: number, col: number, start: number, endCol: number, end: number): Span {
  return { line, col, endLine: line, endCol, start, end };
}
