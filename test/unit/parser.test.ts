import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parse, parseExpression } from '../../src/lang/parser';
import { dumpAst } from '../../src/lang/dump';
import { CompileError } from '../../src/lang/diagnostics';
import type { Expr, Program, Stmt } from '../../src/lang/ast';

const src = (text: string) => ({ name: 'stdin', text });
const p = (text: string): Program => parse(src(text));
/** The AST dump without the leading `Program` line. */
const dump = (text: string): string => dumpAst(p(text)).split('\n').slice(1).join('\n');
/** Statements of the first probe. */
const body = (text: string): Stmt[] => p(`BEGIN { ${text} }`).probes[0].body.stmts;
const expr = (text: string): Expr => parseExpression(src(text));

/** Compact S-expression of an expression, for precedence checks. */
function sx(e: Expr): string {
  switch (e.kind) {
    case 'IntegerLit': return e.value.toString();
    case 'StringLit': return JSON.stringify(e.value);
    case 'BoolLit': return String(e.value);
    case 'Builtin':
    case 'Identifier': return e.name;
    case 'Variable': return `$${e.name}`;
    case 'PositionalParam': return e.index === 0 ? '$#' : `$${e.index}`;
    case 'MapRef': return `@${e.name}${e.keys ? `[${e.keys.map(sx).join(', ')}]` : ''}`;
    case 'Call': return `${e.name}(${e.args.map(sx).join(', ')})`;
    case 'Binary': return `(${sx(e.left)} ${e.op} ${sx(e.right)})`;
    case 'Unary': return `(${e.op}${sx(e.operand)})`;
    case 'Ternary': return `(${sx(e.cond)} ? ${sx(e.then)} : ${sx(e.otherwise)})`;
    case 'FieldAccess': return `${sx(e.object)}${e.arrow ? '->' : '.'}${e.field}`;
    case 'Index': return `${sx(e.object)}[${sx(e.index)}]`;
    case 'TupleIndex': return `${sx(e.object)}.${e.index}`;
    case 'Tuple': return `(${e.elements.map(sx).join(', ')},)`;
    case 'Cast': return `((${e.type.base}${'*'.repeat(e.type.pointerDepth)}${e.type.arrayLength !== null ? `[${e.type.arrayLength}]` : ''})${sx(e.operand)})`;
    case 'Sizeof': return `sizeof(${e.operand.kind === 'TypeName' ? `type ${e.operand.base}` : sx(e.operand)})`;
    case 'IncDec': return e.prefix ? `(${e.assign.op}${e.assign.op}${sx(e.target)})` : `(${sx(e.target)}${e.assign.op}${e.assign.op})`;
    case 'Offsetof': return `offsetof(${e.type.kind === 'TypeName' ? e.type.base : sx(e.type)}, ${e.field})`;
    case 'BlockExpr': return `{${e.stmts.length} stmts; ${e.value ? sx(e.value) : ''}}`;
    case 'IfExpr': return `(if ${sx(e.cond)} ${sx(e.then)} else ${sx(e.otherwise)})`;
  }
}

/** First line of the formatted error plus the caret line. */
function parseError(text: string): string {
  try {
    parse(src(text));
  } catch (e) {
    assert.ok(e instanceof CompileError, `not a CompileError: ${String(e)}`);
    const lines = e.format().split('\n');
    return `${lines[0]}\n${lines[2]}`;
  }
  assert.fail(`expected a syntax error for ${JSON.stringify(text)}`);
}

test('probe structure: attach points, predicate, body', () => {
  const prog = p('tracepoint:syscalls:sys_enter_openat, t:syscalls:sys_enter_open /pid == 1/ { @x = 1; }');
  assert.equal(prog.probes.length, 1);
  const probe = prog.probes[0];
  assert.deepEqual(
    probe.attachPoints.map((a) => [a.raw, a.provider, a.parts]),
    [
      ['tracepoint:syscalls:sys_enter_openat', 'tracepoint', ['syscalls', 'sys_enter_openat']],
      ['t:syscalls:sys_enter_open', 't', ['syscalls', 'sys_enter_open']],
    ],
  );
  assert.equal(sx(probe.predicate!), '(pid == 1)');
  assert.equal(probe.body.stmts.length, 1);
  assert.equal(probe.span.start, 0);
  assert.equal(probe.span.end, prog.source.text.length);
});

test('BEGIN/END and lower-case begin/end; several probes', () => {
  const prog = p('BEGIN { } END { } begin { } end { }');
  assert.deepEqual(prog.probes.map((x) => [x.attachPoints[0].provider, x.attachPoints[0].parts.length]), [
    ['BEGIN', 0], ['END', 0], ['BEGIN', 0], ['END', 0],
  ]);
});

test('predicate division vs end of predicate', () => {
  assert.equal(sx(p('kprobe:f /pid / 2 > 1/ { }').probes[0].predicate!), '((pid / 2) > 1)');
  assert.equal(sx(p('kprobe:f /(pid/2)/{ }').probes[0].predicate!), '(pid / 2)');
  assert.equal(sx(p('kprobe:f\n/pid/\n{ }').probes[0].predicate!), 'pid');
  assert.equal(sx(p('t:syscalls:sys_enter_read/pid == 1/{ }').probes[0].predicate!), '(pid == 1)');
  assert.equal(sx(p('uprobe:/bin/bash:readline /comm == "bash"/ { }').probes[0].predicate!), '(comm == "bash")');
});

test('binary precedence and associativity follow C', () => {
  assert.equal(sx(expr('1 + 2 * 3')), '(1 + (2 * 3))');
  assert.equal(sx(expr('1 - 2 - 3')), '((1 - 2) - 3)');
  assert.equal(sx(expr('a || b && c')), '(a || (b && c))');
  assert.equal(sx(expr('a | b ^ c & d')), '(a | (b ^ (c & d)))');
  assert.equal(sx(expr('a == b < c')), '(a == (b < c))');
  assert.equal(sx(expr('a < b << c + d')), '(a < (b << (c + d)))');
  assert.equal(sx(expr('a & b == c')), '(a & (b == c))');
  assert.equal(sx(expr('a % b / c * d')), '(((a % b) / c) * d)');
  assert.equal(sx(expr('(1 + 2) * 3')), '((1 + 2) * 3)');
  assert.equal(sx(expr('a ? b : c ? d : e')), '(a ? b : (c ? d : e))');
  assert.equal(sx(expr('a || b ? 1 : 2')), '((a || b) ? 1 : 2)');
  assert.equal(sx(expr('x >= 1 && x <= 2 || x != 3')), '(((x >= 1) && (x <= 2)) || (x != 3))');
});

test('unary operators, casts and postfix', () => {
  assert.equal(sx(expr('- args.ret')), '(-args.ret)');
  assert.equal(sx(expr('!a && ~b')), '((!a) && (~b))');
  assert.equal(sx(expr('*$p + 1')), '((*$p) + 1)');
  assert.equal(sx(expr('&$x')), '(&$x)');
  assert.equal(sx(expr('-1')), '(-1)');
  assert.equal(sx(expr('(struct task_struct *)curtask')), '((struct task_struct*)curtask)');
  assert.equal(sx(expr('(struct task_struct *)curtask->mm')), '((struct task_struct*)curtask->mm)');
  assert.equal(sx(expr('((struct sock *)arg0)->__sk_common.skc_family')), '((struct sock*)arg0)->__sk_common.skc_family');
  assert.equal(sx(expr('(uint8)1 + 2')), '(((uint8)1) + 2)');
  assert.equal(sx(expr('(int64)-$x')), '((int64)(-$x))');
  assert.equal(sx(expr('(uint8[4])$a')), '((uint8[4])$a)');
  assert.equal(sx(expr('(unsigned long)$a')), '((unsigned long)$a)');
  assert.equal(sx(expr('(sector_t *)arg1')), '((sector_t*)arg1)');
  assert.equal(sx(expr('(u64)arg1')), '((u64)arg1)');
  // A parenthesised builtin or name followed by an operator is not a cast.
  assert.equal(sx(expr('(pid) - 1')), '(pid - 1)');
  assert.equal(sx(expr('(FOO) * 2')), '(FOO * 2)');
  assert.equal(sx(expr('curtask->mm->arg_start')), 'curtask->mm->arg_start');
  assert.equal(sx(expr('args.filename')), 'args.filename');
  assert.equal(sx(expr('args->pid')), 'args->pid');
  assert.equal(sx(expr('$a[1][2]')), '$a[1][2]');
  assert.equal(sx(expr('@m[1][2]')), '@m[1][2]');
  assert.equal(sx(expr('$t.0 + $t.1')), '($t.0 + $t.1)');
  assert.equal(sx(expr('$kv.0.1')), '$kv.0.1');
});

test('literals, builtins, identifiers, calls, tuples, sizeof, offsetof', () => {
  assert.equal(sx(expr('true || false')), '(true || false)');
  assert.equal(sx(expr('"a\\tb"')), '"a\\tb"');
  assert.equal(sx(expr('0x10 + 1_000 + 1e3')), '((16 + 1000) + 1000)');
  const e = expr('0x10');
  assert.ok(e.kind === 'IntegerLit' && e.text === '0x10' && e.value === 16n);
  for (const b of ['pid', 'tid', 'uid', 'gid', 'nsecs', 'elapsed', 'cpu', 'comm', 'probe', 'func', 'rand', 'cgroup', 'curtask',
    'username', 'retval', 'args', 'kstack', 'ustack', 'arg0', 'arg9', 'sarg0', 'sarg9', 'jiffies', 'numaid', 'cpid', 'ctx']) {
    assert.equal(expr(b).kind, 'Builtin', b);
  }
  assert.equal(expr('AF_INET').kind, 'Identifier');
  assert.equal(sx(expr('nsecs(boot)')), 'nsecs(boot)');
  assert.equal(sx(expr('kstack(perf, 10)')), 'kstack(perf, 10)');
  assert.equal(sx(expr('ustack(raw)')), 'ustack(raw)');
  assert.equal(sx(expr('exit()')), 'exit()');
  assert.equal(sx(expr('str(args.filename, 16)')), 'str(args.filename, 16)');
  assert.equal(sx(expr('(1, "a", comm)')), '(1, "a", comm,)');
  assert.equal(sx(expr('((1, 2), 3)')), '((1, 2,), 3,)');
  assert.equal(sx(expr('$1 + $2 + $#')), '(($1 + $2) + $#)');
  assert.equal(sx(expr('sizeof(struct task_struct)')), 'sizeof(type struct task_struct)');
  assert.equal(sx(expr('sizeof(uint32)')), 'sizeof(type uint32)');
  assert.equal(sx(expr('sizeof($x)')), 'sizeof($x)');
  assert.equal(sx(expr('sizeof(pid)')), 'sizeof(pid)');
  assert.equal(sx(expr('offsetof(struct foo, bar)')), 'offsetof(struct foo, bar)');
  assert.equal(sx(expr('offsetof(struct foo, a.b)')), 'offsetof(struct foo, a.b)');
  assert.equal(sx(expr('@')), '@');
  assert.equal(sx(expr('@[1, 2]')), '@[1, 2]');
});

test('assignments and increments', () => {
  const s = (text: string) => {
    const st = body(text)[0];
    assert.equal(st.kind, 'AssignStmt', text);
    if (st.kind !== 'AssignStmt') throw new Error();
    return `${sx(st.target)} ${st.op ?? ''}= ${sx(st.value)}`;
  };
  assert.equal(s('$x = 1'), '$x = 1');
  assert.equal(s('@m[k] = e'), '@m[k] = e');
  assert.equal(s('@m[k1, k2] = e'), '@m[k1, k2] = e');
  assert.equal(s('@ = count()'), '@ = count()');
  assert.equal(s('@[probe] = count()'), '@[probe] = count()');
  for (const op of ['+', '-', '*', '/', '%', '&', '|', '^', '<<', '>>']) assert.equal(s(`$x ${op}= 2`), `$x ${op}= 2`);
  assert.equal(s('@x++'), '@x += 1');
  assert.equal(s('$x--'), '$x -= 1');
  assert.equal(s('++@x'), '@x += 1');
  assert.equal(sx(expr('@x++ + --$y')), '((@x++) + (--$y))');
  assert.equal(s('$x = @y[1]++'), '$x = (@y[1]++)');
  assert.equal(s('--@x[1]'), '@x[1] -= 1');
  assert.equal(s('$x = $y == 1'), '$x = ($y == 1)');
});

test('statements: let, if/else if/else, unroll, while, for, return, break, continue, blocks', () => {
  const kinds = (text: string) => body(text).map((x) => x.kind);
  assert.deepEqual(kinds('let $x; let $y = 1; let $z: uint32 = 2;'), ['VarDeclStmt', 'VarDeclStmt', 'VarDeclStmt']);
  const [l0, , l2] = body('let $x; let $y = 1; let $z: struct foo * = 2;');
  assert.ok(l0.kind === 'VarDeclStmt' && l0.value === null && l0.type === null);
  assert.ok(l2.kind === 'VarDeclStmt' && l2.type?.base === 'struct foo' && l2.type.pointerDepth === 1);
  const [i] = body('if ($a) { @x = 1; } else if ($b > 2) { @y = 1 } else { @z = 1 }');
  assert.ok(i.kind === 'IfStmt');
  assert.equal(sx(i.cond), '$a');
  assert.ok(i.otherwise?.kind === 'IfStmt' && sx(i.otherwise.cond) === '($b > 2)');
  assert.ok(i.otherwise.otherwise?.kind === 'Block' && i.otherwise.otherwise.stmts.length === 1);
  const [u] = body('unroll(5) { @x++ }');
  assert.ok(u.kind === 'UnrollStmt' && sx(u.count) === '5' && u.body.stmts.length === 1);
  const [w] = body('while ($i < 10) { $i++; if ($i == 5) { break; } continue; }');
  assert.ok(w.kind === 'WhileStmt' && w.body.stmts.map((x) => x.kind).join() === 'AssignStmt,IfStmt,JumpStmt');
  const [fr] = body('for ($i : 0..10) { @s += $i; }');
  assert.ok(fr.kind === 'ForRangeStmt' && fr.variable.name === 'i' && sx(fr.start) === '0' && sx(fr.end) === '10');
  const [fm] = body('for ($kv : @m) { print($kv.0); }');
  assert.ok(fm.kind === 'ForMapStmt' && fm.map.name === 'm' && fm.variable.name === 'kv');
  assert.deepEqual(kinds('return; { $x = 1; } ; ;'), ['ReturnStmt', 'Block']);
  assert.deepEqual(kinds('if (1) { } @x = 1'), ['IfStmt', 'AssignStmt']);
  assert.deepEqual(kinds('delete(@m[k]); print(@m)'), ['ExprStmt', 'ExprStmt']);
  assert.deepEqual(kinds('if $x > 1 { }'), ['IfStmt']);
});

test('config block, struct definitions and functions at the top level', () => {
  const prog = p(`config = { max_strlen = 64; stack_mode = perf; str_trunc_trailer = ".."; print_maps_on_exit = false }
struct Foo { int a; struct { char b[4]; } inner; };
union U { int a; long b; }
enum E { A = 1, B }
fn add($a: int64, $b: int64): int64 { return $a + $b; }
BEGIN { print(add(1, 2)); }`);
  assert.deepEqual(prog.config.map((c) => [c.key, c.value]), [
    ['max_strlen', 64n], ['stack_mode', 'perf'], ['str_trunc_trailer', '..'], ['print_maps_on_exit', 0n],
  ]);
  assert.deepEqual(prog.typeDefs.map((t) => [t.tag, t.name]), [['struct', 'Foo'], ['union', 'U'], ['enum', 'E']]);
  assert.equal(prog.typeDefs[0].body, 'struct Foo { int a; struct { char b[4]; } inner; };');
  assert.equal(prog.typeDefs[2].body, 'enum E { A = 1, B }');
  assert.equal(prog.functions.length, 1);
  const f = prog.functions[0];
  assert.deepEqual(f.params.map((x) => [x.name, x.type.base]), [['a', 'int64'], ['b', 'int64']]);
  assert.equal(f.returnType.base, 'int64');
  assert.equal(prog.probes.length, 1);
});

test('anonymous enums, GCC attributes on structs, and the ?: shorthand', () => {
  const prog = p('enum { ONE = 1, TWO = 2 }; struct bar { int x; char y; } __attribute__((packed)) /**/ __attribute__ ((aligned(1)));\nbegin { @[ONE] = $x ?: 10; }');
  assert.deepEqual(prog.typeDefs.map((t) => [t.tag, t.name, t.body]), [
    ['enum', '', 'enum { ONE = 1, TWO = 2 };'],
    ['struct', 'bar', 'struct bar { int x; char y; } __attribute__((packed)) /**/ __attribute__ ((aligned(1)));'],
  ]);
  const st = prog.probes[0].body.stmts[0];
  assert.ok(st.kind === 'AssignStmt' && st.value.kind === 'Ternary');
  assert.equal(sx(st.value), '($x ? $x : 10)');
  assert.equal(st.value.then, st.value.cond);
});

test('uprobe paths may be relative without ./', () => {
  const prog = p('uprobe:testprogs/uprobe_test:uprobeFunction* { } usdt:bin/app:prov:name/pid == 1/ { }');
  assert.deepEqual(prog.probes.map((x) => x.attachPoints[0].parts), [['testprogs/uprobe_test', 'uprobeFunction*'], ['bin/app', 'prov', 'name']]);
  assert.equal(sx(prog.probes[1].predicate!), '(pid == 1)');
});

test('#include and #define are handled, spans stay on the user\'s lines', () => {
  const prog = p('#include <linux/sched.h>\n#define LIMIT 100\nkprobe:f /arg0 > LIMIT/ { @x = LIMIT; }');
  assert.deepEqual(prog.includes, ['linux/sched.h']);
  const pred = prog.probes[0].predicate!;
  assert.equal(sx(pred), '(arg0 > 100)');
  assert.ok(pred.kind === 'Binary');
  assert.deepEqual([pred.right.span.line, pred.right.span.col, pred.right.span.endCol], [3, 18, 23]);
  assert.equal(prog.probes[0].attachPoints[0].span.line, 3);
});

test('defines from options reach the parser, and #if picks the BTF branch', () => {
  const prog = parse(src('#ifndef BPFTRACE_HAVE_BTF\n#include <net/sock.h>\n#else\n#define AF_INET 2\n#endif\nBEGIN { @x = LIMIT + AF_INET; }'), { defines: { LIMIT: '5' } });
  assert.deepEqual(prog.includes, []);
  const st = prog.probes[0].body.stmts[0];
  assert.ok(st.kind === 'AssignStmt');
  assert.equal(sx(st.value), '(5 + 2)');
  assert.equal(st.span.line, 6);
});

test('node spans cover their source text', () => {
  const text = 'BEGIN {\n  @x[pid, comm] = count();\n  $y = (1 + 2) * 3;\n}';
  const stmts = p(text).probes[0].body.stmts;
  const slice = (s: { span: { start: number; end: number } }) => text.slice(s.span.start, s.span.end);
  assert.equal(slice(stmts[0]), '@x[pid, comm] = count()');
  assert.ok(stmts[0].kind === 'AssignStmt');
  assert.equal(slice(stmts[0].target), '@x[pid, comm]');
  assert.equal(slice(stmts[0].value), 'count()');
  assert.ok(stmts[1].kind === 'AssignStmt');
  assert.equal(slice(stmts[1].value), '(1 + 2) * 3');
  assert.deepEqual([stmts[1].span.line, stmts[1].span.col], [3, 3]);
});

test('syntax errors: exact spans and bpftrace-like messages', () => {
  assert.equal(parseError('BEGIN { @x = 1 2; }'), 'stdin:1:16: ERROR: syntax error, unexpected integer, expecting ; or }\n               ^');
  assert.equal(parseError('BEGIN { $x = 1 $y = 2; }'), 'stdin:1:16-18: ERROR: syntax error, unexpected variable, expecting ; or }\n               ~~');
  assert.equal(parseError('BEGIN { @x = 1 pid; }'), 'stdin:1:16-19: ERROR: syntax error, unexpected builtin, expecting ; or }\n               ~~~');
  assert.equal(parseError('BEGIN { @x = ; }'), 'stdin:1:14: ERROR: syntax error, unexpected ;\n             ^');
  assert.equal(parseError('BEGIN { @x[1 = 2; }'), 'stdin:1:14: ERROR: syntax error, unexpected =, expecting ] or ","\n             ^');
  assert.equal(parseError('BEGIN { printf("a" }'), 'stdin:1:20: ERROR: syntax error, unexpected }, expecting ) or ","\n                   ^');
  assert.equal(parseError('BEGIN { $x = 1 ? 2; }'), 'stdin:1:19: ERROR: syntax error, unexpected ;, expecting :\n                  ^');
  assert.equal(parseError('BEGIN { if { } }'), 'stdin:1:12: ERROR: syntax error, unexpected {, expecting (\n           ^');
  assert.equal(parseError('BEGIN { @x = 1 } }'), 'stdin:1:18: ERROR: syntax error, unexpected }, expecting attach point\n                 ^');
  assert.equal(parseError('kprobe:f /pid { }'), 'stdin:1:15: ERROR: syntax error, unexpected {, expecting / to end the predicate\n              ^');
  assert.equal(parseError('kprobe:f x { }'), 'stdin:1:10: ERROR: syntax error, unexpected identifier, expecting { or /predicate/\n         ^');
  assert.equal(parseError('BEGIN { for ($i : 0) { } }'), 'stdin:1:20: ERROR: syntax error, unexpected ), expecting ..\n                   ^');
  assert.equal(parseError('BEGIN { else { } }'), 'stdin:1:9-13: ERROR: syntax error, unexpected else\n        ~~~~');
  assert.equal(parseError('BEGIN { 1 = 2; }'), 'stdin:1:9: ERROR: cannot assign to this expression: only $variables and @maps can be assigned\n        ^');
  assert.equal(parseError('BEGIN { $x = 1++; }'), 'stdin:1:15-17: ERROR: ++ needs a $variable or @map (e.g. @x++ or ++$i)\n              ~~');
});

test('errors at end of file point at the unclosed opener', () => {
  assert.equal(parseError('BEGIN {\n  @x = 1;\n'), 'stdin:1:7: ERROR: syntax error, unexpected end of file, expecting } to close this {\n      ^');
  assert.equal(parseError('BEGIN { if (1) { @x = 1; }'), 'stdin:1:7: ERROR: syntax error, unexpected end of file, expecting } to close this {\n      ^');
  assert.equal(parseError('BEGIN { @x[1'), 'stdin:1:11: ERROR: syntax error, unexpected end of file, expecting ] to close this [\n          ^');
  assert.equal(parseError('BEGIN { printf("x"'), 'stdin:1:15: ERROR: syntax error, unexpected end of file, expecting ) to close this (\n              ^');
  assert.equal(parseError('BEGIN { $x = (1 + 2'), 'stdin:1:14: ERROR: syntax error, unexpected end of file, expecting ) to close this (\n             ^');
  assert.equal(parseError('BEGIN'), 'stdin:1:6: ERROR: syntax error, unexpected end of file, expecting { or /predicate/\n     ^');
});

test('lexical errors surface through parse with their spans', () => {
  assert.equal(parseError('BEGIN { printf("abc); }'), 'stdin:1:16-24: ERROR: unterminated string\n               ~~~~~~~~');
  assert.equal(parseError('BEGIN {\n  printf("\\q");\n}'), "stdin:2:11-13: ERROR: invalid escape character '\\q'\n          ~~");
  assert.equal(parseError('BEGIN { @x = 0x; }'), 'stdin:1:14-16: ERROR: invalid integer literal: 0x\n             ~~');
  assert.equal(parseError('BEGIN { @x = 1 } /* unterminated'), 'stdin:1:18-33: ERROR: end of file during comment\n                 ~~~~~~~~~~~~~~~');
  assert.equal(parseError('BEGIN { @x = 1; }\n#define F(x) x\n'), "stdin:2:1-15: ERROR: function-like macro 'F' is not supported: only object-like macros (#define NAME value) are\n~~~~~~~~~~~~~~");
});

test('unsupported newer syntax is named, not a confusing syntax error', () => {
  assert.match(parseError('let @m = btree(10);\nBEGIN { }'), /a map declaration needs a map type: hash, lruhash/);
  assert.match(parseError('BEGIN { let @m = hash(10); }'), /goes at the top level/);
  assert.match(parseError('config = { a = 1 }\nconfig = { b = 2 }\nBEGIN { }'), /only one config block/);
});

test('bpftrace one-liners from the tutorial parse', () => {
  const oneLiners = [
    'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args.filename)); }',
    'tracepoint:syscalls:sys_enter_* { @[probe] = count(); }',
    'tracepoint:syscalls:sys_exit_read /args.ret < 0/ { @ = lhist(- args.ret, 0, 100, 1); }',
    'tracepoint:raw_syscalls:sys_exit /comm == "ps"/ { @[args.id, args.ret > 0 ? 0 : - args.ret] = count(); }',
    't:syscalls:sys_exit_* /comm == "ps"/ { @[probe, args->ret > 0 ? 0 : - args->ret] = count(); }',
    'profile:hz:99 { @[kstack] = count(); }',
    'interval:s:1 { time(); print(@); clear(@); }',
    'BEGIN { printf("Hello world!\\n"); } END { printf("Game over!\\n"); }',
    'kretprobe:vfs_read /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }',
    'uretprobe:/bin/bash:readline { printf("%s\\n", str(retval)); }',
    'usdt:/path/app:haconiwa:probe-boottime { printf("%d %d %d\\n", arg0, arg1, arg2); }',
    'kprobe:do_nanosleep { printf("PID %d sleeping...\\n", pid); }',
    'tracepoint:syscalls:sys_enter_read /comm == "sshd"/ { @[comm] = count(); }',
    'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }',
    'tracepoint:syscalls:sys_exit_read /args.ret/ { @[comm] = sum(args.ret); }',
    'tracepoint:syscalls:sys_exit_read { @[comm] = hist(args.ret); }',
    'kprobe:vfs_read { @start[tid] = nsecs; } kretprobe:vfs_read /@start[tid]/ { @ns[comm] = hist(nsecs - @start[tid]); delete(@start[tid]); }',
    'tracepoint:sched:sched_process_exec { printf("%s\\n", comm); }',
    'software:faults:1 { @[comm] = count(); }',
    'hardware:cache-misses:1000000 { @[comm, pid] = count(); }',
    'profile:hz:99 /pid == 189/ { @[ustack] = count(); }',
    'tracepoint:block:block_rq_issue { @ = hist(args.bytes); }',
    'kprobe:vfs_* { @[func] = count(); }',
    'kprobe:do_nanosleep { printf("%s\\n", kstack(perf, 3)); }',
    'BEGIN { $x = (struct task_struct *)curtask; printf("%d\\n", $x->mm->arg_start); exit(); }',
    'BEGIN { @t = (1, "a", comm); $t = (1, 2); printf("%d\\n", $t.0); exit(); }',
    'BEGIN { printf("%d %d\\n", sizeof(struct task_struct), offsetof(struct task_struct, pid)); }',
    'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc { @bytes[comm] = sum(arg0); }',
    'i:ms:100 { @x = nsecs(boot); }',
  ];
  for (const text of oneLiners) {
    assert.doesNotThrow(() => p(text), text);
  }
});

test('a readahead.bt-style multi-probe script with comments and #include', () => {
  const text = `#!/usr/bin/env bpftrace
/*
 * readahead  Show performance of read-ahead cache
 */
#include <linux/fs.h>

BEGIN
{
  printf("Tracing readahead... Hit Ctrl-C to end.\\n");
}

kprobe:__do_page_cache_readahead { @in_readahead[tid] = 1; }
kretprobe:__do_page_cache_readahead { @in_readahead[tid] = 0; }

kretprobe:__page_cache_alloc
/@in_readahead[tid]/
{
  @birth[retval] = nsecs;
  @rapages++;
}

kprobe:mark_page_accessed
/@birth[arg0]/
{
  @age_ms = hist((nsecs - @birth[arg0]) / 1000000);
  delete(@birth[arg0]);
  @rapages--;
}

END
{
  printf("\\nReadahead unused pages: %d\\n", @rapages);
  printf("\\nReadahead used page age (ms):\\n");
  print(@age_ms); clear(@age_ms);
  clear(@birth); clear(@in_readahead); clear(@rapages);
}
`;
  const prog = p(text);
  assert.deepEqual(prog.includes, ['linux/fs.h']);
  assert.deepEqual(
    prog.probes.map((x) => x.attachPoints[0].raw),
    ['BEGIN', 'kprobe:__do_page_cache_readahead', 'kretprobe:__do_page_cache_readahead', 'kretprobe:__page_cache_alloc', 'kprobe:mark_page_accessed', 'END'],
  );
  assert.equal(prog.probes[3].predicate?.kind, 'MapRef');
  assert.equal(prog.probes[3].span.line, 15);
  assert.equal(prog.probes[5].body.stmts.length, 7);
});

test('AST dump is a stable indented tree', () => {
  assert.equal(
    dump('tracepoint:raw_syscalls:sys_exit /comm == "ps"/ { @[args.id, args.ret > 0 ? 0 : - args->ret] = count(); }'),
    [
      ' tracepoint:raw_syscalls:sys_exit',
      '  pred',
      '   ==',
      '    builtin: comm',
      '    string: ps',
      '  =',
      '   map: @',
      '    .',
      '     builtin: args',
      '     id',
      '    ?:',
      '     >',
      '      .',
      '       builtin: args',
      '       ret',
      '      int: 0',
      '     int: 0',
      '     -',
      '      ->',
      '       builtin: args',
      '       ret',
      '   call: count',
      '',
    ].join('\n'),
  );
  assert.equal(
    dump('BEGIN { printf("hello\\n"); $x = (uint8)1; if ($x) { @c++; } else { exit(); } for ($i : 0..2) { } }'),
    [
      ' BEGIN',
      '  call: printf',
      '   string: hello\\n',
      '  =',
      '   variable: $x',
      '   (uint8)',
      '    int: 1',
      '  if',
      '   variable: $x',
      '   then',
      '    +=',
      '     map: @c',
      '     int: 1',
      '   else',
      '    call: exit',
      '  for',
      '   variable: $i',
      '   range',
      '    int: 0',
      '    int: 2',
      '   stmts',
      '',
    ].join('\n'),
  );
  const full = dumpAst(p('#include <linux/sched.h>\nconfig = { max_strlen = 64 }\nstruct S { int a; }\nBEGIN { }'));
  assert.equal(full, 'Program\n include: linux/sched.h\n config\n  max_strlen = 64\n struct S\n BEGIN\n');
});

test('0.24+ macros, block and if expressions parse (S07-S09, S11, S12); call-style builtins and __builtin_ names (S56)', () => {
  const prog = p('macro add($x, @m, y) { $x += 1; @m[1] = y; $x } begin { $a = { let $b = 1; $b + 1 }; $c = if ($a) { 1 } else { 2 }; }');
  assert.equal(prog.macros.length, 1);
  assert.deepEqual(prog.macros[0].params.map((q) => `${q.kind}:${q.name}`), ['var:x', 'map:m', 'expr:y']);
  assert.equal(prog.macros[0].body.stmts.length, 2);
  assert.equal(prog.macros[0].body.value?.kind, 'Variable');
  const [a, c] = prog.probes[0].body.stmts;
  assert.equal(a.kind === 'AssignStmt' && sx(a.value), '{1 stmts; $b}'.replace('$b', '($b + 1)'));
  assert.equal(c.kind === 'AssignStmt' && sx(c.value), '(if $a {0 stmts; 1} else {0 stmts; 2})');
  // a block whose last statement ends with ; has no value
  const [n] = body('$a = { $b = 1; };');
  assert.equal(n.kind === 'AssignStmt' && n.value.kind === 'BlockExpr' && n.value.value, null);
  assert.equal(sx(expr('comm()')), 'comm');
  assert.equal(expr('__builtin_pid').kind, 'Builtin');
  assert.equal(sx(expr('__builtin_pid')), 'pid');
});
