/**
 * Test helpers: a strict XML well-formedness checker (enough of XML 1.0 for
 * what the renderer emits, and stricter than browsers) and a reader for the
 * frames of a rendered flame graph.
 */
import * as assert from 'node:assert/strict';

const NAME = /^[A-Za-z_:][-A-Za-z0-9_.:]*$/;

function checkText(s: string, where: number): void {
  // Every & starts a known or numeric entity; no raw < in text.
  const bad = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(s);
  assert.equal(bad, null, `bare '&' at ${where + (bad?.index ?? 0)}`);
  assert.ok(!s.includes('<'), `raw '<' at ${where}`);
  // eslint-disable-next-line no-control-regex
  assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s), `control character near ${where}`);
}

/** Throws (assertion) unless `xml` is a well-formed document with one root element. */
export function checkWellFormed(xml: string): void {
  const stack: string[] = [];
  let i = 0;
  let roots = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    checkText(text, i);
    if (!stack.length) assert.equal(text.trim(), '', `text outside the root element at ${i}`);
    if (lt < 0) break;
    if (xml.startsWith('<?', lt)) {
      const end = xml.indexOf('?>', lt);
      assert.ok(end > 0, 'unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      assert.ok(end > 0, 'unterminated comment');
      assert.ok(!xml.slice(lt + 4, end).includes('--'), "'--' inside a comment");
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', lt)) {
      assert.ok(stack.length, 'CDATA outside the root');
      const end = xml.indexOf(']]>', lt);
      assert.ok(end > 0, 'unterminated CDATA');
      i = end + 3;
    } else if (xml.startsWith('<!DOCTYPE', lt)) {
      assert.equal(stack.length, 0);
      const end = xml.indexOf('>', lt);
      i = end + 1;
    } else if (xml.startsWith('</', lt)) {
      const end = xml.indexOf('>', lt);
      const name = xml.slice(lt + 2, end).trim();
      assert.equal(name, stack.pop(), `mismatched </${name}> at ${lt}`);
      i = end + 1;
    } else {
      // Start tag: name, then name="value" attributes; values may not hold '<' or bare '&'.
      const m = /^<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(xml.slice(lt, lt + 200000));
      assert.ok(m, `malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
      assert.match(m[1], NAME);
      const seen = new Set<string>();
      for (const a of m[2].matchAll(/([^\s=]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
        assert.match(a[1], NAME);
        assert.ok(!seen.has(a[1]), `duplicate attribute ${a[1]} at ${lt}`);
        seen.add(a[1]);
        checkText(a[3] ?? a[4], lt);
      }
      if (!stack.length) roots++;
      if (!m[3]) stack.push(m[1]);
      i = lt + m[0].length;
    }
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'exactly one root element');
}

export interface SvgFrame {
  name: string;
  title: string;
  label: string;
  depth: number;
  x: number;
  y: number;
  width: number;
  fill: string;
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** The frames of a rendered flame graph, in document order. */
export function svgFrames(svg: string): SvgFrame[] {
  const out: SvgFrame[] = [];
  const re = /<g data-depth="(\d+)"[^>]*><title>([^<]*)<\/title><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"[^>]* fill="([^"]+)"[^>]*\/><text[^>]*>([^<]*)<\/text><\/g>/g;
  for (const m of svg.matchAll(re)) {
    const title = unescape(m[2]);
    out.push({
      name: title.replace(/ \([^()]*\)$/, ''),
      title,
      label: unescape(m[7]),
      depth: Number(m[1]),
      x: Number(m[3]),
      y: Number(m[4]),
      width: Number(m[5]),
      fill: m[6],
    });
  }
  return out;
}

/** A small profile with one clearly widest frame per level, kernel and unknown frames, and names needing escapes. */
export const SAMPLE = [
  'main;parse_args 5',
  'main;run;compute;inner_loop 60',
  'main;run;compute;sqrt 15',
  'main;run;io;write;__x64_sys_write_[k];vfs_write_[k];ext4_file_write_iter_[k] 12',
  'main;run;[unknown];0x7f1234 4',
  'start_thread;worker;do_work<T>;memcpy 8',
  'start_thread;worker;"quoted" & <angle> 3',
].join('\n') + '\n';
