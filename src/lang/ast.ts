/**
 * The tsbpf language AST: what the parser produces and every later pass reads.
 * Every node carries its source span so diagnostics can point at it.
 *
 * Conventions:
 * - Nodes are plain objects discriminated by `kind`.
 * - Passes that learn something about a node (its type, a map id) record it in
 *   side tables keyed by the node (Map<Node, T>), not by mutating the AST, so
 *   `-d ast` always shows what the parser saw.
 */

/** A source location range. Lines and columns are 1-based; `end*` is exclusive. */
export interface Span {
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  /** Byte offsets into the source text. */
  start: number;
  end: number;
}

export interface SourceFile {
  /** Shown in diagnostics: a path, 'stdin', or '-e' style name. */
  name: string;
  text: string;
}

// ---- program structure -----------------------------------------------------

export interface Program {
  kind: 'Program';
  source: SourceFile;
  /** `config = { key = value; ... }` at the top, if any. */
  config: ConfigEntry[];
  /** `#include <...>` / `#include "..."` lines (satisfied from BTF, not read). */
  includes: string[];
  /** Struct/union/enum definitions written in the script (C-like), by name. */
  typeDefs: TypeDef[];
  /** User-defined functions (`fn name($a: int64): int64 { ... }`), newer bpftrace. */
  functions: FunctionDef[];
  /** `macro name(x, $v, @m) { ... }` (bpftrace 0.24+), expanded by lang/desugar.ts before typing. */
  macros: MacroDef[];
  /** `let @name = hash(N);` map declarations (bpftrace 0.24+). */
  mapDecls: MapDecl[];
  probes: Probe[];
  span: Span;
}

export interface ConfigEntry {
  kind: 'ConfigEntry';
  key: string;
  value: bigint | string;
  span: Span;
}

export interface TypeDef {
  kind: 'TypeDef';
  /** 'struct' | 'union' | 'enum' */
  tag: 'struct' | 'union' | 'enum';
  name: string;
  /** The C text of the definition, kept verbatim for the type pass to parse. */
  body: string;
  span: Span;
}

export interface FunctionDef {
  kind: 'FunctionDef';
  name: string;
  params: { name: string; type: TypeName; span: Span }[];
  returnType: TypeName;
  body: Block;
  span: Span;
}

/**
 * `macro name(params) { body }`: a parameter is an expression (`x`), a
 * variable the caller passes (`$v`) or a map the caller passes (`@m`).
 */
export interface MacroDef {
  kind: 'MacroDef';
  name: string;
  params: { kind: 'expr' | 'var' | 'map'; name: string; span: Span }[];
  body: BlockExpr;
  span: Span;
}

/** `let @name = lruhash(100);`: the map's kind and its maximum number of entries. */
export interface MapDecl {
  kind: 'MapDecl';
  name: string;
  mapType: 'hash' | 'lruhash' | 'percpuhash' | 'percpulruhash';
  maxEntries: number;
  span: Span;
}

export interface Probe {
  kind: 'Probe';
  attachPoints: AttachPoint[];
  /** The `/predicate/` filter, if any. */
  predicate: Expr | null;
  body: Block;
  span: Span;
}

/**
 * One attach point as written, split on ':' (quotes removed, e.g.
 * `uprobe:"/a b":f`). Interpretation (provider aliases, wildcards, paths,
 * offsets) belongs to the probe providers, not the parser.
 *   `tracepoint:syscalls:sys_enter_openat` → provider 'tracepoint', parts ['syscalls', 'sys_enter_openat']
 *   `t:syscalls:sys_enter_*`              → provider 't', parts ['syscalls', 'sys_enter_*']
 *   `kprobe:vfs_read+16`                  → provider 'kprobe', parts ['vfs_read+16']
 *   `uprobe:/bin/bash:readline`           → provider 'uprobe', parts ['/bin/bash', 'readline']
 *   `usdt:/path:provider:name`            → provider 'usdt', parts ['/path', 'provider', 'name']
 *   `interval:s:1`, `profile:hz:99`       → parts ['s', '1'], ['hz', '99']
 *   `BEGIN`, `END`                        → provider 'BEGIN' / 'END', parts []
 */
export interface AttachPoint {
  kind: 'AttachPoint';
  raw: string;
  provider: string;
  parts: string[];
  span: Span;
}

// ---- statements ------------------------------------------------------------

export interface Block {
  kind: 'Block';
  stmts: Stmt[];
  span: Span;
}

export type Stmt =
  | ExprStmt
  | AssignStmt
  | VarDeclStmt
  | IfStmt
  | UnrollStmt
  | WhileStmt
  | ForRangeStmt
  | ForMapStmt
  | ReturnStmt
  | JumpStmt
  | Block;

export interface ExprStmt {
  kind: 'ExprStmt';
  expr: Expr;
  span: Span;
}

/**
 * `target = value`, `target op= value`, `target++`/`++target` (op '+' with value 1)
 * and `target--`. `target` is a Variable, a MapRef, or a FieldAccess/Index on a
 * variable (for future struct support).
 */
export interface AssignStmt {
  kind: 'AssignStmt';
  target: Variable | MapRef;
  /** null for plain `=`; otherwise the binary operator of `op=`, `++` ('+') or `--` ('-'). */
  op: BinaryOp | null;
  value: Expr;
  span: Span;
}

/** `let $x;`, `let $x = e;`, `let $x: type = e;` (newer bpftrace). */
export interface VarDeclStmt {
  kind: 'VarDeclStmt';
  variable: Variable;
  type: TypeName | null;
  value: Expr | null;
  span: Span;
}

export interface IfStmt {
  kind: 'IfStmt';
  cond: Expr;
  then: Block;
  /** `else if` chains are nested IfStmt in `otherwise`. */
  otherwise: Block | IfStmt | null;
  span: Span;
}

export interface UnrollStmt {
  kind: 'UnrollStmt';
  count: Expr;
  body: Block;
  span: Span;
}

export interface WhileStmt {
  kind: 'WhileStmt';
  cond: Expr;
  body: Block;
  span: Span;
}

/** `for ($i : start..end) { }` — end exclusive, as bpftrace. */
export interface ForRangeStmt {
  kind: 'ForRangeStmt';
  variable: Variable;
  start: Expr;
  end: Expr;
  body: Block;
  span: Span;
}

/** `for ($kv : @map) { }` — `$kv.0` is the key, `$kv.1` the value. */
export interface ForMapStmt {
  kind: 'ForMapStmt';
  variable: Variable;
  map: MapRef;
  body: Block;
  span: Span;
}

export interface ReturnStmt {
  kind: 'ReturnStmt';
  value: Expr | null;
  span: Span;
}

export interface JumpStmt {
  kind: 'JumpStmt';
  jump: 'break' | 'continue';
  span: Span;
}

// ---- expressions -----------------------------------------------------------

export type Expr =
  | IntegerLit
  | StringLit
  | BoolLit
  | Builtin
  | Identifier
  | Variable
  | PositionalParam
  | MapRef
  | Call
  | Binary
  | Unary
  | Ternary
  | FieldAccess
  | Index
  | TupleIndex
  | Tuple
  | Cast
  | Sizeof
  | Offsetof
  | IncDec
  | BlockExpr
  | IfExpr;

/**
 * `{ stmt; stmt; value }` used as a value (bpftrace 0.24+): the statements
 * run, then `value` (null when the block ends with `;` or a statement) is
 * its value. Lowered into plain statements by lang/desugar.ts before typing.
 */
export interface BlockExpr {
  kind: 'BlockExpr';
  stmts: Stmt[];
  value: Expr | null;
  span: Span;
}

/** `if (c) { ...; a } else { ...; b }` used as a value (bpftrace 0.25); lowered by lang/desugar.ts. */
export interface IfExpr {
  kind: 'IfExpr';
  cond: Expr;
  then: BlockExpr;
  otherwise: BlockExpr | IfExpr;
  span: Span;
}

/**
 * `++x`, `x++`, `--x`, `x--` used as a value (`printf("%d", @x++)`). As a
 * statement they parse as AssignStmt; `assign` is that equivalent statement,
 * which the passes reuse for the update.
 */
export interface IncDec {
  kind: 'IncDec';
  target: Variable | MapRef;
  /** true: the value is the updated one (`++x`); false: the old one (`x++`). */
  prefix: boolean;
  assign: AssignStmt;
  span: Span;
}

export interface IntegerLit {
  kind: 'IntegerLit';
  value: bigint;
  /** Source text as written (e.g. '0x10', '1_000', '1e6'). */
  text: string;
  span: Span;
}

/** A string literal with escapes already decoded. */
export interface StringLit {
  kind: 'StringLit';
  value: string;
  span: Span;
}

export interface BoolLit {
  kind: 'BoolLit';
  value: boolean;
  span: Span;
}

/**
 * A builtin variable: pid tid uid gid nsecs elapsed cpu comm probe func rand
 * cgroup curtask username retval args kstack ustack arg0..argN sarg0..sargN
 * and the like. `nsecs` etc. may also appear as calls (`nsecs(boot)`), which
 * parse as Call.
 */
export interface Builtin {
  kind: 'Builtin';
  name: string;
  span: Span;
}

/** A bare identifier that is not a builtin: an enum value, a `#define`d name left over, a `kstack(perf)` mode, a type name. */
export interface Identifier {
  kind: 'Identifier';
  name: string;
  span: Span;
}

/** `$name` scratch variable. */
export interface Variable {
  kind: 'Variable';
  name: string;
  span: Span;
}

/** `$1`..`$N` and `$#` (index 0 stands for `$#`, the count). */
export interface PositionalParam {
  kind: 'PositionalParam';
  index: number;
  span: Span;
}

/** `@name`, `@name[k]`, `@name[k1, k2]`, and `@` / `@[k]` (name ''). */
export interface MapRef {
  kind: 'MapRef';
  name: string;
  /** null when written without brackets. Several keys form a tuple key. */
  keys: Expr[] | null;
  span: Span;
}

/** `name(args)`: functions (printf, count, hist, str, ...) and call-form builtins. */
export interface Call {
  kind: 'Call';
  name: string;
  args: Expr[];
  span: Span;
}

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%'
  | '&' | '|' | '^' | '<<' | '>>'
  | '==' | '!=' | '<' | '<=' | '>' | '>='
  | '&&' | '||';

export interface Binary {
  kind: 'Binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  span: Span;
}

export type UnaryOp = '-' | '!' | '~' | '*' | '&';

export interface Unary {
  kind: 'Unary';
  op: UnaryOp;
  operand: Expr;
  span: Span;
}

export interface Ternary {
  kind: 'Ternary';
  cond: Expr;
  then: Expr;
  otherwise: Expr;
  span: Span;
}

/** `expr.field` or `expr->field` (arrow true). `args.filename`, `args->count`, `curtask->pid`. */
export interface FieldAccess {
  kind: 'FieldAccess';
  object: Expr;
  field: string;
  arrow: boolean;
  span: Span;
}

/** `expr[index]` on a pointer/array (not a map: maps parse as MapRef). */
export interface Index {
  kind: 'Index';
  object: Expr;
  index: Expr;
  span: Span;
}

/** `tuple.0` */
export interface TupleIndex {
  kind: 'TupleIndex';
  object: Expr;
  index: number;
  span: Span;
}

export interface Tuple {
  kind: 'Tuple';
  elements: Expr[];
  /** A record `(a=1, b="x")` (S27): each element's name, in order. */
  names?: string[];
  span: Span;
}

/** A type as written in casts, sizeof, declarations: `uint32`, `int8`, `struct task_struct *`, `char[16]`. */
export interface TypeName {
  kind: 'TypeName';
  /** Base name without pointer stars or array suffix: 'uint32', 'struct task_struct', 'char'. */
  base: string;
  pointerDepth: number;
  /** Array length for `type[N]`, else null. */
  arrayLength: number | null;
  span: Span;
}

/** `(type) expr` */
export interface Cast {
  kind: 'Cast';
  type: TypeName;
  operand: Expr;
  span: Span;
}

export interface Sizeof {
  kind: 'Sizeof';
  operand: TypeName | Expr;
  span: Span;
}

export interface Offsetof {
  kind: 'Offsetof';
  type: TypeName | Expr;
  field: string;
  span: Span;
}

export type Node = Program | Probe | AttachPoint | Stmt | Expr | ConfigEntry | TypeName | FunctionDef | TypeDef | MacroDef | MapDecl;
