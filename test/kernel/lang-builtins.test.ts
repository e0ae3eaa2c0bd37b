/**
 * Builtins checked against ground truth a fixture process controls: each
 * probe fires exactly as often as the child is told to act, and every value
 * must be the one the kernel context implies.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { buildFixture } from '../helpers/fixtures';
import { attachAll, evalBegin, FixtureProcess, loadScript, type Loaded } from './lang-helpers';
import { closeLinks } from '../../src/ebpf/attach';
import { runTsbpf } from '../helpers/tsbpf';
import { decodeValue, type Resolver } from '../../src/runtime/decode';
import { sym } from '../../src/runtime/values';

const unused = (): never => {
  throw new Error('not needed by these values');
};
const noResolver: Resolver = { stack: unused, ksym: unused, usym: unused, username: unused, probeName: unused };

/** key (u64) → count summed over CPUs. */
function counts(l: Loaded, map: string): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  for (const [k, vs] of l.entries(map)) out.set(k.readBigUInt64LE(0), vs.reduce((s, v) => s + v.readBigUInt64LE(0), 0n));
  return out;
}

kernelTest('usermode: 1 in a uprobe (user code), 0 in a syscall tracepoint (kernel), 1 in BEGIN (run by the tracer)', async () => {
  const bin = buildFixture('uprobe_target');
  const t = new FixtureProcess(bin);
  const l = loadScript(`
    BEGIN { @begin = usermode; }
    uprobe:${bin}:tsbpf_add /pid == ${t.pid}/ { @user[usermode] = count(); }
    tracepoint:syscalls:sys_enter_getppid /pid == ${t.pid}/ { @kernel[usermode] = count(); }`);
  const links = attachAll(l);
  try {
    l.runBegin();
    assert.equal(l.scalar('@begin'), 1n);
    await t.do('add 40');
    await t.do('getppid 25');
    assert.deepEqual([...counts(l, '@user')], [[1n, 40n]]);
    assert.deepEqual([...counts(l, '@kernel')], [[0n, 25n]]);
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
});

kernelTest('strerror: the errno a syscall returned travels as an integer and reads as glibc\'s text, in maps and in printf', async () => {
  const bin = buildFixture('uprobe_target');
  const t = new FixtureProcess(bin);
  const l = loadScript(`tracepoint:syscalls:sys_exit_openat /pid == ${t.pid} && args.ret < 0/ { @[strerror(-args.ret)] = count(); }`);
  const links = attachAll(l);
  try {
    await t.do('enoent 7');
    const entries = l.entries('@');
    assert.equal(entries.length, 1);
    const [key, perCpu] = entries[0];
    assert.equal(key.readBigUInt64LE(0), 2n, 'the kernel side holds the errno (ENOENT)');
    const u = l.userMap('@');
    assert.deepEqual(decodeValue(key, 0, u.key!, noResolver), sym('No such file or directory', 'named'));
    assert.equal(perCpu.reduce((s, v) => s + v.readBigUInt64LE(0), 0n), 7n);
  } finally {
    closeLinks(links);
    l.close();
    await t.end();
  }
  // through the runtime: printf %s, print() and map values as bpftrace prints them
  const r = await runTsbpf(['-e', 'BEGIN { printf("[%s] [%s]\\n", strerror(2), strerror(200)); print(strerror(22)); @v = strerror(13); exit(); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.replace(/\n+$/, ''), '[No such file or directory] [Unknown error 200]\nInvalid argument\n\n\n@v: Permission denied');
});

kernelTest('sizeof: one rule in the checker for types and values (integers by width, strings and tuples by layout)', () => {
  const cases: [string, bigint][] = [
    ['$x = (uint8)1; @r = sizeof($x);', 1n],
    ['@r = sizeof(u32);', 4n],
    ['@r = sizeof(uint16);', 2n],
    ['@r = sizeof(char[16]);', 16n],
    ['@r = sizeof(comm);', 16n],
    ['$s = "abc"; @r = sizeof($s);', 4n],
    ['@r = sizeof((1, "ab"));', 16n],
    ['@r = sizeof(struct task_struct *);', 8n],
  ];
  for (const [body, want] of cases) assert.equal(evalBegin(body), want, body);
});
