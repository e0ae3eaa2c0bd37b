/**
 * `tsbpf -d ast`: the parser's AST as an indented tree, one node per line,
 * one space of indent per level, in the spirit of bpftrace's `-d ast`:
 *
 *   Program
 *    kprobe:vfs_read
 *     pred
 *      == 
 *       builtin: comm
 *       string: bash
 *     =
 *      map: @x
 *      call: count
 *
 * The format is stable (tests compare it) and shows exactly what the parser
 * built; passes record their findings in side tables, never here.
 */
import type { Block, Expr, IfStmt, Program, Stmt, TypeName } from './ast';

/** Renders a Program as an indented tree; the result ends with a newline. */
export function dumpAst(program: Program): string {
  const out: string[] = [];
  const line = (depth: number, text: string) => out.push(' '.repeat(depth) + text);
  line(0, 'Program');
  for (const inc of program.includes) line(1, `include: ${inc}`);
  if (program.config.length) {
    line(1, 'config');
    for (const c of program.config) line(2, `${c.key} = ${typeof c.value === 'string' ? c.value : c.value.toString()}`);
  }
  for (const t of program.typeDefs) line(1, t.name ? `${t.tag} ${t.name}` : `${t.tag} (anonymous)`);
  for (const f of program.functions) {
    const params = f.params.map((p) => `$${p.name} : ${typeText(p.type)}`).join(', ');
    line(1, `fn ${f.name}(${params}) : ${typeText(f.returnType)}`);
    stmts(f.body.stmts, 2);
  }
  for (const m of program.macros) {
    line(1, `macro ${m.name}(${m.params.map((p) => (p.kind === 'var' ? '$' : p.kind === 'map' ? '@' : '') + p.name).join(', ')})`);
    expr(m.body, 2);
  }
  for (const p of program.probes) {
    for (const ap of p.attachPoints) line(1, attachText(ap.provider, ap.parts));
    if (p.predicate) {
      line(2, 'pred');
      expr(p.predicate, 3);
    }
    stmts(p.body.stmts, 2);
  }
  return out.join('\n') + '\n';

  function stmts(list: Stmt[], depth: number): void {
    for (const s of list) stmt(s, depth);
  }

  function block(b: Block, depth: number): void {
    stmts(b.stmts, depth);
  }

  function stmt(s: Stmt, d: number): void {
    switch (s.kind) {
      case 'ExprStmt':
        expr(s.expr, d);
        return;
      case 'AssignStmt':
        line(d, s.op === null ? '=' : `${s.op}=`);
        expr(s.target, d + 1);
        expr(s.value, d + 1);
        return;
      case 'VarDeclStmt':
        line(d, s.type ? `let : ${typeText(s.type)}` : 'let');
        expr(s.variable, d + 1);
        if (s.value) expr(s.value, d + 1);
        return;
      case 'IfStmt':
        ifStmt(s, d);
        return;
      case 'UnrollStmt':
        line(d, 'unroll');
        expr(s.count, d + 1);
        line(d + 1, 'stmts');
        block(s.body, d + 2);
        return;
      case 'WhileStmt':
        line(d, 'while');
        expr(s.cond, d + 1);
        line(d + 1, 'stmts');
        block(s.body, d + 2);
        return;
      case 'ForRangeStmt':
        line(d, 'for');
        expr(s.variable, d + 1);
        line(d + 1, 'range');
        expr(s.start, d + 2);
        expr(s.end, d + 2);
        line(d + 1, 'stmts');
        block(s.body, d + 2);
        return;
      case 'ForMapStmt':
        line(d, 'for');
        expr(s.variable, d + 1);
        expr(s.map, d + 1);
        line(d + 1, 'stmts');
        block(s.body, d + 2);
        return;
      case 'ReturnStmt':
        line(d, 'return');
        if (s.value) expr(s.value, d + 1);
        return;
      case 'JumpStmt':
        line(d, s.jump);
        return;
      case 'Block':
        line(d, 'block');
        block(s, d + 1);
        return;
    }
  }

  function ifStmt(s: IfStmt, d: number): void {
    line(d, 'if');
    expr(s.cond, d + 1);
    line(d + 1, 'then');
    block(s.then, d + 2);
    if (s.otherwise) {
      line(d + 1, 'else');
      if (s.otherwise.kind === 'IfStmt') ifStmt(s.otherwise, d + 2);
      else block(s.otherwise, d + 2);
    }
  }

  function expr(e: Expr, d: number): void {
    switch (e.kind) {
      case 'IntegerLit':
        line(d, `int: ${e.value.toString()}`);
        return;
      case 'StringLit':
        line(d, `string: ${escapeString(e.value)}`);
        return;
      case 'BoolLit':
        line(d, `bool: ${e.value}`);
        return;
      case 'Builtin':
        line(d, `builtin: ${e.name}`);
        return;
      case 'Identifier':
        line(d, `identifier: ${e.name}`);
        return;
      case 'Variable':
        line(d, `variable: $${e.name}`);
        return;
      case 'PositionalParam':
        line(d, `param: ${e.index === 0 ? '$#' : `$${e.index}`}`);
        return;
      case 'MapRef':
        line(d, `map: @${e.name}`);
        for (const k of e.keys ?? []) expr(k, d + 1);
        return;
      case 'Call':
        line(d, `call: ${e.name}`);
        for (const a of e.args) expr(a, d + 1);
        return;
      case 'Binary':
        line(d, e.op);
        expr(e.left, d + 1);
        expr(e.right, d + 1);
        return;
      case 'Unary':
        line(d, e.op === '*' ? 'dereference' : e.op === '&' ? 'address-of' : e.op);
        expr(e.operand, d + 1);
        return;
      case 'Ternary':
        line(d, '?:');
        expr(e.cond, d + 1);
        expr(e.then, d + 1);
        expr(e.otherwise, d + 1);
        return;
      case 'FieldAccess':
        line(d, e.arrow ? '->' : '.');
        expr(e.object, d + 1);
        line(d + 1, e.field);
        return;
      case 'Index':
        line(d, '[]');
        expr(e.object, d + 1);
        expr(e.index, d + 1);
        return;
      case 'TupleIndex':
        line(d, '.');
        expr(e.object, d + 1);
        line(d + 1, String(e.index));
        return;
      case 'Tuple':
        line(d, 'tuple:');
        for (const x of e.elements) expr(x, d + 1);
        return;
      case 'Cast':
        line(d, `(${typeText(e.type)})`);
        expr(e.operand, d + 1);
        return;
      case 'Sizeof':
        line(d, 'sizeof');
        if (e.operand.kind === 'TypeName') line(d + 1, `type: ${typeText(e.operand)}`);
        else expr(e.operand, d + 1);
        return;
      case 'BlockExpr':
        line(d, 'block');
        stmts(e.stmts, d + 1);
        if (e.value) {
          line(d + 1, 'value');
          expr(e.value, d + 2);
        }
        return;
      case 'IfExpr':
        line(d, 'if (value)');
        expr(e.cond, d + 1);
        expr(e.then, d + 1);
        line(d + 1, 'else');
        expr(e.otherwise, d + 2);
        return;
      case 'IncDec':
        line(d, e.prefix ? `${e.assign.op}${e.assign.op} (prefix)` : `${e.assign.op}${e.assign.op} (postfix)`);
        expr(e.target, d + 1);
        return;
      case 'Offsetof':
        line(d, 'offsetof');
        if (e.type.kind === 'TypeName') line(d + 1, `type: ${typeText(e.type)}`);
        else expr(e.type, d + 1);
        line(d + 1, e.field);
        return;
    }
  }
}

/** A type as C writes it: `struct task_struct *`, `char[16]`. */
export function typeText(t: TypeName): string {
  return `${t.base}${t.pointerDepth ? ' ' + '*'.repeat(t.pointerDepth) : ''}${t.arrayLength !== null ? `[${t.arrayLength}]` : ''}`;
}

function attachText(provider: string, parts: string[]): string {
  return [provider, ...parts].join(':');
}

/** Shows control characters as escapes so each node stays on one line. */
function escapeString(s: string): string {
  return s.replace(/[\\\n\t\r\0-\x1f\x7f]/g, (c) => {
    switch (c) {
      case '\\': return '\\\\';
      case '\n': return '\\n';
      case '\t': return '\\t';
      case '\r': return '\\r';
      default: return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
}
