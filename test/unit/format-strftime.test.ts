// strftime against glibc: expected strings were produced by GNU date (glibc strftime)
// with LC_ALL=C: `TZ=<zone> date -d @<secs> +"<FMT>"`.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { strftime, TIME_DEFAULT_FORMAT, createOutput } from '../../src/runtime/format';

const FMT = '%a %A %b %B %c|%C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%|%-d %_m %^a';

const GLIBC: Array<[string, number, string]> = [
  ['UTC', 1700000000, "Tue Tuesday Nov November Tue Nov 14 22:13:20 2023|20 14 11/14/23 14 2023-11-14 23 2023 Nov 22 10 318 22 10 11 13 \n PM pm 10:13:20 PM 22:13 1700000000 20 \t 22:13:20 2 46 46 2 46 11/14/23 22:13:20 23 2023 +0000 UTC %|14 11 TUE"],
  ['UTC', 1704067199, "Sun Sunday Dec December Sun Dec 31 23:59:59 2023|20 31 12/31/23 31 2023-12-31 23 2023 Dec 23 11 365 23 11 12 59 \n PM pm 11:59:59 PM 23:59 1704067199 59 \t 23:59:59 7 53 52 0 52 12/31/23 23:59:59 23 2023 +0000 UTC %|31 12 SUN"],
  ['UTC', 1609459200, "Fri Friday Jan January Fri Jan  1 00:00:00 2021|20 01 01/01/21  1 2021-01-01 20 2020 Jan 00 12 001  0 12 01 00 \n AM am 12:00:00 AM 00:00 1609459200 00 \t 00:00:00 5 00 53 5 00 01/01/21 00:00:00 21 2021 +0000 UTC %|1  1 FRI"],
  ['UTC', 1230768000, "Thu Thursday Jan January Thu Jan  1 00:00:00 2009|20 01 01/01/09  1 2009-01-01 09 2009 Jan 00 12 001  0 12 01 00 \n AM am 12:00:00 AM 00:00 1230768000 00 \t 00:00:00 4 00 01 4 00 01/01/09 00:00:00 09 2009 +0000 UTC %|1  1 THU"],
  ['America/New_York', 1700000000, "Tue Tuesday Nov November Tue Nov 14 17:13:20 2023|20 14 11/14/23 14 2023-11-14 23 2023 Nov 17 05 318 17  5 11 13 \n PM pm 05:13:20 PM 17:13 1700000000 20 \t 17:13:20 2 46 46 2 46 11/14/23 17:13:20 23 2023 -0500 EST %|14 11 TUE"],
  ['America/New_York', 1704067199, "Sun Sunday Dec December Sun Dec 31 18:59:59 2023|20 31 12/31/23 31 2023-12-31 23 2023 Dec 18 06 365 18  6 12 59 \n PM pm 06:59:59 PM 18:59 1704067199 59 \t 18:59:59 7 53 52 0 52 12/31/23 18:59:59 23 2023 -0500 EST %|31 12 SUN"],
  ['America/New_York', 1609459200, "Thu Thursday Dec December Thu Dec 31 19:00:00 2020|20 31 12/31/20 31 2020-12-31 20 2020 Dec 19 07 366 19  7 12 00 \n PM pm 07:00:00 PM 19:00 1609459200 00 \t 19:00:00 4 52 53 4 52 12/31/20 19:00:00 20 2020 -0500 EST %|31 12 THU"],
  ['America/New_York', 1230768000, "Wed Wednesday Dec December Wed Dec 31 19:00:00 2008|20 31 12/31/08 31 2008-12-31 09 2009 Dec 19 07 366 19  7 12 00 \n PM pm 07:00:00 PM 19:00 1230768000 00 \t 19:00:00 3 52 01 3 52 12/31/08 19:00:00 08 2008 -0500 EST %|31 12 WED"],
  ['Europe/Berlin', 1700000000, "Tue Tuesday Nov November Tue Nov 14 23:13:20 2023|20 14 11/14/23 14 2023-11-14 23 2023 Nov 23 11 318 23 11 11 13 \n PM pm 11:13:20 PM 23:13 1700000000 20 \t 23:13:20 2 46 46 2 46 11/14/23 23:13:20 23 2023 +0100 CET %|14 11 TUE"],
  ['Europe/Berlin', 1704067199, "Mon Monday Jan January Mon Jan  1 00:59:59 2024|20 01 01/01/24  1 2024-01-01 24 2024 Jan 00 12 001  0 12 01 59 \n AM am 12:59:59 AM 00:59 1704067199 59 \t 00:59:59 1 00 01 1 01 01/01/24 00:59:59 24 2024 +0100 CET %|1  1 MON"],
  ['Europe/Berlin', 1609459200, "Fri Friday Jan January Fri Jan  1 01:00:00 2021|20 01 01/01/21  1 2021-01-01 20 2020 Jan 01 01 001  1  1 01 00 \n AM am 01:00:00 AM 01:00 1609459200 00 \t 01:00:00 5 00 53 5 00 01/01/21 01:00:00 21 2021 +0100 CET %|1  1 FRI"],
  ['Europe/Berlin', 1230768000, "Thu Thursday Jan January Thu Jan  1 01:00:00 2009|20 01 01/01/09  1 2009-01-01 09 2009 Jan 01 01 001  1  1 01 00 \n AM am 01:00:00 AM 01:00 1230768000 00 \t 01:00:00 4 00 01 4 00 01/01/09 01:00:00 09 2009 +0100 CET %|1  1 THU"],
  ['Asia/Kolkata', 1700000000, "Wed Wednesday Nov November Wed Nov 15 03:43:20 2023|20 15 11/15/23 15 2023-11-15 23 2023 Nov 03 03 319  3  3 11 43 \n AM am 03:43:20 AM 03:43 1700000000 20 \t 03:43:20 3 46 46 3 46 11/15/23 03:43:20 23 2023 +0530 IST %|15 11 WED"],
  ['Asia/Kolkata', 1704067199, "Mon Monday Jan January Mon Jan  1 05:29:59 2024|20 01 01/01/24  1 2024-01-01 24 2024 Jan 05 05 001  5  5 01 29 \n AM am 05:29:59 AM 05:29 1704067199 59 \t 05:29:59 1 00 01 1 01 01/01/24 05:29:59 24 2024 +0530 IST %|1  1 MON"],
  ['Asia/Kolkata', 1609459200, "Fri Friday Jan January Fri Jan  1 05:30:00 2021|20 01 01/01/21  1 2021-01-01 20 2020 Jan 05 05 001  5  5 01 30 \n AM am 05:30:00 AM 05:30 1609459200 00 \t 05:30:00 5 00 53 5 00 01/01/21 05:30:00 21 2021 +0530 IST %|1  1 FRI"],
  ['Asia/Kolkata', 1230768000, "Thu Thursday Jan January Thu Jan  1 05:30:00 2009|20 01 01/01/09  1 2009-01-01 09 2009 Jan 05 05 001  5  5 01 30 \n AM am 05:30:00 AM 05:30 1230768000 00 \t 05:30:00 4 00 01 4 00 01/01/09 05:30:00 09 2009 +0530 IST %|1  1 THU"],
];

function withTz<T>(tz: string, f: () => T): T {
  const old = process.env.TZ;
  process.env.TZ = tz;
  try { return f(); } finally { if (old === undefined) delete process.env.TZ; else process.env.TZ = old; }
}

test('every conversion matches glibc strftime in four time zones', () => {
  for (const [tz, secs, expected] of GLIBC) {
    withTz(tz, () => assert.equal(strftime(FMT, BigInt(secs) * 1_000_000_000n + 123_456_789n), expected, `${tz} @${secs}`));
  }
});

test('%f is microseconds, zero padded (bpftrace extension)', () => {
  withTz('UTC', () => {
    assert.equal(strftime('%H:%M:%S.%f', 1_700_000_000_000_042_999n), '22:13:20.000042');
    assert.equal(strftime('%S.%f', 1_700_000_000_999_999_999n), '20.999999');
  });
});

test('time() default format and output in both modes', () => {
  withTz('UTC', () => {
    const s = strftime(TIME_DEFAULT_FORMAT, 1_700_000_000_000_000_000n);
    assert.equal(s, '22:13:20\n');
    assert.equal(createOutput('text').time(s), '22:13:20\n');
    assert.equal(createOutput('json').time(s), '{"type": "time", "data": "22:13:20\\n"}\n');
  });
});

test('before the epoch', () => {
  withTz('UTC', () => assert.equal(strftime('%Y-%m-%d %H:%M:%S.%f', -1n), '1969-12-31 23:59:59.999999'));
});
