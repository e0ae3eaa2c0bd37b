import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelTest } from '../helpers/kernel';
import { parseHistRows, run, sections, sleep, startTool, startTwin, twinPath } from './tools-harness';

kernelTest('bitesize: 50 direct 1 MiB writes by dd land in one bucket with count 50, as libbpf-tools bitesize sees them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-bitesize-'));
  const file = path.join(dir, 'data');
  const ours = startTool('bitesize', ['-c', 'dd']);
  const twin = twinPath('bitesize') ? startTwin('bitesize', ['-c', 'dd']) : undefined;
  try {
    await ours.waitFor('Tracing block device I/O... Hit Ctrl-C to end.\n');
    if (twin) await twin.waitFor('Tracing block device I/O');
    await sleep(300);
    const dd = await run('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=50', 'oflag=direct']);
    assert.equal(dd.code, 0, dd.stderr);
    await sleep(300);
    const r = await ours.stop();
    assert.equal(r.code, 0, r.stderr);
    const secs = sections(r.stdout, /^Process Name = (.*)$/);
    assert.deepEqual([...secs.keys()], ['dd'], r.stdout);
    const rows = parseHistRows(secs.get('dd') as string);
    assert.ok([...rows.values()].includes(50), `no bucket with count 50:\n${r.stdout}`);
    assert.match(secs.get('dd') as string, /^ {5}Kbytes {14}: count {4}distribution$/m);
    if (twin) {
      const t = await twin.stop();
      const tr = parseHistRows(sections(t.stdout, /^Process Name = (.*)$/).get('dd') ?? '');
      assert.deepEqual(rows, tr, `ours:\n${r.stdout}\nlibbpf-tools:\n${t.stdout}`);
    }
  } finally {
    ours.child.kill('SIGKILL');
    twin?.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('bitesize: interval and count print two reports and exit by themselves', async () => {
  const r = await startTool('bitesize', ['-T', '1', '2']).done(15000);
  assert.equal(r.code, 0, r.stderr);
  const times = r.stdout.match(/^\d\d:\d\d:\d\d\s*$/gm) ?? [];
  assert.equal(times.length, 2, r.stdout);
});
