/**
 * Pieces of bcc's probe-spec language shared by trace and argdist: where a
 * library name points (bcc's find_library, then find_exe on PATH), and the
 * pseudo-functions and variables of its expressions turned into tsbpf.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveLibrary } from '../../ebpf/ldcache';
import { ToolError } from '../tool';

/** The file a spec's library names: a path, a shared library (`c`, `pthread`), or an executable on PATH (`bash`). */
export function bccLibraryPath(lib: string, pid?: number): string {
  if (lib.includes('/')) return lib; // a path: the compiler names a missing or unreadable file
  try {
    return resolveLibrary(lib, pid);
  } catch (e) {
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
      if (!dir.startsWith('/')) continue; // a relative PATH entry would depend on where tsbpf was started
      const p = path.join(dir, lib);
      try {
        if (fs.statSync(p).isFile()) return fs.realpathSync(p);
      } catch {
        // not in this directory
      }
    }
    throw new ToolError(`cannot find library or executable '${lib}': ${(e as Error).message}`);
  }
}

/** The argument of a call starting at `open` (the index of its '('), up to the matching ')'; -1 if unbalanced. */
function closing(s: string, open: number): number {
  let depth = 0;
  let quote = false;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
    } else if (c === '"') quote = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * bcc's STRCMP("literal", expr), true when the string expr points to equals the literal:
 * `(str(expr) == "literal")` (an expr that already is a string is compared as it is).
 */
export function translateStrcmp(expr: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const at = expr.indexOf('STRCMP(', i);
    if (at < 0) return out + expr.slice(i);
    const end = closing(expr, at + 6);
    if (end < 0) throw new ToolError(`unbalanced parentheses in STRCMP in '${expr}'`);
    const inner = expr.slice(at + 7, end);
    const m = /^\s*("(?:[^"\\]|\\.)*")\s*,\s*([\s\S]+?)\s*$/.exec(inner);
    if (!m) throw new ToolError(`STRCMP takes a string literal and an expression: '${expr.slice(at, end + 1)}'`);
    const arg = translateStrcmp(m[2]);
    const s = /^(str\(|comm$)/.test(arg) ? arg : `str(${arg})`;
    out += `${expr.slice(i, at)}(${s} == ${m[1]})`;
    i = end + 1;
  }
}
