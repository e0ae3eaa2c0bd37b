/**
 * Expressions: C precedence, casts, postfix access, calls, literals.
 */
import type { AssignStmt, BinaryOp, Expr, MapRef, TypeName, UnaryOp, Variable } from '../ast';
import { joinSpans } from '../diagnostics';
import { type Token } from '../lexer';
import { functionDef, isBuiltinName } from '../builtins';
import { BINARY_PREC, C_TYPE_WORDS, KEYWORDS, ParserBase, SCALAR_TYPES, UNARY_OPS, one } from './base';

export abstract class ExprParser extends ParserBase {
  /** `{ ...; value }` in an expression (statements.ts parses the statements). */
  protected abstract blockExpression(): Expr;
  /** `if (c) { a } else { b }` in an expression. */
  protected abstract ifExpression(): Expr;

  protected assignable(e: Expr, op: string): Variable | MapRef {
    if (e.kind === 'Variable' || e.kind === 'MapRef') return e;
    const what = op === '++' || op === '--' ? `apply ${op} to` : 'assign to';
    throw this.fail(`cannot ${what} this expression: only $variables and @maps can be assigned`, e.span);
  }

  // ---- expressions -------------------------------------------------------------------

  wholeExpression(): Expr {
    const e = this.expression();
    const t = this.peek();
    if (t.kind !== 'eof') throw this.unexpected(t, 'end of expression');
    return e;
  }

  protected expression(): Expr {
    this.enter();
    try {
      return this.ternary();
    } finally {
      this.depth--;
    }
  }

  protected ternary(): Expr {
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

  protected binary(minPrec: number): Expr {
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
  protected endsPredicate(slash: Token): boolean {
    if (slash.macro) return false;
    const c = this.lx.charAfterLayout(slash.span.end);
    return c === '{' || c === '';
  }

  protected unary(): Expr {
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
  protected looksLikeCast(): boolean {
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
  protected typeName(): TypeName {
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
  protected postfix(e: Expr): Expr {
    const outer = this.depth;
    try {
      return this.postfixChain(e);
    } finally {
      this.depth = outer;
    }
  }

  protected postfixChain(e: Expr): Expr {
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

  protected primary(): Expr {
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
        if (t.text === 'if' && !t.macro) return this.ifExpression();
        return this.identExpr();
      case 'punct':
        if (t.text === '(') return this.parenExpr();
        if (t.text === '{') return this.blockExpression();
        break;
    }
    throw this.unexpected(t);
  }

  protected mapRef(): MapRef {
    const t = this.advance();
    if (!this.at('[')) return { kind: 'MapRef', name: t.text, keys: null, span: t.span };
    const open = this.advance();
    const keys = this.exprList(open, ']');
    if (keys.length === 0) throw this.fail('empty map key: write @m[key] or @m without brackets', this.from(open.span));
    return { kind: 'MapRef', name: t.text, keys, span: this.from(t.span) };
  }

  /** Comma-separated expressions up to `close` (consumed). */
  protected exprList(open: Token, close: string): Expr[] {
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

  protected identExpr(): Expr {
    const t = this.advance();
    // `__builtin_comm` names the builtin `comm` itself (bpftrace 0.25's stdlib spelling)
    const name = t.text.startsWith('__builtin_') && isBuiltinName(t.text.slice(10)) ? t.text.slice(10) : t.text;
    if (name === 'true' || name === 'false') return { kind: 'BoolLit', value: name === 'true', span: t.span };
    if (name === 'sizeof') return this.sizeofExpr(t);
    if (name === 'offsetof') return this.offsetofExpr(t);
    if (KEYWORDS.has(name) && !t.macro) throw this.unexpected(t);
    if (this.at('(')) {
      const open = this.advance();
      const args = this.exprList(open, ')');
      // call-style builtins (S56): `comm()` is `comm`, unless a function of that name takes no arguments
      if (args.length === 0 && isBuiltinName(name) && !functionDef(name)) return { kind: 'Builtin', name, span: this.from(t.span) };
      return { kind: 'Call', name, args, span: this.from(t.span) };
    }
    if (isBuiltinName(name)) return { kind: 'Builtin', name, span: t.span };
    return { kind: 'Identifier', name, span: t.span };
  }

  protected sizeofExpr(kw: Token): Expr {
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

  protected offsetofExpr(kw: Token): Expr {
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

  protected parenExpr(): Expr {
    const open = this.advance();
    if (this.at(')')) {
      this.advance();
      return { kind: 'Tuple', elements: [], span: this.from(open.span) };
    }
    if (this.isRecordField()) return this.record(open);
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

  /** `name =` (not `==`) right after `(` or `,` starts a record field (S27). */
  private isRecordField(): boolean {
    const t = this.peek();
    return t.kind === 'ident' && this.at('=', 1);
  }

  /** A record `(a=1, b="x")`: a tuple whose elements have names (S27). */
  private record(open: Token): Expr {
    const elements: Expr[] = [];
    const names: string[] = [];
    for (;;) {
      const f = this.peek();
      if (!this.isRecordField()) throw this.unexpected(f, 'record field name');
      if (names.includes(f.text)) throw this.fail(`duplicate record field name: ${f.text}`, f.span);
      names.push(this.advance().text);
      this.advance(); // =
      elements.push(this.expression());
      if (this.accept(')')) break;
      if (this.accept(',')) continue;
      if (this.peek().kind === 'eof') throw this.unclosed(open, ')');
      throw this.unexpected(this.peek(), ') or ","');
    }
    return { kind: 'Tuple', elements, names, span: this.from(open.span) };
  }
}
