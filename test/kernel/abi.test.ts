/**
 * src/sys/abi.ts against the running kernel's BTF: on the kernel it was
 * generated from, regenerating gives the committed text byte for byte
 * (TSBPF_REGENERATE_ABI=1 writes it); on any other kernel, every offset it
 * lists that this kernel's BTF also has is the same (structs only grow).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { generateAbi } from '../helpers/abi';
import { Btf } from '../../src/ebpf/btf';
import * as abi from '../../src/sys/abi';

const FILE = path.join(__dirname, '..', '..', '..', 'src', 'sys', 'abi.ts');

kernelTest('src/sys/abi.ts is what the project\'s BTF reader generates from the running kernel', () => {
  const committed = fs.readFileSync(FILE, 'utf8');
  const generatedFor = /generated from the BTF of Linux (\S+)/.exec(committed)?.[1];
  const fresh = generateAbi(Btf.vmlinux(), os.release());
  if (process.env.TSBPF_REGENERATE_ABI === '1') fs.writeFileSync(FILE, fresh);
  else if (generatedFor === os.release()) assert.equal(fresh, committed, 'regenerate with TSBPF_REGENERATE_ABI=1 node test/run.js kernel abi');
  // every kernel: the offsets both know agree
  const mod = '(?:export const (\\w+) = (\\{[\\s\\S]*?\\n\\}) as const;)';
  const now = new Map<string, unknown>();
  for (const m of fresh.matchAll(new RegExp(mod, 'g'))) now.set(m[1], Function(`return ${m[2]}`)());
  let compared = 0;
  for (const [name, table] of Object.entries(abi)) {
    if (typeof table !== 'object') continue;
    const cur = now.get(name) as Record<string, unknown> | undefined;
    assert.ok(cur, `${name} is not generated any more`);
    const flat = (o: Record<string, unknown>, prefix: string, out: Map<string, number>) => {
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === 'number') out.set(`${prefix}${k}`, v);
        else flat(v as Record<string, unknown>, `${prefix}${k}.`, out);
      }
      return out;
    };
    const a = flat(table as Record<string, unknown>, '', new Map());
    const b = flat(cur, '', new Map());
    for (const [k, v] of a) {
      if (!b.has(k)) continue; // a member newer than this kernel
      assert.equal(b.get(k), v, `${name}.${k}`);
      compared++;
    }
  }
  assert.ok(compared > 150, `compared ${compared} offsets`);
});
