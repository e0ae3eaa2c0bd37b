/**
 * lang/desugar.ts: macros are expanded hygienically and block/if
 * expressions become statements before typing (bpftrace 0.24+ S07-S12).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/parser';
import { desugar, ProgramOptionsHelp } from '../../src/lang/desugar';
import { dumpAst } from '../../src/lang/dump';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { unitTarget } from '../helpers/target';

const lowered = (text: string): string => dumpAst(desugar(parse({ name: 't', text }))).split('\n').filter((l) => !/^ macro/.test(l)).join('\n');

test('a program without the new forms is returned as it is (never rebuilt)', () => {
  const prog = parse({ name: 't', text: 'BEGIN { $a = 1 + 2; }' });
  assert.equal(desugar(prog), prog);
});

test('macro variables are renamed per use; $v and @m parameters bind the caller\'s variable and map', () => {
  const out = lowered('macro inc(x) { $y = x + 1; $y } macro bump($v, @m) { $v += 1; @m = $v; } BEGIN { $y = 2; $z = inc(5); $w = inc(6); bump($z, @a); }');
  const body = out.slice(out.indexOf(' BEGIN'));
  assert.match(body, /variable: \$y'inc1[\s\S]*variable: \$z\n *variable: \$y'inc1/);
  assert.match(body, /variable: \$y'inc2/);
  assert.match(body, /\+=\n *variable: \$z\n *int: 1\n *=\n *map: @a\n *variable: \$z/);
  assert.doesNotMatch(body, /call: (inc|bump)/);
});

test('a block expression runs its statements first; an if expression assigns one fresh variable per branch', () => {
  const out = lowered('BEGIN { $a = { let $b = 1; $b + 1 }; $c = if ($a > 1) { 10 } else { 20 }; }');
  assert.match(out, /let[\s\S]*variable: \$b[\s\S]*=\n *variable: \$a\n *\+\n *variable: \$b/);
  assert.match(out, /if\n[\s\S]*=\n *variable: \$__value\d+\n *int: 10[\s\S]*else[\s\S]*variable: \$__value\d+\n *int: 20[\s\S]*=\n *variable: \$c\n *variable: \$__value/);
});

test('macro errors are one sentence: recursion, a $param given an expression, a valueless block used as a value', () => {
  const err = (text: string): string => {
    try {
      compile({ name: 't', text }, { target: unitTarget() });
    } catch (e) {
      assert.ok(e instanceof CompileError, String(e));
      return e.message;
    }
    throw new Error('compiled');
  };
  assert.match(err('macro f(x) { f(x) } BEGIN { print(f(1)); }'), /macro f is expanded more than 64 levels deep/);
  assert.match(err('macro inc($x) { $x += 1; } BEGIN { inc(1 + 2); }'), /parameter \$x needs a \$variable/);
  assert.match(err('macro inc($x) { $x += 1; } BEGIN { $a = 1; print(inc($a)); }'), /this block has no value/);
  assert.match(err('BEGIN { $a = 1 || { $b = 2; $b }; }'), /right side of '\|\|' cannot run statements/);
});

test('getopt() is the program option typed like its default; unknown options and --help (C30, C31)', () => {
  const run = (text: string, namedParams: Record<string, string>) => dumpAst(desugar(parse({ name: 't', text }), { namedParams }));
  const prog = 'BEGIN { print((getopt("aa", 20), getopt("bb", -1), getopt("cc", true), getopt("dd"), getopt("ee", "hi"))); }';
  const out = run(prog, { aa: '0xffffffffffffffff', bb: '-10', cc: 'False', dd: 'true' });
  assert.match(out, /int: 18446744073709551615\n *-\n *int: 10\n *bool: false\n *bool: true\n *string: hi/);
  assert.match(run(prog, {}), /int: 20\n *-\n *int: 1\n *bool: true\n *bool: false\n *string: hi/);
  assert.throws(() => run(prog, { aa: 'False' }), /program command line option --aa invalid integer \(value: False\)/);
  assert.throws(() => run(prog, { zz: '1' }), /unexpected program command line options: --zz\nHINT: expected program options: --aa, --bb/);
  assert.throws(() => run('BEGIN { }', { zz: '1' }), /unexpected program command line options: --zz/);
  assert.throws(() => run('BEGIN { $a = getopt("aa", 1, "the A"); }', { help: 'true' }), (e: Error) => e instanceof ProgramOptionsHelp && /--aa: the A/.test(e.message));
});

test('standard library macros expand where used; a user macro of the same name and arity replaces one', () => {
  assert.match(lowered('BEGIN { $p = ppid; }'), /\.\n *\.\n *builtin: curtask\n *real_parent\n *pid/);
  assert.match(lowered('macro ppid() { 7 } BEGIN { $p = ppid; }'), /variable: \$p\n *int: 7/);
});
