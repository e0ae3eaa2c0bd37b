/**
 * The source document's Node.js program, driven line by line from stdin so a
 * test knows exactly which fires happen while a tracer is attached:
 *
 *   fire N    prints "Firing probe...", fires myapp:firstProbe(N, "My little string")
 *             (the callback prints "Probe fired!"), then "fired N traced=0|1"
 *   disable   provider.disable(), then "disabled"
 *   exit      exits
 *
 * On start it prints "ready PATH" with the generated object's path.
 */
import * as readline from 'node:readline';
import { usdt } from '../../src/index';

const provider = usdt.provider('myapp');
const probe = provider.probe('firstProbe', 'int', 'string');
provider.enable();
process.stdout.write(`ready ${provider.path}\n`);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'fire') {
    const i = Number(arg);
    process.stdout.write('Firing probe...\n');
    probe.fire(() => {
      process.stdout.write('Probe fired!\n');
      return [i, 'My little string'];
    });
    process.stdout.write(`fired ${i} traced=${probe.traced ? 1 : 0}\n`);
  } else if (cmd === 'disable') {
    provider.disable();
    process.stdout.write('disabled\n');
  } else if (cmd === 'exit') {
    process.exit(0);
  }
});
