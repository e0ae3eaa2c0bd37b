/**
 * Pointer types end to end (issue 19; features F78, F79, F79b, S35): a
 * pointer carries its pointee type from a cast, from BTF and from a
 * tracepoint's format; `*p`, `p->m`, `p.m`, `p[i]` read through it with
 * bpf_probe_read_user or _kernel by address space; `p + n` and `p++` move by
 * elements; pointers print in hex. Ground truth: test/fixtures/pointers.c
 * passes a struct with values derived from the number the test sends, and
 * makes the syscalls the test asks for; outputs are compared with bpftrace
 * 0.17 and 0.23 where they support the script.
 */
import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runTsbpf, type RunResult } from '../helpers/tsbpf';
import { buildFixture } from '../helpers/fixtures';
import { bpftrace017, bpftrace023, peerAvailable, runPeer, type Peer } from '../helpers/peers';

/** The lines of `r.stdout` that start with `prefix` (the fixture's own "ok" lines and the map dump are left out). */
function lines(r: RunResult, prefix: string): string[] {
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.startsWith(prefix));
}

/** Runs the script on tsbpf and on the peers that can run here, with the fixture as -c command fed `input`. */
async function everywhere(script: string, input: string, peers: Peer[]): Promise<Map<string, RunResult>> {
  const cmd = buildFixture('pointers');
  const out = new Map<string, RunResult>();
  out.set('tsbpf', await runTsbpf(['-c', cmd, '-e', script], { input }));
  for (const p of peers) if (peerAvailable(p)) out.set(p.name, await runPeer(p, ['-c', cmd, '-e', script], { input }));
  return out;
}

const POINT = 'struct point { int x; int y; long z; char name[8]; struct point *next; }';

kernelTest('lang pointers: a uprobe reads a struct through casts, *, ->, [] and pointer arithmetic (as bpftrace 0.17 and 0.23)', async () => {
  const bin = buildFixture('pointers');
  const script = `${POINT}
    uprobe:${bin}:tsbpf_point {
      $p = (struct point *)arg0;
      printf("P %d %d %ld %s %d %d %d %d\\n", *(int32 *)arg0, $p->y, ((struct point *)arg0)->z, $p->name,
             $p->next->y, ((int32 *)arg1)[2], *((int32 *)arg1 + 3), (*$p).x);
    }`;
  const want = [5, 7].map((k) => `P ${k} ${-3 * k} ${BigInt(k) * 1000000007n} pt${k} ${k + 100} ${k + 2} ${k + 3} ${k}`);
  for (const [who, r] of await everywhere(script, 'point 5\npoint 7\n', [bpftrace017, bpftrace023])) {
    assert.deepEqual(lines(r, 'P '), want, `${who}: ${r.stdout}\n${r.stderr}`);
  }
});

kernelTest('lang pointers: `.` follows a pointer (0.25+), & takes a member address, sizeof the pointee', async () => {
  const bin = buildFixture('pointers');
  const r = await runTsbpf(['-c', bin, '-e', `${POINT}
    uprobe:${bin}:tsbpf_point {
      $p = (struct point *)arg0;
      printf("D %d %d %s %d %d %d %d\\n", $p.y, $p.next.y, $p.next.name, (uint64)&$p->z - arg0, (uint64)&$p->next->y - (uint64)$p->next,
             sizeof(*$p), sizeof($p->name));
    }`], { input: 'point 9\n' });
  assert.deepEqual(lines(r, 'D '), ['D -27 109 next 8 4 32 8']);
});

kernelTest('lang pointers: pointer arithmetic is scaled by the pointee size and pointers print in hex (bpftrace 0.23)', async () => {
  const script = 'BEGIN { @a = (int32 *)0x32; @a++; $p = (int16 *)0x10; @b = $p + 3; $p += 2; @c = $p; @d = 1 + (struct point *)0; @e = (int64 *)0x100 - 2; @k[(uint8 *)7] = 1; @t = ((int8 *)5, 1); exit(); }';
  const want = ['@a: 0x36', '@b: 0x16', '@c: 0x14', '@d: 0x20', '@e: 0xf0', '@k[0x7]: 1', '@t: (0x5, 1)'];
  const r = await runTsbpf(['-e', `${POINT} ${script}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('@')), want);
  if (peerAvailable(bpftrace023)) {
    // 0.17 prints pointer map values in decimal (@a: 54); 0.23 and 0.26 print them in hex
    const b = await runPeer(bpftrace023, ['-e', `${POINT} ${script}`]);
    assert.deepEqual(b.stdout.split('\n').filter((l) => l.startsWith('@')), want, b.stderr);
  }
});

kernelTest('lang pointers: typed tracepoint pointer fields: args.rqtp->tv_nsec, args.uservaddr->sa_family, *(args.buf + 8)', async () => {
  // syscall tracepoint pointer arguments point into the caller's memory: read with bpf_probe_read_user
  const script = `
    tracepoint:syscalls:sys_enter_nanosleep /pid == cpid/ { printf("N %d %d\\n", args.rqtp->tv_sec, args.rqtp->tv_nsec); }
    tracepoint:syscalls:sys_enter_connect /pid == cpid/ {
      printf("C %d %d\\n", args.uservaddr->sa_family, bswap(((struct sockaddr_in *)args.uservaddr)->sin_port));
    }
    tracepoint:syscalls:sys_enter_write /pid == cpid && args.count == 16/ { printf("W %c%c %d\\n", *(args.buf + 8), args.buf[10], *args.buf); }`;
  const input = 'nanosleep 123456\nnanosleep 7000\nconnect 9\nwrite\n';
  const want = ['N 0 123456', 'N 0 7000', 'C 2 9', 'W 8a 48'];
  for (const [who, r] of await everywhere(script.replace(/args\./g, 'args->'), input, [bpftrace017, bpftrace023])) {
    assert.deepEqual(r.stdout.split('\n').filter((l) => /^[NCW] /.test(l)), want, `${who}: ${r.stdout}\n${r.stderr}`);
  }
  // `args.` (0.19+ syntax) reads the same
  const r = await runTsbpf(['-c', buildFixture('pointers'), '-e', script], { input });
  assert.deepEqual(r.stdout.split('\n').filter((l) => /^[NCW] /.test(l)), want, r.stderr);
});

kernelTest('lang pointers: dereferencing what is not a pointer, or a void pointer, is one sentence', async () => {
  for (const [script, msg] of [
    ['BEGIN { @ = *1; }', /cannot dereference int64: it is not a pointer/],
    ['BEGIN { $v = (void *)8; @ = *$v; }', /cannot dereference void \*/],
    ['BEGIN { @ = ((struct nosuchstruct_x *)8)->a; }', /unknown type: struct nosuchstruct_x/],
    ['BEGIN { @ = (int32 *)1 - (int32 *)2; }', /cannot be used on two pointers/],
  ] as const) {
    const r = await runTsbpf(['-e', script]);
    assert.equal(r.code, 1, script);
    assert.match(r.stderr, msg, script);
    assert.doesNotMatch(r.stderr, /internal|at .*\.js/, script);
  }
});

kernelTest('lang types: -lv prints kernel structs, unions and enums as C (bitfields, anonymous members, padding) like bpftrace', async () => {
  const ts = await runTsbpf(['-lv', 'struct __kernel_timespec']);
  assert.equal(ts.code, 0, ts.stderr);
  // bpftrace 0.26 names the BTF a definition comes from (`vmlinux: struct X {`); 0.17 and 0.23 did not
  assert.equal(ts.stdout, 'vmlinux: struct __kernel_timespec {\n\t__kernel_time64_t tv_sec;\n\tlong long int tv_nsec;\n};\n\n');
  const names = await runTsbpf(['-l', 'struct task_struct*']);
  assert.ok(names.stdout.split('\n').includes('struct task_struct'), names.stdout);
  for (const type of ['struct task_struct', 'union bpf_attr', 'struct sk_buff', 'enum pid_type']) {
    const r = await runTsbpf(['-lv', type]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^vmlinux: ${type} \\{\\n`));
    for (const p of [bpftrace017, bpftrace023]) {
      if (peerAvailable(p)) assert.equal(r.stdout.replace(/^vmlinux: /, ''), (await runPeer(p, ['-lv', type])).stdout, `${p.name}: ${type}`);
    }
  }
});

kernelTest('lang pointers: macaddr() of a user buffer prints its first 6 bytes as AA:BB:CC:DD:EE:FF (as bpftrace 0.17 and 0.23)', async () => {
  const script = 'tracepoint:syscalls:sys_enter_write /pid == cpid && args->count == 16/ { printf("M %s %s\\n", macaddr(args->buf), macaddr(args->buf + 10)); }';
  for (const [who, r] of await everywhere(script, 'write\n', [bpftrace017, bpftrace023])) {
    assert.deepEqual(lines(r, 'M '), ['M 30:31:32:33:34:35 61:62:63:64:65:66'], `${who}: ${r.stdout}\n${r.stderr}`);
  }
});
