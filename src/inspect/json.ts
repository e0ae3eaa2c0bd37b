/**
 * JSON text the way bpftool's json_writer emits it, so `--json` output can be
 * diffed against `bpftool -j` and `-p`: compact by default; in pretty mode
 * object members go on their own lines (4-space indent) while array elements
 * stay inline, e.g. `[{\n    "id": 1\n}]`. bigint values print as integers.
 */
export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [k: string]: JsonValue | undefined };

/** Serializes `v`; `pretty` mirrors bpftool's `-p`. No trailing newline. */
export function bpftoolJson(v: JsonValue, pretty = false): string {
  const out: string[] = [];
  const eol = (depth: number): void => {
    if (pretty) out.push('\n' + '    '.repeat(depth));
  };
  const write = (x: JsonValue, depth: number): void => {
    if (x === null) out.push('null');
    else if (typeof x === 'bigint') out.push(x.toString());
    else if (typeof x === 'number') out.push(Number.isFinite(x) ? String(x) : 'null');
    else if (typeof x === 'boolean') out.push(x ? 'true' : 'false');
    else if (typeof x === 'string') out.push(JSON.stringify(x));
    else if (Array.isArray(x)) {
      out.push('[');
      x.forEach((e, i) => {
        if (i) out.push(',');
        write(e, depth + 1);
      });
      if (x.length) eol(depth);
      out.push(']');
    } else {
      out.push('{');
      let n = 0;
      for (const [k, val] of Object.entries(x)) {
        if (val === undefined) continue;
        if (n++) out.push(',');
        eol(depth + 1);
        out.push(JSON.stringify(k) + (pretty ? ': ' : ':'));
        write(val, depth + 1);
      }
      if (n) eol(depth);
      out.push('}');
    }
  };
  write(v, 0);
  return out.join('');
}
