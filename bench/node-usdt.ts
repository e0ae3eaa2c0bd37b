/**
 * Cost of `probe.fire()` of a USDT provider (src/ebpf/usdt-provider.ts), in
 * the calling process's CPU time (user + system: a traced fire is mostly the
 * kernel's uprobe trap), for bench section 9.
 *
 * Prints "ready PID" once `myapp:firstProbe(int, string)` is enabled, then
 * per stdin line `go N fire|floor` answers one JSON line
 * {"n", "nsPerCall", "wallNsPerCall", "callbacks", "total"} after N measured calls
 * (following a warm-up; "total" counts every call so far, warm-ups included) of
 *   fire:  probe.fire(() => [i, 'My little string'])
 *   floor: the same call shape on a function testing an ordinary Uint16Array
 *          (what any "is it enabled?" check costs in JavaScript).
 * Run: node dist/bench/node-usdt.js
 */
import * as readline from 'node:readline';
import { usdt } from '../src/index';

const provider = usdt.provider('myapp');
const probe = provider.probe('firstProbe', 'int', 'string');
provider.enable();

let callbacks = 0;
let total = 0;
const flag = new Uint16Array(1);
function floorFire(args: () => readonly (number | string)[]): void {
  if (flag[0] === 0) return;
  args();
}

function measure(n: number, mode: string): { nsPerCall: number; wallNsPerCall: number } {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  if (mode === 'fire') {
    for (let i = 0; i < n; i++) probe.fire(() => (callbacks++, [i, 'My little string']));
  } else {
    for (let i = 0; i < n; i++) floorFire(() => (callbacks++, [i, 'My little string']));
  }
  const wall = Number(process.hrtime.bigint() - t0);
  total += n;
  const cpu = process.cpuUsage(cpu0);
  return { nsPerCall: ((cpu.user + cpu.system) * 1000) / n, wallNsPerCall: wall / n };
}

process.stdout.write(`ready ${process.pid}\n`);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, count, mode] = line.trim().split(/\s+/);
  if (cmd !== 'go') return;
  const n = Number(count);
  // Warm-up: let the JIT optimise the loop (not counted).
  measure(Math.min(n, 200_000), mode);
  callbacks = 0;
  const r = measure(n, mode);
  process.stdout.write(`${JSON.stringify({ n, ...r, callbacks, total })}\n`);
});
