/**
 * usdt: prints one line per firing of a USDT probe with its first argument —
 * `TIME(s) COMM PID VALUE` — like bcc's USDT examples, on the tsbpf library.
 *
 *   node dist/examples/usdt.js BINARY PROVIDER:PROBE [PID] [seconds]
 *
 * With PID, only that process is traced (its semaphores are raised for it).
 */
import { compile, ScriptRuntime } from '../src/index';

export async function usdtTrace(binary: string, probe: string, pid?: number, seconds = 0, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const pred = pid !== undefined ? ` /pid == ${pid}/` : '';
  const text = `usdt:${binary}:${probe}${pred}\n{\n  printf("%d %s %d %d\\n", nsecs, comm, pid, arg0);\n}\n`;
  const artifact = compile({ name: 'usdt.bt', text }, { pid });
  write(`${'TIME(s)'.padEnd(18)} ${'COMM'.padEnd(16)} ${'PID'.padEnd(6)} VALUE\n`);
  let timer: NodeJS.Timeout | undefined;
  return new ScriptRuntime(artifact, {
    quiet: true,
    write,
    onStart: (r) => {
      timer = setTimeout(() => r.stop(), seconds > 0 ? seconds * 1000 : 2 ** 31 - 1);
    },
    onEvent: (_ev, v, r) => {
      const [ts, comm, p, value] = v;
      if (ts.kind !== 'int' || comm.kind !== 'str' || p.kind !== 'int' || value.kind !== 'int') return false;
      r.print(`${(Number(ts.value) / 1e9).toFixed(9).padEnd(18)} ${comm.value.padEnd(16)} ${String(p.value).padEnd(6)} ${value.value}\n`);
      return true;
    },
    onExit: () => clearTimeout(timer),
  }).run();
}

if (require.main === module) {
  const [binary, probe, pid, secs] = process.argv.slice(2);
  if (!binary || !probe) {
    process.stderr.write('usage: node dist/examples/usdt.js BINARY PROVIDER:PROBE [PID] [seconds]\n');
    process.exit(2);
  }
  usdtTrace(binary, probe, pid ? Number(pid) : undefined, Number(secs ?? 0)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`usdt: ${e.message}\n`);
      process.exit(1);
    },
  );
}
