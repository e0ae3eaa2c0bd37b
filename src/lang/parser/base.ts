/**
 * The parser's base: the token stream, error construction, the nesting
 * guard, and the tables of operators and words. Layers: base → expressions →
 * statements → the top level (parser.ts).
 */
import type { BinaryOp, Expr, SourceFile, Span } from '../ast';
import { CompileError, joinSpans } from '../diagnostics';
import { Lexer, type Token } from '../lexer';
import { isBuiltinName } from '../builtins';


/**
 * How deeply a program may nest parentheses, blocks, else-ifs, unary
 * operators, casts and field/index accesses.
 * The checker and code generator follow nesting recursively; at this depth
 * they use well under half of Node's default stack. (Chains such as
 * `a + b + c ...` are not nesting: their length is unlimited.)
 */
export const MAX_NESTING = 500;

/** Words that cannot be used as identifiers. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  // not 'config': the config block is told by `config =` at the top; in a probe, config() is the standard library's
  'if', 'else', 'unroll', 'while', 'for', 'let', 'return', 'break', 'continue', 'sizeof', 'offsetof',
  'true', 'false', 'import', 'macro',
]);

/** Type names that make `(name)` a cast and `sizeof(name)` a type. */
export const SCALAR_TYPES: ReadonlySet<string> = new Set([
  'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'string', 'buffer', 'inet',
  'void', 'char', 'short', 'int', 'long', 'unsigned', 'signed', 'usym', 'ksym', 'timestamp', 'macaddr', 'cgroup_path',
  'strerror', 'usize', 'isize',
]);
export const C_TYPE_WORDS: ReadonlySet<string> = new Set(['char', 'short', 'int', 'long', 'unsigned', 'signed']);

/** Binary operators and their precedence (higher binds tighter), as in C. */
export const BINARY_PREC: Readonly<Record<string, number>> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6,
  '<': 7, '>': 7, '<=': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};

export const COMPOUND_ASSIGN: Readonly<Record<string, BinaryOp>> = {
  '+=': '+', '-=': '-', '*=': '*', '/=': '/', '%=': '%', '&=': '&', '|=': '|', '^=': '^', '<<=': '<<', '>>=': '>>',
};

export const UNARY_OPS: ReadonlySet<string> = new Set(['-', '!', '~', '*', '&']);

export abstract class ParserBase {
  protected toks: Token[] = [];
  protected idx = 0;
  protected prev: Span;
  /** > 0 while parsing a `/predicate/`: a `/` followed by `{` ends it instead of dividing. */
  protected inPredicate = 0;
  /** Nesting of expressions, unary operators and blocks being parsed (see MAX_NESTING). */
  protected depth = 0;

  constructor(
    protected readonly source: SourceFile,
    protected readonly lx: Lexer,
  ) {
    this.prev = lx.span(0, 0);
  }

  // ---- token stream ------------------------------------------------------------

  protected peek(k = 0): Token {
    while (this.toks.length <= this.idx + k) {
      const last = this.toks[this.toks.length - 1];
      this.toks.push(last?.kind === 'eof' ? last : this.lx.next());
    }
    return this.toks[this.idx + k];
  }

  protected advance(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.idx++;
    this.prev = t.span;
    return t;
  }

  /** Drops lookahead and puts the lexer at the first unconsumed character, for raw (attach point) lexing. */
  protected syncLexer(): void {
    if (this.idx < this.toks.length) {
      const t = this.toks[this.idx];
      this.lx.reset(t.kind === 'eof' ? this.lx.text.length : t.span.start);
    }
    this.toks = [];
    this.idx = 0;
  }

  protected isPunct(t: Token, text: string): boolean {
    return t.kind === 'punct' && t.text === text;
  }

  protected at(text: string, k = 0): boolean {
    return this.isPunct(this.peek(k), text);
  }

  protected atWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && t.text === word && !t.macro;
  }

  protected accept(text: string): Token | null {
    return this.at(text) ? this.advance() : null;
  }

  protected expect(text: string, opener?: Token, expecting: string = text): Token {
    const t = this.peek();
    if (this.isPunct(t, text)) return this.advance();
    if (t.kind === 'eof' && opener) throw this.unclosed(opener, text);
    throw this.unexpected(t, expecting);
  }

  protected from(start: Span): Span {
    return joinSpans(start, this.prev);
  }

  // ---- errors ------------------------------------------------------------------

  protected describe(t: Token): string {
    switch (t.kind) {
      case 'int': return 'integer';
      case 'string': return 'string';
      case 'var': return 'variable';
      case 'param': return 'positional parameter';
      case 'map': return 'map';
      case 'eof': return 'end of file';
      case 'punct': return t.text;
      case 'ident':
        if (KEYWORDS.has(t.text)) return t.text;
        return isBuiltinName(t.text) ? 'builtin' : 'identifier';
    }
  }

  protected unexpected(t: Token, expecting?: string, notes: string[] = []): CompileError {
    if (this.isPunct(t, '++') || this.isPunct(t, '--')) return this.incDecMisuse(t);
    const msg = `syntax error, unexpected ${this.describe(t)}${expecting ? `, expecting ${expecting}` : ''}`;
    const extra = t.macro ? [`(in the expansion of macro ${t.macro})`] : [];
    return new CompileError(msg, t.span, this.source, [...extra, ...notes]);
  }

  /** A stray ++/-- (after something that cannot be incremented). */
  protected incDecMisuse(t: Token): CompileError {
    return this.fail(`${t.text} needs a $variable or @map (e.g. @x${t.text} or ${t.text}$i)`, t.span);
  }

  protected unclosed(opener: Token, closer: string): CompileError {
    return new CompileError(`syntax error, unexpected end of file, expecting ${closer} to close this ${opener.text}`, opener.span, this.source);
  }

  protected fail(message: string, span: Span, notes: string[] = []): CompileError {
    return new CompileError(message, span, this.source, notes);
  }

  /**
   * Counts one more level of nesting; refuses the program past MAX_NESTING
   * with one sentence at the token that went too deep (every later stage
   * walks nesting recursively, and must never run out of stack).
   */
  protected enter(): void {
    if (++this.depth > MAX_NESTING) {
      throw new CompileError(`the program nests more than ${MAX_NESTING} levels deep here (parentheses, blocks, else-ifs, operators or field accesses): tsbpf's limit`, this.peek().span, this.source);
    }
  }
}

/** The literal 1 that `x++` adds. */
export function one(span: Span): Expr {
  return { kind: 'IntegerLit', value: 1n, text: '1', span };
}
