/**
 * What a CLI user expects besides running scripts (issue 16, item 4): the man
 * page holds every line that `-h` prints (for tsbpf, each command and each
 * tool, each obtained by running bin/tsbpf), shell completion offers the
 * commands, tools, flags and probe types, and --version names a commit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { collectHelp, renderManPage } from '../../src/cli/manpage';
import { bashScript, completionWords, usageFlags, zshScript } from '../../src/cli/completion';
import { USAGE } from '../../src/cli/args';
import { commandNames } from '../../src/cli/main';
import { toolNames } from '../../src/tools/registry';
import { tsbpfBin } from '../helpers/tsbpf';

function cli(args: string[]): string {
  const r = spawnSync(tsbpfBin, args, { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `tsbpf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

test('the rendered man page holds every line of every -h, as bin/tsbpf prints it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-man-'));
  try {
    const page = path.join(dir, 'tsbpf.1');
    fs.writeFileSync(page, renderManPage(await collectHelp(), 'tsbpf test'));
    const man = spawnSync('man', ['-E', 'ascii', '-l', page], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '200', MANPAGER: 'cat', PAGER: 'cat' } });
    assert.equal(man.status, 0, man.stderr);
    assert.doesNotMatch(man.stderr, /warning/i, 'groff warnings: the page is not clean roff');
    const rendered = squash(spawnSync('col', ['-bx'], { input: man.stdout, encoding: 'utf8' }).stdout);
    const helps: Array<[string, string[]]> = [['tsbpf', ['-h']], ...commandNames().map((c): [string, string[]] => [c, [c, '-h']]),
      ...toolNames().map((t): [string, string[]] => [t, [t, '-h']])];
    assert.ok(helps.length > 20, 'commands and tools are listed');
    for (const [name, args] of helps) {
      const lines = cli(args).split('\n').filter((l) => l.trim() && !/^[A-Z][A-Z ]*:$/.test(l));
      for (const line of lines) assert.ok(rendered.includes(squash(line)), `man page lacks this line of '${name} -h': ${line}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bash completion: commands, tools, tool flags, script flags, flag values, probe types', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsbpf-compl-'));
  try {
    const script = path.join(dir, 'tsbpf.bash');
    fs.writeFileSync(script, cli(['completion', 'bash']));
    // COMP_WORDS as bash splits the line; prints what _tsbpf offers.
    const complete = (...words: string[]): string[] => {
      const q = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
      const r = spawnSync('bash', ['-c', `source ${script}; COMP_WORDS=(tsbpf ${q}); COMP_CWORD=${words.length}; _tsbpf; printf '%s\\n' "\${COMPREPLY[@]}"`],
        { encoding: 'utf8', cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).sort();
    };
    const firstWords = ['tools', ...commandNames(), ...toolNames()];
    const starting = (p: string): string[] => firstWords.filter((w) => w.startsWith(p)).sort();
    assert.ok(starting('bi').includes('bitesize') && starting('pr').includes('prog') && starting('pr').includes('profile'));
    assert.deepEqual(complete('bi'), starting('bi'));
    assert.deepEqual(complete('pr'), starting('pr'));
    assert.deepEqual(complete('compl'), ['completion']);
    assert.deepEqual(complete('bitesize', '--t'), ['--timestamp']);
    assert.deepEqual(complete('--dr'), ['--dry-run']);
    assert.deepEqual(complete('-B', 'f'), ['full']);
    assert.deepEqual(complete('-e', 'tracep'), ['tracepoint:']);
    assert.deepEqual(complete('-e', "'BE"), ["'BEGIN"]);
    assert.deepEqual(complete('-l', 'uretp'), ['uretprobe:']);
    assert.deepEqual(complete('completion', ''), ['bash', 'zsh']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('completion words come from the -h text and the tool specs', () => {
  const w = completionWords();
  assert.deepEqual(usageFlags(USAGE).filter((f) => ['-e', '--dry-run', '--version', '-lv'].includes(f)).sort(), ['--dry-run', '--version', '-e', '-lv']);
  for (const t of toolNames()) assert.ok(w.commands.includes(t), t);
  assert.ok(w.toolFlags.opensnoop.includes('--pid') && w.toolFlags.opensnoop.includes('-p'));
  for (const p of ['BEGIN', 'END', 'tracepoint:', 'kprobe:', 'uprobe:', 'usdt:', 'profile:', 'interval:']) assert.ok(w.probeTypes.includes(p), p);
  // Both scripts name every command; zsh's parses (when zsh is installed).
  for (const s of [bashScript(w), zshScript(w)]) for (const c of w.commands) assert.ok(s.includes(c), c);
  const zsh = spawnSync('zsh', ['-n'], { input: zshScript(w), encoding: 'utf8' });
  if (!zsh.error) assert.equal(zsh.status, 0, zsh.stderr);
});

test('completion with no or an unknown shell is one sentence and exit 1', () => {
  for (const args of [['completion'], ['completion', 'fish']]) {
    const r = spawnSync(tsbpfBin, args, { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tsbpf: completion needs one shell, 'bash' or 'zsh' \(got [^)]*\)\n$/);
  }
});
