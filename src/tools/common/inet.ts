/**
 * What the TCP tools share: the sock:inet_sock_set_state event carried as
 * printf integers (addresses byte by byte, since the compiler's ntop() does
 * not take tracepoint arrays), TCP state names, and port-list flags.
 */
import { inetNtop, type Value } from '../../runtime/values';
import { intOf, strOf } from './script';
import { ToolError } from '../tool';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;

/** include/net/tcp_states.h, as bcc's tcp.state2str names them. */
export const TCP_STATES: Record<number, string> = {
  1: 'ESTABLISHED', 2: 'SYN_SENT', 3: 'SYN_RECV', 4: 'FIN_WAIT1', 5: 'FIN_WAIT2', 6: 'TIME_WAIT', 7: 'CLOSE',
  8: 'CLOSE_WAIT', 9: 'LAST_ACK', 10: 'LISTEN', 11: 'CLOSING', 12: 'NEW_SYN_RECV',
};
export const TCP_SYN_SENT = 2;
export const TCP_CLOSE = 7;

export function tcpStateName(n: number): string {
  return TCP_STATES[n] ?? `UNKNOWN(${n})`;
}

/** `expr[0], expr[1], ...`: an address array field as printf arguments. */
export function byteArgs(expr: string, len: number): string[] {
  return Array.from({ length: len }, (_, i) => `${expr}[${i}]`);
}

/** The address printed by byteArgs, from decoded values starting at `from`. */
export function addrFromBytes(v: readonly Value[], from: number, len: number): string {
  return inetNtop(Uint8Array.from(v.slice(from, from + len).map((x) => Number(intOf(x) & 0xffn))));
}

/** An IPv4 address read as a host-order u32 from a __be32 field (x86 is little-endian). */
export function ipv4FromBe32(n: bigint | number): string {
  const x = Number(BigInt(n) & 0xffffffffn);
  return [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24].join('.');
}

/** A port stored in network order, read as a host-order u16. */
export function portFromBe16(n: bigint | number): number {
  const x = Number(BigInt(n) & 0xffffn);
  return ((x & 0xff) << 8) | (x >> 8);
}

/** "80,81" lists (bcc's -P/-L/-D): ToolError for anything but ports. */
export function parsePorts(list: readonly string[], flag: string): number[] {
  return list.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) > 65535) throw new ToolError(`${flag}: '${p}' is not a port number (0-65535)`);
    return Number(p);
  });
}

/**
 * sock:inet_sock_set_state as one printf per family: skaddr, pid, old and new
 * state, sport, dport, then the source and destination address bytes, comm
 * last. `extra` integer expressions go between dport and the addresses.
 */
export interface StateEventFormats {
  v4: string;
  v6: string;
}

export function stateEventFormats(tag: string, extra = 0): StateEventFormats {
  const ints = (n: number) => '%d '.repeat(n);
  return { v4: `${tag}4 ${ints(6 + extra + 8)}%s\n`, v6: `${tag}6 ${ints(6 + extra + 32)}%s\n` };
}

/** The printf statements for stateEventFormats, switching on args->family. */
export function stateEventPrintf(f: StateEventFormats, pidExpr: string, commExpr: string, extra: string[] = []): string {
  const head = ['args->skaddr', pidExpr, 'args->oldstate', 'args->newstate', 'args->sport', 'args->dport', ...extra];
  const v4 = [...head, ...byteArgs('args->saddr', 4), ...byteArgs('args->daddr', 4), commExpr];
  const v6 = [...head, ...byteArgs('args->saddr_v6', 16), ...byteArgs('args->daddr_v6', 16), commExpr];
  const esc = (s: string) => s.replace('\n', '\\n');
  return `if (args->family == ${AF_INET}) {\n    printf("${esc(f.v4)}", ${v4.join(', ')});\n  } else {\n    printf("${esc(f.v6)}", ${v6.join(', ')});\n  }`;
}

export interface StateEvent {
  skaddr: bigint;
  pid: number;
  oldstate: number;
  newstate: number;
  sport: number;
  dport: number;
  extra: bigint[];
  family: 4 | 6;
  saddr: string;
  daddr: string;
  comm: string;
}

/** Decodes an event printed by stateEventPrintf (undefined for other formats). */
export function decodeStateEvent(f: StateEventFormats, format: string, v: readonly Value[], extra = 0): StateEvent | undefined {
  const family = format === f.v4 ? 4 : format === f.v6 ? 6 : 0;
  if (!family) return undefined;
  const len = family === 4 ? 4 : 16;
  const n = (i: number) => Number(intOf(v[i]));
  const a = 6 + extra;
  return {
    skaddr: intOf(v[0]), pid: n(1), oldstate: n(2), newstate: n(3), sport: n(4), dport: n(5),
    extra: v.slice(6, a).map((x) => intOf(x)), family,
    saddr: addrFromBytes(v, a, len), daddr: addrFromBytes(v, a + len, len), comm: strOf(v[v.length - 1]),
  };
}

/** An IPv6 address read as two little-endian 64-bit halves (low address bytes first). */
export function ipv6FromHalves(first: bigint, second: bigint): string {
  const b = new Uint8Array(16);
  [first, second].forEach((h, i) => {
    let x = BigInt.asUintN(64, h);
    for (let j = 0; j < 8; j++, x >>= 8n) b[i * 8 + j] = Number(x & 0xffn);
  });
  return inetNtop(b);
}

/**
 * tsbpf expressions reading an in6_addr member (e.g. `$sk->__sk_common.skc_v6_rcv_saddr`) as the two 64-bit
 * halves ipv6FromHalves takes, element by element (a struct cast at a computed address would be read as user
 * memory in a syscalls:* probe).
 */
export function in6Halves(member: string): [string, string] {
  const w = (i: number) => `(uint64)${member}.in6_u.u6_addr32[${i}]`;
  return [`(${w(0)} | (${w(1)} << 32))`, `(${w(2)} | (${w(3)} << 32))`];
}
