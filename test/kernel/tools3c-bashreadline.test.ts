import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { run, runToolToEnd, sleep, startTool, startTwin, twinPath } from './tools-harness';

const HEADER = 'TIME      PID     COMMAND\n';

/** TIME PID COMMAND rows: [pid, command]. */
const rowsOf = (out: string) => out.slice(out.indexOf(HEADER) + HEADER.length).split('\n').filter((l) => l !== '').map((l) => {
  const m = /^\d\d:\d\d:\d\d +(\d+) +(.*)$/.exec(l);
  assert.ok(m, l);
  return [m[1], m[2]];
});

kernelTest('bashreadline: an interactive bash (on a pty, through script) reads 4 known lines; each prints once with its pid, as libbpf-tools\' twin prints them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-bashrl-'));
  const tag = `${process.pid}_${Date.now()}`;
  const pidFile = path.join(dir, 'pid');
  const lines = [`echo $$ > ${pidFile}`, `echo tsbpf_one_${tag}`, `: tsbpf_two_${tag} "quoted words"`, 'exit'];
  const ours = startTool('bashreadline', []);
  const twin = twinPath('bashreadline') ? startTwin('bashreadline', []) : undefined;
  try {
    await ours.waitFor(HEADER);
    if (twin) await twin.waitFor('COMMAND');
    await sleep(200);
    // script gives bash a terminal, so it is interactive and uses readline; its input is our lines.
    const sh = spawn('script', ['-qec', 'bash --norc --noprofile -i', '/dev/null'], { stdio: ['pipe', 'ignore', 'inherit'] });
    sh.stdin?.end(lines.join('\n') + '\n');
    const code = await new Promise<number | null>((res) => sh.on('exit', res));
    assert.equal(code, 0);
    const bashPid = fs.readFileSync(pidFile, 'utf8').trim();
    assert.match(bashPid, /^\d+$/);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const mine = rowsOf(r.stdout).filter(([pid]) => pid === bashPid);
    assert.deepEqual(mine, lines.map((l) => [bashPid, l]), r.stdout);
    if (twin) {
      const t = await twin.stop();
      assert.deepEqual(rowsOf(t.stdout).filter(([pid]) => pid === bashPid), mine, t.stdout);
    }
  } finally {
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('bashreadline --ebpf: the uretprobe on /bin/bash\'s readline; -s naming no file is one sentence', async () => {
  const e = await runToolToEnd('bashreadline', ['--ebpf']);
  assert.equal(e.code, 0, e.stderr);
  const nm = await run('nm', ['-D', '/bin/bash']);
  const sym = /\bT readline_internal_teardown$/m.test(nm.stdout) ? 'readline_internal_teardown' : 'readline';
  assert.match(e.stdout, new RegExp(`^uretprobe:/bin/bash:${sym} /retval != 0 && comm == "bash"/\\n`));
  const bad = await runToolToEnd('bashreadline', ['-s', '/nonexistent/libreadline.so']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'tsbpf: /nonexistent/libreadline.so does not exist\n');
});
