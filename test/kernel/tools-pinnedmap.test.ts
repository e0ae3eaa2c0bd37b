/** bcc's --cgroupmap / --mntnsmap: a pinned hash map of ids decides which processes are traced. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { MapType, mapCreate, mapUpdateElem, objPin } from '../../src/sys/bpf';
import { cgroupId } from '../../src/tools/common/filters';
import { buildFixture } from '../helpers/fixtures';
import { run, runToolToEnd, sleep, startTool } from './tools-harness';
import { startFixture } from './tools2-workload';

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

/** A new cgroup v2 directory (removed by close once its processes are gone), or why not. */
function newCgroup(tag: string): { dir: string; close(): Promise<void> } | string {
  const root = cgroup2Root();
  if (!root) return 'no cgroup v2 hierarchy mounted';
  const dir = path.join(root, `tsbpf-${tag}-${process.pid}`);
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    return `cannot create a cgroup: ${(e as Error).message}`;
  }
  return {
    dir,
    async close() {
      for (let i = 0; i < 20; i++) {
        try {
          fs.rmdirSync(dir);
          return;
        } catch {
          await sleep(50);
        }
      }
    },
  };
}

/** Starts a fixture in `cg` (its pid written to cgroup.procs before the exec), in a new mount namespace, or neither. */
const inCgroup = (dir: string) => ['/bin/sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh'];
const mntnsOf = (pid: number) => BigInt(/\d+/.exec(fs.readlinkSync(`/proc/${pid}/ns/mnt`))![0]);

kernelTest('tcpconnect and tcpaccept --cgroupmap / --mntnsmap: connections of the process in the map only, exactly', async (t) => {
  const cg = newCgroup('tcpmap');
  if (typeof cg === 'string') return t.skip(cg);
  const cgMap = pinnedMap();
  const nsMap = pinnedMap();
  if (typeof cgMap === 'string' || typeof nsMap === 'string') {
    await cg.close();
    return t.skip(String(typeof cgMap === 'string' ? cgMap : nsMap));
  }
  // three fixtures, each connecting to its own listener and accepting: 3 in the cgroup, 4 in a new mount namespace, 2 outside
  const inCg = startFixture('tools2_workload', ['tcp', '3'], { wrapper: inCgroup(cg.dir) });
  const inNs = startFixture('tools2_workload', ['tcp', '4'], { wrapper: ['unshare', '-m'] });
  const out = startFixture('tools2_workload', ['tcp', '2']);
  const tools = [
    startTool('tcpconnect', ['--cgroupmap', cgMap.file]), startTool('tcpconnect', ['--mntnsmap', nsMap.file]),
    startTool('tcpaccept', ['--cgroupmap', cgMap.file]), startTool('tcpaccept', ['--mntnsmap', nsMap.file]),
  ];
  try {
    const [pCg, pNs, pOut] = (await Promise.all([inCg.ready(), inNs.ready(), out.ready()])).map(Number);
    assert.ok(pCg > 0 && pNs > 0 && pOut > 0, `ports: ${pCg} ${pNs} ${pOut}`);
    for (const tool of tools) await tool.waitFor('PORT');
    const ns = mntnsOf(inNs.pid);
    assert.notEqual(ns, mntnsOf(process.pid), 'unshare -m made no new namespace');
    cgMap.add(cgroupId(cg.dir));
    nsMap.add(ns);
    assert.deepEqual(await Promise.all([inCg.go(), inNs.go(), out.go()]), [0, 0, 0]);
    await sleep(300);
    const results = [];
    for (const tool of tools) results.push(await tool.stop());
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    // every data line (after the header) is one of the fixture's, with its pid; the port is the last column
    const rows = (s: string) => s.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));
    const expect = (stdout: string, pid: number, port: number, n: number) => {
      const rs = rows(stdout);
      assert.equal(rs.length, n, stdout);
      for (const r of rs) assert.deepEqual([r[0], r[1], r[r.length - 1]], [String(pid), 'tools2_workl', String(port)], stdout);
    };
    expect(results[0].stdout, inCg.pid, pCg, 3);
    expect(results[1].stdout, inNs.pid, pNs, 4);
    expect(results[2].stdout, inCg.pid, pCg, 3);
    expect(results[3].stdout, inNs.pid, pNs, 4);
  } finally {
    for (const w of [inCg, inNs, out]) w.child.kill('SIGKILL');
    for (const tool of tools) tool.child.kill('SIGKILL');
    cgMap.close();
    nsMap.close();
    await cg.close();
  }
});

kernelTest('profile --cgroupmap / --mntnsmap: samples of the process in the map only', async (t) => {
  const cg = newCgroup('profmap');
  if (typeof cg === 'string') return t.skip(cg);
  const cgMap = pinnedMap();
  const nsMap = pinnedMap();
  if (typeof cgMap === 'string' || typeof nsMap === 'string') {
    await cg.close();
    return t.skip(String(typeof cgMap === 'string' ? cgMap : nsMap));
  }
  const spin = buildFixture('conf_work');
  const byCg = startTool('profile', ['-F', '99', '--cgroupmap', cgMap.file]);
  const byNs = startTool('profile', ['-F', '99', '--mntnsmap', nsMap.file]);
  try {
    await byCg.waitFor('Hit Ctrl-C to end.\n');
    await byNs.waitFor('Hit Ctrl-C to end.\n');
    cgMap.add(cgroupId(cg.dir));
    // each spinner burns 600 ms of CPU however busy the machine is; the one in a new mount namespace waits
    // (one process: a shell builtin says when it is there) until its namespace is in the map
    const ns = spawn('unshare', ['-m', '/bin/sh', '-c', `echo ready; read x; exec ${spin} cpuspin 600`], { stdio: ['pipe', 'pipe', 'inherit'] });
    let nsLine = '';
    ns.stdout.setEncoding('utf8');
    ns.stdout.on('data', (d: string) => (nsLine += d));
    const nsExit = new Promise((res) => ns.on('exit', res));
    for (let i = 0; i < 500 && !nsLine.includes('\n'); i++) await sleep(20);
    const inode = mntnsOf(ns.pid!);
    assert.notEqual(inode, mntnsOf(process.pid), 'unshare -m made no new namespace');
    nsMap.add(inode);
    ns.stdin.end('go\n');
    const runs = await Promise.all([
      run('/bin/sh', ['-c', `echo $$ > ${cg.dir}/cgroup.procs && exec ${spin} cpuspin 600`]),
      run(spin, ['cpuspin', '600']),
    ]);
    assert.deepEqual(runs.map((r) => r.code), [0, 0]);
    await nsExit;
    const a = await byCg.stop();
    const b = await byNs.stop();
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    // the "-  comm (pid)" line ending each stack, and the count below it
    const who = (s: string) => [...s.matchAll(/^ {4}- +(\S+) \((\d+)\)\n +(\d+)\n/gm)].map((m) => ({ comm: m[1], pid: Number(m[2]), n: Number(m[3]) }));
    // (before its exec the process may be sampled as the shell, or unshare)
    for (const [r, pid] of [[a, runs[0].pid], [b, ns.pid]] as const) {
      const ws = who(r.stdout);
      assert.ok(ws.some((w) => w.comm === 'conf_work'), `no sample of pid ${pid}:\n${r.stdout}`);
      assert.ok(ws.every((w) => w.pid === pid && ['conf_work', 'sh', 'unshare'].includes(w.comm)), `expected only pid ${pid}:\n${r.stdout}`);
    }
  } finally {
    byCg.child.kill('SIGKILL');
    byNs.child.kill('SIGKILL');
    cgMap.close();
    nsMap.close();
    await cg.close();
  }
});

kernelTest('capable, mountsnoop, bindsnoop, tcptop --cgroupmap: a shell in a cgroup in the map is seen (3 nice -n -1, 2 umounts, a bind and 200 KiB over loopback), the same work outside it not', async (t) => {
  const root = cgroup2Root();
  if (!root) return t.skip('no cgroup v2 hierarchy mounted');
  const dir = path.join(root, `tsbpf-cgmap-n${process.pid}`);
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
  const tag = `/nonexistent-tsbpf-cgmap-n${process.pid}`;
  const portIn = 20000 + (process.pid % 20000);
  const portOut = portIn + 1;
  // a listener on PORT that reads until end, and a client sending 200 KiB to it, in one node process
  const loop = (port: number) => `${process.execPath} -e "const net=require('net');const s=net.createServer((c)=>{c.resume();c.on('end',()=>s.close())});` +
    `s.listen(${port},'127.0.0.1',()=>{const c=net.connect(${port},'127.0.0.1',()=>c.end(Buffer.alloc(204800)))})"`;
  const work = (side: string, nices: number, port: number) =>
    `${Array.from({ length: nices }, () => 'nice -n -1 true').join('; ')}; umount ${tag}-${side}-1 2>/dev/null; umount ${tag}-${side}-2 2>/dev/null; ${loop(port)}`;
  const sh = spawn('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs; read x; ${work('in', 3, portIn)}`], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise((res) => sh.on('exit', res));
  const flags = ['--cgroupmap', map.file];
  const cap = startTool('capable', flags);
  const mnt = startTool('mountsnoop', flags);
  const bind = startTool('bindsnoop', flags);
  const top = startTool('tcptop', ['-C', ...flags, '1']);
  const tools = [cap, mnt, bind, top];
  try {
    await cap.waitFor('AUDIT');
    await mnt.waitFor('CALL\n');
    await bind.waitFor('PORT');
    await top.waitFor('Tracing');
    map.add(cgroupId(dir));
    assert.equal((await run('/bin/sh', ['-c', work('out', 2, portOut)])).code, 0);
    sh.stdin.end('go\n');
    await exited;
    await sleep(2500); // tcptop prints once a second
    const [c, m, b, tt] = [await cap.stop(), await mnt.stop(), await bind.stop(), await top.stop()];
    for (const x of [c, m, b, tt]) assert.equal(x.code, 0, x.stderr);
    assert.equal(c.stdout.split('\n').filter((l) => / nice +23 +CAP_SYS_NICE /.test(l)).length, 3, c.stdout);
    assert.deepEqual(m.stdout.split('\n').filter((l) => l.includes(tag)).map((l) => /umount\("([^"]+)"/.exec(l)?.[1]), [`${tag}-in-1`, `${tag}-in-2`], m.stdout);
    const binds = b.stdout.split('\n').filter((l) => new RegExp(` (${portIn}|${portOut}) `).test(l));
    assert.equal(binds.length, 1, b.stdout);
    assert.match(binds[0], new RegExp(` 127\\.0\\.0\\.1 +${portIn} `), b.stdout);
    assert.ok(!tt.stdout.includes(`:${portOut} `), tt.stdout);
    // the client's row (to :portIn) sent 200 KiB, the server's (on :portIn) received it, over the intervals
    const kb = (re: RegExp, col: number) => tt.stdout.split('\n').filter((l) => re.test(l)).reduce((a, l) => a + Number(l.trim().split(/\s+/)[col]), 0);
    assert.equal(kb(new RegExp(`^\\d+ +node +127\\.0\\.0\\.1:\\d+ +127\\.0\\.0\\.1:${portIn} `), 5), 200, tt.stdout);
    assert.equal(kb(new RegExp(`^\\d+ +node +127\\.0\\.0\\.1:${portIn} `), 4), 200, tt.stdout);
  } finally {
    sh.kill('SIGKILL');
    for (const x of tools) x.child.kill('SIGKILL');
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
