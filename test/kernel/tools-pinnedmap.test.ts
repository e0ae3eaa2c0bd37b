/** bcc's --cgroupmap / --mntnsmap: a pinned hash map of ids decides which processes are traced. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { MapType, mapCreate, mapUpdateElem, objPin } from '../../src/sys/bpf';
import { cgroupId } from '../../src/tools/common/filters';
import { run, runToolToEnd, sleep, startTool } from './tools-harness';

/** A private bpffs mount with one pinned u64 -> u8 hash map; `add` puts a key in. */
function pinnedMap(): { file: string; add(id: bigint): void; close(): void } | string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-bpffs-'));
  const m = spawnSync('mount', ['-t', 'bpf', 'bpf', dir]);
  if (m.status !== 0) {
    fs.rmdirSync(dir);
    return `cannot mount bpffs: ${m.stderr}`;
  }
  const fd = mapCreate({ type: MapType.HASH, keySize: 8, valueSize: 1, maxEntries: 16, name: 'ids' });
  const file = path.join(dir, 'ids');
  objPin(fd, file);
  return {
    file,
    add(id) {
      mapUpdateElem(fd, new Uint8Array(new BigUint64Array([id]).buffer), new Uint8Array([1]));
    },
    close() {
      fs.closeSync(fd);
      spawnSync('umount', [dir]);
      fs.rmdirSync(dir);
    },
  };
}

function cgroup2Root(): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep > 0 && f[sep + 1] === 'cgroup2') return f[4];
  }
  return undefined;
}

/** Opens (failing) of a path nobody else opens, N times from one shell. */
const opens = (p: string, n: number) => `i=0; while [ $i -lt ${n} ]; do true < ${p} 2>/dev/null; i=$((i+1)); done`;

kernelTest('opensnoop --cgroupmap: opens of a process in a cgroup in the map are shown, others not', async (t) => {
  const root = cgroup2Root();
  if (!root) return t.skip('no cgroup v2 hierarchy mounted');
  const dir = path.join(root, `tsbpf-cgmap-${process.pid}`);
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    return t.skip(`cannot create a cgroup: ${(e as Error).message}`);
  }
  const map = pinnedMap();
  if (typeof map === 'string') {
    fs.rmdirSync(dir);
    return t.skip(map);
  }
  const tag = `/nonexistent-tsbpf-cgmap-${process.pid}`;
  const sh = spawn('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs; read x; ${opens(`${tag}-in`, 7)}`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise((res) => sh.on('exit', res));
  const tool = startTool('opensnoop', ['--cgroupmap', map.file]);
  try {
    await tool.waitFor('PATH\n');
    // the key goes in after the tool started: bcc's map may change while it runs
    map.add(cgroupId(dir));
    const outside = await run('/bin/sh', ['-c', opens(`${tag}-out`, 5)]);
    assert.equal(outside.code, 0);
    sh.stdin.end('go\n');
    await exited;
    await sleep(300);
    const r = await tool.stop();
    assert.equal(r.code, 0, r.stderr);
    const inside = r.stdout.split('\n').filter((l) => l.endsWith(`${tag}-in`));
    assert.equal(inside.length, 7, r.stdout);
    assert.ok(inside.every((l) => /^\d+ +sh +-1 +2 /.test(l)), r.stdout);
    assert.ok(!r.stdout.includes(`${tag}-out`), r.stdout);
  } finally {
    sh.kill('SIGKILL');
    tool.child.kill('SIGKILL');
    await exited.catch(() => undefined);
    map.close();
    for (let i = 0; i < 20; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch {
        await sleep(50);
      }
    }
  }
});

kernelTest('opensnoop --mntnsmap: opens in a mount namespace in the map are shown, the host namespace not', async (t) => {
  const map = pinnedMap();
  if (typeof map === 'string') return t.skip(map);
  const tag = `/nonexistent-tsbpf-mntns-${process.pid}`;
  // a shell in a new mount namespace prints that namespace's inode, then opens when told
  const sh = spawn('unshare', ['-m', '/bin/sh', '-c', `readlink /proc/$$/ns/mnt; read x; ${opens(`${tag}-in`, 6)}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((res) => sh.on('exit', res));
  let nsLine = '';
  sh.stdout.setEncoding('utf8');
  sh.stdout.on('data', (d: string) => (nsLine += d));
  const tool = startTool('opensnoop', ['--mntnsmap', map.file]);
  try {
    await tool.waitFor('PATH\n');
    for (let i = 0; i < 500 && !nsLine.includes('\n'); i++) await sleep(20);
    const m = /^mnt:\[(\d+)\]/.exec(nsLine);
    assert.ok(m, `no namespace line: ${nsLine}`);
    assert.notEqual(m[1], /\d+/.exec(fs.readlinkSync('/proc/self/ns/mnt'))![0], 'unshare -m made no new namespace');
    map.add(BigInt(m[1]));
    const outside = await run('/bin/sh', ['-c', opens(`${tag}-out`, 5)]);
    assert.equal(outside.code, 0);
    sh.stdin.end('go\n');
    await exited;
    await sleep(300);
    const r = await tool.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => l.endsWith(`${tag}-in`)).length, 6, r.stdout);
    assert.ok(!r.stdout.includes(`${tag}-out`), r.stdout);
  } finally {
    sh.kill('SIGKILL');
    tool.child.kill('SIGKILL');
    await exited.catch(() => undefined);
    map.close();
  }
});

kernelTest('--cgroupmap / --mntnsmap: a path that is no pinned hash map is refused in one sentence', async () => {
  const r = await runToolToEnd('opensnoop', ['--cgroupmap', '/nonexistent/map']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--cgroupmap: cannot open pinned BPF map \/nonexistent\/map/);
  assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
});

kernelTest('execsnoop --cgroupmap and --mntnsmap: execs of processes whose id is in the map only', async (t) => {
  const root = cgroup2Root();
  if (!root) return t.skip('no cgroup v2 hierarchy mounted');
  const dir = path.join(root, `tsbpf-cgmap-x${process.pid}`);
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    return t.skip(`cannot create a cgroup: ${(e as Error).message}`);
  }
  const cgMap = pinnedMap();
  const nsMap = pinnedMap();
  if (typeof cgMap === 'string' || typeof nsMap === 'string') {
    fs.rmdirSync(dir);
    return t.skip(String(cgMap));
  }
  const tag = `tsbpf-xmap-${process.pid}`;
  // one shell in a new cgroup, one in a new mount namespace; each execs /bin/true three times when told
  const cgSh = spawn('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs; read x; /bin/true ${tag} cg; /bin/true ${tag} cg; /bin/true ${tag} cg`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const nsSh = spawn('unshare', ['-m', '/bin/sh', '-c', `readlink /proc/$$/ns/mnt; read x; /bin/true ${tag} ns; /bin/true ${tag} ns; /bin/true ${tag} ns`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const cgExit = new Promise((res) => cgSh.on('exit', res));
  const nsExit = new Promise((res) => nsSh.on('exit', res));
  let nsLine = '';
  nsSh.stdout.setEncoding('utf8');
  nsSh.stdout.on('data', (d: string) => (nsLine += d));
  const byCg = startTool('execsnoop', ['--cgroupmap', cgMap.file]);
  const byNs = startTool('execsnoop', ['--mntnsmap', nsMap.file]);
  try {
    await byCg.waitFor('ARGS\n');
    await byNs.waitFor('ARGS\n');
    for (let i = 0; i < 500 && !nsLine.includes('\n'); i++) await sleep(20);
    const m = /^mnt:\[(\d+)\]/.exec(nsLine);
    assert.ok(m, `no namespace line: ${nsLine}`);
    cgMap.add(cgroupId(dir));
    nsMap.add(BigInt(m[1]));
    assert.equal((await run('/bin/true', [tag, 'out'])).code, 0);
    cgSh.stdin.end('go\n');
    nsSh.stdin.end('go\n');
    await cgExit;
    await nsExit;
    await sleep(300);
    const a = await byCg.stop();
    const b = await byNs.stop();
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const mine = (s: string) => s.split('\n').filter((l) => l.includes(tag));
    assert.equal(mine(a.stdout).length, 3, a.stdout);
    assert.ok(mine(a.stdout).every((l) => l.endsWith(` /bin/true ${tag} cg `) || l.endsWith(` /bin/true ${tag} cg`)), a.stdout);
    assert.equal(mine(b.stdout).length, 3, b.stdout);
    assert.ok(mine(b.stdout).every((l) => /\/bin\/true tsbpf-xmap-\d+ ns ?$/.test(l)), b.stdout);
  } finally {
    cgSh.kill('SIGKILL');
    nsSh.kill('SIGKILL');
    byCg.child.kill('SIGKILL');
    byNs.child.kill('SIGKILL');
    await cgExit.catch(() => undefined);
    await nsExit.catch(() => undefined);
    cgMap.close();
    nsMap.close();
    for (let i = 0; i < 20; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch {
        await sleep(50);
      }
    }
  }
});
