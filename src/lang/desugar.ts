/**
 * Lowers bpftrace 0.24+'s expression-level syntax into the statements the
 * checker and code generator know, before typing:
 *
 * - macros (`macro add1(x) { x + 1 }`, S07–S09): each use is replaced by the
 *   macro's body, a block expression, with its parameters substituted — an
 *   expression parameter by the argument, `$v` by the caller's variable,
 *   `@m` by the caller's map — and the body's own variables renamed, so a
 *   macro never sees or clobbers the caller's `$y` (hygiene). A zero-argument
 *   macro may be used as a bare name (`one`). A user macro takes precedence
 *   over a builtin of the same name and arity (`macro cpu() { ... }`).
 * - block expressions (`$a = { let $b = 1; $b + 1 }`, S11) and `if`
 *   expressions (`$a = if (c) { 1 } else { 2 }`, S12): the statements of a
 *   block run before the statement that uses its value, which then reads the
 *   block's last expression; an `if` expression becomes an if statement that
 *   assigns a fresh variable in each branch.
 *
 * - `getopt("name", default)` (C30, C31): the value of the named program
 *   option `-- --name=value` (or `--name` alone: true), typed like its
 *   default (an integer, a bool, a string; a bool without one), resolved at
 *   compile time as bpftrace does. Options no getopt() asks for are refused,
 *   and `-- --help` lists the program's options.
 *
 * The pass runs only on programs that use these forms, so ordinary programs
 * (and their chains of any length) are never rebuilt.
 */
import type { Block, BlockExpr, Expr, IfExpr, IfStmt, MacroDef, MapRef, Program, Stmt, Variable } from './ast';
import { CompileError } from './diagnostics';
import { mapSubexprs, some, walk } from './visit';
import { UserError } from '../errors';
import { parse } from './parser';
import { STDLIB_NAMES, STDLIB_SOURCE } from './stdlib';
import { configKeys, resolveConfig, type Config } from './config';
import type { Span } from './ast';

export interface DesugarOptions {
  /** Program options given after `--` (`--aa=20` → aa: '20', `--dd` → dd: 'true'). */
  namedParams?: Record<string, string>;
}

/** `-- --help`: the program's options, listed from its getopt() calls (the CLI prints it on stdout and exits 1, as bpftrace). */
export class ProgramOptionsHelp extends UserError {}
/** A bad `-- --name=value`: printed as it stands (bpftrace's `ERROR: ...` and `HINT: ...` lines). */
export class ProgramOptionError extends UserError {}

/** Nested macro uses deeper than this are taken for recursion. */
const MAX_MACRO_DEPTH = 64;

/** Whether `program` uses anything this pass lowers. */
function needsLowering(program: Program): boolean {
  if (program.macros.length) return true;
  return program.probes.some((p) => some([p.predicate, p.body], (n) =>
    n.kind === 'BlockExpr' || n.kind === 'IfExpr' || (n.kind === 'Call' && n.name === 'getopt') ||
    ((n.kind === 'Call' || n.kind === 'Identifier' || n.kind === 'Builtin') && (STDLIB_NAMES.has(n.name) || n.name === '__builtin_config'))));
}

/** The standard library's macros (lang/stdlib.ts), parsed once. */
let stdlib: MacroDef[] | undefined;
function stdlibMacros(): MacroDef[] {
  stdlib ??= parse({ name: 'stdlib', text: STDLIB_SOURCE }).macros;
  return stdlib;
}

/** The program with macros expanded and block/if expressions turned into statements. */
export function desugar(program: Program, opts: DesugarOptions = {}): Program {
  const named = opts.namedParams ?? {};
  if (!needsLowering(program)) {
    checkProgramOptions(named, new Map());
    return program;
  }
  const d = new Desugarer(program, named);
  const out = lowerProbes(program, d);
  checkProgramOptions(named, d.options);
  return out;
}

/** Every given program option must be one a getopt() asks for; `--help` lists them. */
function checkProgramOptions(named: Record<string, string>, options: Map<string, string>): void {
  const list = () => [...options.entries()].reverse().map(([n, desc]) => `  --${n}${desc ? `: ${desc}` : ''}`).join('\n');
  if ('help' in named && !options.has('help')) {
    throw new ProgramOptionsHelp(options.size ? `HINT: expected program options:\n${list()}` : 'HINT: this program takes no options (it calls no getopt())');
  }
  const unexpected = Object.keys(named).filter((n) => !options.has(n));
  if (unexpected.length) {
    const hint = options.size ? `\nHINT: expected program options: ${[...options.keys()].map((n) => `--${n}`).join(', ')}` : '';
    throw new ProgramOptionError(`ERROR: unexpected program command line options: ${unexpected.map((n) => `--${n}`).join(', ')}${hint}`);
  }
}

function lowerProbes(program: Program, d: Desugarer): Program {
  return {
    ...program,
    probes: program.probes.map((p) => {
      const pre: Stmt[] = [];
      const predicate = p.predicate ? d.lowerExpr(d.expand(p.predicate, 0), pre) : null;
      if (pre.length) throw new CompileError('a block expression or macro with statements cannot be used in a predicate: test it inside the probe with if', p.predicate?.span ?? null);
      const body = d.lowerBlock(d.expandBlock(p.body, 0));
      return { ...p, predicate: predicate ?? null, body };
    }),
  };
}

class Desugarer {
  /** getopt() names asked for, with their descriptions. */
  readonly options = new Map<string, string>();
  private readonly macros = new Map<string, MacroDef>();
  /** Arguments already expanded in their caller, now inside a macro body: never expanded again. */
  private readonly argNodes = new Set<Expr>();
  private fresh = 0;

  constructor(private readonly program: Program, private readonly named: Record<string, string>) {
    for (const m of stdlibMacros()) this.stdlib.set(`${m.name}/${m.params.length}`, m);
    for (const m of program.macros) {
      const key = `${m.name}/${m.params.length}`;
      if (this.macros.has(key)) throw new CompileError(`macro ${m.name} with ${m.params.length} parameter${m.params.length === 1 ? '' : 's'} is defined twice`, m.span);
      this.macros.set(key, m);
    }
  }

  /** Standard library macros: a user macro of the same name and arity comes first. */
  private readonly stdlib = new Map<string, MacroDef>();

  private macro(name: string, arity: number): MacroDef | undefined {
    return this.macros.get(`${name}/${arity}`) ?? this.stdlib.get(`${name}/${arity}`);
  }

  // ---- macro expansion ---------------------------------------------------------------

  expandBlock(b: Block, depth: number): Block {
    return { ...b, stmts: b.stmts.map((s) => this.expandStmt(s, depth)) };
  }

  private expandStmt(s: Stmt, depth: number): Stmt {
    const x = (e: Expr) => this.expand(e, depth);
    switch (s.kind) {
      case 'Block':
        return this.expandBlock(s, depth);
      case 'ExprStmt':
        return { ...s, expr: x(s.expr) };
      case 'AssignStmt':
        return { ...s, target: this.expandTarget(s.target, depth), value: x(s.value) };
      case 'VarDeclStmt':
        return { ...s, value: s.value ? x(s.value) : null };
      case 'IfStmt':
        return this.expandIf(s, depth);
      case 'UnrollStmt':
        return { ...s, count: x(s.count), body: this.expandBlock(s.body, depth) };
      case 'WhileStmt':
        return { ...s, cond: x(s.cond), body: this.expandBlock(s.body, depth) };
      case 'ForRangeStmt':
        return { ...s, start: x(s.start), end: x(s.end), body: this.expandBlock(s.body, depth) };
      case 'ForMapStmt':
        return { ...s, body: this.expandBlock(s.body, depth) };
      case 'ReturnStmt':
        return { ...s, value: s.value ? x(s.value) : null };
      case 'JumpStmt':
        return s;
    }
  }

  private expandIf(s: IfStmt, depth: number): IfStmt {
    const otherwise = s.otherwise === null ? null : s.otherwise.kind === 'IfStmt' ? this.expandIf(s.otherwise, depth) : this.expandBlock(s.otherwise, depth);
    return { ...s, cond: this.expand(s.cond, depth), then: this.expandBlock(s.then, depth), otherwise };
  }

  private expandTarget<T extends Variable | MapRef>(t: T, depth: number): T {
    return t.kind === 'MapRef' && t.keys ? { ...t, keys: t.keys.map((k) => this.expand(k, depth)) } : t;
  }

  /** `e` with every macro use replaced by its instantiated body. */
  expand(e: Expr, depth: number): Expr {
    if (this.argNodes.has(e)) return e;
    const x = (y: Expr) => this.expand(y, depth);
    switch (e.kind) {
      case 'Call': {
        const args = e.args.map(x);
        const m = this.macro(e.name, args.length);
        if (m) return this.instantiate(m, args, e, depth);
        return e.name === 'getopt' ? this.getopt({ ...e, args }) : { ...e, args };
      }
      case 'Identifier':
      case 'Builtin': {
        if (e.name === '__builtin_config') return this.configRecord(e.span);
        const m = this.macro(e.name, 0);
        return m ? this.instantiate(m, [], e, depth) : e;
      }
      case 'MapRef':
        return this.expandTarget(e, depth);
      case 'IncDec': {
        const target = this.expandTarget(e.target, depth);
        return { ...e, target, assign: { ...e.assign, target } };
      }
      case 'BlockExpr':
        return this.expandBlockExpr(e, depth);
      case 'IfExpr':
        return this.expandIfExpr(e, depth);
      default:
        return mapSubexprs(e, x);
    }
  }

  private expandBlockExpr(b: BlockExpr, depth: number): BlockExpr {
    return { ...b, stmts: b.stmts.map((s) => this.expandStmt(s, depth)), value: b.value ? this.expand(b.value, depth) : null };
  }

  private expandIfExpr(e: IfExpr, depth: number): IfExpr {
    const otherwise = e.otherwise.kind === 'IfExpr' ? this.expandIfExpr(e.otherwise, depth) : this.expandBlockExpr(e.otherwise, depth);
    return { ...e, cond: this.expand(e.cond, depth), then: this.expandBlockExpr(e.then, depth), otherwise };
  }

  /**
   * One use of macro `m`: its body with the parameters bound to `args`
   * (already expanded in the caller) and its own variables renamed; macro
   * uses inside the body are then expanded (never inside the arguments).
   */
  private instantiate(m: MacroDef, args: Expr[], use: Expr, depth: number): Expr {
    if (depth >= MAX_MACRO_DEPTH) throw new CompileError(`macro ${m.name} is expanded more than ${MAX_MACRO_DEPTH} levels deep (does it use itself?)`, use.span);
    const exprs = new Map<string, Expr>();
    const vars = new Map<string, string>();
    const maps = new Map<string, string>();
    m.params.forEach((p, i) => {
      const a = args[i];
      if (p.kind === 'expr') exprs.set(p.name, a);
      else if (p.kind === 'var') {
        if (a.kind !== 'Variable') throw new CompileError(`macro ${m.name}: parameter $${p.name} needs a $variable, got another expression`, a.span);
        vars.set(p.name, a.name);
      } else {
        if (a.kind !== 'MapRef' || a.keys) throw new CompileError(`macro ${m.name}: parameter @${p.name} needs a map without keys (@name)`, a.span);
        maps.set(p.name, a.name);
      }
    });
    const suffix = `'${m.name}${++this.fresh}`;
    const rename = (name: string) => vars.get(name) ?? name + suffix;
    for (const a of args) this.argNodes.add(a);
    const bind = new Binder(exprs, rename, (name) => maps.get(name) ?? name, (e) => this.argNodes.has(e));
    const body = bind.blockExpr(m.body);
    // a standard library macro's spans are in its own text: what it reports points at the use instead
    if (this.stdlib.get(`${m.name}/${m.params.length}`) === m) {
      walk([body], (n) => {
        if (n.kind !== 'Program' && !(this.argNodes as Set<unknown>).has(n)) (n as { span: typeof use.span }).span = use.span;
        return !(this.argNodes as Set<unknown>).has(n);
      });
    }
    // the use's span: diagnostics about the expansion point at the caller
    return { ...this.expandBlockExpr(body, depth + 1), span: use.span };
  }

  /**
   * `__builtin_config` (what the standard library's `config()` returns): a
   * record of every configuration key's value, as constants (bpftrace 0.25).
   */
  private configRecord(span: Span): Expr {
    this.config ??= resolveConfig(this.program.config, process.env).values;
    const cfg = this.config;
    const keys = configKeys().filter((k) => k !== 'cache_user_symbols'); // bpftrace's record leaves it out
    const elements: Expr[] = keys.map((k) => {
      const v = cfg[k];
      if (typeof v === 'boolean') return { kind: 'BoolLit', value: v, span };
      if (typeof v === 'number') return { kind: 'IntegerLit', value: BigInt(v), text: String(v), span };
      return { kind: 'StringLit', value: v, span };
    });
    return { kind: 'Tuple', elements, names: keys, span };
  }

  private config: Config | undefined;

  /** `getopt("name"[, default[, "description"]])`: the option's value as a literal of the default's type. */
  private getopt(c: Extract<Expr, { kind: 'Call' }>): Expr {
    const [nameArg, dflt, descArg] = c.args;
    if (c.args.length < 1 || c.args.length > 3 || nameArg.kind !== 'StringLit') throw new CompileError('getopt() takes a string literal name, then an optional default and description: getopt("name", 10, "what it is")', c.span);
    if (descArg && descArg.kind !== 'StringLit') throw new CompileError('getopt(): the description must be a string literal', descArg.span);
    const name = nameArg.value;
    this.options.set(name, descArg?.kind === 'StringLit' ? descArg.value : '');
    const given = this.named[name];
    const span = c.span;
    const kind = !dflt || dflt.kind === 'BoolLit' ? 'bool' : dflt.kind === 'StringLit' ? 'string' : dflt.kind === 'IntegerLit' || (dflt.kind === 'Unary' && dflt.op === '-' && dflt.operand.kind === 'IntegerLit') ? 'int' : null;
    if (!kind) throw new CompileError('getopt(): the default must be an integer, a bool or a string literal', dflt.span);
    if (given === undefined) return dflt ?? { kind: 'BoolLit', value: false, span };
    if (kind === 'string') return { kind: 'StringLit', value: given, span };
    if (kind === 'bool') {
      const v = given.toLowerCase();
      if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw new ProgramOptionError(`ERROR: program command line option --${name} invalid boolean (value: ${given})`);
      return { kind: 'BoolLit', value: v === 'true' || v === '1', span };
    }
    let n: bigint;
    try {
      if (!/^-?(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(given)) throw new Error();
      n = given.startsWith('-') ? -BigInt(given.slice(1)) : BigInt(given);
    } catch {
      throw new ProgramOptionError(`ERROR: program command line option --${name} invalid integer (value: ${given})`);
    }
    if (n > 0xffffffffffffffffn || n < -0x8000000000000000n) throw new ProgramOptionError(`ERROR: program command line option --${name} is out of range for a 64-bit integer (value: ${given})`);
    return n < 0n
      ? { kind: 'Unary', op: '-', operand: { kind: 'IntegerLit', value: -n, text: String(-n), span }, span }
      : { kind: 'IntegerLit', value: n, text: given, span };
  }

  // ---- block and if expressions ------------------------------------------------------

  lowerBlock(b: Block): Block {
    return { ...b, stmts: this.lowerStmts(b.stmts) };
  }

  private lowerStmts(list: Stmt[]): Stmt[] {
    const out: Stmt[] = [];
    for (const s of list) {
      const pre: Stmt[] = [];
      const t = this.lowerStmt(s, pre);
      out.push(...pre);
      if (t) out.push(t);
    }
    return out;
  }

  /** `s` without block expressions; the statements they run first go to `pre`. Null when nothing is left of `s`. */
  private lowerStmt(s: Stmt, pre: Stmt[]): Stmt | null {
    switch (s.kind) {
      case 'Block':
        return this.lowerBlock(s);
      case 'ExprStmt': {
        if (s.expr.kind === 'BlockExpr') {
          pre.push(...this.lowerStmts(s.expr.stmts));
          return s.expr.value ? this.lowerStmt({ ...s, expr: s.expr.value, span: s.expr.value.span }, pre) : null;
        }
        return { ...s, expr: this.value(s.expr, pre) };
      }
      case 'AssignStmt': {
        const value = this.value(s.value, pre);
        return { ...s, target: this.lowerTarget(s.target, pre), value };
      }
      case 'VarDeclStmt':
        return { ...s, value: s.value ? this.value(s.value, pre) : null };
      case 'IfStmt':
        return this.lowerIf(s, pre);
      case 'UnrollStmt':
        return { ...s, body: this.lowerBlock(s.body) };
      case 'WhileStmt': {
        const cpre: Stmt[] = [];
        const cond = this.value(s.cond, cpre);
        if (cpre.length) throw new CompileError('a while condition cannot run statements (a block expression or macro with statements): compute it before the loop and at the end of its body', s.cond.span);
        return { ...s, cond, body: this.lowerBlock(s.body) };
      }
      case 'ForRangeStmt':
        return { ...s, start: this.value(s.start, pre), end: this.value(s.end, pre), body: this.lowerBlock(s.body) };
      case 'ForMapStmt':
        return { ...s, body: this.lowerBlock(s.body) };
      case 'ReturnStmt':
        return { ...s, value: s.value ? this.value(s.value, pre) : null };
      case 'JumpStmt':
        return s;
    }
  }

  private lowerIf(s: IfStmt, pre: Stmt[]): IfStmt {
    const cond = this.value(s.cond, pre);
    let otherwise: Block | IfStmt | null = null;
    if (s.otherwise?.kind === 'IfStmt') {
      // an else-if whose condition runs statements runs them in the else branch
      const epre: Stmt[] = [];
      const inner = this.lowerIf(s.otherwise, epre);
      otherwise = epre.length ? { kind: 'Block', stmts: [...epre, inner], span: s.otherwise.span } : inner;
    } else if (s.otherwise) otherwise = this.lowerBlock(s.otherwise);
    return { ...s, cond, then: this.lowerBlock(s.then), otherwise };
  }

  private lowerTarget<T extends Variable | MapRef>(t: T, pre: Stmt[]): T {
    return t.kind === 'MapRef' && t.keys ? { ...t, keys: t.keys.map((k) => this.value(k, pre)) } : t;
  }

  /** `e` as a value, its blocks' statements moved to `pre`. */
  lowerExpr(e: Expr, pre: Stmt[]): Expr {
    return this.value(e, pre);
  }

  private value(e: Expr, pre: Stmt[]): Expr {
    const v = (y: Expr) => this.value(y, pre);
    switch (e.kind) {
      case 'BlockExpr': {
        pre.push(...this.lowerStmts(e.stmts));
        if (!e.value) throw new CompileError('this block has no value: its last statement ends with ; (or it is a macro that returns nothing)', e.span);
        return this.value(e.value, pre);
      }
      case 'IfExpr':
        return this.ifValue(e, pre);
      case 'Ternary': {
        const cond = v(e.cond);
        const tpre: Stmt[] = [], opre: Stmt[] = [];
        const then = e.then === e.cond ? cond : this.value(e.then, tpre);
        const otherwise = this.value(e.otherwise, opre);
        if (!tpre.length && !opre.length) return { ...e, cond, then, otherwise };
        // a branch runs statements: only that branch's, as an if statement assigning a fresh variable
        const tmp = this.temp(e);
        pre.push({
          kind: 'IfStmt', cond, span: e.span,
          then: { kind: 'Block', stmts: [...tpre, assign(tmp, then)], span: e.then.span },
          otherwise: { kind: 'Block', stmts: [...opre, assign(tmp, otherwise)], span: e.otherwise.span },
        });
        return tmp;
      }
      case 'Binary': {
        const left = v(e.left);
        if (e.op === '&&' || e.op === '||') {
          const rpre: Stmt[] = [];
          const right = this.value(e.right, rpre);
          if (rpre.length) throw new CompileError(`the right side of '${e.op}' cannot run statements (a block expression or macro with statements): assign it to a variable first`, e.right.span);
          return { ...e, left, right };
        }
        return { ...e, left, right: v(e.right) };
      }
      case 'MapRef':
        return this.lowerTarget(e, pre);
      case 'IncDec': {
        const target = this.lowerTarget(e.target, pre);
        return { ...e, target, assign: { ...e.assign, target } };
      }
      default:
        return mapSubexprs(e, v);
    }
  }

  /** `if (c) { ...; a } else { ...; b }` as a value: an if statement assigning a fresh variable. */
  private ifValue(e: IfExpr, pre: Stmt[]): Variable {
    const tmp = this.temp(e);
    pre.push(this.ifAssigning(e, tmp, pre));
    return tmp;
  }

  private ifAssigning(e: IfExpr, tmp: Variable, pre: Stmt[]): IfStmt {
    const cond = this.value(e.cond, pre);
    const branch = (b: BlockExpr): Block => {
      const bpre: Stmt[] = [];
      const stmts = this.lowerStmts(b.stmts);
      if (!b.value) throw new CompileError('this branch of the if expression has no value: its last statement ends with ;', b.span);
      const val = this.value(b.value, bpre);
      return { kind: 'Block', stmts: [...stmts, ...bpre, assign(tmp, val)], span: b.span };
    };
    let otherwise: Block | IfStmt;
    if (e.otherwise.kind === 'IfExpr') {
      const epre: Stmt[] = [];
      const inner = this.ifAssigning(e.otherwise, tmp, epre);
      otherwise = { kind: 'Block', stmts: [...epre, inner], span: e.otherwise.span };
    } else otherwise = branch(e.otherwise);
    return { kind: 'IfStmt', cond, then: branch(e.then), otherwise, span: e.span };
  }

  private temp(at: Expr): Variable {
    return { kind: 'Variable', name: `__value${++this.fresh}`, span: at.span };
  }
}

function assign(target: Variable, value: Expr): Stmt {
  return { kind: 'AssignStmt', target, op: null, value, span: value.span };
}

/**
 * Copies a macro body with its parameters bound: expression parameters
 * replaced by the arguments, variables renamed (`$v` parameters to the
 * caller's variable, the body's own to fresh names), map parameters to the
 * caller's maps. Nodes that are arguments are kept as they are.
 */
class Binder {
  constructor(
    private readonly exprs: Map<string, Expr>,
    private readonly varName: (name: string) => string,
    private readonly mapName: (name: string) => string,
    private readonly isArg: (e: Expr) => boolean,
  ) {}

  blockExpr(b: BlockExpr): BlockExpr {
    return { ...b, stmts: b.stmts.map((s) => this.stmt(s)), value: b.value ? this.expr(b.value) : null };
  }

  private block(b: Block): Block {
    return { ...b, stmts: b.stmts.map((s) => this.stmt(s)) };
  }

  private variable(v: Variable): Variable {
    return { ...v, name: this.varName(v.name) };
  }

  private target(t: Variable | MapRef): Variable | MapRef {
    return t.kind === 'Variable' ? this.variable(t) : this.map(t);
  }

  private map(m: MapRef): MapRef {
    return { ...m, name: this.mapName(m.name), keys: m.keys ? m.keys.map((k) => this.expr(k)) : null };
  }

  private stmt(s: Stmt): Stmt {
    const x = (e: Expr) => this.expr(e);
    switch (s.kind) {
      case 'Block':
        return this.block(s);
      case 'ExprStmt':
        return { ...s, expr: x(s.expr) };
      case 'AssignStmt':
        return { ...s, target: this.target(s.target), value: x(s.value) };
      case 'VarDeclStmt':
        return { ...s, variable: this.variable(s.variable), value: s.value ? x(s.value) : null };
      case 'IfStmt':
        return this.ifStmt(s);
      case 'UnrollStmt':
        return { ...s, count: x(s.count), body: this.block(s.body) };
      case 'WhileStmt':
        return { ...s, cond: x(s.cond), body: this.block(s.body) };
      case 'ForRangeStmt':
        return { ...s, variable: this.variable(s.variable), start: x(s.start), end: x(s.end), body: this.block(s.body) };
      case 'ForMapStmt':
        return { ...s, variable: this.variable(s.variable), map: this.map(s.map), body: this.block(s.body) };
      case 'ReturnStmt':
        return { ...s, value: s.value ? x(s.value) : null };
      case 'JumpStmt':
        return s;
    }
  }

  private ifStmt(s: IfStmt): IfStmt {
    const otherwise = s.otherwise === null ? null : s.otherwise.kind === 'IfStmt' ? this.ifStmt(s.otherwise) : this.block(s.otherwise);
    return { ...s, cond: this.expr(s.cond), then: this.block(s.then), otherwise };
  }

  private expr(e: Expr): Expr {
    if (this.isArg(e)) return e;
    const x = (y: Expr) => this.expr(y);
    switch (e.kind) {
      case 'Identifier':
      case 'Builtin':
        return this.exprs.get(e.name) ?? e;
      case 'Variable':
        return this.variable(e);
      case 'MapRef':
        return this.map(e);
      case 'Call':
        return { ...e, args: e.args.map(x) };
      case 'Binary':
        return { ...e, left: x(e.left), right: x(e.right) };
      case 'Unary':
        return { ...e, operand: x(e.operand) };
      case 'Ternary': {
        const cond = x(e.cond);
        return { ...e, cond, then: e.then === e.cond ? cond : x(e.then), otherwise: x(e.otherwise) };
      }
      case 'FieldAccess':
      case 'TupleIndex':
        return { ...e, object: x(e.object) };
      case 'Index':
        return { ...e, object: x(e.object), index: x(e.index) };
      case 'Tuple':
        return { ...e, elements: e.elements.map(x) };
      case 'Cast':
        return { ...e, operand: x(e.operand) };
      case 'Sizeof':
        return e.operand.kind === 'TypeName' ? e : { ...e, operand: x(e.operand) };
      case 'IncDec': {
        const target = this.target(e.target);
        const assign = { ...e.assign, target, value: x(e.assign.value) };
        return { ...e, target, assign };
      }
      case 'BlockExpr':
        return this.blockExpr(e);
      case 'IfExpr':
        return this.ifExpr(e);
      default:
        return e;
    }
  }

  private ifExpr(e: IfExpr): IfExpr {
    const otherwise = e.otherwise.kind === 'IfExpr' ? this.ifExpr(e.otherwise) : this.blockExpr(e.otherwise);
    return { ...e, cond: this.expr(e.cond), then: this.blockExpr(e.then), otherwise };
  }
}
