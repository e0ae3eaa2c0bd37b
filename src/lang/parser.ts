/**
 * Recursive-descent parser for the tsbpf (bpftrace) language.
 *
 * Structure: `parse()` runs the preprocessor, then walks the top level
 * (config block, struct/union/enum definitions, `fn` definitions, probes).
 * Attach points are read in the lexer's raw mode; everything else is tokens.
 * Expressions use C precedence. Every node gets the span of the text it came
 * from, and every syntax error is a CompileError pointing at the offending
 * token, phrased like bpftrace's ("syntax error, unexpected X, expecting Y").
 */
import type {
  AssignStmt,
  AttachPoint,
  BinaryOp,
  Block,
  ConfigEntry,
  Expr,
  FunctionDef,
  IfStmt,
  MapRef,
  Probe,
  Program,
  SourceFile,
  Span,
  Stmt,
  TypeDef,
  TypeName,
  UnaryOp,
  Variable,
} from './ast';
import { CompileError, joinSpans } from './diagnostics';
import { Lexer, type RawAttachPoint, type Token } from './lexer';
import { preprocessDirectives, type PreprocessOptions } from './preprocess';
import { isBuiltinName } from './builtins';

export type ParseOptions = PreprocessOptions;

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
  'if', 'else', 'unroll', 'while', 'for', 'let', 'return', 'break', 'continue', 'config', 'sizeof', 'offsetof',
  'true', 'false', 'import', 'macro',
]);

/** Type names that make `(name)` a cast and `sizeof(name)` a type. */
const SCALAR_TYPES: ReadonlySet<string> = new Set([
  'bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'string', 'buffer', 'inet',
  'void', 'char', 'short', 'int', 'long', 'unsigned', 'signed', 'usym', 'ksym', 'timestamp', 'macaddr', 'cgroup_path',
  'strerror', 'usize', 'isize',
]);
const C_TYPE_WORDS: ReadonlySet<string> = new Set(['char', 'short', 'int', 'long', 'unsigned', 'signed']);

/** Binary operators and their precedence (higher binds tighter), as in C. */
const BINARY_PREC: Readonly<Record<string, number>> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6,
  '<': 7, '>': 7, '<=': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};

const COMPOUND_ASSIGN: Readonly<Record<string, BinaryOp>> = {
  '+=': '+', '-=': '-', '*=': '*', '/=': '/', '%=': '%', '&=': '&', '|=': '|', '^=': '^', '<<=': '<<', '>>=': '>>',
};

const UNARY_OPS: ReadonlySet<string> = new Set(['-', '!', '~', '*', '&']);

/**
 * Parses a script into its AST. Runs the preprocessor first; the Program's
 * spans refer to `source.text`.
 *
 * @throws CompileError on any syntax error (format() gives the bpftrace-style message).
 * @example
 *   const prog = parse({ name: 'stdin', text: 'BEGIN { printf("hi\\n"); exit(); }' });
 *   prog.probes[0].attachPoints[0].provider  // 'BEGIN'
 */
export function parse(source: SourceFile, opts: ParseOptions = {}): Program {
  const pp = preprocessDirectives(source, opts);
  const p = new Parser(source, new Lexer(source, pp.text, pp.macros));
  return p.program(pp.includes);
}

/**
 * Parses a single expression (e.g. a tool's filter or a `trace` argument).
 * @throws CompileError if the text is not exactly one expression.
 */
export function parseExpression(source: SourceFile, opts: ParseOptions = {}): Expr {
  const pp = preprocessDirectives(source, opts);
  const p = new Parser(source, new Lexer(source, pp.text, pp.macros));
  return p.wholeExpression();
}

class Parser {
  private toks: Token[] = [];
  private idx = 0;
  private prev: Span;
  /** > 0 while parsing a `/predicate/`: a `/` followed by `{` ends it instead of dividing. */
  private inPredicate = 0;
  /** Nesting of expressions, unary operators and blocks being parsed (see MAX_NESTING). */
  private depth = 0;

  constructor(
    private readonly source: SourceFile,
    private readonly lx: Lexer,
  ) {
    this.prev = lx.span(0, 0);
  }

  // ---- token stream ------------------------------------------------------------

  private peek(k = 0): Token {
    while (this.toks.length <= this.idx + k) {
      const last = this.toks[this.toks.length - 1];
      this.toks.push(last?.kind === 'eof' ? last : this.lx.next());
    }
    return this.toks[this.idx + k];
  }

  private advance(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.idx++;
    this.prev = t.span;
    return t;
  }

  /** Drops lookahead and puts the lexer at the first unconsumed character, for raw (attach point) lexing. */
  private syncLexer(): void {
    if (this.idx < this.toks.length) {
      const t = this.toks[this.idx];
      this.lx.reset(t.kind === 'eof' ? this.lx.text.length : t.span.start);
    }
    this.toks = [];
    this.idx = 0;
  }

  private isPunct(t: Token, text: string): boolean {
    return t.kind === 'punct' && t.text === text;
  }

  private at(text: string, k = 0): boolean {
    return this.isPunct(this.peek(k), text);
  }

  private atWord(word: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && t.text === word && !t.macro;
  }

  private accept(text: string): Token | null {
    return this.at(text) ? this.advance() : null;
  }

  private expect(text: string, opener?: Token, expecting: string = text): Token {
    const t = this.peek();
    if (this.isPunct(t, text)) return this.advance();
    if (t.kind === 'eof' && opener) throw this.unclosed(opener, text);
    throw this.unexpected(t, expecting);
  }

  private from(start: Span): Span {
    return joinSpans(start, this.prev);
  }

  // ---- errors ------------------------------------------------------------------

  private describe(t: Token): string {
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

  private unexpected(t: Token, expecting?: string, notes: string[] = []): CompileError {
    if (this.isPunct(t, '++') || this.isPunct(t, '--')) return this.incDecMisuse(t);
    const msg = `syntax error, unexpected ${this.describe(t)}${expecting ? `, expecting ${expecting}` : ''}`;
    const extra = t.macro ? [`(in the expansion of macro ${t.macro})`] : [];
    return new CompileError(msg, t.span, this.source, [...extra, ...notes]);
  }

  /** A stray ++/-- (after something that cannot be incremented). */
  private incDecMisuse(t: Token): CompileError {
    return this.fail(`${t.text} needs a $variable or @map (e.g. @x${t.text} or ${t.text}$i)`, t.span);
  }

  private unclosed(opener: Token, closer: string): CompileError {
    return new CompileError(`syntax error, unexpected end of file, expecting ${closer} to close this ${opener.text}`, opener.span, this.source);
  }

  private fail(message: string, span: Span, notes: string[] = []): CompileError {
    return new CompileError(message, span, this.source, notes);
  }

  // ---- top level -----------------------------------------------------------------

  program(includes: string[]): Program {
    const prog: Program = {
      kind: 'Program',
      source: this.source,
      config: [],
      includes,
      typeDefs: [],
      functions: [],
      probes: [],
      span: this.lx.span(0, this.source.text.length),
    };
    let sawConfig: Span | null = null;
    for (;;) {
      this.syncLexer();
      this.lx.skipLayout();
      if (this.lx.pos >= this.lx.text.length) break;
      const rest = this.lx.text.slice(this.lx.pos, this.lx.pos + 200);
      if (/^config\s*=/.test(rest)) {
        const start = this.peek().span;
        if (sawConfig) throw this.fail('only one config block is allowed', start);
        prog.config.push(...this.config());
        sawConfig = start;
        continue;
      }
      if (/^(struct|union)\s+[A-Za-z_]\w*\s*\{/.test(rest) || /^enum(\s+[A-Za-z_]\w*)?\s*\{/.test(rest)) {
        prog.typeDefs.push(this.typeDef());
        continue;
      }
      if (/^fn\s+[A-Za-z_]/.test(rest)) {
        prog.functions.push(this.functionDef());
        continue;
      }
      if (/^let\s+@/.test(rest)) throw this.fail('map declarations (let @map = ...) are not supported by tsbpf', this.peek().span);
      const kw = /^(import|macro)\b/.exec(rest);
      if (kw) throw this.fail(`'${kw[1]}' is not supported by tsbpf`, this.peek().span);
      prog.probes.push(this.probe());
    }
    return prog;
  }

  private config(): ConfigEntry[] {
    this.advance(); // config
    this.expect('=');
    const open = this.expect('{');
    const entries: ConfigEntry[] = [];
    while (!this.at('}')) {
      const key = this.peek();
      if (key.kind === 'eof') throw this.unclosed(open, '}');
      if (key.kind !== 'ident') throw this.unexpected(key, 'config key');
      this.advance();
      this.expect('=');
      const v = this.advance();
      let value: bigint | string;
      if (v.kind === 'int') value = v.int!;
      else if (v.kind === 'string') value = v.str!;
      else if (v.kind === 'ident') value = v.text === 'true' ? 1n : v.text === 'false' ? 0n : v.text;
      else throw this.unexpected(v, 'a config value (integer, string or name)');
      entries.push({ kind: 'ConfigEntry', key: key.text, value, span: this.from(key.span) });
      if (!this.accept(';') && !this.at('}')) {
        if (this.peek().kind === 'eof') throw this.unclosed(open, '}');
        throw this.unexpected(this.peek(), '; or }');
      }
    }
    this.advance();
    this.accept(';');
    return entries;
  }

  /** `struct name { ... };` kept as C text for the type pass. */
  private typeDef(): TypeDef {
    const tag = this.advance();
    // Anonymous enums (`enum { A = 1 };`) only define constants.
    const name = this.at('{') ? null : this.advance();
    const open = this.peek();
    // Scan the raw text for the matching brace: the body is C, not our language.
    const t = this.lx.text;
    let depth = 0;
    let i = open.span.start;
    for (; i < t.length; i++) {
      const c = t[i];
      if (c === '/' && t[i + 1] === '/') {
        while (i < t.length && t[i] !== '\n') i++;
      } else if (c === '/' && t[i + 1] === '*') {
        const e = t.indexOf('*/', i + 2);
        i = e < 0 ? t.length : e + 1;
      } else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) break;
    }
    if (i >= t.length) throw this.unclosed(open, '}');
    let end = i + 1;
    // GCC attributes after the body (`__attribute__((packed))`) belong to the definition.
    for (;;) {
      const a = this.lx.layoutEnd(end);
      if (!/^__attribute__\s*\(/.test(t.slice(a, a + 40))) break;
      let j = t.indexOf('(', a);
      let depth = 0;
      for (; j < t.length; j++) {
        if (t[j] === '(') depth++;
        else if (t[j] === ')' && --depth === 0) break;
      }
      if (j >= t.length) throw this.fail('unterminated __attribute__', this.lx.span(a, t.length));
      end = j + 1;
    }
    const after = this.lx.layoutEnd(end);
    if (t[after] === ';') end = after + 1;
    this.lx.reset(end);
    this.toks = [];
    this.idx = 0;
    const span = this.lx.span(tag.span.start, end);
    this.prev = span;
    return { kind: 'TypeDef', tag: tag.text as TypeDef['tag'], name: name?.text ?? '', body: this.source.text.slice(tag.span.start, end), span };
  }

  private functionDef(): FunctionDef {
    const fn = this.advance();
    const name = this.advance();
    if (name.kind !== 'ident') throw this.unexpected(name, 'function name');
    const open = this.expect('(');
    const params: FunctionDef['params'] = [];
    while (!this.at(')')) {
      const v = this.peek();
      if (v.kind === 'eof') throw this.unclosed(open, ')');
      if (v.kind !== 'var') throw this.unexpected(v, 'a parameter ($name: type)');
      this.advance();
      this.expect(':');
      const type = this.typeName();
      params.push({ name: v.text, type, span: this.from(v.span) });
      if (!this.accept(',') && !this.at(')')) throw this.unexpected(this.peek(), ') or ","');
    }
    this.advance();
    let returnType: TypeName;
    if (this.accept(':')) returnType = this.typeName();
    else returnType = { kind: 'TypeName', base: 'void', pointerDepth: 0, arrayLength: null, span: this.prev };
    const body = this.block();
    return { kind: 'FunctionDef', name: name.text, params, returnType, body, span: this.from(fn.span) };
  }

  private probe(): Probe {
    const attachPoints: AttachPoint[] = [];
    for (;;) {
      this.lx.skipLayout();
      const raw = this.lx.attachPoint();
      if (!raw) throw this.unexpected(this.peek(), 'attach point');
      attachPoints.push(this.attachPoint(raw));
      this.prev = raw.span;
      this.lx.skipLayout();
      if (this.lx.text[this.lx.pos] === ',') {
        this.lx.pos++;
        continue;
      }
      break;
    }
    let predicate: Expr | null = null;
    if (this.at('/')) {
      const open = this.advance();
      this.inPredicate++;
      predicate = this.expression();
      this.inPredicate--;
      this.expect('/', open, '/ to end the predicate');
    } else if (this.at('/=')) {
      throw this.unexpected(this.peek(), '/predicate/ or {');
    }
    if (!this.at('{')) throw this.unexpected(this.peek(), predicate ? '{' : '{ or /predicate/');
    const body = this.block();
    return { kind: 'Probe', attachPoints, predicate, body, span: this.from(attachPoints[0].span) };
  }

  private attachPoint(raw: RawAttachPoint): AttachPoint {
    let provider = raw.parts[0];
    let parts = raw.parts.slice(1);
    if (raw.parts.length === 1 && /^(BEGIN|END|begin|end)$/.test(provider)) {
      provider = provider.toUpperCase();
      parts = [];
    }
    if (provider === '') throw this.fail(`invalid attach point '${raw.raw}': missing probe type`, raw.span);
    return { kind: 'AttachPoint', raw: raw.raw, provider, parts, span: raw.span };
  }

  // ---- statements ------------------------------------------------------------------

  private block(): Block {
    this.enter();
    try {
      return this.blockBody();
    } finally {
      this.depth--;
    }
  }

  /**
   * Counts one more level of nesting; refuses the program past MAX_NESTING
   * with one sentence at the token that went too deep (every later stage
   * walks nesting recursively, and must never run out of stack).
   */
  private enter(): void {
    if (++this.depth > MAX_NESTING) {
      throw new CompileError(`the program nests more than ${MAX_NESTING} levels deep here (parentheses, blocks, else-ifs, operators or field accesses): tsbpf's limit`, this.peek().span, this.source);
    }
  }

  private blockBody(): Block {
    const open = this.expect('{');
    const stmts: Stmt[] = [];
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, '}')) {
        this.advance();
        break;
      }
      if (t.kind === 'eof') throw this.unclosed(open, '}');
      if (this.isPunct(t, ';')) {
        this.advance();
        continue;
      }
      const s = this.statement();
      stmts.push(s);
      if (!needsSemicolon(s)) continue;
      if (this.accept(';') || this.at('}')) continue;
      const n = this.peek();
      if (n.kind === 'eof') throw this.unclosed(open, '}');
      throw this.unexpected(n, '; or }');
    }
    return { kind: 'Block', stmts, span: this.from(open.span) };
  }

  private statement(): Stmt {
    const t = this.peek();
    if (this.isPunct(t, '{')) return this.block();
    if (t.kind === 'ident' && !t.macro) {
      switch (t.text) {
        case 'if':
          return this.ifStmt();
        case 'unroll':
        case 'while': {
          this.advance();
          const open = this.expect('(', undefined, '(');
          const e = this.expression();
          this.expect(')', open, ')');
          const body = this.block();
          return t.text === 'unroll'
            ? { kind: 'UnrollStmt', count: e, body, span: this.from(t.span) }
            : { kind: 'WhileStmt', cond: e, body, span: this.from(t.span) };
        }
        case 'for':
          return this.forStmt();
        case 'let':
          return this.letStmt();
        case 'return': {
          this.advance();
          const value = this.at(';') || this.at('}') ? null : this.expression();
          return { kind: 'ReturnStmt', value, span: this.from(t.span) };
        }
        case 'break':
        case 'continue':
          this.advance();
          return { kind: 'JumpStmt', jump: t.text, span: t.span };
        case 'else':
          throw this.unexpected(t, undefined, ['(else without a matching if)']);
      }
    }
    if (this.isPunct(t, '++') || this.isPunct(t, '--')) {
      this.advance();
      const target = this.postfix(this.primary());
      const lv = this.assignable(target, t.text);
      return { kind: 'AssignStmt', target: lv, op: t.text === '++' ? '+' : '-', value: one(t.span), span: this.from(t.span) };
    }
    const e = this.expression();
    const n = this.peek();
    if (e.kind === 'IncDec') return e.assign;
    if (this.isPunct(n, '=')) {
      const target = this.assignable(e, '=');
      this.advance();
      const value = this.expression();
      return { kind: 'AssignStmt', target, op: null, value, span: this.from(e.span) };
    }
    if (n.kind === 'punct' && COMPOUND_ASSIGN[n.text]) {
      const target = this.assignable(e, n.text);
      this.advance();
      const value = this.expression();
      return { kind: 'AssignStmt', target, op: COMPOUND_ASSIGN[n.text], value, span: this.from(e.span) };
    }
    if (this.isPunct(n, '++') || this.isPunct(n, '--')) {
      const target = this.assignable(e, n.text);
      this.advance();
      return { kind: 'AssignStmt', target, op: n.text === '++' ? '+' : '-', value: one(n.span), span: this.from(e.span) };
    }
    return { kind: 'ExprStmt', expr: e, span: e.span };
  }

  private assignable(e: Expr, op: string): Variable | MapRef {
    if (e.kind === 'Variable' || e.kind === 'MapRef') return e;
    const what = op === '++' || op === '--' ? `apply ${op} to` : 'assign to';
    throw this.fail(`cannot ${what} this expression: only $variables and @maps can be assigned`, e.span);
  }

  private ifStmt(): IfStmt {
    const kw = this.advance();
    // Parentheses are part of the condition expression, which also accepts
    // newer bpftrace's `if $x { ... }`.
    if (this.at('{')) throw this.unexpected(this.peek(), '(');
    const cond = this.expression();
    if (!this.at('{')) throw this.unexpected(this.peek(), '{');
    const then = this.block();
    let otherwise: Block | IfStmt | null = null;
    if (this.atWord('else')) {
      this.advance();
      if (this.atWord('if')) {
        // an else-if chain nests IfStmts: it counts as nesting
        this.enter();
        try {
          otherwise = this.ifStmt();
        } finally {
          this.depth--;
        }
      }
      else if (this.at('{')) otherwise = this.block();
      else throw this.unexpected(this.peek(), '{ or if');
    }
    return { kind: 'IfStmt', cond, then, otherwise, span: this.from(kw.span) };
  }

  private forStmt(): Stmt {
    const kw = this.advance();
    const open = this.expect('(');
    const v = this.peek();
    if (v.kind !== 'var') throw this.unexpected(v, 'variable');
    this.advance();
    const variable: Variable = { kind: 'Variable', name: v.text, span: v.span };
    this.expect(':');
    const first = this.expression();
    if (this.at(')') && first.kind === 'MapRef' && first.keys === null) {
      this.advance();
      const body = this.block();
      return { kind: 'ForMapStmt', variable, map: first, body, span: this.from(kw.span) };
    }
    if (!this.at('..')) {
      throw this.unexpected(this.peek(), first.kind === 'MapRef' ? ')' : '..', ['(for loops iterate over a map, `for ($kv : @m)`, or a range, `for ($i : 0..10)`)']);
    }
    this.advance();
    const end = this.expression();
    this.expect(')', open);
    const body = this.block();
    return { kind: 'ForRangeStmt', variable, start: first, end, body, span: this.from(kw.span) };
  }

  private letStmt(): Stmt {
    const kw = this.advance();
    const v = this.peek();
    if (v.kind === 'map') throw this.fail('map declarations (let @map = ...) are not supported by tsbpf', v.span);
    if (v.kind !== 'var') throw this.unexpected(v, 'variable');
    this.advance();
    const variable: Variable = { kind: 'Variable', name: v.text, span: v.span };
    const type = this.accept(':') ? this.typeName() : null;
    const value = this.accept('=') ? this.expression() : null;
    return { kind: 'VarDeclStmt', variable, type, value, span: this.from(kw.span) };
  }

  // ---- expressions -------------------------------------------------------------------

  wholeExpression(): Expr {
    const e = this.expression();
    const t = this.peek();
    if (t.kind !== 'eof') throw this.unexpected(t, 'end of expression');
    return e;
  }

  private expression(): Expr {
    this.enter();
    try {
      return this.ternary();
    } finally {
      this.depth--;
    }
  }

  private ternary(): Expr {
    const cond = this.binary(1);
    if (!this.at('?')) return cond;
    this.advance();
    if (this.at(':')) {
      // `a ?: b` means `a ? a : b`; the condition node stands in both places.
      this.advance();
      const otherwise = this.expression();
      return { kind: 'Ternary', cond, then: cond, otherwise, span: joinSpans(cond.span, otherwise.span) };
    }
    const then = this.expression();
    this.expect(':');
    const otherwise = this.expression();
    return { kind: 'Ternary', cond, then, otherwise, span: joinSpans(cond.span, otherwise.span) };
  }

  private binary(minPrec: number): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') break;
      const prec = BINARY_PREC[t.text];
      if (prec === undefined || prec < minPrec) break;
      if (t.text === '/' && this.inPredicate > 0 && this.endsPredicate(t)) break;
      this.advance();
      const right = this.binary(prec + 1);
      left = { kind: 'Binary', op: t.text as BinaryOp, left, right, span: joinSpans(left.span, right.span) };
    }
    return left;
  }

  /** A `/` closes the predicate when a `{` (or the end of input) follows it. */
  private endsPredicate(slash: Token): boolean {
    if (slash.macro) return false;
    const c = this.lx.charAfterLayout(slash.span.end);
    return c === '{' || c === '';
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'punct') {
      if (UNARY_OPS.has(t.text)) {
        this.advance();
        this.enter();
        let operand: Expr;
        try {
          operand = this.unary();
        } finally {
          this.depth--;
        }
        return { kind: 'Unary', op: t.text as UnaryOp, operand, span: joinSpans(t.span, operand.span) };
      }
      if (t.text === '++' || t.text === '--') {
        this.advance();
        const target = this.assignable(this.postfix(this.primary()), t.text);
        const span = this.from(t.span);
        const assign: AssignStmt = { kind: 'AssignStmt', target, op: t.text === '++' ? '+' : '-', value: one(t.span), span };
        return { kind: 'IncDec', target, prefix: true, assign, span };
      }
      if (t.text === '(' && this.looksLikeCast()) {
        this.advance();
        const type = this.typeName();
        this.expect(')', t);
        this.enter();
        let operand: Expr;
        try {
          operand = this.unary();
        } finally {
          this.depth--;
        }
        return { kind: 'Cast', type, operand, span: joinSpans(t.span, operand.span) };
      }
    }
    return this.postfix(this.primary());
  }

  /** At `(`: is this `(type)expr` rather than a parenthesised expression or tuple? */
  private looksLikeCast(): boolean {
    const a = this.peek(1);
    if (a.kind !== 'ident' || a.macro) return false;
    if (a.text === 'struct' || a.text === 'union' || a.text === 'enum') return true;
    if (SCALAR_TYPES.has(a.text) && !isBuiltinName(a.text)) {
      const b = this.peek(2);
      return b.kind === 'ident' ? C_TYPE_WORDS.has(b.text) : this.isPunct(b, ')') || this.isPunct(b, '*') || this.isPunct(b, '[');
    }
    if (KEYWORDS.has(a.text) || isBuiltinName(a.text)) return false;
    // A typedef name: `(sector_t *)x` is unambiguous; `(u64)x` only when an operand follows.
    let k = 2;
    if (this.at('*', k)) {
      while (this.at('*', k)) k++;
      return this.at(')', k);
    }
    if (!this.at(')', k)) return false;
    const n = this.peek(k + 1);
    return (
      n.kind === 'int' || n.kind === 'string' || n.kind === 'var' || n.kind === 'param' || n.kind === 'map' ||
      (n.kind === 'ident' && !KEYWORDS.has(n.text)) || this.isPunct(n, '(') || this.isPunct(n, '!') || this.isPunct(n, '~')
    );
  }

  /** `uint32`, `struct task_struct *`, `char[16]`, `unsigned long`, `sector_t`. */
  private typeName(): TypeName {
    const first = this.peek();
    let base: string;
    if (first.kind !== 'ident' || KEYWORDS.has(first.text)) throw this.unexpected(first, 'type');
    this.advance();
    if (first.text === 'struct' || first.text === 'union' || first.text === 'enum') {
      const n = this.peek();
      if (n.kind !== 'ident') throw this.unexpected(n, `${first.text} name`);
      this.advance();
      base = `${first.text} ${n.text}`;
    } else if (C_TYPE_WORDS.has(first.text)) {
      const words = [first.text];
      while (this.peek().kind === 'ident' && C_TYPE_WORDS.has(this.peek().text)) words.push(this.advance().text);
      base = words.join(' ');
    } else base = first.text;
    let pointerDepth = 0;
    while (this.accept('*')) pointerDepth++;
    let arrayLength: number | null = null;
    if (this.at('[')) {
      const open = this.advance();
      const n = this.peek();
      if (n.kind !== 'int') throw this.unexpected(n, 'array length');
      this.advance();
      arrayLength = Number(n.int);
      this.expect(']', open);
    }
    return { kind: 'TypeName', base, pointerDepth, arrayLength, span: this.from(first.span) };
  }

  /** `e.f`, `e->f`, `e.0`, `e[i]`, `e++`: each access nests `e` one level deeper. */
  private postfix(e: Expr): Expr {
    const outer = this.depth;
    try {
      return this.postfixChain(e);
    } finally {
      this.depth = outer;
    }
  }

  private postfixChain(e: Expr): Expr {
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, '.') || this.isPunct(t, '->') || this.isPunct(t, '[')) this.enter();
      if (this.isPunct(t, '.') || this.isPunct(t, '->')) {
        this.advance();
        const f = this.peek();
        const arrow = t.text === '->';
        if (!arrow && f.kind === 'int') {
          if (!/^\d+$/.test(f.text)) throw this.fail(`invalid tuple index: ${f.text}`, f.span);
          this.advance();
          e = { kind: 'TupleIndex', object: e, index: Number(f.text), span: joinSpans(e.span, f.span) };
          continue;
        }
        if (f.kind !== 'ident') throw this.unexpected(f, arrow ? 'field name' : 'field name or tuple index');
        this.advance();
        e = { kind: 'FieldAccess', object: e, field: f.text, arrow, span: joinSpans(e.span, f.span) };
        continue;
      }
      if (this.isPunct(t, '[')) {
        this.advance();
        const index = this.expression();
        const close = this.expect(']', t, ']');
        e = { kind: 'Index', object: e, index, span: joinSpans(e.span, close.span) };
        continue;
      }
      if ((this.isPunct(t, '++') || this.isPunct(t, '--')) && (e.kind === 'Variable' || e.kind === 'MapRef')) {
        this.advance();
        const span = joinSpans(e.span, t.span);
        const assign: AssignStmt = { kind: 'AssignStmt', target: e, op: t.text === '++' ? '+' : '-', value: one(t.span), span };
        return { kind: 'IncDec', target: e, prefix: false, assign, span };
      }
      return e;
    }
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'int':
        this.advance();
        return { kind: 'IntegerLit', value: t.int!, text: t.text, span: t.span };
      case 'string':
        this.advance();
        return { kind: 'StringLit', value: t.str!, span: t.span };
      case 'var':
        this.advance();
        return { kind: 'Variable', name: t.text, span: t.span };
      case 'param':
        this.advance();
        return { kind: 'PositionalParam', index: t.index!, span: t.span };
      case 'map':
        return this.mapRef();
      case 'ident':
        return this.identExpr();
      case 'punct':
        if (t.text === '(') return this.parenExpr();
        break;
    }
    throw this.unexpected(t);
  }

  private mapRef(): MapRef {
    const t = this.advance();
    if (!this.at('[')) return { kind: 'MapRef', name: t.text, keys: null, span: t.span };
    const open = this.advance();
    const keys = this.exprList(open, ']');
    if (keys.length === 0) throw this.fail('empty map key: write @m[key] or @m without brackets', this.from(open.span));
    return { kind: 'MapRef', name: t.text, keys, span: this.from(t.span) };
  }

  /** Comma-separated expressions up to `close` (consumed). */
  private exprList(open: Token, close: string): Expr[] {
    const items: Expr[] = [];
    if (this.accept(close)) return items;
    for (;;) {
      items.push(this.expression());
      if (this.accept(close)) return items;
      if (this.accept(',')) continue;
      if (this.peek().kind === 'eof') throw this.unclosed(open, close);
      throw this.unexpected(this.peek(), `${close} or ","`);
    }
  }

  private identExpr(): Expr {
    const t = this.advance();
    const name = t.text;
    if (name === 'true' || name === 'false') return { kind: 'BoolLit', value: name === 'true', span: t.span };
    if (name === 'sizeof') return this.sizeofExpr(t);
    if (name === 'offsetof') return this.offsetofExpr(t);
    if (KEYWORDS.has(name) && !t.macro) throw this.unexpected(t);
    if (this.at('(')) {
      const open = this.advance();
      const args = this.exprList(open, ')');
      return { kind: 'Call', name, args, span: this.from(t.span) };
    }
    if (isBuiltinName(name)) return { kind: 'Builtin', name, span: t.span };
    return { kind: 'Identifier', name, span: t.span };
  }

  private sizeofExpr(kw: Token): Expr {
    const open = this.expect('(');
    const a = this.peek();
    let operand: TypeName | Expr;
    const isType =
      a.kind === 'ident' &&
      !a.macro &&
      (a.text === 'struct' || a.text === 'union' || a.text === 'enum' || SCALAR_TYPES.has(a.text) ||
        (!isBuiltinName(a.text) && !KEYWORDS.has(a.text) && (this.at(')', 1) || this.at('*', 1))));
    operand = isType ? this.typeName() : this.expression();
    this.expect(')', open);
    return { kind: 'Sizeof', operand, span: this.from(kw.span) };
  }

  private offsetofExpr(kw: Token): Expr {
    const open = this.expect('(');
    const a = this.peek();
    const type: TypeName | Expr = a.kind === 'ident' && !isBuiltinName(a.text) ? this.typeName() : this.expression();
    this.expect(',', open, ',');
    const fields: string[] = [];
    for (;;) {
      const f = this.peek();
      if (f.kind !== 'ident') throw this.unexpected(f, 'field name');
      fields.push(this.advance().text);
      if (!this.accept('.')) break;
    }
    this.expect(')', open);
    return { kind: 'Offsetof', type, field: fields.join('.'), span: this.from(kw.span) };
  }

  private parenExpr(): Expr {
    const open = this.advance();
    if (this.at(')')) {
      this.advance();
      return { kind: 'Tuple', elements: [], span: this.from(open.span) };
    }
    const first = this.expression();
    // Grouping parentheses leave no node, but the span includes them so that
    // diagnostics underline what the user wrote.
    if (this.accept(')')) return { ...first, span: this.from(open.span) };
    if (!this.at(',')) {
      if (this.peek().kind === 'eof') throw this.unclosed(open, ')');
      throw this.unexpected(this.peek(), ') or ","');
    }
    this.advance();
    const rest = this.exprList(open, ')');
    return { kind: 'Tuple', elements: [first, ...rest], span: this.from(open.span) };
  }
}

function needsSemicolon(s: Stmt): boolean {
  switch (s.kind) {
    case 'Block':
    case 'IfStmt':
    case 'UnrollStmt':
    case 'WhileStmt':
    case 'ForRangeStmt':
    case 'ForMapStmt':
      return false;
    default:
      return true;
  }
}

function one(span: Span): Expr {
  return { kind: 'IntegerLit', value: 1n, text: '1', span };
}
