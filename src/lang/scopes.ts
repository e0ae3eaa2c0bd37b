/**
 * Lexical scoping of scratch variables (S05, bpftrace 0.26): a `$var` belongs
 * to the block it is first declared in. The pass gives every distinct variable
 * its own name (`$x`, then `$x#2`, ...), so the checker and the generator,
 * which know one variable per name and probe, need not know about blocks.
 *
 * The rules, chosen so that 0.26 scripts see 0.26 semantics and 0.17 scripts
 * (one variable per name for the whole probe) keep working:
 * - `let $x` always declares a new variable in the current block;
 * - `$x = ...` uses the visible `$x` (this block or an enclosing one); failing
 *   that, the variable of that name a block already closed declared (0.17:
 *   `if (c) { $x = 1 } else { $x = 2 } print($x)` is one variable; 0.26
 *   rejects the read, so either reading is compatible); failing that, it
 *   declares `$x` in the current block;
 * - a read resolves the same way, and is left alone when nothing declares it
 *   (the checker then names the undefined variable);
 * - a `for ($kv : @map)` body runs as a separate callback: variables first
 *   declared in it are never seen outside it, while it may use the enclosing
 *   blocks' variables (the generator copies them in and out).
 */
import type { Block, Expr, Program, Stmt, Variable } from './ast';
import { walk } from './visit';

interface Scope {
  names: Map<string, string>;
}

class Scoper {
  private scopes: Scope[] = [];
  /** Per callback depth: the variables of blocks that have ended (source name → internal name). */
  private closed: Map<string, string>[] = [new Map()];
  /** How many variables of each source name the probe has declared so far. */
  private count = new Map<string, number>();
  private done = new WeakSet<Variable>();

  root(body: Block, params: string[] = []): void {
    this.scopes = [{ names: new Map(params.map((p) => [p, p])) }];
    this.closed = [new Map()];
    this.count = new Map(params.map((p) => [p, 1]));
    this.stmts(body.stmts);
  }

  private visible(name: string): string | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const n = this.scopes[i].names.get(name);
      if (n !== undefined) return n;
    }
    // only the closed blocks of the current callback: a for body does not reach into
    // blocks outside it that have already ended
    return this.closed[this.closed.length - 1].get(name);
  }

  private declare(v: Variable, fresh: boolean): void {
    if (this.done.has(v)) return;
    const top = this.scopes[this.scopes.length - 1];
    const existing = fresh ? undefined : this.visible(v.name);
    let internal = existing;
    if (internal === undefined) {
      const k = (this.count.get(v.name) ?? 0) + 1;
      this.count.set(v.name, k);
      internal = k === 1 ? v.name : `${v.name}#${k}`;
    }
    top.names.set(v.name, internal);
    this.rename(v, internal);
  }

  private rename(v: Variable, internal: string): void {
    this.done.add(v);
    v.name = internal;
  }

  /** Reads in `e`; `$x++` and `$x += 1` inside it declare as an assignment would. */
  private expr(e: Expr | null | undefined): void {
    if (!e) return;
    walk([e], (n) => {
      if (n.kind === 'IncDec' && n.target.kind === 'Variable') this.declare(n.target, false);
      if (n.kind === 'Variable' && !this.done.has(n)) {
        const internal = this.visible(n.name);
        if (internal !== undefined) this.rename(n, internal);
      }
    });
  }

  private block(b: Block): void {
    this.scopes.push({ names: new Map() });
    this.stmts(b.stmts);
    this.close(false);
  }

  /** Ends the innermost block; a callback's variables (and its closed blocks') are forgotten. */
  private close(callback: boolean): void {
    const s = this.scopes.pop()!;
    if (callback) {
      this.closed.pop();
      return;
    }
    const into = this.closed[this.closed.length - 1];
    for (const [name, internal] of s.names) into.set(name, internal);
  }

  private stmts(list: Stmt[]): void {
    for (const s of list) this.stmt(s);
  }

  private stmt(s: Stmt): void {
    switch (s.kind) {
      case 'ExprStmt':
        this.expr(s.expr);
        return;
      case 'AssignStmt':
        this.expr(s.value);
        if (s.target.kind === 'Variable') this.declare(s.target, false);
        else this.expr(s.target);
        return;
      case 'VarDeclStmt':
        this.expr(s.value);
        this.declare(s.variable, true);
        return;
      case 'IfStmt':
        this.expr(s.cond);
        this.block(s.then);
        if (s.otherwise) {
          if (s.otherwise.kind === 'IfStmt') this.stmt(s.otherwise);
          else this.block(s.otherwise);
        }
        return;
      case 'UnrollStmt':
        this.expr(s.count);
        this.block(s.body);
        return;
      case 'WhileStmt':
        this.expr(s.cond);
        this.block(s.body);
        return;
      case 'ForRangeStmt':
        this.expr(s.start);
        this.expr(s.end);
        this.scopes.push({ names: new Map() });
        this.declare(s.variable, true);
        this.block(s.body);
        this.close(false);
        return;
      case 'ForMapStmt':
        this.expr(s.map);
        this.scopes.push({ names: new Map() });
        this.closed.push(new Map());
        this.declare(s.variable, true);
        this.block(s.body);
        this.close(true);
        return;
      case 'ReturnStmt':
        this.expr(s.value);
        return;
      case 'JumpStmt':
        return;
    }
  }
}

/** Gives each lexically scoped variable of `program` a name of its own (in place). */
export function scopeVariables(program: Program): Program {
  for (const p of program.probes) {
    new Scoper().root(p.body);
  }
  for (const f of program.functions) new Scoper().root(f.body, f.params.map((p) => p.name));
  return program;
}
