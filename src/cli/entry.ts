/**
 * The process entry that bin/tsbpf runs. tsbpf runs as root, so before
 * anything else loads it makes sure Node's inspector can never open:
 *
 * - Node opens a debugger on 127.0.0.1:9229 when it receives SIGUSR1, and any
 *   local user could connect to it and run code as root. A SIGUSR1 listener
 *   replaces that activation for the life of the process (the listener is
 *   never removed: with none left, Node would restore its own handler).
 *   bpftrace 0.22+ gives SIGUSR1 to `self:signal:SIGUSR1` probes only (0.17
 *   printed the maps; 0.22 dropped that); the script runtime adds its listener
 *   for those while it runs, so here the signal is simply absorbed.
 * - NODE_OPTIONS (--inspect, --require ...) and every other NODE_* variable
 *   are removed by bin/tsbpf before node starts; should an inspector be open
 *   anyway (a signal that arrived while Node was still starting), it is closed.
 */
process.on('SIGUSR1', () => undefined);
closeInspector();

// What `ps` and `comm` (in BEGIN/END and in other tracers) show: tsbpf, as bpftrace shows bpftrace.
process.title = 'tsbpf';

// eslint-disable-next-line @typescript-eslint/no-require-imports
// launch.ts runs the one-file bundle of main when it is current (start-up cost), else ./main.
(require('./launch') as typeof import('./launch')).launch(process.argv.slice(2));

function closeInspector(): void {
  // The inspector binding answers without loading node:inspector, which pulls in
  // worker_threads and streams: ~3 ms of CPU and 1.4 MB at every start.
  type InspectorBinding = { url(): string | undefined };
  const internals = process as unknown as { binding?(name: string): InspectorBinding; _debugEnd?(): void };
  try {
    const binding = internals.binding?.('inspector');
    if (binding && typeof binding.url === 'function' && typeof internals._debugEnd === 'function') {
      if (binding.url() !== undefined) internals._debugEnd();
      return;
    }
  } catch {
    // a Node without the legacy binding: ask the module
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const inspector = require('node:inspector') as typeof import('node:inspector');
  if (inspector.url() !== undefined) inspector.close();
}
