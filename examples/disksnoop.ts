/**
 * disksnoop: one line per block I/O with its size and latency, like bcc's
 * examples/tracing/disksnoop.py — written against the tsbpf library: the
 * kernel side in the tsbpf language, the user side in TypeScript.
 *
 *   node dist/examples/disksnoop.js [seconds]
 *
 * Requests are matched from block_rq_issue to block_rq_complete by
 * (device, sector); bcc keyed them by struct request * from kprobes.
 */
import * as fs from 'node:fs';
import { compile, ScriptRuntime } from '../src/index';

/** block_rq_issue's size field: `bytes` on current kernels, `nr_bytes` before the rename. */
function bytesField(): string {
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    try {
      return / nr_bytes;/.test(fs.readFileSync(`${root}/events/block/block_rq_issue/format`, 'utf8')) ? 'nr_bytes' : 'bytes';
    } catch {
      // try the other mount point
    }
  }
  return 'bytes';
}

const PROGRAM = () => `
tracepoint:block:block_rq_issue
{
  @start[args->dev, args->sector] = nsecs;
  @bytes[args->dev, args->sector] = args->${bytesField()};
}

tracepoint:block:block_rq_complete /@start[args->dev, args->sector] != 0/
{
  $lat = nsecs - @start[args->dev, args->sector];
  printf("%d %s %d %d\\n", nsecs, args->rwbs, @bytes[args->dev, args->sector], $lat);
  delete(@start[args->dev, args->sector]);
  delete(@bytes[args->dev, args->sector]);
}
`;

/** Runs disksnoop; resolves with the exit code. `seconds` 0 means until Ctrl-C. */
export async function disksnoop(seconds = 0, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const artifact = compile({ name: 'disksnoop.bt', text: PROGRAM() }, {});
  let timer: NodeJS.Timeout | undefined;
  const rt = new ScriptRuntime(artifact, {
    quiet: true,
    write,
    onStart: (r) => {
      // the header once the probes are attached (as bcc): what happens after it is seen
      write(`${'TIME(s)'.padEnd(18)} ${'T'.padEnd(2)} ${'BYTES'.padEnd(7)} ${'LAT(ms)'.padStart(8)}\n`);
      timer = setTimeout(() => r.stop(), seconds > 0 ? seconds * 1000 : 2 ** 31 - 1);
    },
    onEvent: (_ev, v, r) => {
      const [ts, rwbs, bytes, lat] = v;
      if (ts.kind !== 'int' || rwbs.kind !== 'str' || bytes.kind !== 'int' || lat.kind !== 'int') return false;
      // bcc's T column: W for writes, R otherwise (the request's data direction).
      const t = rwbs.value.includes('W') ? 'W' : 'R';
      r.print(`${(Number(ts.value) / 1e9).toFixed(9).padEnd(18)} ${t.padEnd(2)} ${String(bytes.value).padEnd(7)} ${(Number(lat.value) / 1e6).toFixed(2).padStart(8)}\n`);
      return true;
    },
    onExit: () => clearTimeout(timer),
  });
  return rt.run();
}

if (require.main === module) {
  disksnoop(Number(process.argv[2] ?? 0)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`disksnoop: ${e.message}\n`);
      process.exit(1);
    },
  );
}
