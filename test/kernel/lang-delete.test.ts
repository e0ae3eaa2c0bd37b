/**
 * delete() as a value (bpftrace 0.26): true when it deleted an entry, false
 * when there was none, run in the kernel through BPF_PROG_TEST_RUN.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { evalBegin } from './lang-helpers';

kernelTest('lang delete: delete(@m[k]) is true when an entry went, false when there was none; the entry is gone', () => {
  assert.equal(evalBegin('@m[1] = 2; $x = delete(@m[1]); $y = delete(@m[5]); @r = $x * 10 + $y;'), 10n);
  assert.equal(evalBegin('@m[1, 2] = 1; $a = delete(@m, (1, 2)); $b = delete(@m, (1, 2)); @r = $a * 10 + $b;'), 10n);
  assert.equal(evalBegin('@m[3] = 1; if (delete(@m[3])) { @r = has_key(@m, 3) ? 2 : 1; }'), 1n);
  assert.equal(evalBegin('@n = 7; @r = delete(@n) ? 1 : 0;'), 1n);
});
