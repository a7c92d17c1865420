/**
 * Wall time in IANA time zones without a library: `Intl.DateTimeFormat` with the zone answers what a clock there
 * shows, from which offsets and wall-time → instant conversions follow (DST gaps and overlaps included). One module
 * for every concern that evaluates something "in the site's time zone": SLA calendars, maintenance windows, sites.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Wall-clock fields of an instant in a zone. */
export function wallClock(
  tz: string,
  t: number,
): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const out: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { y: out.year!, m: out.month!, d: out.day!, h: out.hour! % 24, mi: out.minute!, s: out.second! };
}

/** The zone's offset from UTC at instant `t`, in ms (Paris in summer: +7 200 000). */
export function zoneOffset(tz: string, t: number): number {
  const w = wallClock(tz, t);
  const asUtc = Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/** The instant at which the zone's wall clock shows `minutes` past midnight of local date y-m-d. */
export function localToInstant(tz: string, y: number, m: number, d: number, minutes: number): number {
  const guess = Date.UTC(y, m - 1, d) + minutes * 60_000;
  const o1 = zoneOffset(tz, guess);
  const t = guess - o1;
  const o2 = zoneOffset(tz, t);
  // In a spring-forward gap the wall time does not exist; the first offset's answer lands just after the gap.
  return o2 === o1 ? t : guess - o2;
}

/** True when `tz` is an IANA zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    // Intl throws RangeError for an unknown zone: that is the answer.
    return false;
  }
}
