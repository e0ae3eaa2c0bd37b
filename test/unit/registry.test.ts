/**
 * The feature registry (src/lang/builtins.ts): every definition is complete,
 * and every stage reads the same one (the parser's builtin names are the
 * registry's, the checker and the code generator run its hooks).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinNames, builtinVar, functionDef, functionNames, isBuiltinName, namedValueType, namedValueTypeNames } from '../../src/lang/builtins';
import { parse } from '../../src/lang/parser';
import { decodeValue, type Resolver } from '../../src/runtime/decode';
import { sym } from '../../src/runtime/values';
import { AGGREGATIONS } from '../../src/lang/aggregations';
import { compile } from '../../src/lang/compile';
import { CompileError } from '../../src/lang/diagnostics';
import { unitTarget } from '../helpers/target';

const unused = (): never => {
  throw new Error('not needed by these values');
};
const noResolver: Resolver = { stack: unused, ksym: unused, usym: unused, username: unused, probeName: unused };

/** Names whose definition refuses them with a sentence (bpftrace has them; tsbpf cannot provide them). */
const REFUSED = new Set<string>([]);
/** Read only through its fields (`args.x`), which the expression lowering handles. */
const FIELDS_ONLY = new Set(['args']);

test('every builtin variable parses as a Builtin and has a type rule and a lowering', () => {
  assert.ok(builtinNames().length > 20);
  for (const name of builtinNames()) {
    assert.ok(isBuiltinName(name));
    const p = parse({ name: 't', text: `BEGIN { @ = ${name}; }` });
    const stmt = p.probes[0].body.stmts[0];
    assert.ok(stmt.kind === 'AssignStmt' && stmt.value.kind === 'Builtin' && stmt.value.name === name, name);
    const d = builtinVar(name)!;
    assert.equal(typeof d.check, 'function', name);
    if (!REFUSED.has(name) && !FIELDS_ONLY.has(name)) assert.ok(d.scalar || d.store, `${name} has no lowering`);
  }
  // argN/sargN are ten names each, not patterns
  assert.ok(isBuiltinName('arg9') && !isBuiltinName('arg10') && isBuiltinName('sarg0'));
  assert.ok(!isBuiltinName('printf') && !isBuiltinName('nosuch'));
});

test('every function has an arity, a type rule and a lowering; aggregations are not functions', () => {
  for (const name of functionNames()) {
    const f = functionDef(name)!;
    assert.ok(f.minArgs >= 0 && f.maxArgs >= f.minArgs, name);
    assert.equal(typeof f.check, 'function', name);
    assert.ok(f.scalar || f.store || f.stmt, `${name} has no lowering`);
    assert.ok(!(name in AGGREGATIONS), `${name} is both a function and an aggregation`);
  }
});

test('named value types: strerror prints glibc text, decoded from the u64 the kernel wrote', () => {
  assert.ok(namedValueTypeNames().includes('strerror'));
  const t = namedValueType('strerror');
  assert.equal(t.printfAs, 'string');
  assert.equal(t.text(0n), 'Success');
  assert.equal(t.text(2n), 'No such file or directory');
  assert.equal(t.text(22n), 'Invalid argument');
  assert.equal(t.text(133n), 'Memory page has hardware error');
  assert.equal(t.text(41n), 'Unknown error 41');
  assert.equal(t.text(200n), 'Unknown error 200');
  // an int argument, as C's strerror(int): -2 stays -2
  assert.equal(t.text(BigInt.asUintN(64, -2n)), 'Unknown error -2');
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(13n);
  assert.deepEqual(decodeValue(b, 0, { kind: 'named', name: 'strerror' }, noResolver), sym('Permission denied', 'named'));
  assert.throws(() => namedValueType('nosuch'), /no value type named nosuch/);
});

test('aggregations: one definition each (lang/aggregations.ts) for the checker, the map layout and the code generator', () => {
  assert.deepEqual(Object.keys(AGGREGATIONS).sort(), ['avg', 'count', 'hist', 'lhist', 'max', 'min', 'stats', 'sum', 'tseries']);
  const errorOf = (text: string): string => {
    try {
      compile({ name: 't.bt', text }, { target: unitTarget() });
    } catch (e) {
      return e instanceof CompileError ? e.format() : (e as Error).message;
    }
    return 'compiled';
  };
  assert.match(errorOf('BEGIN { $x = count(); }'), /count\(\) must be assigned directly to a map: @x = count\(\.\.\.\)/);
  assert.match(errorOf('BEGIN { @x = hist(); }'), /hist\(\) takes 1 to 2 arguments, got 0/);
  assert.match(errorOf('BEGIN { @x = lhist(1, 0, 10, 1); @y = @x; }'), /the value of @x \(lhist\) cannot be read in a probe/);
  assert.match(errorOf('BEGIN { @x = cont(); }'), /unknown function: cont[\s\S]*did you mean count/);
  // layout: min/max keep a per-CPU "seen" flag next to the value; hist keys carry the bucket index;
  // key-less count/sum/min/max/avg/stats live in a one-entry per-CPU array (u32 key), all but count
  // with a u64 "ran" flag after the value; key-less hist/lhist in a per-CPU array with one flagged entry
  // per bucket index (65 for hist(), (max - min) / step + 2 for lhist); a key-less map that delete() names in a hash
  const a = compile({
    name: 't.bt',
    text: 'BEGIN { @m[1] = min(5); @h[2] = hist(3); @c = count(); @s = sum(1); @mn = min(2); @st = stats(3); @hk = hist(4); @hb = hist(4, 2); @lk = lhist(3, 0, 100, 10); @d = count(); delete(@d); }',
  }, { target: unitTarget() });
  const size = (n: string) => {
    const u = a.userMaps.find((x) => x.name === n)!;
    return [a.maps[u.map].kind, a.maps[u.map].keySize, a.maps[u.map].valueSize, a.maps[u.map].maxEntries === 1, u.percpu, u.keylessArray?.presentAt];
  };
  assert.deepEqual(size('@m'), ['percpu_hash', 8, 16, false, true, undefined]);
  assert.deepEqual(size('@h'), ['percpu_hash', 16, 8, false, true, undefined]);
  assert.deepEqual(size('@c'), ['percpu_array', 4, 8, true, true, undefined]);
  assert.deepEqual(size('@s'), ['percpu_array', 4, 16, true, true, 8]);
  assert.deepEqual(size('@mn'), ['percpu_array', 4, 24, true, true, 16]);
  assert.deepEqual(size('@st'), ['percpu_array', 4, 24, true, true, 16]);
  assert.deepEqual(size('@hk'), ['percpu_array', 4, 16, false, true, 8]);
  const entries = (n: string) => a.maps[a.userMaps.find((x) => x.name === n)!.map].maxEntries;
  assert.deepEqual([entries('@hk'), entries('@hb'), entries('@lk')], [65, 62 * 4 + 1, 12]);
  assert.deepEqual(a.userMaps.find((x) => x.name === '@lk')!.keylessArray, { presentAt: 8, buckets: 12 });
  assert.deepEqual(size('@d'), ['percpu_hash', 8, 8, false, true, undefined]);
});
