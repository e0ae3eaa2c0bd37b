/**
 * Language features added in the second compiler round, run in the kernel
 * through BPF_PROG_TEST_RUN: for ($kv : @map) and len(@map) (callbacks of
 * bpf_for_each_map_elem, described in BTF func_info), ++/-- as values,
 * strftime() values, reg().
 */
import assert from 'node:assert/strict';
import { commOf, kernelTest } from '../helpers/kernel';
import { evalBegin, loadScript, type Loaded } from './lang-helpers';
import { Target, attachAll } from './lang-target';
import { buildFixture } from '../helpers/fixtures';
import { closeLinks } from '../../src/ebpf/attach';
import { compile } from '../../src/lang/compile';
import { ScriptRuntime } from '../../src/runtime/run';
import { Btf } from '../../src/ebpf/btf';

kernelTest('lang leftovers: for ($kv : @map) visits every entry with key and value; len(@map) counts entries', () => {
  const l = loadScript(`BEGIN {
    @x[1] = 10; @x[2] = 20; @x[3] = 30;
    @c[7] = count(); @c[8] = count();
    @n = len(@x); @nc = len(@c);
    for ($kv : @x) { @s = sum($kv.0 * $kv.1); @v = count(); }
    for ($kv : @x) { @b = count(); break; }
    for ($kv : @x) { if ($kv.0 == 2) { continue; } @k = sum($kv.0); }
  }`);
  try {
    assert.ok(l.artifact.programs[0].functions && l.artifact.programs[0].functions.length === 6, 'main + 2 len + 3 loop callbacks');
    l.runBegin();
    assert.equal(l.scalar('@n'), 3n);
    assert.equal(l.scalar('@nc'), 2n);
    assert.equal(l.scalar('@s'), 140n);
    assert.equal(l.scalar('@v'), 3n);
    assert.equal(l.scalar('@b'), 1n);
    assert.equal(l.scalar('@k'), 4n);
  } finally {
    l.close();
  }
});

kernelTest('lang leftovers: string-keyed for loops; a for body shares the variables around it (not when nested)', () => {
  const l = loadScript('BEGIN { @m["ab"] = 2; @m["c"] = 3; for ($kv : @m) { if ($kv.0 == "ab") { @r = sum($kv.1); } } }');
  try {
    l.runBegin();
    assert.equal(l.scalar('@r'), 2n);
  } finally {
    l.close();
  }
  // every element adds to $a, read before the loop and after it (S05: one variable, the enclosing block's)
  const shared = loadScript('BEGIN { $a = 100; @m[1] = 5; @m[2] = 7; for ($kv : @m) { $a += $kv.1; $t = 1; } @r = $a; }');
  try {
    shared.runBegin();
    assert.equal(shared.scalar('@r'), 112n);
  } finally {
    shared.close();
  }
  // a variable first set in the body is the body's own: outside it is another (let) variable
  assert.equal(evalBegin('@m[1] = 1; for ($kv : @m) { $x = 9; } let $x; @r = $x;'), 0n);
  assert.throws(() => compile({ name: 't', text: 'BEGIN { $a = 1; @m[1] = 1; for ($kv : @m) { for ($k2 : @m) { $a = 2; } } }' }), /\$a is used both inside and outside this for loop, which is nested in another/);
  assert.throws(() => compile({ name: 't', text: 'BEGIN { @m[1] = count(); for ($kv : @m) { } }' }), /for over a count\(\) map is not supported/);
});

kernelTest('lang leftovers: ++ and -- inside expressions give the old (postfix) or new (prefix) value', () => {
  assert.equal(evalBegin('@x = 5; @r = @x++ + ++@x;'), 12n);
  assert.equal(evalBegin('@x = 5; $a = @x--; @r = $a * 100 + @x;'), 504n);
  assert.equal(evalBegin('$i = 1; @r = $i++ * 10 + $i;'), 12n);
  assert.equal(evalBegin('$i = 1; @r = --$i * 10 + $i;'), 0n);
  assert.equal(evalBegin('@m[3]++; @r = @m[3]++ * 10 + @m[3];'), 12n);
  assert.equal(evalBegin('@r = @fresh++;'), 0n);
  assert.equal(evalBegin('$u = (uint8)255; $v = $u++; @r = $u;'), 0n); // wraps at the variable's width
});

kernelTest('lang leftovers: strftime() prints formatted wall-clock time through printf and as a map value', async () => {
  const art = compile({ name: 't', text: 'BEGIN { printf("[%s]\\n", strftime("%Y", nsecs)); @t = strftime("%Y-%m", nsecs); exit(); }' });
  let out = '';
  await new ScriptRuntime(art, { quiet: true, handleSignals: false, write: (s) => (out += s), message: () => {} }).run();
  const now = new Date();
  const ym = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
  assert.match(out, new RegExp(`^\\[${now.getFullYear()}\\]\\n`));
  assert.match(out, new RegExp(`@t: ${ym}\\n`));
});

kernelTest('lang leftovers: offsetof() of script structs (x86-64 layout) and kernel structs (BTF)', () => {
  const btf = Btf.vmlinux();
  const pidOff = btf.memberOffset(btf.find('task_struct', 'struct') as number, 'pid');
  const l = loadScript(`struct Foo { char a; int b; struct Bar *p; long c[2]; }
    struct Bar { short x; struct Foo f; }
    BEGIN { @a = offsetof(struct Foo, b); @b = offsetof(struct Foo, p); @c = offsetof(struct Foo, c); @d = offsetof(struct Bar, f.c); @e = offsetof(struct task_struct, pid); }`);
  try {
    l.runBegin();
    assert.deepEqual(['@a', '@b', '@c', '@d', '@e'].map((m) => l.scalar(m)), [4n, 8n, 16n, 24n, BigInt(pidOff)]);
  } finally {
    l.close();
  }
  assert.throws(() => compile({ name: 't', text: 'BEGIN { @ = offsetof(struct Nope, x); }' }), /unknown type: struct Nope/);
  assert.throws(() => compile({ name: 't', text: 'struct A { int x; } BEGIN { @ = offsetof(struct A, y); }' }), /struct A has no member 'y'/);
});

kernelTest('lang leftovers: kernel struct members through BTF-typed pointers (curtask->pid, ->real_parent->tgid, embedded se.vruntime, char arrays)', async () => {
  const t = new Target(buildFixture('uprobe_target'));
  let l: Loaded;
  try {
    l = loadScript(`tracepoint:syscalls:sys_enter_getppid /pid == $1/ {
      @pid = sum(curtask->pid); @tgid = sum(curtask->tgid); @n = count();
      @parent = sum(((struct task_struct *)curtask)->real_parent->tgid);
      @vr = sum(curtask->se.vruntime > 0);
      @comm[curtask->comm, curtask->real_parent->comm] = count();
    }`, { params: [String(t.pid)] });
  } catch (e) {
    await t.end();
    throw e;
  }
  const links = attachAll(l);
  try {
    await t.do('getppid 3');
    assert.equal(l.scalar('@n'), 3n);
    assert.equal(l.scalar('@pid'), 3n * BigInt(t.pid)); // single-threaded: tid == pid
    assert.equal(l.scalar('@tgid'), 3n * BigInt(t.pid));
    assert.equal(l.scalar('@parent'), 3n * BigInt(process.pid));
    assert.equal(l.scalar('@vr'), 3n);
    const comm = l.entries('@comm');
    assert.equal(comm.length, 1);
    const key = comm[0][0];
    assert.equal(key.toString('latin1', 0, 16).replace(/\0.*$/s, ''), 'uprobe_target');
    assert.equal(key.toString('latin1', 16, 32).replace(/\0.*$/s, ''), commOf(process.pid)); // the parent: this test
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
  assert.throws(() => compile({ name: 't', text: 'BEGIN { @ = curtask->no_such_member; }' }), /struct task_struct has no member 'no_such_member'/);
});
