/**
 * Typed view of the native addon (native/tsbpf.c). Everything here is a thin
 * system-call surface; policy and parsing live in TypeScript callers.
 * System calls return the kernel's result, or a negative errno.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from './package-root';

/** [target, byteOffset, source]: write source's address into target at byteOffset. */
export type PointerPatch = [Uint8Array, number, Uint8Array];

/** Opaque handle for a memory-mapped ring (BPF ring buffer or perf buffer). */
export interface RingHandle { readonly __ring: unique symbol }
/** Opaque handle for a libuv poll watch on a file descriptor. */
export interface WatchHandle { readonly __watch: unique symbol }
/** Opaque handle for a shared object opened with dlopen. */
export interface DlHandle { readonly __dl: unique symbol }
/** Opaque handle for a symbol of a dlopen'ed object (refuses to work once the object is closed). */
export interface SymHandle { readonly __sym: unique symbol }

export interface NativeAddon {
  bpf(cmd: number, attr: Uint8Array, patches?: PointerPatch[]): number;
  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number, patches?: PointerPatch[]): number;
  ioctl(fd: number, request: number, arg?: number | Uint8Array): number;
  close(fd: number): number;
  /** clock_gettime in nanoseconds: 0 REALTIME, 1 MONOTONIC, 7 BOOTTIME. */
  clockNs(clockId: number): bigint;
  ringbufOpen(mapFd: number, size: number): RingHandle | number;
  perfbufOpen(perfFd: number, pages: number): RingHandle | number;
  /** Drains committed records: ring buffer → [u32 len][data, padded to 4]...; perf → raw perf records. */
  ringDrain(ring: RingHandle, limitBytes?: number): Buffer | undefined;
  ringPending(ring: RingHandle): number;
  ringClose(ring: RingHandle): void;
  watch(fd: number, onReadable: (status: number) => void): WatchHandle;
  unwatch(w: WatchHandle): void;
  watchRef(w: WatchHandle, on: boolean): void;
  /** One datagram to an AF_UNIX socket address (a path, or NUL-prefixed abstract name); 0 or -errno. */
  unixDgramSend(address: Uint8Array, message: Uint8Array): number;
  /** dlopen(path, RTLD_NOW | RTLD_LOCAL); dlerror()'s message on failure. */
  dlopen(path: string): DlHandle | string;
  dlsym(lib: DlHandle, name: string): SymHandle | undefined;
  dlclose(lib: DlHandle): void;
  /** Calls a function with up to 6 integer arguments (a string is passed as a pointer to a NUL-terminated copy). */
  symCall(sym: SymHandle, ...args: (number | bigint | string)[]): void;
  /** The symbol's memory as an ArrayBuffer (no copy); drop it before dlclose. */
  symView(sym: SymHandle, bytes: number): ArrayBuffer;
  /**
   * The first pass over a BTF type section (src/ebpf/btf.ts): each type's start
   * and name offset into the arrays; the count, or -1 when anything is unusual
   * (the caller then walks in JavaScript). Absent from addons built before it.
   */
  btfScan?(buf: Uint8Array, start: number, end: number, extraFixed: Int32Array, extraPerMember: Int32Array,
    offsets: Uint32Array, nameOffs: Uint32Array): number;
  /**
   * The whole file mapped read-only (PROT_READ, MAP_PRIVATE), unmapped when the buffer
   * is collected; the errno when it cannot be mapped. Absent from addons built before it.
   */
  mapReadOnly?(path: string): ArrayBuffer | number;
  readonly pageSize: number;
  readonly possibleCpusHint: number;
}

let addon: NativeAddon | undefined;

/**
 * Where the addon may be, in order: a local build from native/ (build/Release: a
 * checkout, or `npm run build:native` in an installed package where the prebuilt one
 * does not load, e.g. on a musl libc), then the prebuilt linux-x64 one the package
 * ships (N-API is ABI-stable, so one build serves every Node >= 20). An installed
 * package has no build/ until someone builds it, so it loads the prebuilt one.
 */
export function addonCandidates(): string[] {
  const root = packageRoot();
  return [
    path.join(root, 'build', 'Release', 'tsbpf_native.node'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tsbpf_native.node'),
  ];
}

/** Loads the addon on first use so pure modules (parser, formatter) never need it. */
export function native(): NativeAddon {
  if (!addon) {
    const failures: string[] = [];
    for (const file of addonCandidates()) {
      if (!fs.existsSync(file)) continue;
      try {
        addon = require(file) as NativeAddon;
        break;
      } catch (e) {
        failures.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (!addon) {
      const why = failures.length ? `it did not load (${failures.join('; ')})` : `no build of it for ${process.platform}-${process.arch} is in ${packageRoot()}`;
      throw new Error(`tsbpf: the native addon is missing: ${why}; build it from source with 'npm run build:native' in ${packageRoot()} (needs a C compiler, make and python3)`);
    }
  }
  return addon;
}
