/**
 * bpftrace 0.26 language and command line (issue 20), each through bin/tsbpf
 * with the output bpftrace 0.26's runtime tests expect (tests/runtime/* of
 * bpftrace's repository); feature ids are those of
 * shared/reference/bpftrace-features.md.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf } from '../helpers/tsbpf';

/** Runs a program and returns its stdout without the blank lines printed at exit. */
async function out(args: string[]): Promise<string> {
  const r = await runTsbpf(args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\n+$/, '\n');
}

kernelTest('0.26 CLI (C06): --probe-filter attaches only the matching probes; BEGIN and END always run', async () => {
  const o = await out(['--probe-filter', ':200', '-e',
    'BEGIN { printf("begin\\n"); } interval:ms:100 { printf("bad\\n"); exit(); } interval:ms:200 { printf("hit\\n"); exit(); } END { printf("end\\n"); }']);
  assert.equal(o, 'begin\nhit\nend\n');
});

kernelTest('0.26 CLI (C18): long options --output FILE and --quiet', async () => {
  const file = `/tmp/tsbpf-lang026-${process.pid}.txt`;
  try {
    const r = await runTsbpf(['-e', 'BEGIN { printf("SUCCESS %d\\n", 1); exit(); }', `--output=${file}`, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Attached/);
    assert.match(require('node:fs').readFileSync(file, 'utf8'), /^SUCCESS 1$/m);
  } finally {
    require('node:fs').rmSync(file, { force: true });
  }
});

kernelTest('0.26 values (S21, F08, F11, O10, O13): bools print true/false in text and JSON; printf %d gives 1/0', async () => {
  assert.equal(await out(['-e', 'BEGIN { print((true, false)); print(1 < 2); print(!1); @m[1] = 1; print(has_key(@m, 1)); print(strcontains("abc", "z")); printf("%d %d\\n", 1 == 1, 1 == 2); clear(@m); }']),
    '(true, false)\ntrue\nfalse\ntrue\nfalse\n1 0\n');
  assert.equal(await out(['-e', 'BEGIN { @a[true] = false; $c = 5; $z = 0; print(((bool)$c, (bool)$z, (bool)256)); }']),
    '(true, false, true)\n\n\n@a[true]: false\n');
  const json = await out(['-f', 'json', '-q', '-e', 'BEGIN { @a[true] = false; print(2 > 1); }']);
  assert.match(json, /^\{"type": "value", "data": true\}$/m);
  assert.match(json, /^\{"type": "map", "data": \{"@a": \{"true": false\}\}\}$/m);
});
