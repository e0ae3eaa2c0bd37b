/**
 * Separate debug files: a stripped binary's DWARF and full symbol table
 * live in another file, found by build-id, by its .gnu_debuglink name, or in
 * directories given with --debuginfo (the paths gdb and bpftrace search).
 * Used by the DWARF reader (dwarf.ts) and by user-stack symbolization.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ElfFile } from './elf';

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the one .gnu_debuglink records). */
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Where the DWARF (or, with `want` '.symtab', the full symbol table) of
 * `binary` lives: the binary itself when it has that section, else (gdb's search order) the `--debuginfo` directories, the
 * build-id path under /usr/lib/debug/.build-id, and the .gnu_debuglink name
 * next to the binary, in its .debug/ directory and under /usr/lib/debug.
 */
export function debugFileFor(binary: string, elf: ElfFile, searchDirs: readonly string[] = [], root = '', want = '.debug_info'): string | null {
  if (elf.section(want)) return binary;
  const base = path.basename(binary);
  const buildId = elf.buildId();
  let link: { name: string; crc: number } | undefined;
  const sec = elf.section('.gnu_debuglink');
  if (sec) {
    const data = elf.sectionData(sec);
    const nul = data.indexOf(0);
    if (nul > 0 && data.length >= 4) {
      const crcAt = (nul + 4) & ~3;
      if (crcAt + 4 <= data.length) link = { name: path.basename(data.toString('utf8', 0, nul)), crc: data.readUInt32LE(crcAt) };
    }
  }
  const tries: { p: string; crc?: number }[] = [];
  // a relative --debuginfo directory is looked up from the working directory and from the binary's
  const dirs = searchDirs.flatMap((d) => (path.isAbsolute(d) ? [d] : [d, path.join(path.dirname(binary), d)]));
  for (const d of dirs) {
    if (buildId) tries.push({ p: path.join(d, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`) });
    if (link) tries.push({ p: path.join(d, link.name), crc: link.crc });
    tries.push({ p: path.join(d, `${base}.debug`) }, { p: path.join(d, base) });
  }
  if (buildId) tries.push({ p: `${root}/usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug` });
  if (link) {
    const dir = path.dirname(binary);
    tries.push({ p: path.join(dir, link.name), crc: link.crc }, { p: path.join(dir, '.debug', link.name), crc: link.crc },
      { p: `${root}/usr/lib/debug${path.resolve(dir).slice(root.length)}/${link.name}`, crc: link.crc });
  }
  for (const t of tries) {
    if (path.resolve(t.p) === path.resolve(binary) || !isFile(t.p)) continue;
    try {
      const candidate = ElfFile.open(t.p);
      if (!candidate.section(want)) continue;
      const cid = candidate.buildId();
      if (buildId && cid && cid !== buildId) continue;
      if (t.crc !== undefined && !cid && crc32(fs.readFileSync(t.p)) !== t.crc) continue;
      return t.p;
    } catch {
      continue;
    }
  }
  return null;
}
