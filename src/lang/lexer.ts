/**
 * The tsbpf lexer: turns (preprocessed) script text into tokens with spans.
 *
 * It is driven by the parser rather than run ahead of it, because the
 * language has two lexical modes: attach points (`uprobe:/bin/bash:readline`,
 * `t:syscalls:sys_enter_*`) are raw text where `/`, `*`, `-`, `:` and `.` are
 * ordinary characters, while probe bodies and predicates are C-like tokens.
 * The parser asks for an attach point exactly where one may start.
 */
import type { SourceFile, Span } from './ast';
import { CompileError } from './diagnostics';

export type TokenKind =
  /** integer literal; `int` holds the value */
  | 'int'
  /** string literal; `str` holds the decoded value */
  | 'string'
  /** identifiers, keywords and builtin names alike (the parser tells them apart) */
  | 'ident'
  /** `$name` (text without the `$`) */
  | 'var'
  /** `$1`.. and `$#`; `index` is N, 0 for `$#` */
  | 'param'
  /** `@name` or `@` (text without the `@`) */
  | 'map'
  /** operators and punctuation; `text` is the operator */
  | 'punct'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** For ident/var/map: the name; for punct: the operator; otherwise the source text. */
  text: string;
  span: Span;
  int?: bigint;
  str?: string;
  index?: number;
  /** Set when the token came from expanding this `#define`d name (the span is the name's). */
  macro?: string;
}

/** An attach point as written, split on unquoted ':' with quotes removed. */
export interface RawAttachPoint {
  raw: string;
  parts: string[];
  span: Span;
}

/** Operators, longest first so that maximal munch works by trying them in order. */
const PUNCTS = [
  '<<=', '>>=',
  '->', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '..', '::',
  '+', '-', '*', '/', '%', '&', '|', '^', '!', '~', '<', '>', '=', '?', ':', ';', ',', '.', '(', ')', '[', ']', '{', '}',
];

const DURATIONS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

/** Providers whose first argument is a file path, which may be relative without `./` (`uprobe:bin/app:f`). */
const PATH_PROVIDERS: ReadonlySet<string> = new Set(['uprobe', 'u', 'uretprobe', 'ur', 'usdt', 'U']);

const U64_MAX = (1n << 64n) - 1n;

const isIdentStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isIdentChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

/**
 * A position-tracked scanner over one text. `text` is normally the
 * preprocessed script, whose offsets equal those of `source.text`.
 */
export class Lexer {
  /** Offset of the next unread character. */
  pos = 0;
  private readonly lineStarts: number[] = [0];
  private pending: Token[] = [];

  constructor(
    readonly source: SourceFile,
    readonly text: string = source.text,
    private readonly macros: ReadonlyMap<string, string> = new Map(),
    private readonly expanding: ReadonlySet<string> = new Set(),
  ) {
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) this.lineStarts.push(i + 1);
    }
  }

  /** The span of text[start, end). */
  span(start: number, end: number): Span {
    const a = this.lineCol(start);
    const b = this.lineCol(end);
    return { line: a.line, col: a.col, endLine: b.line, endCol: b.col, start, end };
  }

  lineCol(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo] + 1 };
  }

  error(message: string, start: number, end: number, notes: string[] = []): CompileError {
    return new CompileError(message, this.span(start, Math.max(end, start)), this.source, notes);
  }

  /** Moves to `offset`, forgetting any tokens pending from a macro expansion. */
  reset(offset: number): void {
    this.pos = offset;
    this.pending = [];
  }

  /** Skips whitespace and comments. */
  skipLayout(): void {
    this.pos = this.layoutEnd(this.pos);
  }

  /** The offset of the first character at or after `from` that is not whitespace or a comment. */
  layoutEnd(from: number): number {
    const t = this.text;
    let i = from;
    for (;;) {
      while (i < t.length && isSpace(t[i])) i++;
      if (t[i] === '/' && t[i + 1] === '/') {
        while (i < t.length && t[i] !== '\n' && t[i] !== '\r') i++;
      } else if (t[i] === '/' && t[i + 1] === '*') {
        const close = t.indexOf('*/', i + 2);
        if (close < 0) throw this.error('end of file during comment', i, t.length);
        i = close + 2;
      } else return i;
    }
  }

  /** The character at the first non-layout position at or after `from` ('' at end of input). */
  charAfterLayout(from: number): string {
    return this.text[this.layoutEnd(from)] ?? '';
  }

  /** The next token (after any pending macro expansion). */
  next(): Token {
    for (;;) {
      const p = this.pending.shift();
      if (p) return p;
      this.skipLayout();
      const tok = this.scan();
      if (tok.kind === 'ident' && this.macros.has(tok.text) && !this.expanding.has(tok.text)) {
        this.pending.push(...this.expand(tok));
        continue;
      }
      return tok;
    }
  }

  /** All tokens up to and including 'eof'. */
  all(): Token[] {
    const out: Token[] = [];
    for (;;) {
      const t = this.next();
      out.push(t);
      if (t.kind === 'eof') return out;
    }
  }

  private expand(name: Token): Token[] {
    const body = this.macros.get(name.text)!;
    const sub = new Lexer({ name: this.source.name, text: body }, body, this.macros, new Set([...this.expanding, name.text]));
    let toks: Token[];
    try {
      toks = sub.all();
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      throw new CompileError(`in expansion of macro ${name.text} (${JSON.stringify(body)}): ${e.message}`, name.span, this.source);
    }
    toks.pop(); // eof
    return toks.map((t) => ({ ...t, span: name.span, macro: t.macro ?? name.text }));
  }

  private scan(): Token {
    const t = this.text;
    const start = this.pos;
    const c = t[start];
    if (c === undefined) return { kind: 'eof', text: '', span: this.span(start, start) };
    if (isDigit(c)) return this.number();
    if (c === '"') return this.string();
    if (isIdentStart(c)) {
      let i = start + 1;
      while (isIdentChar(t[i])) i++;
      this.pos = i;
      return { kind: 'ident', text: t.slice(start, i), span: this.span(start, i) };
    }
    if (c === '$') {
      let i = start + 1;
      if (t[i] === '#') {
        this.pos = i + 1;
        return { kind: 'param', text: '$#', index: 0, span: this.span(start, i + 1) };
      }
      if (isDigit(t[i])) {
        while (isDigit(t[i])) i++;
        if (isIdentChar(t[i])) {
          while (isIdentChar(t[i])) i++;
          throw this.error(`invalid positional parameter: ${t.slice(start, i)}`, start, i);
        }
        this.pos = i;
        return { kind: 'param', text: t.slice(start, i), index: Number(t.slice(start + 1, i)), span: this.span(start, i) };
      }
      if (isIdentStart(t[i])) {
        while (isIdentChar(t[i])) i++;
        this.pos = i;
        return { kind: 'var', text: t.slice(start + 1, i), span: this.span(start, i) };
      }
      throw this.error("invalid character '$': expected a variable name ($x) or a positional parameter ($1, $#)", start, start + 1);
    }
    if (c === '@') {
      let i = start + 1;
      if (isIdentStart(t[i])) while (isIdentChar(t[i])) i++;
      this.pos = i;
      return { kind: 'map', text: t.slice(start + 1, i), span: this.span(start, i) };
    }
    for (const p of PUNCTS) {
      if (t.startsWith(p, start)) {
        this.pos = start + p.length;
        return { kind: 'punct', text: p, span: this.span(start, this.pos) };
      }
    }
    const cp = t.codePointAt(start)!;
    const ch = String.fromCodePoint(cp);
    if (c === "'") throw this.error("invalid character ''': character literals are not supported, use the character code (e.g. 65 for 'A')", start, start + 1);
    throw this.error(`invalid character '${ch}'`, start, start + ch.length);
  }

  private number(): Token {
    const t = this.text;
    const start = this.pos;
    let i = start;
    let digits: string;
    let radix: 'hex' | 'bin' | 'dec';
    if (t[i] === '0' && (t[i + 1] === 'x' || t[i + 1] === 'X')) {
      i += 2;
      const d0 = i;
      while (/[0-9a-fA-F_]/.test(t[i] ?? '')) i++;
      digits = t.slice(d0, i);
      radix = 'hex';
    } else if (t[i] === '0' && (t[i + 1] === 'b' || t[i + 1] === 'B') && (t[i + 2] === '0' || t[i + 2] === '1')) {
      i += 2;
      const d0 = i;
      while (/[01_]/.test(t[i] ?? '')) i++;
      digits = t.slice(d0, i);
      radix = 'bin';
    } else {
      while (isDigit(t[i]) || t[i] === '_') i++;
      digits = t.slice(start, i);
      radix = 'dec';
    }
    let exponent = 0n;
    if (radix === 'dec' && (t[i] === 'e' || t[i] === 'E') && isDigit(t[i + 1])) {
      const e0 = i + 1;
      i++;
      while (isDigit(t[i])) i++;
      exponent = BigInt(t.slice(e0, i));
    }
    const s0 = i;
    while (isIdentChar(t[i])) i++;
    const suffix = t.slice(s0, i);
    const text = t.slice(start, i);
    this.pos = i;
    const bad = (why: string) => this.error(`invalid integer literal: ${text}${why ? ` (${why})` : ''}`, start, i);
    const clean = digits.replace(/_/g, '');
    if (clean === '' || digits.endsWith('_')) throw bad('');
    let value: bigint;
    if (radix === 'hex') value = BigInt('0x' + clean);
    else if (radix === 'bin') value = BigInt('0b' + clean);
    else if (clean.length > 1 && clean[0] === '0' && exponent === 0n) {
      if (/[89]/.test(clean)) throw bad('a leading 0 makes it octal');
      value = BigInt('0o' + clean.slice(1));
    } else if (exponent > 20n) value = /[1-9]/.test(clean) ? U64_MAX + 1n : 0n; // 10^21 is past 64 bits: no huge BigInt
    else value = BigInt(clean) * 10n ** exponent;
    if (suffix) {
      if (/^(u|l|ul|lu|ll|ull|llu)$/i.test(suffix)) {
        // C integer suffixes are accepted for header compatibility; they do not set the type.
      } else if (radix === 'dec' && DURATIONS[suffix] !== undefined) value *= DURATIONS[suffix];
      else throw bad(`unknown suffix '${suffix}'`);
    }
    if (value > U64_MAX) throw this.error(`integer literal too large: ${text} does not fit in 64 bits`, start, i);
    return { kind: 'int', text, int: value, span: this.span(start, i) };
  }

  private string(): Token {
    const t = this.text;
    const start = this.pos;
    let i = start + 1;
    let out = '';
    for (;;) {
      const c = t[i];
      if (c === undefined || c === '\n' || c === '\r') {
        throw this.error('unterminated string', start, i);
      }
      if (c === '"') {
        i++;
        break;
      }
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = t[i + 1];
      switch (e) {
        case 'n': out += '\n'; i += 2; continue;
        case 't': out += '\t'; i += 2; continue;
        case 'r': out += '\r'; i += 2; continue;
        case '\\': out += '\\'; i += 2; continue;
        case '"': out += '"'; i += 2; continue;
        case "'": out += "'"; i += 2; continue;
        case 'x': {
          const m = /^[0-9a-fA-F]{1,2}/.exec(t.slice(i + 2, i + 4));
          if (!m) throw this.error("invalid escape character '\\x': expected hex digits (\\xNN)", i, i + 2);
          out += String.fromCharCode(parseInt(m[0], 16));
          i += 2 + m[0].length;
          continue;
        }
      }
      if (e !== undefined && e >= '0' && e <= '7') {
        const m = /^[0-7]{1,3}/.exec(t.slice(i + 1, i + 4))!;
        const v = parseInt(m[0], 8);
        if (v > 255) throw this.error(`invalid escape character '\\${m[0]}': octal value out of range`, i, i + 1 + m[0].length);
        out += String.fromCharCode(v);
        i += 1 + m[0].length;
        continue;
      }
      if (e === undefined || e === '\n' || e === '\r') throw this.error('unterminated string', start, i + 1);
      throw this.error(`invalid escape character '\\${e}'`, i, i + 2);
    }
    this.pos = i;
    return { kind: 'string', text: t.slice(start, i), str: out, span: this.span(start, i) };
  }

  /**
   * Reads one attach point at the current position (call `skipLayout` first),
   * or returns null if none starts here.
   *
   * It ends at whitespace, `{`, `}`, `,`, `;`, `(`, `)` or `=` (all outside
   * quotes) and at a `/` that cannot be part of a path: a `/` belongs to the
   * attach point when it starts a `:`-separated part or the part began with
   * `/`, `.` or `~` or is the path argument of uprobe/uretprobe/usdt;
   * elsewhere it starts the predicate, so
   * `tracepoint:syscalls:sys_enter_read/pid == 1/` works without a space.
   */
  attachPoint(): RawAttachPoint | null {
    const t = this.text;
    const start = this.pos;
    let i = start;
    const parts: string[] = [];
    let part = '';
    let partRaw = '';
    for (;;) {
      const c = t[i];
      if (c === undefined || isSpace(c) || '{},;()='.includes(c)) break;
      if (c === '"') {
        let j = i + 1;
        while (j < t.length && t[j] !== '"' && t[j] !== '\n') {
          if (t[j] === '\\' && (t[j + 1] === '"' || t[j + 1] === '\\')) j++;
          part += t[j];
          j++;
        }
        if (t[j] !== '"') throw this.error('unterminated string in attach point', i, j);
        partRaw += t.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      if (c === '/') {
        const pathPart = partRaw === '' || /^["]?[/.~]/.test(partRaw) || (parts.length === 1 && PATH_PROVIDERS.has(parts[0]));
        if (!pathPart) break;
      }
      if (c === ':') {
        parts.push(part);
        part = '';
        partRaw = '';
        i++;
        continue;
      }
      part += c;
      partRaw += c;
      i++;
    }
    if (i === start) return null;
    parts.push(part);
    this.pos = i;
    this.pending = [];
    return { raw: t.slice(start, i), parts, span: this.span(start, i) };
  }
}

/** Tokenizes a whole text (no attach-point mode): for tests and tools. */
export function tokenize(source: SourceFile, macros: ReadonlyMap<string, string> = new Map()): Token[] {
  return new Lexer(source, source.text, macros).all();
}
