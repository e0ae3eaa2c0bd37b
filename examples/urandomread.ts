/**
 * urandomread: prints reads of /dev/urandom from the random:urandom_read
 * tracepoint, like bcc's examples/tracing/urandomread.py. That tracepoint
 * was removed from Linux in 5.18 (the random driver rewrite), so on newer
 * kernels this example says so and exits 1.
 *
 *   node dist/examples/urandomread.js
 */
import * as fs from 'node:fs';
import { compile, runScript, MissingFeatureError } from '../src/index';

const PROGRAM = `
tracepoint:random:urandom_read
{
  printf("%-18d %-16s %-6d %d\\n", nsecs, comm, pid, args->got_bits);
}
`;

function tracepointExists(category: string, event: string): boolean {
  return ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].some((root) => fs.existsSync(`${root}/events/${category}/${event}`));
}

export async function urandomread(): Promise<number> {
  if (!tracepointExists('random', 'urandom_read')) {
    throw new MissingFeatureError('tracepoint:random:urandom_read',
      'tracepoint random:urandom_read does not exist on this kernel (it was removed in Linux 5.18; older kernels have it)');
  }
  process.stdout.write(`${'TIME(s)'.padEnd(18)} ${'COMM'.padEnd(16)} ${'PID'.padEnd(6)} GOTBITS\n`);
  return runScript(compile({ name: 'urandomread.bt', text: PROGRAM }, {}), { quiet: true });
}

if (require.main === module) {
  urandomread().then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`urandomread: ${e.message}\n`);
      process.exit(1);
    },
  );
}
