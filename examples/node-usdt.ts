/**
 * node-usdt: a Node.js program with its own USDT probe, as in the source
 * document's "USDT probe" section (which used a libstapsdt binding; here
 * tsbpf's `usdt.provider()` generates the probe object itself).
 *
 * Every tick it prints "Firing probe..." and fires myapp:firstProbe(countdown,
 * "My little string"). The callback — which prints "Probe fired!" and counts
 * down — runs only while a tracer has the probe enabled; after ten traced
 * fires it prints "Disable provider", removes the probe and exits.
 *
 *   node dist/examples/node-usdt.js [interval-ms]      # terminal 1
 *   tsbpf trace -p $(pgrep -f node-usdt) 'u::firstProbe "%d - %s", arg1, arg2'   # terminal 2, as root
 *   PID     TID     COMM            FUNC             -
 *   58156   58156   node            firstProbe       9 - My little string
 *   ...
 * bpftrace sees it too: bpftrace -p PID -e 'usdt:*:firstProbe { printf("%d %s\n", arg0, str(arg1)); }'
 */
import { usdt } from '../src/index';

export function nodeUsdtDemo(intervalMs = 750, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const provider = usdt.provider('myapp');
  const probe = provider.probe('firstProbe', 'int', 'string');
  provider.enable();
  let countdown = 10;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      write('Firing probe...\n');
      if (countdown <= 0) {
        write('Disable provider\n');
        provider.disable();
        clearInterval(timer);
        resolve();
        return;
      }
      probe.fire(() => {
        write('Probe fired!\n');
        countdown -= 1;
        return [countdown, 'My little string'];
      });
    }, intervalMs);
  });
}

if (require.main === module) {
  const ms = process.argv[2] !== undefined ? Number(process.argv[2]) : 750;
  if (!Number.isInteger(ms) || ms < 1) {
    process.stderr.write(`node-usdt: the interval must be a positive number of milliseconds, not '${process.argv[2]}'\n`);
    process.exit(1);
  }
  void nodeUsdtDemo(ms);
}
