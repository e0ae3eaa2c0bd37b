/**
 * The library's `usdt` namespace: reading the USDT probes of binaries
 * (ebpf/usdt) and defining probes in this Node.js process (ebpf/usdt-provider).
 *
 * @example
 *   import { usdt } from 'tsbpf';
 *   usdt.readUsdtProbes('/usr/bin/python3');            // probes of a file
 *   const provider = usdt.provider('myapp');           // probes of this program
 */
export * from './ebpf/usdt';
export * from './ebpf/usdt-provider';
