/**
 * The one AST walker: the typed list of each node's children, and a
 * depth-first walk over them with an explicit stack, so a program nested or
 * chained thousands of levels deep (`1 + 1 + ... + 1`) is walked without
 * recursion.
 *
 * @example
 *   walk([probe.predicate, probe.body], (n) => {
 *     if (n.kind === 'Builtin' && n.name === 'probe') found = true;
 *   });
 */
import type { Expr, Node } from './ast';

/** The child nodes of `n`, in source order (a node's own fields, never its span). */
export function children(n: Node): Node[] {
  switch (n.kind) {
    case 'Program':
      return [...n.config, ...n.typeDefs, ...n.functions, ...n.macros, ...n.probes];
    case 'MacroDef':
      return [n.body];
    case 'MapDecl':
      return [];
    case 'BlockExpr':
      return n.value ? [...n.stmts, n.value] : n.stmts;
    case 'IfExpr':
      return [n.cond, n.then, n.otherwise];
    case 'Probe':
      return n.predicate ? [...n.attachPoints, n.predicate, n.body] : [...n.attachPoints, n.body];
    case 'FunctionDef':
      return [...n.params.map((p) => p.type), n.returnType, n.body];
    case 'Block':
      return n.stmts;
    case 'ExprStmt':
      return [n.expr];
    case 'AssignStmt':
      return [n.target, n.value];
    case 'VarDeclStmt':
      return [n.variable, ...(n.type ? [n.type] : []), ...(n.value ? [n.value] : [])];
    case 'IfStmt':
      return n.otherwise ? [n.cond, n.then, n.otherwise] : [n.cond, n.then];
    case 'UnrollStmt':
      return [n.count, n.body];
    case 'WhileStmt':
      return [n.cond, n.body];
    case 'ForRangeStmt':
      return [n.variable, n.start, n.end, n.body];
    case 'ForMapStmt':
      return [n.variable, n.map, n.body];
    case 'ReturnStmt':
      return n.value ? [n.value] : [];
    case 'MapRef':
      return n.keys ?? [];
    case 'Call':
      return n.args;
    case 'Binary':
      return [n.left, n.right];
    case 'Unary':
      return [n.operand];
    case 'Ternary':
      return [n.cond, n.then, n.otherwise];
    case 'FieldAccess':
    case 'TupleIndex':
      return [n.object];
    case 'Index':
      return [n.object, n.index];
    case 'Tuple':
      return n.elements;
    case 'Cast':
      return [n.type, n.operand];
    case 'Sizeof':
      return [n.operand];
    case 'Offsetof':
      return [n.type];
    // the statement ++/-- stands for is part of the node
    case 'IncDec':
      return [n.target, n.assign];
    case 'JumpStmt':
    case 'IntegerLit':
    case 'StringLit':
    case 'BoolLit':
    case 'Builtin':
    case 'Identifier':
    case 'Variable':
    case 'PositionalParam':
    case 'TypeName':
    case 'AttachPoint':
    case 'ConfigEntry':
    case 'TypeDef':
      return [];
  }
}

/**
 * Visits every node under `roots` depth-first in source order (pre-order);
 * `enter` returning false skips the node's children. Null roots are ignored.
 */
export function walk(roots: readonly (Node | null | undefined)[], enter: (n: Node) => boolean | void): void {
  const stack: Node[] = [];
  for (let i = roots.length - 1; i >= 0; i--) {
    const r = roots[i];
    if (r) stack.push(r);
  }
  while (stack.length) {
    const n = stack.pop() as Node;
    if (enter(n) === false) continue;
    const cs = children(n);
    for (let i = cs.length - 1; i >= 0; i--) stack.push(cs[i]);
  }
}

/** True when some node under `roots` satisfies `test` (stops at the first). */
export function some(roots: readonly (Node | null | undefined)[], test: (n: Node) => boolean): boolean {
  let found = false;
  walk(roots, (n) => {
    if (found) return false;
    if (test(n)) found = true;
    return !found;
  });
  return found;
}

/**
 * `e` with each direct sub-expression replaced by `f` of it: a shallow copy for
 * the kinds whose children are all plain expressions (operators, calls, casts,
 * field and index accesses, tuples); any other node comes back as it is, for
 * the caller to handle (map keys, ++/--, block and if expressions, leaves).
 */
export function mapSubexprs(e: Expr, f: (x: Expr) => Expr): Expr {
  switch (e.kind) {
    case 'Call':
      return { ...e, args: e.args.map(f) };
    case 'Binary':
      return { ...e, left: f(e.left), right: f(e.right) };
    case 'Unary':
      return { ...e, operand: f(e.operand) };
    case 'Ternary':
      return { ...e, cond: f(e.cond), then: f(e.then), otherwise: f(e.otherwise) };
    case 'FieldAccess':
    case 'TupleIndex':
      return { ...e, object: f(e.object) };
    case 'Index':
      return { ...e, object: f(e.object), index: f(e.index) };
    case 'Tuple':
      return { ...e, elements: e.elements.map(f) };
    case 'Cast':
      return { ...e, operand: f(e.operand) };
    case 'Sizeof':
      return e.operand.kind === 'TypeName' ? e : { ...e, operand: f(e.operand) };
    default:
      return e;
  }
}
