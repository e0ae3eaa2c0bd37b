/**
 * vfsreadlat: a histogram of vfs_read() latency every interval, like bcc's
 * examples/tracing/vfsreadlat.py, on the tsbpf library. It needs kprobes
 * (kprobe:vfs_read / kretprobe:vfs_read); on a kernel without them it says
 * so in one sentence and exits 1.
 *
 *   node dist/examples/vfsreadlat.js [interval] [count]
 */
import { compile, requireFeature, ScriptRuntime, MissingFeatureError } from '../src/index';
import { histText } from '../src/runtime/format/hist';

const PROGRAM = `
kprobe:vfs_read { @start[tid] = nsecs; }
kretprobe:vfs_read /@start[tid] != 0/
{
  @usecs = hist((nsecs - @start[tid]) / 1000);
  delete(@start[tid]);
}
`;

export async function vfsreadlat(interval = 1, count = 0, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  requireFeature('kprobes');
  const rt = new ScriptRuntime(compile({ name: 'vfsreadlat.bt', text: PROGRAM }, {}), {
    quiet: true,
    write,
    onStart: (r) => {
      // Announce only once the probes are attached, so a caller that waits for
      // this line knows every later read is traced.
      write('Tracing... Hit Ctrl-C to end.\n');
      let left = count;
      const t = setInterval(() => {
        const m = r.map('@usecs');
        write('\n');
        if (m && m.kind === 'hist') for (const e of m.entries) write(histText(e.value));
        r.clearMap('@usecs');
        if (count > 0 && --left === 0) {
          clearInterval(t);
          r.stop();
        }
      }, interval * 1000);
    },
    onExit: () => undefined,
  });
  return rt.run();
}

if (require.main === module) {
  vfsreadlat(Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 0)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(e instanceof MissingFeatureError ? `vfsreadlat: ${e.message}\n` : `vfsreadlat: ${e.message}\n`);
      process.exit(1);
    },
  );
}
