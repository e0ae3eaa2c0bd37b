/**
 * C++ frames in user stacks are demangled as bpftrace prints them (issue 13,
 * issue 19 item 5): the fixture calls tsbpf_ns::Counter::bump(int) 4 times
 * from the template tsbpf_ns::twice, then waits so its mappings are there
 * when the stacks print.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { repoRoot, runTsbpf } from '../helpers/tsbpf';

kernelTest('ustack: C++ frames print demangled (namespace, class, template function)', async (t) => {
  if (!fs.existsSync('/usr/bin/g++')) return t.skip('g++ is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-cxx-'));
  try {
    const bin = path.join(dir, 'cxx_target');
    execFileSync('g++', ['-O0', '-fno-omit-frame-pointer', '-o', bin, path.join(repoRoot, 'test', 'fixtures', 'cxx_target.cpp')]);
    const r = await runTsbpf(['-c', `${bin} hold`, '-e', `uprobe:${bin}:_ZN8tsbpf_ns7Counter4bumpEi { @[ustack] = count(); @i += 1; if (@i == 4) { exit(); } }`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\s+tsbpf_ns::Counter::bump\(int\)\+0\n\s+int tsbpf_ns::twice<tsbpf_ns::Counter>\(tsbpf_ns::Counter&, int\)\+\d+\n\s+main\+\d+$/m, r.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
