/**
 * User-space probes: uprobe/uretprobe on a function (or address) of a binary
 * or library, and USDT probes from a binary's stapsdt notes. Binaries are
 * resolved here, at compile time (paths, libraries by short name, PATH, and
 * with -p the process's own view through /proc/PID/root).
 */
import * as fs from 'node:fs';
import type { AttachPoint } from '../ast';
import type { AttachSpec } from '../artifact';
import { UserError } from '../../errors';
import { globToRegExp } from '../../sys/tracefs';
import { ElfFile, findSymbols, isGlob } from '../../ebpf/elf';
import { resolveLibrary } from '../../ebpf/ldcache';
import { readMaps } from '../../ebpf/symbolize';
import { findUsdtProbes, readUsdtProbes } from '../../ebpf/usdt';
import { attachUprobe } from '../../ebpf/attach';
import { baseCtx, err, hintNames, provider, type Attacher, type ExpandedPoint, type ListRequest, type ProviderOptions } from './provider';

/**
 * Resolves the binary of a uprobe/usdt target: a path, a library short name
 * (`libc`, via the linker cache or — with a pid — what that process mapped),
 * or a program name on PATH. With a pid, paths are looked up through
 * /proc/PID/root, so a process in a container is probed in its own files.
 */
export function resolveBinary(target: string, pid?: number): string | undefined {
  // stat, not existsSync: access(2) ignores the capabilities of a non-root user (CAP_DAC_READ_SEARCH)
  const exists = (p: string): boolean => {
    try {
      fs.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  const inRoot = (p: string): string => {
    if (pid === undefined || !p.startsWith('/')) return p;
    const r = `/proc/${pid}/root${p}`;
    return exists(r) ? r : p;
  };
  if (target.includes('/')) {
    const p = inRoot(target);
    return exists(p) ? p : undefined;
  }
  if (pid !== undefined) {
    // the process's own executable by name
    try {
      const exe = fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
      if (exe.split('/').pop() === target) return inRoot(exe);
    } catch {
      // gone or not ours: fall back to system-wide lookups
    }
  }
  try {
    return inRoot(resolveLibrary(target, pid));
  } catch {
    // not a library
  }
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = `${dir}/${target}`;
    if (exists(p)) return p;
  }
  return undefined;
}

/** Files a process has mapped executable (its binary and shared libraries), through /proc/PID/root. */
export function processObjects(pid: number): string[] {
  const out = new Set<string>();
  for (const m of readMaps(pid)) {
    const p = m.path.replace(/ \(deleted\)$/, '');
    if (p.startsWith('/') && m.perms.includes('x')) out.add(p);
  }
  return [...out].map((p) => (fs.existsSync(`/proc/${pid}/root${p}`) ? `/proc/${pid}/root${p}` : p));
}

/** The path as the user knows it (without the /proc/PID/root prefix), for probe names. */
function shownPath(p: string): string {
  return p.replace(/^\/proc\/\d+\/root(?=\/)/, '');
}

/** The DWARF side of uprobes, loaded only by a script or listing that needs it (most scripts never read DWARF). */
const dwarf = (): typeof import('./uprobe-dwarf') => require('./uprobe-dwarf') as typeof import('./uprobe-dwarf');

const attachUprobeSpec: Attacher<'uprobe'> = (prog, s) => [attachUprobe(prog, s.path, BigInt(s.offset), {
  retprobe: s.retprobe, pid: s.pid, refCtrOffset: s.refCtrOffset !== undefined ? BigInt(s.refCtrOffset) : undefined,
  cookie: s.cookie !== undefined ? BigInt(s.cookie) : undefined, // `probe` of a program serving several points
})];

/** Whether `p` is a regular file that starts like an ELF object (what a binary wildcard can match). */
function isElfFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    const fd = fs.openSync(p, 'r');
    try {
      const b = Buffer.alloc(4);
      return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * The ELF files a binary wildcard names (`./testprogs/uprobe*`: wildcards in
 * the last path component), sorted, as written (the directory part kept).
 */
export function binariesMatching(glob: string): string[] {
  const slash = glob.lastIndexOf('/');
  const dir = slash >= 0 ? glob.slice(0, slash) || '/' : '.';
  const re = globToRegExp(glob.slice(slash + 1));
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => re.test(n)).map((n) => (slash >= 0 ? `${glob.slice(0, slash)}/${n}` : n)).filter(isElfFile).sort();
}

/**
 * The binaries a -l request for a user-space provider names: `PROVIDER:/path:...`
 * (wildcards in its last component), or with -p and `*` (or nothing) the
 * process's executable.
 */
function listedBinaries(provider: string, req: ListRequest): string[] {
  const rest = req.rest;
  const sep = rest.lastIndexOf(':');
  let file = sep >= 0 ? rest.slice(0, rest.indexOf(':') >= 0 && provider === 'usdt' ? rest.indexOf(':') : sep) : rest;
  if ((file === '*' || file === '') && req.pid !== undefined) {
    // the executable as the process sees it; through /proc/PID/root when it lives in another mount namespace
    file = fs.readlinkSync(`/proc/${req.pid}/exe`);
    if (fs.existsSync(`/proc/${req.pid}/root${file}`) && !fs.existsSync(file)) file = `/proc/${req.pid}/root${file}`;
  }
  if (!file || file === '*') throw new UserError(`listing ${provider} probes needs a binary path (${provider}:/path:*) or -p PID`);
  if (isGlob(file)) return binariesMatching(file);
  if (!fs.existsSync(file)) throw new UserError(`${file}: no such file`);
  return [file];
}

function uprobeProvider(name: string, aliases: string[], retprobe: boolean) {
  const def = provider({
    name,
    aliases,
    listing: 'alone',
    list(req: ListRequest) {
      const sep = req.rest.lastIndexOf(':');
      const fnGlob = sep >= 0 ? req.rest.slice(sep + 1) || '*' : '*';
      return listedBinaries(name, req).flatMap((file) => {
        const names = [...new Set(findSymbols(file, fnGlob, { functionsOnly: true }).map((s) => s.name))];
        // -lv: each function's parameters from the binary's DWARF, as bpftrace lists them
        return names.flatMap((s) => [`${name}:${file}:${s}`, ...(req.verbose && !retprobe ? dwarf().uprobeArgLines(file, s) : [])]);
      });
    },
    attach: { uprobe: attachUprobeSpec },
    expand(ap: AttachPoint, opts: ProviderOptions): ExpandedPoint[] {
      if (ap.parts.length < 2) throw err(ap, `${name} needs a binary and a function: ${name}:/path:FUNC`);
      let binArg = ap.parts.slice(0, -1).join(':');
      let target = ap.parts[ap.parts.length - 1];
      // BIN@file.c:LINE: a source location, found through the binary's line tables
      let source: string | undefined;
      const at = binArg.lastIndexOf('@');
      if (at > 0 && /^\d+$/.test(target) && !resolveBinary(binArg, opts.pid)) {
        source = binArg.slice(at + 1);
        binArg = binArg.slice(0, at);
      }
      // `*` with -p: every object the process maps; a wildcard path: every ELF file it matches
      const many = binArg === '*' && opts.pid !== undefined ? processObjects(opts.pid) : isGlob(binArg) && source === undefined ? binariesMatching(binArg) : null;
      if (many) {
        const points = many.flatMap((p): ExpandedPoint[] => {
          try {
            return def.expand({ ...ap, parts: [p, target] }, opts);
          } catch (e) {
            if (e instanceof UserError) return []; // this object has no such function
            throw e;
          }
        });
        if (!points.length) throw err(ap, `${name}: no function matches '${target}' in ${binArg === '*' ? `the objects of process ${opts.pid}` : `the files matching '${binArg}'`}`);
        return points;
      }
      const path = resolveBinary(binArg, opts.pid);
      if (!path) throw err(ap, `${name}: cannot find binary or library '${binArg}'${opts.pid !== undefined ? ` (also looked in process ${opts.pid})` : ''}`);
      let elf: ElfFile;
      try {
        elf = ElfFile.open(path);
      } catch (e) {
        throw err(ap, `${name}: cannot read ELF file ${path}: ${(e as Error).message}`);
      }
      const out: ExpandedPoint[] = [];
      const mk = (offset: number, symbol: string | undefined, shown: string): ExpandedPoint => {
        const full = `${name}:${shownPath(path)}:${shown}`;
        const spec: AttachSpec = { kind: 'uprobe', path, offset, retprobe };
        if (symbol) spec.symbol = symbol;
        if (opts.pid !== undefined) spec.pid = opts.pid;
        const ctx: ExpandedPoint['ctx'] = { ...baseCtx(name, 'kprobe', full), regs: true, funcArgs: true, retprobe, user: true, funcName: symbol ?? shown };
        if (opts.usesArgs) {
          // args: the function's parameters from DWARF (read only when the probe uses them)
          const a = retprobe ? `args is not available in ${name} probes` : symbol ? dwarf().uprobeArgs(path, symbol, opts.target.arch) : `args: ${shown} is not a function`;
          if (typeof a === 'string') ctx.argsUnavailable = a;
          else ctx.tracepoint = a;
        }
        return { spec, ctx, name: full };
      };
      if (source !== undefined) {
        const addrs = dwarf().sourceLineAddresses(path, source, Number(target));
        if (typeof addrs === 'string') throw err(ap, `${name}: ${addrs}`);
        for (const addr of addrs) {
          const off = elf.vaddrToFileOffset(Number(addr));
          if (off === undefined) throw err(ap, `${name}: ${source}:${target} is at 0x${addr.toString(16)}, outside the loaded segments of ${path}`);
          const hit = elf.symbolAt(Number(addr));
          out.push(mk(off, hit && hit.offset === 0 ? hit.symbol.name : undefined, `${source}:${target}`));
        }
        return out;
      }
      if (/^0x[0-9a-f]+$/i.test(target) || /^\d+$/.test(target)) {
        const addr = Number(target);
        const off = elf.vaddrToFileOffset(addr);
        if (off === undefined) throw err(ap, `${name}: address ${target} is not in a loaded segment of ${path}`);
        out.push(mk(off, undefined, target));
        return out;
      }
      let extra = 0;
      const plus = /^(.*)\+(0x[0-9a-f]+|\d+)$/i.exec(target);
      if (plus) {
        if (retprobe) throw err(ap, `${name} does not take an offset`);
        target = plus[1];
        extra = Number(plus[2]);
      }
      if (isGlob(target)) {
        const syms = elf.findSymbols(target, { functionsOnly: true });
        if (!syms.length) throw err(ap, `no functions in ${path} match '${target}'`);
        const seen = new Set<string>();
        for (const s of syms) {
          if (seen.has(s.name)) continue;
          seen.add(s.name);
          out.push(mk(elf.symbolFileOffset(s.name) + extra, s.name, s.name));
        }
        return out;
      }
      let off: number;
      try {
        off = elf.symbolFileOffset(target);
      } catch {
        const names = elf.findSymbols('*', { functionsOnly: true }).map((s) => s.name);
        throw err(ap, `No matches for ${name} ${path}:${target}. (no function '${target}' in ${path})`, hintNames(target, names));
      }
      out.push(mk(off + extra, target, extra ? `${target}+${extra}` : target));
      return out;
    },
  });
  return def;
}

export const uprobe = uprobeProvider('uprobe', ['u'], false);
export const uretprobe = uprobeProvider('uretprobe', ['ur'], true);

/**
 * `-l 'usdt:*:[provider:]name' -p PID`: the probes of every object the
 * process maps (its libraries, and objects it generated at run time), named
 * as bpftrace 0.17 names them: usdt:/proc/PID/root/PATH:provider:name.
 */
function listProcessUsdt(rest: string, pid: number): string[] {
  const parts = rest.split(':');
  const [providerGlob, nameGlob] = parts.length >= 3 ? [parts[1], parts.slice(2).join(':')] : ['*', parts[1] || '*'];
  const pr = globToRegExp(providerGlob || '*');
  const nr = globToRegExp(nameGlob);
  let objects: string[];
  try {
    objects = processObjects(pid);
  } catch (e) {
    throw new UserError(`cannot read the mappings of process ${pid}`, { cause: e });
  }
  const out: string[] = [];
  for (const file of objects) {
    let probes;
    try {
      probes = readUsdtProbes(file);
    } catch {
      continue; // not an ELF file we can read: it has no probes to list
    }
    for (const p of probes) if (pr.test(p.provider) && nr.test(p.name)) out.push(`usdt:${file}:${p.provider}:${p.name}`);
  }
  return out;
}

export const usdtProvider = provider({
  name: 'usdt',
  aliases: ['U'],
  listing: 'alone',
  list(req) {
    const file0 = req.rest.slice(0, req.rest.indexOf(':') >= 0 ? req.rest.indexOf(':') : undefined);
    if ((file0 === '*' || file0 === '') && req.pid !== undefined) return listProcessUsdt(req.rest, req.pid);
    const out: string[] = [];
    for (const file of listedBinaries('usdt', req)) {
      for (const p of readUsdtProbes(file)) {
        const name = `usdt:${file}:${p.provider}:${p.name}`;
        if (req.matches(name) || req.rest.endsWith(':*') || req.rest === file) out.push(name);
      }
    }
    return out;
  },
  attach: { uprobe: attachUprobeSpec },
  expand(ap, opts) {
    const pid = opts.pid;
    // With -p the binary may be omitted or '*': every object the process has mapped.
    const anyObject = ap.parts.length === 1 || ap.parts[0] === '*' || ap.parts[0] === '';
    if (ap.parts.length < 1 || ap.parts.length > 3 || (anyObject && pid === undefined)) {
      throw err(ap, `usdt needs a binary and a probe: usdt:/path:[provider:]name${anyObject ? ' (usdt:*:name needs -p PID)' : ''}`);
    }
    let paths: string[];
    if (anyObject) {
      try {
        paths = processObjects(pid as number);
      } catch (e) {
        throw err(ap, `usdt: cannot read the mappings of process ${pid}: ${(e as Error).message}`);
      }
    } else if (isGlob(ap.parts[0])) {
      paths = binariesMatching(ap.parts[0]);
      if (!paths.length) throw err(ap, `usdt: no files match '${ap.parts[0]}'`);
    } else {
      const path = resolveBinary(ap.parts[0], pid);
      if (!path) throw err(ap, `usdt: cannot find binary '${ap.parts[0]}'`);
      paths = [path];
    }
    const rest = anyObject && ap.parts.length !== 3 ? ap.parts.slice(-1) : ap.parts.slice(1);
    const provider = rest.length === 2 ? rest[0] : '*';
    const pname = rest[rest.length - 1];
    const out: ExpandedPoint[] = [];
    const known: string[] = [];
    const locations = new Map<string, number>();
    for (const path of paths) {
      let probes;
      try {
        probes = findUsdtProbes(path, provider, pname);
      } catch (e) {
        if (anyObject || paths.length > 1) continue;
        throw err(ap, `usdt: cannot read probes of ${path}: ${(e as Error).message}`);
      }
      if (!probes.length) {
        try {
          known.push(...readUsdtProbes(path).map((p) => `${p.provider}:${p.name}`));
        } catch {
          // no notes
        }
      }
      for (const p of probes) {
        if (!p.args) throw err(ap, `usdt: cannot parse the arguments of ${p.provider}:${p.name}: ${p.argError ?? ''}`);
        const full = `usdt:${shownPath(path)}:${p.provider}:${p.name}`;
        const spec: AttachSpec = { kind: 'uprobe', path, offset: p.fileOffset, retprobe: false };
        if (p.semaphoreOffset) spec.refCtrOffset = p.semaphoreOffset;
        if (pid !== undefined) spec.pid = pid;
        const seen = locations.get(full) ?? 0;
        if (seen > 0) spec.usdtLocation = seen;
        locations.set(full, seen + 1);
        // Different probe sites place arguments differently: one program each.
        out.push({ spec, ctx: { ...baseCtx('usdt', 'kprobe', full), regs: true, funcArgs: true, user: true, usdtArgs: p.args, usdtAddress: p.address, perPoint: true }, name: full });
      }
    }
    if (!out.length) {
      const where = anyObject ? `process ${pid}` : shownPath(paths[0]);
      throw err(ap, `usdt probe not found: ${provider}:${pname} in ${where}`, hintNames(`${provider}:${pname}`, known));
    }
    return out;
  },
});
