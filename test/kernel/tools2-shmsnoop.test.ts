import assert from 'node:assert/strict';
import { kernelTest } from '../helpers/kernel';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

kernelTest('shmsnoop -p: 3 rounds of shmget/shmat/shmdt/shmctl by the fixture are 12 rows, decoded with the ids and addresses it got', async () => {
  const w = startWorkload2('shm', 3);
  const ours = startTool('shmsnoop', ['-p', String(w.pid)]);
  try {
    await ours.waitFor('PID    COMM                SYS              RET ARGs\n');
    await sleep(200);
    const out: string[] = [];
    w.child.stdout?.on('data', (d: Buffer | string) => out.push(String(d)));
    assert.equal(await w.go(), 0);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const rounds = out.join('').trim().split('\n').map((l) => l.split(' '));
    assert.equal(rounds.length, 3);
    const head = (sys: string, ret: string) => `${String(w.pid).padEnd(6)} ${'tools2_workload'.padEnd(16)} ${sys.padStart(6)} ${ret.padStart(16)} `;
    const want = rounds.flatMap(([id, addr]) => [
      `${head('SHMGET', id)}key: 0x0, size: 4096, shmflg: 0x380 (IPC_CREAT|0600)`,
      `${head('SHMAT', addr)}shmid: 0x${id}, shmaddr: 0x0, shmflg: 0x1000 (SHM_RDONLY)`,
      `${head('SHMDT', '0')}shmaddr: 0x${addr}`,
      `${head('SHMCTL', '0')}shmid: 0x${id}, cmd: 0 (IPC_RMID), buf: 0x0`,
    ]);
    assert.deepEqual(r.stdout.split('\n').slice(1).filter(Boolean), want);
  } finally {
    w.child.kill('SIGKILL');
    ours.child.kill('SIGKILL');
  }
});

kernelTest('shmsnoop --ebpf prints its program; -p with -t is one sentence', async () => {
  const e = await runToolToEnd('shmsnoop', ['--ebpf']);
  assert.match(e.stdout, /^tracepoint:syscalls:sys_enter_shmget\n/);
  const bad = await runToolToEnd('shmsnoop', ['-p', '1', '-t', '2']);
  assert.equal(bad.stderr, 'tsbpf: -p and -t are mutually exclusive\n');
});
