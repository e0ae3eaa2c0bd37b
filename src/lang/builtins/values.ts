/**
 * Functions producing values: symbols and addresses, stacks, registers,
 * time, signals, map queries, and the aggregation names.
 */
import { FP, Helper, R0, R1, R2, R3 } from '../../ebpf/asm';
import type { Expr } from '../ast';
import type { FunctionDef, NamedValueTypeDef } from '../feature';
import { BOOL, INT64 as I64, NONE, UINT64 as U64 } from '../types';
import { regOffset } from '../../arch';
import { helperValue, mapArgKeys, regsOnly, signalNumber, stackCheck, stackId, storeWithPid, ustackStore } from './lower';

export const VALUE_FUNCTIONS: Record<string, FunctionDef> = {
  // strerror(errno): the errno travels as a u64; user space prints glibc's message for it (bpftrace's strerror)
  strerror: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      c.int(e.args[0], 'strerror() argument');
      return { kind: 'named', name: 'strerror' };
    },
    scalar: (g, e) => g.scalar(e.args[0]),
  },
  // macaddr(p): the 6 bytes of a MAC address (a pointer to them, or a 6-byte array) travel in a u64; printed AA:BB:CC:DD:EE:FF
  macaddr: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const t = c.type(e.args[0]);
      if (t.kind === 'string' && t.size !== 6) return c.error('macaddr() argument must be 6 bytes in size', e.args[0].span);
      if (t.kind !== 'string' && (t.kind !== 'int' || t.embedded) && t.kind !== 'none') {
        return c.error(`macaddr() needs a pointer to or an array of 6 bytes, got ${t.kind}`, e.args[0].span);
      }
      return { kind: 'named', name: 'macaddr' };
    },
    scalar(g, e) {
      const arg = e.args[0];
      const t = g.type(arg);
      const slot = g.alloc(8, e.span);
      g.a.st('dw', FP, slot, 0);
      if (t.kind === 'string') {
        const src = g.addr(arg);
        g.copy({ base: FP, off: slot }, src, 6);
        g.dropLoc(src);
      } else {
        // an address: memory of the pointer's space, else of the probe's (user in uprobes and syscall tracepoints)
        const p = g.scalar(arg);
        g.a.mov64(R3, p);
        g.release1(p);
        g.lea(R1, { base: FP, off: slot });
        g.a.mov64(R2, 6);
        const user = t.kind === 'int' && t.ptr ? t.ptr.space === 'user' : g.probe.user;
        g.callRead(user ? Helper.probe_read_user : Helper.probe_read_kernel, e.span);
      }
      const r = g.temp(e.span);
      g.a.ldx('dw', r, FP, slot);
      return r;
    },
  },
  ksym: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      c.int(e.args[0], 'ksym() address');
      return { kind: 'ksym' };
    },
    scalar: (g, e) => g.scalar(e.args[0]),
  },
  usym: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      c.int(e.args[0], 'usym() address');
      return { kind: 'usym' };
    },
    store: (g, e, dst) => storeWithPid(g, dst, g.scalar(e.args[0])),
  },
  kaddr: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const a = e.args[0];
      if (a.kind !== 'StringLit') return c.error('kaddr(): the symbol must be a string literal', a.span);
      if (c.opts.target.kernelSymbolAddress(a.value) === undefined) c.error(`Failed to resolve kernel symbol: ${a.value}`, e.span);
      return U64;
    },
    scalar(g, e) {
      const a = e.args[0];
      const r = g.temp(e.span);
      g.a.ldImm64(r, a.kind === 'StringLit' ? (g.target.kernelSymbolAddress(a.value) ?? 0n) : 0n);
      return r;
    },
  },
  ntop: {
    minArgs: 1,
    maxArgs: 2,
    check(c, e) {
      for (const a of e.args) {
        const t = c.type(a);
        if (t.kind !== 'int' && t.kind !== 'string' && t.kind !== 'none') c.error(`ntop(): unsupported argument ${t.kind}`, a.span);
      }
      return { kind: 'inet' };
    },
    store(g, e, dst, size) {
      // layout: u32 family, then 16 address bytes (IPv4 in the first 4)
      g.zero(dst, size);
      const addrExpr = e.args[e.args.length - 1];
      const at = g.type(addrExpr);
      if (e.args.length === 2) {
        const fam = g.scalar(e.args[0]);
        g.a.stx('w', dst.base, dst.off, fam);
        g.release1(fam);
      } else g.a.st('w', dst.base, dst.off, at.kind === 'string' && at.size >= 16 ? 10 : 2);
      if (at.kind === 'int') {
        const v = g.scalar(addrExpr);
        g.a.stx('w', dst.base, dst.off + 4, v);
        g.release1(v);
      } else {
        const src = g.addr(addrExpr);
        g.copy({ base: dst.base, off: dst.off + 4 }, src, Math.min(16, at.kind === 'string' ? at.size : 16));
        g.dropLoc(src);
      }
    },
  },
  signal: {
    minArgs: 1,
    maxArgs: 1,
    unsafe: true,
    check(c, e) {
      const a = e.args[0];
      if (a.kind === 'StringLit') {
        if (signalNumber(a.value) === undefined) c.error(`signal(): unknown signal '${a.value}'`, a.span);
      } else c.int(a, 'signal number');
      return NONE;
    },
    stmt(g, e) {
      const a = e.args[0];
      if (a.kind === 'StringLit') g.a.mov64(R1, signalNumber(a.value) ?? 0);
      else {
        const r = g.scalar(a);
        g.a.mov64(R1, r);
        g.release1(r);
      }
      g.a.call(Helper.send_signal);
    },
  },
  kstack: {
    minArgs: 0,
    maxArgs: 2,
    check: stackCheck('kstack'),
    scalar: (g, e) => stackId(g, false, e.span),
  },
  ustack: {
    minArgs: 0,
    maxArgs: 2,
    check: stackCheck('ustack'),
    store: (g, e, dst) => ustackStore(g, dst, e.span),
  },
  reg: {
    // 'pc' names the instruction pointer on every architecture, as in bpftrace
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const a = e.args[0];
      if (!regsOnly(c, e, 'reg()')) return NONE;
      if (a.kind !== 'StringLit' || c.opts.target.arch.ptRegs[regName(c.opts.target.arch, a.value)] === undefined) {
        return c.error(`reg(): expected a register name in quotes (${Object.keys(c.opts.target.arch.ptRegs).join(', ')})`, a.span);
      }
      return U64;
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      g.a.ldx('dw', r, g.ctx, regOffset(g.target.arch, regName(g.target.arch, (e.args[0] as { value: string }).value)));
      return r;
    },
  },
  strftime: {
    minArgs: 2,
    maxArgs: 2,
    check(c, e) {
      const f = e.args[0];
      c.int(e.args[1], 'strftime() time');
      if (f.kind !== 'StringLit') return c.error('strftime(): the format must be a string literal', f.span);
      return { kind: 'timestamp', format: f.value };
    },
    scalar: (g, e) => g.scalar(e.args[1]),
  },
  nsecs: {
    minArgs: 0,
    maxArgs: 1,
    check(c, e) {
      const a = e.args[0];
      if (a && !(a.kind === 'Identifier' || a.kind === 'Builtin') ) c.error('nsecs(): expected boot, monotonic or tai', a.span);
      return U64;
    },
    scalar(g, e) {
      const a = e.args[0];
      const mode = a && (a.kind === 'Identifier' || a.kind === 'Builtin') ? a.name : 'monotonic';
      return helperValue(g, mode === 'boot' ? Helper.ktime_get_boot_ns : mode === 'tai' ? Helper.ktime_get_tai_ns : Helper.ktime_get_ns, e.span);
    },
  },
  delete: {
    minArgs: 1,
    maxArgs: 3,
    check(c, e) {
      const m = c.mapArg(e.args[0], 'delete');
      const keys = mapArgKeys(e);
      if (m && (m.key === null) !== (keys === null)) c.error(m.key ? `delete(): ${m.name} needs a key` : `delete(): ${m.name} has no keys`, e.span);
      if (keys) keys.forEach((k) => c.type(k));
      // bpftrace 0.26: whether there was an entry to delete (`$gone = delete(@m[k])`, `if (delete(@m[k]))`)
      return BOOL;
    },
    stmt(g, e) {
      g.mapDelete(e.args[0] as Extract<Expr, { kind: 'MapRef' }>, mapArgKeys(e));
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      const mark = g.frameMark;
      g.mapDelete(e.args[0] as Extract<Expr, { kind: 'MapRef' }>, mapArgKeys(e));
      // map_delete_elem: 0 when it deleted an entry, -ENOENT when there was none
      g.a.mov64(r, 0);
      const none = g.a.newLabel('deleted');
      g.a.jne(R0, 0, none);
      g.a.mov64(r, 1);
      g.a.label(none);
      g.release(mark);
      return r;
    },
  },
  has_key: {
    minArgs: 2,
    maxArgs: 3,
    check(c, e) {
      const m = c.mapArg(e.args[0], 'has_key');
      if (m && !m.key) c.error(`call to has_key() expects a map with explicit keys (${m.name} has none)`, e.args[0].span);
      e.args.slice(1).forEach((k) => c.type(k));
      return BOOL;
    },
    scalar: (g, e) => g.mapHasKey(e.args[0] as Extract<Expr, { kind: 'MapRef' }>, e.args.slice(1), e.span),
  },
  len: {
    minArgs: 1,
    maxArgs: 1,
    check(c, e) {
      const m = c.mapArg(e.args[0], 'len');
      if (m && !m.key) c.error('call to len() expects a map with explicit keys (non-scalar map)', e.args[0].span);
      return I64;
    },
    scalar: (g, e) => g.mapLength(e.args[0] as Extract<Expr, { kind: 'MapRef' }>, e.span),
  },
};

/** glibc's strerror() text by errno (0..133); null where glibc has none ("Unknown error N"). */
const ERRNO_TEXT: readonly (string | null)[] = [
  'Success', 'Operation not permitted', 'No such file or directory', 'No such process', 'Interrupted system call',
  'Input/output error', 'No such device or address', 'Argument list too long', 'Exec format error',
  'Bad file descriptor', 'No child processes', 'Resource temporarily unavailable', 'Cannot allocate memory',
  'Permission denied', 'Bad address', 'Block device required', 'Device or resource busy', 'File exists',
  'Invalid cross-device link', 'No such device', 'Not a directory', 'Is a directory', 'Invalid argument',
  'Too many open files in system', 'Too many open files', 'Inappropriate ioctl for device', 'Text file busy',
  'File too large', 'No space left on device', 'Illegal seek', 'Read-only file system', 'Too many links',
  'Broken pipe', 'Numerical argument out of domain', 'Numerical result out of range', 'Resource deadlock avoided',
  'File name too long', 'No locks available', 'Function not implemented', 'Directory not empty',
  'Too many levels of symbolic links', null, 'No message of desired type', 'Identifier removed',
  'Channel number out of range', 'Level 2 not synchronized', 'Level 3 halted', 'Level 3 reset',
  'Link number out of range', 'Protocol driver not attached', 'No CSI structure available', 'Level 2 halted',
  'Invalid exchange', 'Invalid request descriptor', 'Exchange full', 'No anode', 'Invalid request code',
  'Invalid slot', null, 'Bad font file format', 'Device not a stream', 'No data available', 'Timer expired',
  'Out of streams resources', 'Machine is not on the network', 'Package not installed', 'Object is remote',
  'Link has been severed', 'Advertise error', 'Srmount error', 'Communication error on send', 'Protocol error',
  'Multihop attempted', 'RFS specific error', 'Bad message', 'Value too large for defined data type',
  'Name not unique on network', 'File descriptor in bad state', 'Remote address changed',
  'Can not access a needed shared library', 'Accessing a corrupted shared library',
  '.lib section in a.out corrupted', 'Attempting to link in too many shared libraries',
  'Cannot exec a shared library directly', 'Invalid or incomplete multibyte or wide character',
  'Interrupted system call should be restarted', 'Streams pipe error', 'Too many users',
  'Socket operation on non-socket', 'Destination address required', 'Message too long',
  'Protocol wrong type for socket', 'Protocol not available', 'Protocol not supported', 'Socket type not supported',
  'Operation not supported', 'Protocol family not supported', 'Address family not supported by protocol',
  'Address already in use', 'Cannot assign requested address', 'Network is down', 'Network is unreachable',
  'Network dropped connection on reset', 'Software caused connection abort', 'Connection reset by peer',
  'No buffer space available', 'Transport endpoint is already connected', 'Transport endpoint is not connected',
  'Cannot send after transport endpoint shutdown', 'Too many references: cannot splice', 'Connection timed out',
  'Connection refused', 'Host is down', 'No route to host', 'Operation already in progress',
  'Operation now in progress', 'Stale file handle', 'Structure needs cleaning', 'Not a XENIX named type file',
  'No XENIX semaphores available', 'Is a named type file', 'Remote I/O error', 'Disk quota exceeded',
  'No medium found', 'Wrong medium type', 'Operation canceled', 'Required key not available', 'Key has expired',
  'Key has been revoked', 'Key was rejected by service', 'Owner died', 'State not recoverable',
  'Operation not possible due to RF-kill', 'Memory page has hardware error',
];

/** Value types these functions introduce. */
export const VALUE_TYPES: Record<string, NamedValueTypeDef> = {
  macaddr: {
    printfAs: 'string',
    text(raw) {
      const bytes: string[] = [];
      for (let i = 0n; i < 6n; i++) bytes.push(((raw >> (8n * i)) & 0xffn).toString(16).toUpperCase().padStart(2, '0'));
      return bytes.join(':');
    },
  },
  strerror: {
    printfAs: 'string',
    text(raw) {
      const n = BigInt.asIntN(32, raw);
      const known = n >= 0n && n < BigInt(ERRNO_TEXT.length) ? ERRNO_TEXT[Number(n)] : null;
      return known ?? `Unknown error ${n}`;
    },
  },
};

function regName(arch: { ipReg: string }, name: string): string {
  return name === 'pc' ? arch.ipReg : name;
}
