/**
 * BTF reader cost: time to read and index /sys/kernel/btf/vmlinux, and the
 * memory it keeps. Run: node dist/bench/btf.js [iterations]
 * (node --expose-gc gives steadier heap numbers).
 */
import { Btf } from '../src/ebpf/btf';

const gc = (globalThis as { gc?: () => void }).gc;

function ms(from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e6;
}

function once(): { parse: number; index: number; lookups: number; rss: number; heap: number; external: number } {
  gc?.();
  const m0 = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  const btf = Btf.load('/sys/kernel/btf/vmlinux');
  const parse = ms(t0);
  const t1 = process.hrtime.bigint();
  btf.find('task_struct', 'struct');
  const index = ms(t1);
  const t2 = process.hrtime.bigint();
  for (const [s, m] of [['task_struct', 'pid'], ['task_struct', 'comm'], ['task_struct', 'se.vruntime'], ['mm_struct', 'arg_start'], ['file', 'f_inode'], ['sk_buff', 'len']]) {
    btf.memberAccess(s, m);
  }
  const lookups = ms(t2);
  gc?.();
  const m1 = process.memoryUsage();
  // Keep btf alive until after the measurement.
  if (btf.typeCount === 0) console.log('empty');
  return { parse, index, lookups, rss: (m1.rss - m0.rss) / 2 ** 20, heap: (m1.heapUsed - m0.heapUsed) / 2 ** 20, external: (m1.external - m0.external) / 2 ** 20 };
}

const n = Number(process.argv[2] ?? 5);
const first = once();
const btf = Btf.load('/sys/kernel/btf/vmlinux');
console.log(`vmlinux BTF: ${btf.typeCount} types`);
const row = (label: string, r: ReturnType<typeof once>): void =>
  console.log(`${label.padEnd(8)} read+scan ${r.parse.toFixed(1).padStart(6)} ms  name index ${r.index.toFixed(1).padStart(6)} ms  ` +
    `6 member paths ${r.lookups.toFixed(2).padStart(5)} ms  total ${(r.parse + r.index).toFixed(1).padStart(6)} ms  ` +
    `rss +${r.rss.toFixed(1)} MB  heap +${r.heap.toFixed(1)} MB  external +${r.external.toFixed(1)} MB`);
row('cold', first);
const warm: ReturnType<typeof once>[] = [];
for (let i = 0; i < n; i++) warm.push(once());
const med = (k: 'parse' | 'index' | 'lookups'): number => warm.map((w) => w[k]).sort((a, b) => a - b)[warm.length >> 1];
console.log(`warm median of ${n}: read+scan ${med('parse').toFixed(1)} ms, name index ${med('index').toFixed(1)} ms, total ${(med('parse') + med('index')).toFixed(1)} ms`);
