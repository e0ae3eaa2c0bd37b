/**
 * One error base class (src/errors.ts): every error class in src/ derives
 * from it, and the CLI tells the user sentence from an internal error by type.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EnvironmentError, InternalError, TsbpfError, UserError } from '../../src/errors';
import { describeError } from '../../src/cli/main';
import { CompileError } from '../../src/lang/diagnostics';
import { UnknownTracepointError } from '../../src/sys/tracefs';
import { ElfError } from '../../src/ebpf/elf';

const SRC = path.join(__dirname, '..', '..', '..', 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('no error class in src/ extends Error directly (only src/errors.ts does)', () => {
  const bare: string[] = [];
  let classes = 0;
  for (const f of sources(SRC)) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/class (\w+) extends (\w+)/g)) {
      if (!/Error$/.test(m[2])) continue;
      classes++;
      if (m[2] === 'Error' && path.relative(SRC, f) !== 'errors.ts') bare.push(`${path.relative(SRC, f)}: ${m[1]}`);
    }
  }
  assert.ok(classes >= 27, `found ${classes} error classes`);
  assert.deepEqual(bare, []);
});

test('kinds, names and cause', () => {
  const cause = new Error('low level');
  const e = new UserError('bad input', { cause });
  assert.ok(e instanceof TsbpfError);
  assert.equal(e.kind, 'user');
  assert.equal(e.name, 'UserError');
  assert.equal(e.cause, cause);
  assert.equal(new UnknownTracepointError('a', 'b').kind, 'user');
  assert.equal(new EnvironmentError('x').kind, 'environment');
  assert.equal(new InternalError('x').kind, 'internal');
});

test('the CLI prints user and environment errors as one sentence, anything else as an internal error', () => {
  delete process.env.TSBPF_DEBUG;
  assert.equal(describeError(new ElfError('/bin/x', 'not an ELF file')), 'tsbpf: /bin/x: not an ELF file\n');
  assert.equal(describeError(new EnvironmentError('tracefs is not mounted')), 'tsbpf: tracefs is not mounted\n');
  assert.match(describeError(new InternalError('label l1 is undefined')), /^tsbpf: internal error: label l1 is undefined\n\(set TSBPF_DEBUG=1/);
  assert.match(describeError(new TypeError('x is undefined')), /^tsbpf: internal error: x is undefined\n/);
  assert.match(describeError(new CompileError('oops', null, { name: 'stdin', text: 'x' })), /ERROR: oops/);
});
