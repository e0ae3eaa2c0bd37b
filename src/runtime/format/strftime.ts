/**
 * C strftime(3) in the C locale and local time (the TZ environment variable is
 * honoured, as Node reads it), plus bpftrace's `%f` (microseconds, 6 digits).
 * Used for bpftrace's `strftime(fmt, nsecs)` and `time(fmt)`.
 *
 * glibc extensions supported: `%k %l %P %s %C %g %G %V %u %e %n %t %D %F %T %R %r %h`
 * and the flags `-` (no padding), `_` (space padding), `0` (zero padding),
 * `^` (upper case) right after '%'. `%Z` comes from Intl (an abbreviation such
 * as UTC, CET or EST when ICU knows one; otherwise `+hhmm`).
 *
 * @example
 * strftime('%H:%M:%S.%f', 1700000000123456789n); // e.g. "22:13:20.123456" in UTC
 */

/** bpftrace's default `time()` format. */
export const TIME_DEFAULT_FORMAT = '%H:%M:%S\n';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];

interface Tm {
  year: number; mon: number; mday: number; hour: number; min: number; sec: number;
  wday: number; yday: number; gmtoffMin: number; epochSec: bigint; usec: number; date: Date;
}

function localTm(nsecs: bigint): Tm {
  const sec = nsecs >= 0n ? nsecs / 1_000_000_000n : -((-nsecs + 999_999_999n) / 1_000_000_000n);
  const usec = Number((nsecs - sec * 1_000_000_000n) / 1000n);
  const d = new Date(Number(sec) * 1000);
  const start = new Date(d.getFullYear(), 0, 1);
  // Day of year from calendar dates (not elapsed ms) so DST changes do not skew it.
  const yday = Math.round((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(start.getFullYear(), 0, 1)) / 86400000);
  return {
    year: d.getFullYear(), mon: d.getMonth(), mday: d.getDate(), hour: d.getHours(), min: d.getMinutes(),
    sec: d.getSeconds(), wday: d.getDay(), yday, gmtoffMin: -d.getTimezoneOffset(), epochSec: sec, usec, date: d,
  };
}

/** ISO 8601 week-based year and week number. */
function isoWeek(tm: Tm): { year: number; week: number } {
  const wdayMon = (tm.wday + 6) % 7; // Monday = 0
  let week = Math.floor((tm.yday - wdayMon + 10) / 7);
  let year = tm.year;
  if (week < 1) {
    year--;
    const prevLeap = isLeap(year);
    const prevYday = tm.yday + (prevLeap ? 366 : 365);
    week = Math.floor((prevYday - wdayMon + 10) / 7);
  } else {
    const daysInYear = isLeap(year) ? 366 : 365;
    if (tm.yday - wdayMon + 3 >= daysInYear) { week = 1; year++; }
  }
  return { year, week };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function tzName(tm: Tm): string {
  const tz = process.env.TZ;
  if (tz === '' || tz === 'UTC' || tz === 'UTC0' || tz === 'GMT') return tz === 'GMT' ? 'GMT' : 'UTC';
  for (const locale of ['en-US', 'en-GB', 'en-IN', 'en-AU']) {
    try {
      const part = new Intl.DateTimeFormat(locale, { timeZoneName: 'short', timeZone: tz || undefined })
        .formatToParts(tm.date).find((p) => p.type === 'timeZoneName');
      if (part && !/^(GMT|UTC)[+-]/.test(part.value)) return part.value;
    } catch {
      break;
    }
  }
  return offset(tm.gmtoffMin, false);
}

function offset(min: number, _colon: boolean): string {
  const sign = min < 0 ? '-' : '+';
  const a = Math.abs(min);
  return sign + String(Math.floor(a / 60)).padStart(2, '0') + String(a % 60).padStart(2, '0');
}

type Pad = '0' | ' ' | '';

function num(n: number, width: number, defPad: Pad, flag: string): string {
  const pad: Pad = flag === '-' ? '' : flag === '_' ? ' ' : flag === '0' ? '0' : defPad;
  const s = String(Math.abs(n));
  const body = pad === '' ? s : s.padStart(width, pad);
  return (n < 0 ? '-' : '') + body;
}

/**
 * Formats a time given in nanoseconds since the Unix epoch, like C strftime
 * on localtime(), with `%f` as microseconds.
 */
export function strftime(fmt: string, nsecsSinceEpoch: bigint): string {
  const tm = localTm(nsecsSinceEpoch);
  return expand(fmt, tm);
}

function expand(fmt: string, tm: Tm): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    if (ch !== '%' || i + 1 >= fmt.length) { out += ch; continue; }
    let j = i + 1;
    let flag = '';
    while ('-_0^#'.includes(fmt[j]) && j < fmt.length) flag = fmt[j++];
    const c = fmt[j];
    const r = conv(c, tm, flag === '^' || flag === '#' ? '' : flag);
    if (r === undefined) { out += fmt.slice(i, j + 1); i = j; continue; }
    out += flag === '^' ? r.toUpperCase() : r;
    i = j;
  }
  return out;
}

function conv(c: string, tm: Tm, flag: string): string | undefined {
  const h12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
  switch (c) {
    case '%': return '%';
    case 'a': return DAYS[tm.wday].slice(0, 3);
    case 'A': return DAYS[tm.wday];
    case 'b': case 'h': return MONTHS[tm.mon].slice(0, 3);
    case 'B': return MONTHS[tm.mon];
    case 'c': return expand('%a %b %e %H:%M:%S %Y', tm);
    case 'C': return num(Math.floor(tm.year / 100), 2, '0', flag);
    case 'd': return num(tm.mday, 2, '0', flag);
    case 'D': return expand('%m/%d/%y', tm);
    case 'e': return num(tm.mday, 2, ' ', flag);
    case 'f': return String(tm.usec).padStart(6, '0');
    case 'F': return expand('%Y-%m-%d', tm);
    case 'g': return num(isoWeek(tm).year % 100, 2, '0', flag);
    case 'G': return num(isoWeek(tm).year, 1, '0', flag);
    case 'H': return num(tm.hour, 2, '0', flag);
    case 'I': return num(h12, 2, '0', flag);
    case 'j': return num(tm.yday + 1, 3, '0', flag);
    case 'k': return num(tm.hour, 2, ' ', flag);
    case 'l': return num(h12, 2, ' ', flag);
    case 'm': return num(tm.mon + 1, 2, '0', flag);
    case 'M': return num(tm.min, 2, '0', flag);
    case 'n': return '\n';
    case 'p': return tm.hour < 12 ? 'AM' : 'PM';
    case 'P': return tm.hour < 12 ? 'am' : 'pm';
    case 'r': return expand('%I:%M:%S %p', tm);
    case 'R': return expand('%H:%M', tm);
    case 's': return tm.epochSec.toString();
    case 'S': return num(tm.sec, 2, '0', flag);
    case 't': return '\t';
    case 'T': return expand('%H:%M:%S', tm);
    case 'u': return String(tm.wday === 0 ? 7 : tm.wday);
    case 'U': return num(Math.floor((tm.yday + 7 - tm.wday) / 7), 2, '0', flag);
    case 'V': return num(isoWeek(tm).week, 2, '0', flag);
    case 'w': return String(tm.wday);
    case 'W': return num(Math.floor((tm.yday + 7 - ((tm.wday + 6) % 7)) / 7), 2, '0', flag);
    case 'x': return expand('%m/%d/%y', tm);
    case 'X': return expand('%H:%M:%S', tm);
    case 'y': return num(tm.year % 100, 2, '0', flag);
    case 'Y': return num(tm.year, 1, '0', flag);
    case 'z': return offset(tm.gmtoffMin, false);
    case 'Z': return tzName(tm);
    default: return undefined;
  }
}
