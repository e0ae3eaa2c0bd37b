// Event lines of both output modes; strings follow bpftrace 0.17's output.cpp and captures.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createOutput, jsonMessage } from '../../src/runtime/format';
import { jsonEscape } from '../../src/runtime/values';

test('attached probes and lost events, text', () => {
  const t = createOutput('text');
  assert.equal(t.attachedProbes(1), 'Attaching 1 probe...\n');
  assert.equal(t.attachedProbes(3), 'Attaching 3 probes...\n');
  assert.equal(t.lostEvents(12), 'Lost 12 events\n');
  assert.equal(t.exitPreamble(), '\n\n');
});

test('attached probes and lost events, json', () => {
  const j = createOutput('json');
  assert.equal(j.attachedProbes(1), '{"type": "attached_probes", "count": 1, "data": {"probes": 1}}\n');
  assert.equal(j.lostEvents(12n), '{"type": "lost_events", "count": 12, "data": {"events": 12}}\n');
  assert.equal(j.exitPreamble(), '\n\n');
});

test('join/cat/system lines', () => {
  const t = createOutput('text'), j = createOutput('json');
  assert.equal(t.join('a b c'), 'a b c\n');
  assert.equal(j.join('a b c'), '{"type": "join", "data": "a b c"}\n');
  assert.equal(t.cat('x\n'), 'x\n');
  assert.equal(j.cat('x\n'), '{"type": "cat", "data": "x\\n"}\n');
  assert.equal(j.syscall('out'), '{"type": "syscall", "data": "out"}\n');
  assert.equal(j.helperError('map_update_elem', -7, 3, 5),
    '{"type": "helper_error", "helper": "map_update_elem", "retcode": -7, "line": 3, "col": 5}\n');
});

test('json escaping: quotes, backslashes, control characters; UTF-8 passes through', () => {
  assert.equal(jsonEscape('a"b\\c\n\r\t\x01\x1f\x7f'), 'a\\"b\\\\c\\n\\r\\t\\u0001\\u001f\x7f');
  assert.equal(jsonEscape('héllo'), 'héllo');
  assert.equal(jsonMessage('printf', 'x'), '{"type": "printf", "data": "x"}\n');
  assert.doesNotThrow(() => JSON.parse(jsonMessage('printf', '\x00\x02"\\é')));
});
