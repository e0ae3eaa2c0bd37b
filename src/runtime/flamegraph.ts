/**
 * Flame graphs: folded stacks (Brendan Gregg's stackcollapse format, one
 * `outer;inner;leaf COUNT` per line) rendered to a standalone interactive SVG.
 *
 * The SVG needs nothing else: hover shows a frame's details, click zooms into
 * a frame, Ctrl-F / the Search button highlights frames matching a regular
 * expression and reports which share of all samples they cover, and Reset
 * Zoom goes back. `?s=REGEX` and `?zoom=FRAME` in the URL search and zoom on
 * load, so a link can point at a view. Output is a pure function of the input: colours come from a
 * hash of the frame name and its kind (kernel, user, JIT/unknown, inlined),
 * children are ordered by name, and no clock or randomness is involved, so
 * the same folded text always yields byte-identical SVG.
 */
import { UserError } from '../errors';

/** A stack with how often it was seen; frames go from the outermost caller to the leaf. */
export interface CountedStack {
  frames: string[];
  count: number;
}

/** How a frame is coloured. */
export type FrameKind = 'kernel' | 'user' | 'jit' | 'inline';

export interface FlameGraphOptions {
  /** Heading at the top (default "Flame Graph", or "Icicle Graph" when inverted). */
  title?: string;
  /** Second heading line, e.g. the command that was profiled. */
  subtitle?: string;
  /** Image width in pixels (default 1200). */
  width?: number;
  /** Height of one frame in pixels (default 16). */
  frameHeight?: number;
  /** Font size in pixels (default 12). */
  fontSize?: number;
  /** Font family (default Verdana). */
  fontType?: string;
  /** What the counts are, for hover text: "samples" (default), "microseconds", "bytes"... */
  countName?: string;
  /** Frames narrower than this many pixels are left out (default 0.1). */
  minWidth?: number;
  /** Icicle graph: root at the top, stacks growing downwards. */
  inverted?: boolean;
  /** Reverse every stack before merging (leaf becomes the root): a "who calls the hot leaves" view. */
  reverse?: boolean;
  /** Overrides kernel-frame detection (default: `_[k]` suffix or a well-known kernel symbol prefix). */
  isKernelFrame?: (name: string) => boolean;
  /** Shown when the input holds no samples (default "No stacks"). */
  emptyMessage?: string;
}

/** Result of parsing folded text. */
export interface ParsedFolded {
  /** Merged stacks (joined by ';') with summed counts. */
  stacks: Map<string, number>;
  /** Lines that were neither blank nor `stack count` (and were ignored). */
  ignored: number;
}

/** Thrown for unusable renderer options (a negative width...). */
export class FlameGraphOptionError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'FlameGraphOptionError';
  }
}

/**
 * Parses folded stacks. A line is `frames count`, the count being the last
 * whitespace-separated token (integer or decimal); anything else is counted
 * in `ignored`. Repeated stacks are summed.
 */
export function parseFolded(text: string): ParsedFolded {
  const stacks = new Map<string, number>();
  let ignored = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) continue;
    const m = /^(.*\S)\s+(\d+(?:\.\d+)?)\s*$/.exec(line);
    if (!m) {
      ignored++;
      continue;
    }
    const count = Number(m[2]);
    if (!(count > 0)) continue;
    stacks.set(m[1], (stacks.get(m[1]) ?? 0) + count);
  }
  return { stacks, ignored };
}

/** Makes a frame name safe for the folded format (no ';' separators, no line breaks). */
function foldFrame(name: string): string {
  const s = name.replace(/;/g, ':').replace(/[\r\n]+/g, ' ').trim();
  return s || '[unknown]';
}

/**
 * Folded text from counted stacks, ready for renderFlameGraph or for Brendan
 * Gregg's flamegraph.pl. Identical stacks are merged, lines are sorted, and a
 * stack without frames is counted as `[unknown]`.
 *
 * @example
 * foldedFromCounts([{ frames: ['main', 'work'], count: 3 }, { frames: ['main'], count: 1 }])
 * // "main 1\nmain;work 3\n"
 */
export function foldedFromCounts(stacks: Iterable<CountedStack>): string {
  const merged = new Map<string, number>();
  for (const s of stacks) {
    if (!(s.count > 0)) continue;
    const key = s.frames.length ? s.frames.map(foldFrame).join(';') : '[unknown]';
    merged.set(key, (merged.get(key) ?? 0) + s.count);
  }
  const keys = [...merged.keys()].sort(cmp);
  return keys.map((k) => `${k} ${merged.get(k)}\n`).join('');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Prefixes of functions that only exist in the kernel; used when stacks carry no `_[k]` annotations.
const KERNEL_PREFIXES = /^(__x64_sys_|__ia32_sys_|__arm64_sys_|__se_sys_|__do_sys_|do_syscall_|entry_SYSCALL|syscall_exit_|syscall_enter_|x64_sys_call|ksys_|vfs_|__vfs_|ext4_|xfs_|btrfs_|tcp_|udp_|__tcp_|ip_|ipv6_|__ip_|__netif_|netif_|net_rx_|__napi|napi_|sock_|__sock_|__schedule|schedule$|schedule_|finish_task_switch|native_|asm_|__sysvec_|sysvec_|irq_|__irq_|handle_irq|do_idle|cpu_startup_entry|cpuidle_|default_idle|secondary_startup|start_kernel|rest_init|kthread|ret_from_fork|worker_thread|process_one_work|smpboot_|exc_page_fault|do_page_fault|handle_mm_fault|__handle_mm_fault|do_user_addr_fault|_copy_to_user|_copy_from_user|copy_user_|rep_movs_|clear_page_|__memcpy|memcpy_erms|security_|apparmor_|selinux_|bpf_prog_|__bpf_|__do_softirq|do_softirq|__softirqentry|run_ksoftirqd|rcu_|__rcu_|_raw_spin_|queued_spin_|native_queued|futex_|__futex_|do_futex|hrtimer_|__hrtimer_|tick_|ktime_|__wake_up|try_to_wake_up|wake_up_|do_sys_poll|ep_poll|do_epoll_|__fdget|__fput|fput|filemap_|generic_file_|__alloc_pages|alloc_pages|kmem_cache_|__kmalloc|kmalloc|kfree|dput|link_path_walk|path_openat|do_filp_open|do_sys_open|pipe_read|pipe_write|seq_read|kernfs_|sysfs_|blk_|__blk_|submit_bio|nvme_|scsi_|mutex_lock|mutex_unlock|down_read|down_write|up_read|up_write|__cond_resched|preempt_schedule|exit_to_user_mode|irqentry_|common_interrupt|do_exit|do_group_exit|__x86_|arch_|pick_next_task|enqueue_task|dequeue_task|update_curr|perf_|__perf_)/;

/**
 * Classifies a frame by the annotations stack collectors add: `_[k]` kernel,
 * `_[j]` JIT, `_[i]` inlined; `[unknown]`, bare addresses and `[jit]`-like
 * frames count as JIT/unknown; otherwise a well-known kernel symbol prefix
 * means kernel, and anything else is user code.
 */
export function frameKind(name: string, isKernelFrame?: (name: string) => boolean): FrameKind {
  if (name.endsWith('_[k]') || name.endsWith(' [k]')) return 'kernel';
  if (name.endsWith('_[j]') || name.endsWith(' [j]')) return 'jit';
  if (name.endsWith('_[i]') || name.endsWith(' [i]')) return 'inline';
  if (/^\[(unknown|jit|anon|perf-\d+\.map|JIT)/i.test(name) || /^(0x)?[0-9a-f]{6,16}$/i.test(name) || /^JIT\b/.test(name)) return 'jit';
  if (isKernelFrame) return isKernelFrame(name) ? 'kernel' : 'user';
  return KERNEL_PREFIXES.test(name) ? 'kernel' : 'user';
}

/** 32-bit FNV-1a: a fixed, platform-independent hash so colours never change between runs. */
function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Deterministic fill colour for a frame: a palette per kind, the shade from a hash of the name. */
export function frameColor(name: string, kind: FrameKind): string {
  // Annotations and module suffixes do not change the function: same function, same colour.
  const base = name.replace(/(_| )\[[kji]\]$/, '');
  const h = fnv1a(base);
  const v1 = (h & 0x3ff) / 1023;
  const v2 = ((h >>> 10) & 0x3ff) / 1023;
  const v3 = ((h >>> 20) & 0x3ff) / 1023;
  let r: number;
  let g: number;
  let b: number;
  switch (kind) {
    case 'kernel': // amber, kept apart from the user reds by its higher green
      r = 225 + 30 * v1; g = 145 + 50 * v2; b = 30 * v3;
      break;
    case 'jit': // green
      r = 50 + 60 * v1; g = 190 + 60 * v2; b = 50 + 60 * v3;
      break;
    case 'inline': // aqua
      r = 90 + 70 * v1; g = 200 + 30 * v2; b = 200 + 30 * v3;
      break;
    default: // user: warm reds
      r = 210 + 45 * v1; g = 50 + 80 * v2; b = 50 + 40 * v3;
  }
  return `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
}

/** Escapes text for XML content and double-quoted attributes; drops characters XML 1.0 forbids. */
export function xmlEscape(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

interface Node {
  name: string;
  value: number;
  children: Map<string, Node>;
}

function buildTree(stacks: Map<string, number>, reverse: boolean): Node {
  const root: Node = { name: 'all', value: 0, children: new Map() };
  for (const [stack, count] of stacks) {
    let frames = stack.split(';');
    if (reverse) frames = frames.reverse();
    root.value += count;
    let node = root;
    for (const f of frames) {
      let child = node.children.get(f);
      if (!child) node.children.set(f, (child = { name: f, value: 0, children: new Map() }));
      child.value += count;
      node = child;
    }
  }
  return root;
}

/** A laid-out frame, exported for tests and for callers that draw differently. */
export interface FrameBox {
  name: string;
  kind: FrameKind | 'root';
  depth: number;
  /** Samples in this frame and everything it called. */
  value: number;
  x: number;
  width: number;
}

/** Number formatting without locale dependence: 1234567 → "1,234,567". */
function withCommas(n: number): string {
  const [int, frac] = String(Math.round(n * 100) / 100).split('.');
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac ? `.${frac}` : '');
}

function fmt(n: number): string {
  // Two decimals are plenty for pixels and keep the text stable across platforms.
  return (Math.round(n * 100) / 100).toString();
}

/** Lays the frames of `root` out left to right in pixel units, skipping those narrower than minWidth. */
function layout(root: Node, x0: number, scale: number, minWidth: number, isKernel?: (n: string) => boolean): { boxes: FrameBox[]; maxDepth: number } {
  const boxes: FrameBox[] = [];
  let maxDepth = 0;
  const visit = (node: Node, depth: number, start: number): void => {
    const width = node.value * scale;
    if (width < minWidth) return;
    boxes.push({ name: node.name, kind: depth === 0 ? 'root' : frameKind(node.name, isKernel), depth, value: node.value, x: x0 + start * scale, width });
    if (depth > maxDepth) maxDepth = depth;
    let off = start;
    for (const key of [...node.children.keys()].sort(cmp)) {
      const child = node.children.get(key)!;
      visit(child, depth + 1, off);
      off += child.value;
    }
  };
  visit(root, 0, 0);
  return { boxes, maxDepth };
}

/** Shortens a label to fit `width` pixels, the way the in-page script does it after a zoom. */
export function fitLabel(name: string, width: number, fontSize: number): string {
  const chars = Math.floor((width - 6) / (fontSize * FONT_WIDTH));
  if (chars < 3) return '';
  if (name.length <= chars) return name;
  return name.slice(0, chars - 2) + '..';
}

/** Average glyph width relative to the font size for Verdana-like fonts. */
const FONT_WIDTH = 0.59;

/**
 * Renders folded stacks as a standalone interactive SVG flame graph.
 *
 * @example
 * fs.writeFileSync('out.svg', renderFlameGraph('main;a 3\nmain;b 1\n', { title: 'CPU' }));
 */
export function renderFlameGraph(folded: string, opts: FlameGraphOptions = {}): string {
  const width = opts.width ?? 1200;
  const frameHeight = opts.frameHeight ?? 16;
  const fontSize = opts.fontSize ?? 12;
  const minWidth = opts.minWidth ?? 0.1;
  if (!(width >= 100 && width <= 100_000)) throw new FlameGraphOptionError(`width must be between 100 and 100000 pixels, got ${width}`);
  if (!(frameHeight >= 4 && frameHeight <= 200)) throw new FlameGraphOptionError(`frame height must be between 4 and 200 pixels, got ${frameHeight}`);
  if (!(fontSize >= 4 && fontSize <= 100)) throw new FlameGraphOptionError(`font size must be between 4 and 100 pixels, got ${fontSize}`);
  if (!(minWidth >= 0)) throw new FlameGraphOptionError(`minimum frame width must be 0 or more pixels, got ${minWidth}`);
  const inverted = opts.inverted ?? false;
  const title = opts.title ?? (inverted ? 'Icicle Graph' : 'Flame Graph');
  const countName = opts.countName ?? 'samples';
  const fontType = opts.fontType ?? 'Verdana';

  const { stacks } = parseFolded(folded);
  const root = buildTree(stacks, opts.reverse ?? false);
  const xpad = 10;
  const ypadTop = fontSize * 3 + (opts.subtitle ? fontSize * 2 : 0);
  const ypadBottom = fontSize * 2 + 10;
  const usable = width - 2 * xpad;
  const scale = root.value > 0 ? usable / root.value : 0;
  const { boxes, maxDepth } = root.value > 0 ? layout(root, xpad, scale, minWidth, opts.isKernelFrame) : { boxes: [], maxDepth: 0 };
  const height = root.value > 0 ? (maxDepth + 1) * frameHeight + ypadTop + ypadBottom : ypadTop + ypadBottom + 2 * frameHeight;

  const frameY = (depth: number): number => (inverted ? ypadTop + depth * frameHeight : height - ypadBottom - (depth + 1) * frameHeight);
  const o: string[] = [];
  o.push('<?xml version="1.0" standalone="no"?>\n');
  o.push('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n');
  o.push(`<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" onload="init(evt)" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" ` +
    `data-xpad="${xpad}" data-font-size="${fontSize}" data-font-width="${FONT_WIDTH}" data-total="${root.value}" data-countname="${xmlEscape(countName)}" data-inverted="${inverted ? 1 : 0}">\n`);
  o.push('<!-- Flame graph by tsbpf. Stack order: the root is at the ' + (inverted ? 'top' : 'bottom') + '; frame width is proportional to ' + xmlEscape(countName).replace(/--/g, '- -') + '. -->\n');
  o.push('<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0"><stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/></linearGradient></defs>\n');
  o.push(`<style type="text/css"><![CDATA[
text { font-family: ${fontType.replace(/[;{}<>\]]/g, '')}, sans-serif; font-size: ${fontSize}px; fill: rgb(0,0,0); }
#title { text-anchor: middle; font-size: ${fontSize + 5}px; }
#subtitle { text-anchor: middle; fill: rgb(100,100,100); }
#search, #unzoom, #ignorecase { cursor: pointer; opacity: 0.1; }
#search:hover, #search.show, #unzoom:hover, #unzoom.show, #ignorecase:hover, #ignorecase.show { opacity: 1; }
#matched { text-anchor: end; }
.hide { display: none; }
.parent { opacity: 0.5; }
#frames > g { cursor: pointer; }
#frames > g:hover > rect { stroke: black; stroke-width: 0.5; }
]]></style>
`);
  o.push(`<script type="text/ecmascript"><![CDATA[${SCRIPT}]]></script>\n`);
  o.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="url(#background)"/>\n`);
  o.push(`<text id="title" x="${width / 2}" y="${fontSize * 2}">${xmlEscape(title)}</text>\n`);
  if (opts.subtitle) o.push(`<text id="subtitle" x="${width / 2}" y="${fontSize * 4}">${xmlEscape(opts.subtitle)}</text>\n`);
  o.push(`<text id="details" x="${xpad}" y="${height - fontSize / 2 - 5}"> </text>\n`);
  o.push(`<text id="unzoom" class="hide" x="${xpad}" y="${fontSize * 2}">Reset Zoom</text>\n`);
  o.push(`<text id="search" x="${width - xpad - 100}" y="${fontSize * 2}">Search</text>\n`);
  o.push(`<text id="ignorecase" x="${width - xpad - 16}" y="${fontSize * 2}">ic</text>\n`);
  o.push(`<text id="matched" x="${width - xpad}" y="${height - fontSize / 2 - 5}"> </text>\n`);
  o.push('<g id="frames">\n');
  if (!boxes.length) {
    o.push(`<text x="${width / 2}" y="${ypadTop + frameHeight}" text-anchor="middle">${xmlEscape(opts.emptyMessage ?? 'No stacks')}</text>\n`);
  }
  for (const b of boxes) {
    const pct = (b.value / root.value) * 100;
    const info = `${b.name} (${withCommas(b.value)} ${countName}, ${pct.toFixed(2)}%)`;
    const fill = b.kind === 'root' ? 'rgb(230,120,80)' : frameColor(b.name, b.kind);
    const y = frameY(b.depth);
    o.push(`<g data-depth="${b.depth}" data-value="${b.value}"${b.kind === 'root' ? '' : ` data-kind="${b.kind}"`}><title>${xmlEscape(info)}</title>` +
      `<rect x="${fmt(b.x)}" y="${fmt(y)}" width="${fmt(b.width)}" height="${frameHeight - 1}" fill="${fill}" rx="2" ry="2"/>` +
      `<text x="${fmt(b.x + 3)}" y="${fmt(y + frameHeight / 2 + fontSize / 2 - 2)}">${xmlEscape(fitLabel(b.name, b.width, fontSize))}</text></g>\n`);
  }
  o.push('</g>\n</svg>\n');
  return o.join('');
}

/** Layout only: the boxes renderFlameGraph would draw (same order), for tests and other renderers. */
export function layoutFlameGraph(folded: string, opts: Pick<FlameGraphOptions, 'width' | 'minWidth' | 'reverse' | 'isKernelFrame'> = {}): FrameBox[] {
  const width = opts.width ?? 1200;
  const root = buildTree(parseFolded(folded).stacks, opts.reverse ?? false);
  if (!root.value) return [];
  return layout(root, 10, (width - 20) / root.value, opts.minWidth ?? 0.1, opts.isKernelFrame).boxes;
}

/*
 * The in-page script. Plain ES5-style DOM code so any SVG viewer with
 * scripting runs it; it must never contain the CDATA terminator.
 * Original geometry is kept in data-ox/data-ow so zoom and reset are exact.
 */
const SCRIPT = `
"use strict";
var svg, frames, details, matchedtext, searchbtn, unzoombtn, icbtn;
var xpad, fontSize, fontWidth, total, countName, inverted;
var searching = null, ignorecase = false, zoomed = null;
function init(evt) {
  svg = document.documentElement;
  frames = document.getElementById("frames");
  details = document.getElementById("details").firstChild;
  matchedtext = document.getElementById("matched");
  searchbtn = document.getElementById("search");
  unzoombtn = document.getElementById("unzoom");
  icbtn = document.getElementById("ignorecase");
  xpad = parseFloat(svg.getAttribute("data-xpad"));
  fontSize = parseFloat(svg.getAttribute("data-font-size"));
  fontWidth = parseFloat(svg.getAttribute("data-font-width"));
  total = parseFloat(svg.getAttribute("data-total"));
  countName = svg.getAttribute("data-countname");
  inverted = svg.getAttribute("data-inverted") === "1";
  var gs = frames.getElementsByTagName("g");
  for (var i = 0; i < gs.length; i++) {
    var r = gs[i].getElementsByTagName("rect")[0];
    gs[i].setAttribute("data-ox", r.getAttribute("x"));
    gs[i].setAttribute("data-ow", r.getAttribute("width"));
    gs[i].setAttribute("data-fill", r.getAttribute("fill"));
    gs[i].setAttribute("data-name", frameName(gs[i]));
  }
  frames.addEventListener("click", function (e) {
    var g = frameOf(e.target);
    if (g) zoom(g);
  });
  frames.addEventListener("mouseover", function (e) {
    var g = frameOf(e.target);
    if (g) details.nodeValue = "Function: " + g.getElementsByTagName("title")[0].textContent;
  });
  frames.addEventListener("mouseout", function (e) {
    if (frameOf(e.target)) details.nodeValue = " ";
  });
  searchbtn.addEventListener("click", function () { if (searching) clearSearch(); else searchPrompt(); });
  unzoombtn.addEventListener("click", unzoom);
  icbtn.addEventListener("click", function () {
    ignorecase = !ignorecase;
    icbtn.classList.toggle("show", ignorecase);
    if (searching) search(searching);
  });
  window.addEventListener("keydown", function (e) {
    if (e.keyCode === 114 || ((e.ctrlKey || e.metaKey) && e.keyCode === 70)) { e.preventDefault(); searchPrompt(); }
    else if ((e.ctrlKey || e.metaKey) && e.keyCode === 73) { e.preventDefault(); icbtn.dispatchEvent(new Event("click")); }
    else if (e.keyCode === 27) { unzoom(); clearSearch(); }
  });
  var params = {};
  (window.location.search || "").replace(/^\\?/, "").split("&").forEach(function (kv) {
    var p = kv.split("=");
    if (p[0]) params[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || "");
  });
  if (params.zoom) {
    for (var k = 0; k < gs.length; k++) if (gs[k].getAttribute("data-name") === params.zoom) { zoom(gs[k]); break; }
  }
  if (params.s) search(params.s);
}
function frameOf(el) {
  while (el && el !== frames) {
    if (el.parentNode === frames && el.tagName === "g") return el;
    el = el.parentNode;
  }
  return null;
}
function frameName(g) {
  var t = g.getElementsByTagName("title")[0].textContent;
  return t.replace(/ \\([^()]*\\)$/, "");
}
function fit(g, w) {
  var name = g.getAttribute("data-name");
  var chars = Math.floor((w - 6) / (fontSize * fontWidth));
  var t = g.getElementsByTagName("text")[0];
  if (chars < 3) t.textContent = "";
  else if (name.length <= chars) t.textContent = name;
  else t.textContent = name.substring(0, chars - 2) + "..";
}
function place(g, x, w) {
  x = Math.round(x * 100) / 100;
  w = Math.round(w * 100) / 100;
  var r = g.getElementsByTagName("rect")[0];
  r.setAttribute("x", x);
  r.setAttribute("width", w);
  g.getElementsByTagName("text")[0].setAttribute("x", x + 3);
  fit(g, w);
}
function zoom(target) {
  var tx = parseFloat(target.getAttribute("data-ox"));
  var tw = parseFloat(target.getAttribute("data-ow"));
  var td = parseInt(target.getAttribute("data-depth"), 10);
  var full = svg.viewBox.baseVal.width - 2 * xpad;
  var ratio = full / tw;
  var eps = 0.0001;
  zoomed = target;
  unzoombtn.classList.remove("hide");
  var gs = frames.getElementsByTagName("g");
  for (var i = 0; i < gs.length; i++) {
    var g = gs[i];
    var ox = parseFloat(g.getAttribute("data-ox"));
    var ow = parseFloat(g.getAttribute("data-ow"));
    var d = parseInt(g.getAttribute("data-depth"), 10);
    g.classList.remove("hide");
    g.classList.remove("parent");
    if (d < td && ox <= tx + eps && ox + ow >= tx + tw - eps) {
      g.classList.add("parent");
      place(g, xpad, full);
    } else if (d >= td && ox >= tx - eps && ox + ow <= tx + tw + eps) {
      place(g, xpad + (ox - tx) * ratio, ow * ratio);
    } else {
      g.classList.add("hide");
    }
  }
  if (searching) search(searching);
}
function unzoom() {
  zoomed = null;
  unzoombtn.classList.add("hide");
  var gs = frames.getElementsByTagName("g");
  for (var i = 0; i < gs.length; i++) {
    gs[i].classList.remove("hide");
    gs[i].classList.remove("parent");
    place(gs[i], parseFloat(gs[i].getAttribute("data-ox")), parseFloat(gs[i].getAttribute("data-ow")));
  }
  if (searching) search(searching);
}
function searchPrompt() {
  var term = prompt("Search for (regular expression):" + (ignorecase ? " (ignoring case)" : ""), searching || "");
  if (term !== null && term !== "") search(term);
}
function clearSearch() {
  searching = null;
  searchbtn.classList.remove("show");
  searchbtn.firstChild.nodeValue = "Search";
  matchedtext.firstChild.nodeValue = " ";
  var gs = frames.getElementsByTagName("g");
  for (var i = 0; i < gs.length; i++) gs[i].getElementsByTagName("rect")[0].setAttribute("fill", gs[i].getAttribute("data-fill"));
}
function search(term) {
  var re;
  try { re = new RegExp(term, ignorecase ? "i" : ""); } catch (e) { matchedtext.firstChild.nodeValue = "bad regular expression"; return; }
  clearSearch();
  searching = term;
  var spans = [];
  var gs = frames.getElementsByTagName("g");
  for (var i = 0; i < gs.length; i++) {
    var g = gs[i];
    if (g.getAttribute("data-depth") === "0" || !re.test(g.getAttribute("data-name"))) continue;
    g.getElementsByTagName("rect")[0].setAttribute("fill", "rgb(230,0,230)");
    spans.push([parseFloat(g.getAttribute("data-ox")), parseFloat(g.getAttribute("data-ow"))]);
  }
  searchbtn.classList.add("show");
  searchbtn.firstChild.nodeValue = "Reset Search";
  // Nested matches (a recursive function) must not be counted twice: merge overlapping spans.
  spans.sort(function (a, b) { return a[0] - b[0]; });
  var covered = 0, end = -1;
  for (var j = 0; j < spans.length; j++) {
    var s = spans[j][0], e = s + spans[j][1];
    if (s >= end) { covered += e - s; end = e; }
    else if (e > end) { covered += e - end; end = e; }
  }
  var full = svg.viewBox.baseVal.width - 2 * xpad;
  var pct = full > 0 ? (100 * covered / full) : 0;
  matchedtext.firstChild.nodeValue = spans.length ? "Matched: " + pct.toFixed(1) + "%" : "No match";
}
`;
