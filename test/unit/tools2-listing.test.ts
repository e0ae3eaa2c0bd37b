import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getTool, toolNames, toolsHelp } from '../../src/tools/registry';
import { TOOL_CATEGORIES } from '../../src/tools/tool';

test('tsbpf tools: every tool is listed once, under its chapter, chapters in the book\'s order', () => {
  const text = toolsHelp();
  const names = toolNames();
  assert.match(text, new RegExp(`^tsbpf tools \\(${names.length}; `));
  for (const n of names) {
    const t = getTool(n);
    assert.ok(t && t.category in TOOL_CATEGORIES, n);
    assert.equal(text.split('\n').filter((l) => l.startsWith(`  ${n} `)).length, 1, n);
  }
  const titles = text.split('\n').slice(1).filter((l) => /^\S.*:$/.test(l)).map((l) => l.slice(0, -1));
  const order = Object.values(TOOL_CATEGORIES) as string[];
  assert.deepEqual(titles, order.filter((t) => titles.includes(t)));
  // Each tool sits under its own chapter's title.
  const under = new Map<string, string>();
  let cur = '';
  for (const l of text.split('\n')) {
    if (/^[A-Z][^(]*:$/.test(l)) cur = l.slice(0, -1);
    else if (l.startsWith('  ')) under.set(l.trim().split(/\s+/)[0], cur);
  }
  for (const n of names) assert.equal(under.get(n), TOOL_CATEGORIES[getTool(n)!.category], n);
  assert.equal(under.get('killsnoop'), 'Languages and applications');
});
