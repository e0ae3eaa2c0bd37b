// C++ demangling (src/ebpf/demangle.ts) against binutils' c++filt: every mangled symbol
// libstdc++ exports must print exactly as c++filt prints it; names that are not mangled,
// or that the parser cannot read, print as they are and never throw.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { demangle } from '../../src/ebpf/demangle';
import { Rng } from '../helpers/fuzz';

const LIBSTDCXX = '/usr/lib/x86_64-linux-gnu/libstdc++.so.6';

test('demangle: a few shapes (nested names, templates, ctors, operators, clones, specials)', () => {
  const cases: [string, string][] = [
    ['_ZN2ns3Cls6methodEi', 'ns::Cls::method(int)'],
    ['_ZNK2ns3Cls3getEv', 'ns::Cls::get() const'],
    ['_Z3fooPKcRi', 'foo(char const*, int&)'],
    ['_ZN8tsbpf_ns5twiceINS_7CounterEEEiRT_i', 'int tsbpf_ns::twice<tsbpf_ns::Counter>(tsbpf_ns::Counter&, int)'],
    ['_ZNSt6vectorIiSaIiEE9push_backERKi', 'std::vector<int, std::allocator<int> >::push_back(int const&)'],
    ['_ZN3FooC2Ev', 'Foo::Foo()'],
    ['_ZN3FooD1Ev', 'Foo::~Foo()'],
    ['_ZN3FooplERKS_', 'Foo::operator+(Foo const&)'],
    ['_ZN3Foo3barEv.cold', 'Foo::bar() [clone .cold]'],
    ['_ZTV3Foo', 'vtable for Foo'],
    ['_Z1fPFviE', 'f(void (*)(int))'],
    ['main', 'main'],
    ['_Znotmangled', '_Znotmangled'],
  ];
  for (const [m, want] of cases) assert.equal(demangle(m), want, m);
});

test('demangle: every C++ symbol libstdc++ exports equals c++filt\'s output', (t) => {
  if (!fs.existsSync(LIBSTDCXX) || !fs.existsSync('/usr/bin/c++filt')) return t.skip('libstdc++ or c++filt (binutils) is missing');
  const syms = [...new Set(execFileSync('nm', ['-D', LIBSTDCXX]).toString().split('\n')
    .map((l) => (l.trim().split(/\s+/).pop() ?? '').replace(/@.*/, '')).filter((s) => s.startsWith('_Z')))];
  assert.ok(syms.length > 1000);
  const want = execFileSync('c++filt', { input: syms.join('\n') }).toString().split('\n');
  const wrong = syms.filter((s, i) => demangle(s) !== want[i]);
  assert.deepEqual(wrong.slice(0, 5).map((s) => [s, demangle(s)]), [], `${wrong.length} of ${syms.length} differ`);
});

test('demangle: 20,000 mutated names never throw and never hang', () => {
  const rng = new Rng(0xd3a9);
  const alphabet = '_ZNKSIEStT0123456789abcdefghijklmnopqrstuvwxyzCDPRFLAMJXB';
  for (let i = 0; i < 20_000; i++) {
    let s = '_Z';
    for (let n = rng.int(40); n > 0; n--) s += alphabet[rng.int(alphabet.length)];
    assert.equal(typeof demangle(s), 'string');
  }
});
