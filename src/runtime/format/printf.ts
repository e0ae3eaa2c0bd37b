/**
 * bpftrace's printf(): format parsing (once, at compile time) and formatting
 * (per event, in userspace), with bpftrace 0.17's exact behaviour.
 *
 * A conversion is `%[-][width][.precision][length]conv` where width may start
 * with 0 (zero padding), length is one of hh h l ll j z t, and conv one of
 * d u o x X p (integers), c (integer printed as a character), s (string or any
 * value resolved to text), r / rx / rh (buffers: `\xNN` escapes keeping ASCII,
 * all `\xNN`, or bare hex bytes). No `+`, space, `#`, `*`, `%i`, `%e`, `%f`.
 *
 * Integers are handed to C's printf as 64-bit values, so without a length
 * modifier `%d`/`%u`/`%x` show the low 32 bits, `%hhd` the low 8, `%ld`
 * all 64 — the compiler should not widen or narrow anything itself.
 *
 * Quirks kept from bpftrace 0.17 (its peers print the same bytes):
 * - conversions are found by searching, so in `"%%d"` the `%d` is a
 *   conversion (it consumes an argument and prints `%d`);
 * - `%%` becomes `%` everywhere, also after the last conversion
 *   (`printf("100%%\n")` prints `100%`, as bpftrace 0.26 does; 0.17 and 0.23 kept `%%` there);
 * - `%r` with a width/flags (`%10r`) prints itself literally.
 *
 * @example
 * const f = parseFormat('%-8s|%5d\n');
 * formatPrintf(f, [str('ab'), int(42n)]); // "ab      |   42\n"
 */
import { type Value, hexFormatBuffer, valueText } from '../values';
import { UserError } from '../../errors';

export type LengthModifier = '' | 'hh' | 'h' | 'l' | 'll' | 'j' | 'z' | 't';
export type Conversion = 'd' | 'u' | 'o' | 'x' | 'X' | 'p' | 'c' | 's' | 'r' | 'rx' | 'rh';

/** What kind of argument a conversion takes, for the compiler's type check. */
export type ArgClass = 'integer' | 'string' | 'buffer';
/** What kind of value an argument is (a tuple fits no conversion). */
export type PrintfArgClass = ArgClass | 'tuple';

/** One conversion specification. */
export interface FormatSpec {
  /** Offset of its '%' in the format string (0-based). */
  readonly offset: number;
  /** Its source text, e.g. `%-08lx`. */
  readonly text: string;
  readonly leftAlign: boolean;
  readonly zeroPad: boolean;
  readonly width?: number;
  readonly precision?: number;
  readonly length: LengthModifier;
  readonly conversion: Conversion;
  readonly expects: ArgClass;
}

/** A parsed format: `parts[i]` is literal text followed by conversion i; `tail` follows the last one. */
export interface ParsedFormat {
  readonly source: string;
  readonly parts: ReadonlyArray<{ readonly literal: string; readonly spec: FormatSpec }>;
  readonly tail: string;
  /** '%' sequences that are not conversions bpftrace accepts (printed literally); used to explain arity errors. */
  readonly ignored: ReadonlyArray<{ readonly offset: number; readonly text: string }>;
}

/** A printf format that does not fit its arguments; `offset` points into the format string when known. */
export class PrintfFormatError extends UserError {
  constructor(message: string, readonly offset?: number) {
    super(message);
    this.name = 'PrintfFormatError';
  }
}

const LENGTHS: readonly LengthModifier[] = ['hh', 'h', 'll', 'l', 'j', 'z', 't'];
const INT_CONVS = new Set(['d', 'u', 'o', 'x', 'X', 'p']);

/** Tries to read a conversion at `i` (which holds '%'); returns it and its end. */
function matchSpec(fmt: string, i: number): FormatSpec | undefined {
  let j = i + 1;
  let leftAlign = false;
  if (fmt[j] === '-') { leftAlign = true; j++; }
  const ws = j;
  while (j < fmt.length && fmt[j] >= '0' && fmt[j] <= '9') j++;
  const widthText = fmt.slice(ws, j);
  let precision: number | undefined;
  if (fmt[j] === '.' && fmt[j + 1] >= '0' && fmt[j + 1] <= '9') {
    const ps = ++j;
    while (j < fmt.length && fmt[j] >= '0' && fmt[j] <= '9') j++;
    precision = Number(fmt.slice(ps, j));
  }
  let length: LengthModifier = '';
  let conversion: Conversion | undefined;
  if (fmt[j] === 's' || fmt[j] === 'c') conversion = fmt[j++] as Conversion;
  else if (fmt[j] === 'r') {
    j++;
    if (fmt[j] === 'x' || fmt[j] === 'h') conversion = ('r' + fmt[j++]) as Conversion;
    else conversion = 'r';
  } else {
    for (const l of LENGTHS) {
      if (fmt.startsWith(l, j) && INT_CONVS.has(fmt[j + l.length])) { length = l; break; }
    }
    const c = fmt[j + length.length];
    if (c !== undefined && INT_CONVS.has(c)) { conversion = c as Conversion; j += length.length + 1; }
  }
  if (!conversion) return undefined;
  const expects: ArgClass = conversion === 's' ? 'string' : conversion[0] === 'r' ? 'buffer' : 'integer';
  return {
    offset: i,
    text: fmt.slice(i, j),
    leftAlign,
    zeroPad: widthText.startsWith('0'),
    width: widthText === '' ? undefined : Number(widthText),
    precision,
    length,
    conversion,
    expects,
  };
}

/** Splits a printf format into literal text and conversions, as bpftrace does. Never throws. */
export function parseFormat(fmt: string): ParsedFormat {
  const parts: Array<{ literal: string; spec: FormatSpec }> = [];
  const ignored: Array<{ offset: number; text: string }> = [];
  let last = 0;
  let pairedAt = -1; // second '%' of a "%%" pair
  let i = fmt.indexOf('%');
  while (i !== -1) {
    const spec = matchSpec(fmt, i);
    if (spec) {
      parts.push({ literal: fmt.slice(last, i), spec });
      last = i + spec.text.length;
      i = fmt.indexOf('%', last);
      continue;
    }
    if (fmt[i + 1] === '%') pairedAt = i + 1;
    else if (i !== pairedAt) {
      const m = /^%[-+ #0-9.*]*[a-zA-Z]?/.exec(fmt.slice(i));
      ignored.push({ offset: i, text: m ? m[0] : '%' });
    }
    // Like bpftrace's regex search, retry from the very next character.
    i = fmt.indexOf('%', i + 1);
  }
  return { source: fmt, parts, tail: fmt.slice(last), ignored };
}

/**
 * Checks argument count and classes against a parsed format, with bpftrace's
 * messages; throws PrintfFormatError. `args` are the argument classes the
 * compiler inferred ('string' also covers everything printed as text: ksym,
 * usym, kstack, inet, username, strftime...; pointers count as 'integer').
 */
export function checkFormat(parsed: ParsedFormat, args: readonly PrintfArgClass[], func = 'printf'): void {
  const n = parsed.parts.length;
  if (args.length !== n) {
    const what = args.length < n ? 'Not enough' : 'Too many';
    let msg = `${func}: ${what} arguments for format string (${args.length} supplied, ${n} expected)`;
    const hint = parsed.ignored[0];
    if (hint && args.length > n) msg += `; '${hint.text}' at offset ${hint.offset} is not a conversion bpftrace supports`;
    throw new PrintfFormatError(msg, args.length < n ? parsed.parts[args.length]?.spec.offset : hint?.offset);
  }
  parsed.parts.forEach(({ spec }, i) => {
    if (args[i] !== spec.expects) {
      const tok = spec.text.replace(/^%-?[0-9]*(\.[0-9]+)?/, '');
      throw new PrintfFormatError(`${func}: %${tok} specifier expects a value of type ${spec.expects} (${args[i]} supplied)`, spec.offset);
    }
  });
}

/**
 * One conversion of a format as C's snprintf sees it (bpftrace calls it once
 * per conversion on `literal + spec.text`): `text` is printed first, then the
 * conversion — unless `spec` is null, when the argument is consumed but the
 * conversion was printed as text (its '%' was paired away by a preceding '%',
 * or it is a `%r` with width/flags, unknown to C).
 */
export interface FormatPiece {
  readonly text: string;
  readonly spec: FormatSpec | null;
}

/** A format resolved once into pieces, so formatting an event is plain concatenation. */
export interface FormatPlan {
  readonly pieces: readonly FormatPiece[];
  readonly tail: string;
}

const plans = new WeakMap<ParsedFormat, FormatPlan>();

/** The pieces of a parsed format (computed once per format, then cached). */
export function planFormat(parsed: ParsedFormat): FormatPlan {
  let plan = plans.get(parsed);
  if (!plan) {
    plan = { pieces: parsed.parts.map(({ literal, spec }) => piece(literal, spec)), tail: parsed.tail.replace(/%%/g, '%') };
    plans.set(parsed, plan);
  }
  return plan;
}

/** Formats printf arguments; the values must match the format (see checkFormat). */
export function formatPrintf(parsed: ParsedFormat, values: readonly Value[]): string {
  const { pieces, tail } = planFormat(parsed);
  let out = '';
  for (let i = 0; i < pieces.length; i++) {
    const { text, spec } = pieces[i];
    const v = values[i];
    if (v === undefined) {
      const s = parsed.parts[i].spec;
      throw new PrintfFormatError(`printf: missing argument ${i + 1} for ${s.text}`, s.offset);
    }
    out += spec ? text + formatOne(spec, v) : text;
  }
  return out + tail;
}

/**
 * What C's snprintf makes of `literal + spec.text` with one argument, as
 * bpftrace calls it: "%%" pairs collapse first, so a conversion whose '%'
 * was paired away prints as text; an `%r` with width/flags is unknown to C and
 * printed as written.
 */
function piece(literal: string, spec: FormatSpec): FormatPiece {
  const whole = literal + spec.text;
  let out = '';
  let i = 0;
  while (i < whole.length) {
    if (i === literal.length) {
      const plainR = spec.conversion[0] !== 'r' || spec.text === '%' + spec.conversion;
      return plainR ? { text: out, spec } : { text: out + spec.text, spec: null };
    } else if (whole[i] === '%' && whole[i + 1] === '%') {
      out += '%';
      i += 2;
    } else {
      out += whole[i++];
    }
  }
  return { text: out, spec: null };
}

/** One conversion applied to one value, with C printf semantics. */
export function formatOne(spec: FormatSpec, v: Value): string {
  switch (spec.conversion) {
    case 's':
      return pad(truncBytes(valueText(v), spec.precision), spec, false);
    case 'r': case 'rx': case 'rh': {
      const bytes = v.kind === 'buf' ? v.bytes : Buffer.from(valueText(v));
      return hexFormatBuffer(bytes, spec.conversion === 'r', spec.conversion !== 'rh');
    }
    case 'c':
      return pad(String.fromCharCode(Number(BigInt.asUintN(8, intOf(v, spec)))), spec, false);
    case 'p': {
      const u = BigInt.asUintN(64, intOf(v, spec));
      if (u === 0n) return pad('(nil)', spec, false);
      return layoutNumber(u.toString(16), '', '0x', spec);
    }
    default: {
      const bits = lengthBits(spec.length);
      const raw = intOf(v, spec);
      if (spec.conversion === 'd') {
        const s = BigInt.asIntN(bits, raw);
        return layoutNumber((s < 0n ? -s : s).toString(), s < 0n ? '-' : '', '', spec);
      }
      const u = BigInt.asUintN(bits, raw);
      const base = spec.conversion === 'o' ? 8 : spec.conversion === 'u' ? 10 : 16;
      let digits = u.toString(base);
      if (spec.conversion === 'X') digits = digits.toUpperCase();
      return layoutNumber(digits, '', '', spec);
    }
  }
}

/** How many low bits of the 64-bit argument C's printf looks at for a length modifier. */
export function lengthBits(l: LengthModifier): 8 | 16 | 32 | 64 {
  return l === 'hh' ? 8 : l === 'h' ? 16 : l === '' ? 32 : 64;
}

function intOf(v: Value, spec: FormatSpec): bigint {
  if (v.kind === 'int') return v.value;
  throw new PrintfFormatError(`printf: ${spec.text} expects an integer, got ${v.kind}`, spec.offset);
}

/** C integer layout: precision = minimum digits (0 prints nothing for 0), '0' pads after sign/prefix. */
export function layoutNumber(digits: string, sign: string, prefix: string, spec: FormatSpec): string {
  if (spec.precision !== undefined) {
    if (spec.precision === 0 && digits === '0' && prefix === '') digits = '';
    else digits = digits.padStart(spec.precision, '0');
  }
  const body = digits;
  const width = spec.width ?? 0;
  const len = sign.length + prefix.length + body.length;
  if (len >= width) return sign + prefix + body;
  if (spec.leftAlign) return (sign + prefix + body).padEnd(width);
  if (spec.zeroPad && spec.precision === undefined) return sign + prefix + '0'.repeat(width - len) + body;
  return ' '.repeat(width - len) + sign + prefix + body;
}

/** Width padding for strings/chars: C counts bytes, so pad by UTF-8 length. */
export function pad(s: string, spec: FormatSpec, _numeric: boolean): string {
  const width = spec.width ?? 0;
  const len = Buffer.byteLength(s);
  if (len >= width) return s;
  return spec.leftAlign ? s + ' '.repeat(width - len) : ' '.repeat(width - len) + s;
}

function truncBytes(s: string, precision: number | undefined): string {
  if (precision === undefined) return s;
  const b = Buffer.from(s);
  return b.length <= precision ? s : b.subarray(0, precision).toString();
}
