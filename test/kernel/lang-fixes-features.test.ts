/**
 * Cheap bpftrace features of issues 19-20, each through bin/tsbpf against
 * what the kernel or bpftrace's documentation says: unit periods
 * (interval:1s, profile:10ms: P26-P27), ncpus, C constants.
 */
import assert from 'node:assert/strict';
import { kernelTest, skipInVmWithout } from '../helpers/kernel';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { runTsbpf } from '../helpers/tsbpf';

async function out(script: string): Promise<string> {
  const r = await runTsbpf(['-e', script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\n+$/, '\n');
}

kernelTest('interval:100ms and profile:10ms (P26, P27) are interval:ms:100 and profile:ms:10', async () => {
  const o = await out('interval:100ms { @n++; if (@n == 3) { printf("%s\\n", probe); exit(); } } profile:10ms { @p[probe] = count(); }');
  assert.match(o, /^interval:ms:100$/m);
  assert.match(o, /^@n: 3$/m);
  assert.match(o, /^@p\[profile:ms:10\]: \d+$/m);
  const bad = await runTsbpf(['-e', 'interval:1x { exit(); }']);
  assert.equal(bad.code, 1);
});

kernelTest('ncpus is the number of possible CPUs (/sys/devices/system/cpu/possible), in BEGIN and in a probe', async () => {
  const possible = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim().split(',')
    .reduce((n, part) => { const [a, b] = part.split('-').map(Number); return n + (b === undefined ? 1 : b - a + 1); }, 0);
  // the interval may fire before BEGIN runs: it waits for BEGIN's flag (an exit() first would drop BEGIN's line)
  const o = await out('BEGIN { printf("begin %d\\n", ncpus); @began = 1; } interval:ms:10 /@began/ { printf("probe %d\\n", ncpus); exit(); }');
  assert.match(o, new RegExp(`^begin ${possible}\nprobe ${possible}\n`));
});

/** An enumerator's value as bpftool reads it from the kernel's BTF (independent of the project's BTF reader). */
function bpftoolEnumerator(name: string): bigint {
  const dump = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = new RegExp(`'${name}' val=(-?\\d+)`).exec(dump);
  assert.ok(m, name);
  return BigInt(m[1]);
}

kernelTest('C constants (issue 19 item 2): kernel enumerators from BTF, uapi #defines from the built-in table, with /usr/include hidden', async () => {
  const want = ['TCP_ESTABLISHED', 'SKB_DROP_REASON_NOT_SPECIFIED', 'TASK_COMM_LEN'].map(bpftoolEnumerator);
  const script = 'BEGIN { printf("%d %d %d|%d %d %d %d %d %d %d\\n", TCP_ESTABLISHED, SKB_DROP_REASON_NOT_SPECIFIED, TASK_COMM_LEN, '
    + 'AF_INET, AF_INET6, IPPROTO_UDP, SOCK_DGRAM, ENOENT, O_CREAT, SIGKILL); exit(); }';
  const expected = `${want.join(' ')}|2 10 17 2 2 64 9\n`;
  assert.equal(await out(script), expected);
  // no headers at all: a private mount namespace with an empty /usr/include
  const r = await runTsbpf(['-e', script], { wrap: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /usr/include && exec "$0" "$@"'] });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.replace(/\n+$/, '\n'), expected);
  const bad = await runTsbpf(['-e', 'BEGIN { print(NO_SUCH_CONSTANT_X); }']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown identifier: NO_SUCH_CONSTANT_X/);
});

kernelTest('C constants filter real events: a child\'s one AF_INET SOCK_DGRAM socket() is counted once', async (t) => {
  if (skipInVmWithout(t, 'python3')) return;
  const r = await runTsbpf(['-c', `python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM); socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)'`, '-e',
    'tracepoint:syscalls:sys_enter_socket /pid == cpid && args.family == AF_INET && (args.type & 0xf) == SOCK_DGRAM/ { @inet = count(); } '
    + 'tracepoint:syscalls:sys_enter_socket /pid == cpid && args.family == AF_INET6/ { @inet6 = count(); }']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^@inet: 1$/m);
  assert.match(r.stdout, /^@inet6: 1$/m);
});

kernelTest('sizeof(struct task_struct) and sizeof(union bpf_attr) are their BTF sizes (as bpftool reads them)', async () => {
  const dump = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const size = (kind: string, name: string): string => new RegExp(`\\] ${kind} '${name}' size=(\\d+)`).exec(dump)?.[1] ?? 'missing';
  assert.equal(await out('BEGIN { printf("%d %d\\n", sizeof(struct task_struct), sizeof(union bpf_attr)); exit(); }'),
    `${size('STRUCT', 'task_struct')} ${size('UNION', 'bpf_attr')}\n`);
  const bad = await runTsbpf(['-e', 'BEGIN { print(sizeof(struct no_such_struct_x)); }']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown type: struct no_such_struct_x/);
});

kernelTest('bswap swaps the bytes of an integer of its own width', async () => {
  assert.equal(await out('BEGIN { printf("%x %x %lx %x\\n", bswap((uint16)0x1234), bswap((uint32)0x12345678), bswap(0x0102030405060708), bswap((uint8)7)); exit(); }'),
    '3412 78563412 807060504030201 7\n');
});

kernelTest('cgroupid("DIR") is the id bpf_get_current_cgroup_id gives a process in that cgroup v2 directory', async (t) => {
  const root = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => { try { return fs.statfsSync(d).type === 0x63677270; } catch { return false; } });
  if (!root) return t.skip('no cgroup v2 hierarchy mounted');
  const dir = fs.mkdtempSync(`${root}/tsbpf-cgroupid-`);
  try {
    // the command moves itself into the fresh cgroup, then exits: one exit_group there, nobody else's
    const r = await runTsbpf(['-c', `/bin/sh -c 'echo $$ > ${dir}/cgroup.procs && exec /bin/true'`, '-e',
      `tracepoint:syscalls:sys_enter_exit_group /cgroup == cgroupid("${dir}")/ { @exits = count(); }`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^@exits: 1$/m);
  } finally {
    fs.rmdirSync(dir);
  }
  const bad = await runTsbpf(['-e', 'BEGIN { print(cgroupid("/tmp")); }']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /cgroupid\(\): \/tmp is not on a cgroup v2 file system/);
});
