import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { listDisks } from '../../src/tools/common/disks';
import { runToolToEnd, sleep, startTool } from './tools-harness';
import { startWorkload2 } from './tools2-workload';

const N = 24;

kernelTest(`biotop -C -p: ${N} O_DIRECT 4 KiB writes by the fixture are one row: W, its disk, I/O ${N}, Kbytes ${N * 4}`, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-biotop-'));
  const file = path.join(dir, 'blocks');
  const w = startWorkload2('write', N, file);
  try {
    if ((await w.ready()) !== 'ready') {
      t.skip(`O_DIRECT writes are refused in ${os.tmpdir()}`);
      return;
    }
    // The request's device: the disk holding the file (the block tracepoints name the whole disk, not a partition).
    const st = fs.statSync(file);
    const major = Math.floor(st.dev / 256) & 0xfff;
    const minor = (st.dev & 0xff) | ((Math.floor(st.dev / 4096) & 0xfff00));
    const disk = listDisks().find((d) => d.major === major && d.minor === minor);
    if (!disk || fs.existsSync(`/sys/class/block/${disk.name}/partition`)) {
      t.skip(`${os.tmpdir()} is not on a whole block device (device ${major}:${minor})`);
      return;
    }
    // An interval longer than the test: the one report is the final one, on Ctrl-C.
    const ours = startTool('biotop', ['-C', '-p', String(w.pid), '600']);
    try {
      await ours.waitFor('Tracing... Output every 600 secs. Hit Ctrl-C to end\n', 60000);
      await sleep(200);
      assert.equal(await w.go(), 0);
      await sleep(300);
      const r = await ours.stop();
      assert.equal(r.code, 0, r.stderr);
      const m = /^Tracing\.\.\. Output every 600 secs\. Hit Ctrl-C to end\n\n\d\d:\d\d:\d\d loadavg: [\d.]+ [\d.]+ [\d.]+ \d+\/\d+ \d+\n\n(PID .*\n)((?:.*\n)*)Detaching\.\.\.\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.equal(m[1], 'PID     COMM             D MAJ MIN DISK       I/O  Kbytes  AVGms\n');
      // Every row is the fixture's; besides its writes it may read a page of its own program or a
      // library not yet in the page cache (a fresh build: an R row), so the W row is judged alone.
      const rows = m[2].split('\n').filter(Boolean);
      for (const row of rows) assert.match(row, new RegExp(`^${w.pid} +tools2_workload +[RW] `), r.stdout);
      const writes = rows.filter((row) => / W /.test(row));
      assert.equal(writes.length, 1, r.stdout);
      const lead = `${String(w.pid).padEnd(7)} tools2_workload  W ${String(major).padEnd(3)} ${String(minor).padEnd(3)} ${disk.name.padEnd(8)} ${String(N).padStart(5)} ${String(N * 4).padStart(7)} `;
      assert.ok(writes[0].startsWith(lead), `${writes[0]}\n${lead}`);
      assert.match(writes[0].slice(lead.length), /^ *\d+\.\d\d$/);
    } finally {
      ours.child.kill('SIGKILL');
    }
  } finally {
    w.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('biotop: -r limits the rows; interval and count end it by itself with "Detaching..."; --ebpf prints the program', async () => {
  const r = await runToolToEnd('biotop', ['-C', '-r', '1', '1', '2'], 60000);
  assert.equal(r.code, 0, r.stderr);
  const reports = r.stdout.split('\nPID     COMM ').length - 1;
  assert.equal(reports, 2, r.stdout);
  for (const part of r.stdout.split(/\n(?=PID {5}COMM)/).slice(1)) assert.ok(part.split('\n').filter((l) => /^\d+ /.test(l)).length <= 1, r.stdout);
  assert.match(r.stdout, /Detaching\.\.\.\n$/);
  const e = await runToolToEnd('biotop', ['--ebpf', '-p', '7']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /tracepoint:block:block_rq_complete\n/);
  assert.match(e.stdout, /if \(\$pid == 7\)/);
});
