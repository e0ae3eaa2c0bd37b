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
import type { AttachPoint, ConfigEntry, Expr, FunctionDef, MacroDef, MapDecl, Probe, Program, SourceFile, Span, TypeDef, TypeName } from './ast';
import { Lexer, type RawAttachPoint } from './lexer';
import { preprocessDirectives, type PreprocessOptions } from './preprocess';
import { StmtParser } from './parser/statements';

export { KEYWORDS, MAX_NESTING } from './parser/base';

export type ParseOptions = PreprocessOptions;


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
class Parser extends StmtParser {
  // ---- top level -----------------------------------------------------------------

  program(includes: string[]): Program {
    const prog: Program = {
      kind: 'Program',
      source: this.source,
      config: [],
      includes,
      typeDefs: [],
      functions: [],
      macros: [],
      mapDecls: [],
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
      if (/^let\s+@/.test(rest)) {
        const d = this.mapDecl();
        if (prog.mapDecls.some((x) => x.name === d.name)) throw this.fail(`@${d.name} is declared twice`, d.span);
        prog.mapDecls.push(d);
        continue;
      }
      if (/^macro\s+[A-Za-z_]/.test(rest)) {
        prog.macros.push(this.macroDef());
        continue;
      }
      const kw = /^(import)\b/.exec(rest);
      if (kw) throw this.fail(`'${kw[1]}' is not supported by tsbpf`, this.peek().span);
      prog.probes.push(this.probe());
    }
    return prog;
  }

  protected config(): ConfigEntry[] {
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
  protected typeDef(): TypeDef {
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
      // comments may sit between __attribute__ and its parentheses (`__attribute__ /**/ ((packed))`)
      if (!t.startsWith('__attribute__', a) || t[this.lx.layoutEnd(a + 13)] !== '(') break;
      let j = this.lx.layoutEnd(a + 13);
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

  protected functionDef(): FunctionDef {
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

  /** `let @name = hash(N);` (also lruhash, percpuhash, percpulruhash). */
  protected mapDecl(): MapDecl {
    const kw = this.advance();
    const m = this.advance();
    if (m.kind !== 'map') throw this.unexpected(m, 'map');
    this.expect('=');
    const t = this.peek();
    const types = ['hash', 'lruhash', 'percpuhash', 'percpulruhash'];
    if (t.kind !== 'ident' || !types.includes(t.text)) throw this.fail(`a map declaration needs a map type: ${types.join(', ')} (e.g. let @${m.text} = hash(100);)`, t.span);
    this.advance();
    const open = this.expect('(');
    const n = this.peek();
    if (n.kind !== 'int' || n.int === undefined || n.int < 1n || n.int > 0xffffffffn) throw this.fail(`${t.text}() needs the maximum number of entries, a positive integer`, n.span);
    this.advance();
    this.expect(')', open);
    this.expect(';', undefined, ';');
    return { kind: 'MapDecl', name: m.text, mapType: t.text as MapDecl['mapType'], maxEntries: Number(n.int), span: this.from(kw.span) };
  }

  /** `macro name(x, $v, @m) { body }`: the body is a block expression. */
  protected macroDef(): MacroDef {
    const kw = this.advance();
    const name = this.advance();
    if (name.kind !== 'ident') throw this.unexpected(name, 'macro name');
    const open = this.expect('(');
    const params: MacroDef['params'] = [];
    while (!this.at(')')) {
      const v = this.peek();
      if (v.kind === 'eof') throw this.unclosed(open, ')');
      if (v.kind !== 'var' && v.kind !== 'map' && v.kind !== 'ident') throw this.unexpected(v, 'a macro parameter (name, $variable or @map)');
      this.advance();
      params.push({ kind: v.kind === 'var' ? 'var' : v.kind === 'map' ? 'map' : 'expr', name: v.text, span: v.span });
      if (!this.accept(',') && !this.at(')')) throw this.unexpected(this.peek(), ') or ","');
    }
    this.advance();
    if (!this.at('{')) throw this.unexpected(this.peek(), '{');
    const body = this.blockExpression();
    return { kind: 'MacroDef', name: name.text, params, body, span: this.from(kw.span) };
  }

  protected probe(): Probe {
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

  protected attachPoint(raw: RawAttachPoint): AttachPoint {
    let provider = raw.parts[0];
    let parts = raw.parts.slice(1);
    if (raw.parts.length === 1 && /^(BEGIN|END|begin|end)$/.test(provider)) {
      provider = provider.toUpperCase();
      parts = [];
    }
    if (provider === '') throw this.fail(`invalid attach point '${raw.raw}': missing probe type`, raw.span);
    return { kind: 'AttachPoint', raw: raw.raw, provider, parts, span: raw.span };
  }
}
