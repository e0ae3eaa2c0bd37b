/**
 * `map list` / `map dump`: every BPF map with the fields and text layout of
 * `bpftool map show`, and element dumps as `bpftool map dump` prints them
 * without BTF (hex bytes, per-CPU values one line per CPU).
 */
import * as fs from 'node:fs';
import { MAP_TYPE, MAP_TYPE_NAMES, closeFd, mapFdById, mapIds, mapInfo, mapLookup, mapNextKey, type MapInfo } from './bpfinfo';
import { bpfObjectRefs, fdinfo, type ObjRef } from './procfs';
import type { JsonValue } from './json';
import { PROG_TYPE_NAMES } from './bpfinfo';
import { Btf, type BtfType } from '../ebpf/btf';
import { btfGetFdById, btfInfo } from '../sys/bpf';
import { EnvironmentError, UserError } from '../errors';

export interface MapEntry extends MapInfo {
  memlock?: number;
  frozen: boolean;
  /** For prog_array maps: the program type and JIT state the array is bound to. */
  ownerProgType?: number;
  ownerJited?: boolean;
  pids: ObjRef[];
}

/** Thrown when a requested map id does not exist. */
export class NoSuchMapError extends UserError {
  constructor(readonly id: number) {
    super(`there is no BPF map with id ${id}`);
    this.name = 'NoSuchMapError';
  }
}

export function mapTypeName(type: number): string | undefined {
  return MAP_TYPE_NAMES[type];
}

/** Reads the maps with the given ids (all maps when omitted). */
export function listMaps(ids?: number[]): MapEntry[] {
  const refs = bpfObjectRefs().maps;
  const out: MapEntry[] = [];
  for (const id of ids ?? mapIds()) {
    const fd = mapFdById(id);
    if (fd === undefined) {
      if (ids) throw new NoSuchMapError(id);
      continue;
    }
    try {
      const info = mapInfo(fd);
      const fi = fdinfo('self', fd);
      const ml = fi.get('memlock');
      const opt = fi.get('owner_prog_type');
      const oj = fi.get('owner_jited');
      out.push({
        ...info,
        memlock: ml === undefined ? undefined : Number(ml),
        frozen: Number(fi.get('frozen') ?? 0) !== 0,
        ownerProgType: info.type === MAP_TYPE.PROG_ARRAY && opt !== undefined ? Number(opt) : undefined,
        ownerJited: info.type === MAP_TYPE.PROG_ARRAY && oj !== undefined ? Number(oj) !== 0 : undefined,
        pids: refs.get(id) ?? [],
      });
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

function header(m: MapInfo): string {
  const t = mapTypeName(m.type);
  let s = `${m.id}: ${t ? `${t}  ` : `type ${m.type}  `}`;
  if (m.name) s += `name ${m.name}  `;
  s += `flags 0x${m.flags.toString(16)}`;
  if (m.ifindex) s += `  offloaded_to ifindex ${m.ifindex}`;
  return s + '\n';
}

/** The `bpftool map show` text block for one map (ends with a newline). */
export function formatMapPlain(m: MapEntry): string {
  let s = header(m);
  s += `\tkey ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}`;
  if (m.memlock !== undefined) s += `  memlock ${m.memlock}B`;
  if (m.ownerProgType !== undefined || m.ownerJited !== undefined) {
    s += '\n\t';
    if (m.ownerProgType !== undefined) s += `owner_prog_type ${PROG_TYPE_NAMES[m.ownerProgType] ?? m.ownerProgType}  `;
    if (m.ownerJited !== undefined) s += `owner${m.ownerJited ? '' : ' not'} jited`;
  }
  if (m.btfId || m.frozen) s += '\n\t';
  if (m.btfId) s += `btf_id ${m.btfId}`;
  if (m.frozen) s += `${m.btfId ? '  ' : ''}frozen`;
  if (m.pids.length) s += `\n\tpids ${m.pids.map((r) => `${r.comm}(${r.pid})`).join(', ')}`;
  return s + '\n';
}

/** The `bpftool -j map show` object for one map. */
export function mapJson(m: MapEntry): JsonValue {
  return {
    id: m.id,
    type: mapTypeName(m.type) ?? m.type,
    name: m.name || undefined,
    flags: m.flags,
    dev: m.ifindex ? { ifindex: m.ifindex } : undefined,
    bytes_key: m.keySize,
    bytes_value: m.valueSize,
    max_entries: m.maxEntries,
    bytes_memlock: m.memlock,
    owner_prog_type: m.ownerProgType === undefined ? undefined : (PROG_TYPE_NAMES[m.ownerProgType] ?? m.ownerProgType),
    owner_jited: m.ownerJited,
    frozen: m.frozen ? 1 : 0,
    btf_id: m.btfId || undefined,
    pids: m.pids.length ? m.pids.map((r) => ({ pid: r.pid, comm: r.comm })) : undefined,
  };
}

/** Number of possible CPUs (per-CPU map values hold one slot per possible CPU). */
export function possibleCpus(): number {
  const text = fs.readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  let max = -1;
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    max = Math.max(max, b ?? a);
  }
  return max + 1;
}

export function isPerCpu(type: number): boolean {
  return type === MAP_TYPE.PERCPU_HASH || type === MAP_TYPE.PERCPU_ARRAY ||
    type === MAP_TYPE.LRU_PERCPU_HASH || type === MAP_TYPE.PERCPU_CGROUP_STORAGE;
}

/** One dumped element: key bytes and either a value, per-CPU values or the lookup errno. */
export interface MapElement {
  key: Buffer;
  value?: Buffer;
  perCpu?: Buffer[];
  errno?: number;
}

/** Thrown when a map's values cannot be read from user space at all. */
export class UnreadableMapError extends EnvironmentError {
  constructor(readonly map: MapInfo) {
    super(`map ${map.id} (${mapTypeName(map.type) ?? `type ${map.type}`}) has no user-space readable elements`);
    this.name = 'UnreadableMapError';
  }
}

/** Walks every element of map `id` (keys in the kernel's iteration order). */
export function dumpMap(id: number): { info: MapInfo; elements: MapElement[] } {
  const fd = mapFdById(id);
  if (fd === undefined) throw new NoSuchMapError(id);
  try {
    const info = mapInfo(fd);
    const perCpu = isPerCpu(info.type);
    const ncpu = perCpu ? possibleCpus() : 1;
    const step = perCpu ? Math.ceil(info.valueSize / 8) * 8 : info.valueSize;
    const elements: MapElement[] = [];
    let prev: Buffer | undefined;
    // Bounded so a map whose keys keep changing under us cannot loop forever.
    for (let n = 0; n <= info.maxEntries + 1; n++) {
      const key = mapNextKey(fd, info.keySize, prev);
      if (!key) break;
      const v = mapLookup(fd, key, Math.max(step * ncpu, 1));
      if (typeof v === 'number') {
        const mapOfX = info.type === MAP_TYPE.PROG_ARRAY || info.type === MAP_TYPE.ARRAY_OF_MAPS || info.type === MAP_TYPE.HASH_OF_MAPS;
        if (!(mapOfX && v === 2)) elements.push({ key, errno: v });
      } else if (perCpu) {
        const vals: Buffer[] = [];
        for (let c = 0; c < ncpu; c++) vals.push(v.subarray(c * step, c * step + info.valueSize));
        elements.push({ key, perCpu: vals });
      } else {
        elements.push({ key, value: v.subarray(0, info.valueSize) });
      }
      prev = key;
    }
    return { info, elements };
  } finally {
    closeFd(fd);
  }
}

/** bpftool's hex layout: bytes separated by spaces, an extra space every 8, a newline every 16. */
export function hexBytes(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    if (i) s += i % 16 === 0 ? '\n' : i % 8 === 0 ? '  ' : ' ';
    s += b[i].toString(16).padStart(2, '0');
  }
  return s;
}

const errnoText: Record<number, string> = { 1: 'Operation not permitted', 2: '<no entry>', 13: 'Permission denied', 22: 'Invalid argument', 95: 'Operation not supported', 524: 'Unknown error 524' };

/** `bpftool map dump` text for the elements of one map, ending with "Found N elements". */
export function formatDumpPlain(info: MapInfo, elements: MapElement[]): string {
  let s = '';
  let found = 0;
  for (const e of elements) {
    if (e.errno !== undefined) {
      const msg = errnoText[e.errno] ?? `errno ${e.errno}`;
      const brk = info.keySize > 16 || msg.length > 16;
      const single = info.keySize + msg.length <= 24 && !brk;
      s += `key:${brk ? '\n' : ' '}${hexBytes(e.key)}${single ? '  ' : '\n'}value:${brk ? '\n' : ' '}${msg}\n`;
      continue;
    }
    found++;
    if (e.perCpu) {
      if (info.keySize) s += `key:\n${hexBytes(e.key)}\n`;
      if (info.valueSize) {
        e.perCpu.forEach((v, c) => {
          s += `value (CPU ${String(c).padStart(2, '0')}):${info.valueSize > 16 ? '\n' : ' '}${hexBytes(v)}\n`;
        });
      }
    } else {
      const brk = info.keySize > 16 || info.valueSize > 16;
      const single = info.keySize + info.valueSize <= 24 && !brk;
      if (info.keySize) s += `key:${brk ? '\n' : ' '}${hexBytes(e.key)}${single ? '  ' : '\n'}`;
      if (info.valueSize && e.value) s += `value:${brk ? '\n' : ' '}${hexBytes(e.value)}`;
      s += '\n';
    }
  }
  return s + `Found ${found} element${found !== 1 ? 's' : ''}\n`;
}

// ---------------------------------------------------------------------------
// BTF-formatted dumps, as bpftool prints maps that carry key/value type ids.

/**
 * A streaming JSON writer with the state machine of bpftool's json_writer,
 * so separators, indentation and interleaved plain-text error lines fall
 * exactly where bpftool puts them. Values are written as raw text because
 * bpftool's own formatting (`(nil)`, `\'` in strings) is not always JSON.
 */
export class BpftoolWriter {
  private sep = '';
  private depth = 0;
  private readonly parts: string[] = [];

  constructor(private readonly pretty: boolean) {}

  private eor(): void {
    if (this.sep) this.parts.push(this.sep);
    this.sep = ',';
  }

  private eol(): void {
    if (this.pretty) this.parts.push('\n' + '    '.repeat(this.depth));
  }

  private begin(c: string): void {
    this.eor();
    this.parts.push(c);
    this.depth++;
    this.sep = '';
  }

  private end(c: string): void {
    this.depth--;
    if (this.sep) this.eol();
    this.parts.push(c);
    this.sep = ',';
  }

  startObject(): void { this.begin('{'); }
  endObject(): void { this.end('}'); }
  startArray(): void { this.begin('['); }
  endArray(): void { this.end(']'); }

  name(n: string): void {
    this.eor();
    this.eol();
    this.sep = '';
    this.parts.push(bpftoolString(n) + (this.pretty ? ': ' : ':'));
  }

  /** A value token, written verbatim. */
  raw(text: string): void {
    this.eor();
    this.parts.push(text);
  }

  string(s: string): void {
    this.raw(bpftoolString(s));
  }

  /** Text outside the JSON structure (bpftool prints lookup errors this way in plain mode). */
  text(s: string): void {
    this.parts.push(s);
  }

  toString(): string {
    return this.parts.join('');
  }
}

/**
 * A string the way bpftool 7.1's json_writer quotes it: it passes `'` and
 * other bytes through and, a quirk kept for byte-for-byte parity, writes a
 * backslash as `\\n`.
 */
function bpftoolString(s: string): string {
  let o = '"';
  for (const ch of s) {
    switch (ch) {
      case '\t': o += '\\t'; break;
      case '\n': o += '\\n'; break;
      case '\r': o += '\\r'; break;
      case '\f': o += '\\f'; break;
      case '\b': o += '\\b'; break;
      case '\\': o += '\\n'; break;
      case '"': o += '\\"'; break;
      default: o += ch;
    }
  }
  return o + '"';
}

/**
 * Formats raw map bytes by BTF type the way bpftool's btf_dumper does:
 * `plain` selects the text-mode spellings (pointers as `%p`, non-printable
 * chars as hex) over the JSON-mode ones.
 */
export class BtfValueFormatter {
  constructor(readonly btf: Btf, private readonly plain: boolean) {}

  /**
   * Writes the value of type `id` found at `data[0..]`; `bitOffset` (< 8) is
   * for old-style int bitfields. False when a kind cannot be formatted: like
   * bpftool, the containers around it are still closed and the rest of the
   * element is skipped.
   */
  write(w: BpftoolWriter, id: number, data: Buffer, bitOffset = 0): boolean {
    const t = this.btf.type(id);
    switch (t.kind) {
      case 'struct':
      case 'union': {
        let ok = true;
        w.startObject();
        for (const m of t.members) {
          w.name(m.name);
          const at = data.subarray(m.bitOffset >>> 3);
          if (m.bitfieldSize) this.bitfield(w, at, m.bitfieldSize, m.bitOffset & 7);
          else if (!(ok = this.write(w, m.type, at, m.bitOffset & 7))) break;
        }
        w.endObject();
        return ok;
      }
      case 'array': {
        if (this.isStrArray(t.type, t.nelems, data)) {
          w.string(data.toString('latin1', 0, data.indexOf(0)));
          return true;
        }
        const size = this.btf.sizeOf(t.type);
        let ok = true;
        w.startArray();
        for (let i = 0; i < t.nelems && ok; i++) ok = this.write(w, t.type, data.subarray(i * size));
        w.endArray();
        return ok;
      }
      case 'int':
        this.int(w, t, data, bitOffset);
        return true;
      case 'ptr': {
        const v = data.readBigUInt64LE(0);
        if (this.plain) w.raw(v === 0n ? '(nil)' : `0x${v.toString(16)}`);
        else w.raw(v.toString());
        return true;
      }
      case 'enum':
      case 'enum64': {
        const bits = t.size * 8;
        if (![8, 16, 32, 64].includes(bits)) return false;
        const v = BigInt.asIntN(bits, readUnsigned(data, t.size));
        const hit = t.values.find((e) => BigInt.asIntN(bits, e.value) === v);
        if (hit) w.string(hit.name);
        else w.raw((t.kind === 'enum64' && !t.signed ? BigInt.asUintN(64, v) : v).toString());
        return true;
      }
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        return this.write(w, this.btf.resolve(id), data, bitOffset);
      case 'var': {
        w.startObject();
        w.name(t.name);
        const ok = this.write(w, t.type, data, bitOffset);
        w.endObject();
        return ok;
      }
      case 'datasec': {
        let ok = true;
        w.startObject();
        w.name(t.name);
        w.startArray();
        for (const v of t.vars) if (!(ok = this.write(w, v.type, data.subarray(v.offset)))) break;
        w.endArray();
        w.endObject();
        return ok;
      }
      default:
        w.raw('(unsupported-kind');
        return false;
    }
  }

  /** bpftool prints a char array as a string when it holds printable text up to a NUL. */
  private isStrArray(elem: number, nelems: number, data: Buffer): boolean {
    if (!nelems) return false;
    let id = elem;
    // Modifiers are skipped, typedefs are not: a typedef of char is not a string to bpftool.
    for (let k = this.btf.kind(id); k === 'const' || k === 'volatile' || k === 'restrict' || k === 'type_tag'; k = this.btf.kind(id)) {
      id = (this.btf.type(id) as { type: number }).type;
    }
    const t = this.btf.type(id);
    if (t.kind !== 'int' || t.size !== 1 || (!t.char && t.name !== 'char')) return false;
    for (let i = 0; i < nelems && i < data.length; i++) {
      const c = data[i];
      if (c === 0) return true;
      if (c <= 0x1f || c >= 0x7f) return false;
    }
    return false;
  }

  private int(w: BpftoolWriter, t: Extract<BtfType, { kind: 'int' }>, data: Buffer, bitOffset: number): void {
    if (bitOffset || t.bitOffset || t.bits % 8) {
      const total = bitOffset + t.bitOffset;
      this.bitfield(w, data.subarray(total >>> 3), t.bits, total & 7);
      return;
    }
    if (t.bits === 128) {
      this.hex128(w, readUnsigned(data, 16));
      return;
    }
    if (t.bool) {
      w.raw(data[0] ? 'true' : 'false');
      return;
    }
    if (t.char) {
      const c = data[0];
      if (c >= 0x20 && c < 0x7f) w.raw(bpftoolCharLiteral(c));
      else w.raw(this.plain ? `0x${c.toString(16)}` : `"\\u00${c.toString(16).padStart(2, '0')}"`);
      return;
    }
    const bytes = t.bits / 8;
    if (bytes !== 1 && bytes !== 2 && bytes !== 4 && bytes !== 8) {
      this.bitfield(w, data, t.bits, 0);
      return;
    }
    const u = readUnsigned(data, bytes);
    w.raw((t.signed ? BigInt.asIntN(t.bits, u) : u).toString());
  }

  private bitfield(w: BpftoolWriter, data: Buffer, bits: number, bitOffset: number): void {
    const u = readUnsigned(data, Math.ceil((bitOffset + bits) / 8));
    this.hex128(w, (u >> BigInt(bitOffset)) & ((1n << BigInt(bits)) - 1n));
  }

  private hex128(w: BpftoolWriter, v: bigint): void {
    const upper = v >> 64n;
    const lower = v & 0xffffffffffffffffn;
    const s = upper ? `0x${upper.toString(16)}${lower.toString(16).padStart(16, '0')}` : `0x${lower.toString(16)}`;
    w.raw(this.plain ? s : `"${s}"`);
  }
}

/** printf("\"%c\"") for a printable byte: bpftool does not escape it. */
function bpftoolCharLiteral(c: number): string {
  return `"${String.fromCharCode(c)}"`;
}

/** Little-endian unsigned integer of `n` bytes (short buffers read as zero-padded). */
function readUnsigned(data: Buffer, n: number): bigint {
  let v = 0n;
  for (let i = Math.min(n, data.length) - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]);
  return v;
}

/** The BTF that describes a map's keys and values, or undefined when the map has none (then dumps are hex). */
export function mapKvBtf(info: MapInfo): Btf | undefined {
  if (info.btfVmlinuxValueTypeId) return Btf.vmlinux();
  if (!info.btfValueTypeId || !info.btfId) return undefined;
  const fd = btfGetFdById(info.btfId);
  try {
    const bi = btfInfo(fd, true);
    if (!bi.data) return undefined;
    // Module BTF is split BTF on top of vmlinux; a program's BTF stands alone.
    return Btf.parse(bi.data, bi.kernelBtf && bi.name !== 'vmlinux' ? Btf.vmlinux() : undefined);
  } finally {
    closeFd(fd);
  }
}

/** do_dump_btf: one `{"key": ..., "value"|"values": ...}` object. */
function writeBtfEntry(w: BpftoolWriter, f: BtfValueFormatter, info: MapInfo, e: MapElement): void {
  w.startObject();
  const keyOk = !info.btfKeyTypeId || (w.name('key'), f.write(w, info.btfKeyTypeId, e.key));
  if (keyOk) {
    const valueId = info.btfVmlinuxValueTypeId || info.btfValueTypeId;
    if (e.perCpu) {
      w.name('values');
      w.startArray();
      for (let cpu = 0; cpu < e.perCpu.length; cpu++) {
        w.startObject();
        w.name('cpu');
        w.raw(String(cpu));
        w.name('value');
        const ok = f.write(w, valueId, e.perCpu[cpu]);
        w.endObject();
        if (!ok) break;
      }
      w.endArray();
    } else {
      w.name('value');
      f.write(w, valueId, e.value ?? Buffer.alloc(0));
    }
  }
  w.endObject();
}

function writeHexArray(w: BpftoolWriter, b: Uint8Array): void {
  w.startArray();
  for (const x of b) w.raw(`"0x${x.toString(16).padStart(2, '0')}"`);
  w.endArray();
}

const strerror = (errno: number): string => (errno === 2 ? 'No such file or directory' : (errnoText[errno] ?? `errno ${errno}`));

/** The plain-text line bpftool prints for an element whose lookup failed. */
function entryErrorPlain(info: MapInfo, e: MapElement & { errno: number }): string {
  const msg = errnoText[e.errno] ?? `errno ${e.errno}`;
  const brk = info.keySize > 16 || msg.length > 16;
  const single = info.keySize + msg.length <= 24 && !brk;
  return `key:${brk ? '\n' : ' '}${hexBytes(e.key)}${single ? '  ' : '\n'}value:${brk ? '\n' : ' '}${msg}\n`;
}

/**
 * `bpftool map dump` text for a map with BTF: the elements as a pretty JSON
 * array of formatted keys and values (no "Found N elements" line, like bpftool).
 */
export function formatDumpBtfPlain(info: MapInfo, elements: MapElement[], btf: Btf): string {
  const w = new BpftoolWriter(true);
  const f = new BtfValueFormatter(btf, true);
  w.startArray();
  for (const e of elements) {
    if (e.errno !== undefined) w.text(entryErrorPlain(info, e as MapElement & { errno: number }));
    else writeBtfEntry(w, f, info, e);
  }
  w.endArray();
  return w.toString() + '\n';
}

/**
 * `bpftool -j map dump` text: hex keys and values, plus a `formatted` object
 * per element when `btf` describes the map. No trailing newline.
 */
export function formatDumpJson(info: MapInfo, elements: MapElement[], btf: Btf | undefined, pretty = false): string {
  const w = new BpftoolWriter(pretty);
  const f = btf ? new BtfValueFormatter(btf, false) : undefined;
  w.startArray();
  for (const e of elements) {
    w.startObject();
    w.name('key');
    writeHexArray(w, e.key);
    if (e.errno !== undefined) {
      w.name('value');
      w.startObject();
      w.name('error');
      w.string(strerror(e.errno));
      w.endObject();
    } else {
      if (e.perCpu) {
        w.name('values');
        w.startArray();
        e.perCpu.forEach((v, cpu) => {
          w.startObject();
          w.name('cpu');
          w.raw(String(cpu));
          w.name('value');
          writeHexArray(w, v);
          w.endObject();
        });
        w.endArray();
      } else {
        w.name('value');
        writeHexArray(w, e.value ?? Buffer.alloc(0));
      }
      if (f) {
        w.name('formatted');
        writeBtfEntry(w, f, info, e);
      }
    }
    w.endObject();
  }
  w.endArray();
  return w.toString();
}
