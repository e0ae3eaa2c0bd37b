/**
 * Statements and blocks.
 */
import type { Block, BlockExpr, IfExpr, IfStmt, Stmt, Variable } from '../ast';
import { COMPOUND_ASSIGN, one } from './base';
import { ExprParser } from './expressions';

export abstract class StmtParser extends ExprParser {
  // ---- statements ------------------------------------------------------------------

  protected block(): Block {
    this.enter();
    try {
      return this.blockBody();
    } finally {
      this.depth--;
    }
  }

  protected blockBody(): Block {
    const open = this.peek();
    const { stmts } = this.blockItems();
    return { kind: 'Block', stmts, span: this.from(open.span) };
  }

  /** `{ stmt; ...; value }` as a value: the last expression without a `;` after it is the block's value. */
  protected blockExpression(): BlockExpr {
    this.enter();
    try {
      const open = this.peek();
      const { stmts, bareLast } = this.blockItems();
      const last = stmts[stmts.length - 1];
      const value = bareLast && last?.kind === 'ExprStmt' ? (stmts.pop(), last.expr) : null;
      return { kind: 'BlockExpr', stmts, value, span: this.from(open.span) };
    } finally {
      this.depth--;
    }
  }

  /** The statements of `{ ... }`; `bareLast`: the last one was not followed by `;`. */
  private blockItems(): { stmts: Stmt[]; bareLast: boolean } {
    const open = this.expect('{');
    const stmts: Stmt[] = [];
    let bareLast = false;
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, '}')) {
        this.advance();
        break;
      }
      if (t.kind === 'eof') throw this.unclosed(open, '}');
      bareLast = false;
      if (this.isPunct(t, ';')) {
        this.advance();
        continue;
      }
      const s = this.statement();
      stmts.push(s);
      if (!needsSemicolon(s)) continue;
      if (this.accept(';')) continue;
      if (this.at('}')) {
        bareLast = true;
        continue;
      }
      const n = this.peek();
      if (n.kind === 'eof') throw this.unclosed(open, '}');
      throw this.unexpected(n, '; or }');
    }
    return { stmts, bareLast };
  }

  /** `if (c) { ... a } else { ... b }` as a value (bpftrace 0.25). */
  protected ifExpression(): IfExpr {
    const kw = this.advance();
    const cond = this.expression();
    if (!this.at('{')) throw this.unexpected(this.peek(), '{');
    const then = this.blockExpression();
    if (!this.atWord('else')) throw this.unexpected(this.peek(), 'else (an if expression needs both branches)');
    this.advance();
    this.enter();
    try {
      const otherwise = this.atWord('if') ? this.ifExpression() : this.at('{') ? this.blockExpression() : null;
      if (!otherwise) throw this.unexpected(this.peek(), '{ or if');
      return { kind: 'IfExpr', cond, then, otherwise, span: this.from(kw.span) };
    } finally {
      this.depth--;
    }
  }

  protected statement(): Stmt {
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

  protected ifStmt(): IfStmt {
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

  protected forStmt(): Stmt {
    const kw = this.advance();
    // bpftrace 0.26 makes the parentheses optional: `for $kv : @m { ... }`
    const open = this.at('(') ? this.expect('(') : null;
    const v = this.peek();
    if (v.kind !== 'var') throw this.unexpected(v, 'variable');
    this.advance();
    const variable: Variable = { kind: 'Variable', name: v.text, span: v.span };
    this.expect(':');
    const first = this.expression();
    if ((open ? this.at(')') : this.at('{')) && first.kind === 'MapRef' && first.keys === null) {
      if (open) this.advance();
      const body = this.block();
      return { kind: 'ForMapStmt', variable, map: first, body, span: this.from(kw.span) };
    }
    if (!this.at('..')) {
      throw this.unexpected(this.peek(), first.kind === 'MapRef' ? (open ? ')' : '{') : '..', ['(for loops iterate over a map, `for ($kv : @m)`, or a range, `for ($i : 0..10)`)']);
    }
    this.advance();
    const end = this.expression();
    if (open) this.expect(')', open);
    const body = this.block();
    return { kind: 'ForRangeStmt', variable, start: first, end, body, span: this.from(kw.span) };
  }

  protected letStmt(): Stmt {
    const kw = this.advance();
    const v = this.peek();
    if (v.kind === 'map') throw this.fail('a map declaration (let @map = hash(N);) goes at the top level, before the probes', v.span);
    if (v.kind !== 'var') throw this.unexpected(v, 'variable');
    this.advance();
    const variable: Variable = { kind: 'Variable', name: v.text, span: v.span };
    const type = this.accept(':') ? this.typeName() : null;
    const value = this.accept('=') ? this.expression() : null;
    return { kind: 'VarDeclStmt', variable, type, value, span: this.from(kw.span) };
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
