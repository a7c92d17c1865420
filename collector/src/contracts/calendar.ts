/**
 * Coverage calendars: when the SLA clock runs. Business hours are wall-clock intervals per weekday in an IANA time
 * zone, minus public holidays; `24x7` always runs. Wall time → instant conversions use `Intl.DateTimeFormat` with the
 * zone (no library), so a day of 23 or 25 hours (DST) counts exactly the real time it covers (docs/0004-incidents.md).
 */
import { OutpostError } from '@outpost/shared';
import { isTimeZone, localToInstant, wallClock } from '../time/zones.js';

/** Weekday keys, in `Date#getUTCDay()` order (0 = Sunday). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** A weekday key. */
export type Weekday = (typeof WEEKDAYS)[number];

/** A checked calendar definition (what is stored and evaluated). */
export interface CalendarSpec {
  timezone: string;
  kind: '24x7' | 'hours';
  /** Per weekday, `[start, end]` wall times `HH:MM` (end may be `24:00`), sorted and not overlapping. */
  hours: Partial<Record<Weekday, [string, string][]>>;
  /** Local dates (`YYYY-MM-DD`) on which the clock does not run. */
  holidays: string[];
}

const DAY_MS = 86_400_000;
/** How far a computation may walk before concluding the calendar never covers anything. */
const MAX_DAYS = 3 * 366;

const HHMM = /^([01]\d|2[0-4]):([0-5]\d)$/;
const minutesOf = (hhmm: string): number => {
  const m = HHMM.exec(hhmm);
  if (!m) return Number.NaN;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return v > 1440 ? Number.NaN : v;
};

function invalid(message: string, field: string): OutpostError {
  return new OutpostError('OUTPOST_E_CALENDAR_INVALID', { message, details: { field } });
}

/** Checks a calendar definition; throws OUTPOST_E_CALENDAR_INVALID naming the field that makes it impossible. */
export function checkCalendar(input: {
  timezone: string;
  kind: '24x7' | 'hours';
  hours?: Partial<Record<string, [string, string][]>> | undefined;
  holidays?: string[] | undefined;
}): CalendarSpec {
  if (!isTimeZone(input.timezone)) throw invalid(`Unknown time zone ${input.timezone}`, 'timezone');
  const hours: Partial<Record<Weekday, [string, string][]>> = {};
  let any = false;
  for (const [day, intervals] of Object.entries(input.hours ?? {})) {
    if (!(WEEKDAYS as readonly string[]).includes(day)) throw invalid(`Unknown weekday ${day}`, `hours.${day}`);
    const sorted = [...(intervals ?? [])].sort((a, b) => minutesOf(a[0]) - minutesOf(b[0]));
    let lastEnd = -1;
    for (const [start, end] of sorted) {
      const s = minutesOf(start);
      const e = minutesOf(end);
      if (Number.isNaN(s) || Number.isNaN(e) || s >= 1440)
        throw invalid(`${day}: ${start}-${end} is not a wall-time interval (HH:MM, end up to 24:00)`, `hours.${day}`);
      if (e <= s) throw invalid(`${day}: ${start}-${end} ends before it starts`, `hours.${day}`);
      if (s < lastEnd) throw invalid(`${day}: intervals overlap at ${start}`, `hours.${day}`);
      lastEnd = e;
    }
    if (sorted.length) {
      hours[day as Weekday] = sorted;
      any = true;
    }
  }
  if (input.kind === '24x7' && any) throw invalid('A 24x7 calendar takes no hours', 'hours');
  if (input.kind === 'hours' && !any) throw invalid('A business-hours calendar needs at least one interval', 'hours');
  const holidays = [...new Set(input.holidays ?? [])].sort();
  for (const h of holidays) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(h);
    const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
    if (!date || date.toISOString().slice(0, 10) !== h) throw invalid(`Holiday ${h} is not a date`, 'holidays');
  }
  if (input.kind === 'hours') {
    const open = WEEKDAYS.filter((d) => hours[d]?.length).length;
    if (open === 0 || holidays.length >= 366 * 2) throw invalid('The calendar never covers any time', 'holidays');
  }
  return { timezone: input.timezone, kind: input.kind, hours, holidays };
}

/** Evaluates coverage for one calendar (cached holiday set). */
export class Coverage {
  readonly #holidays: Set<string>;
  constructor(readonly spec: CalendarSpec) {
    this.#holidays = new Set(spec.holidays);
  }

  /** Coverage intervals (instants) of the local date y-m-d. */
  #day(y: number, m: number, d: number): [number, number][] {
    const date = new Date(Date.UTC(y, m - 1, d));
    const key = date.toISOString().slice(0, 10);
    if (this.#holidays.has(key)) return [];
    const intervals = this.spec.hours[WEEKDAYS[date.getUTCDay()]!] ?? [];
    const tz = this.spec.timezone;
    return intervals.map(([s, e]) => [
      localToInstant(tz, y, m, d, minutesOf(s)),
      localToInstant(tz, y, m, d, minutesOf(e)),
    ]);
  }

  /** Walks local days from the one containing `t`, yielding the earliest instant the day can start and its intervals. */
  *#days(t: number): Generator<[number, [number, number][]]> {
    const w = wallClock(this.spec.timezone, t);
    let day = Date.UTC(w.y, w.m - 1, w.d);
    for (let i = 0; i < MAX_DAYS; i++, day += DAY_MS) {
      const dt = new Date(day);
      // No zone is more than 14 h ahead of UTC: the local day cannot start before this instant.
      yield [day - 14 * 3_600_000, this.#day(dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate())];
    }
    throw invalid('The calendar covers no time within three years', 'hours');
  }

  /** True when the clock runs at instant `t`. */
  covers(t: number): boolean {
    if (this.spec.kind === '24x7') return true;
    const w = wallClock(this.spec.timezone, t);
    return this.#day(w.y, w.m, w.d).some(([a, b]) => t >= a && t < b);
  }

  /** The instant at which `ms` of covered time has elapsed after `start`. */
  add(start: number, ms: number): number {
    if (this.spec.kind === '24x7') return start + Math.max(0, ms);
    let left = Math.max(0, ms);
    for (const [, intervals] of this.#days(start)) {
      for (const [a, b] of intervals) {
        const from = Math.max(a, start);
        if (from >= b) continue;
        if (left <= b - from) return from + left;
        left -= b - from;
      }
    }
    /* c8 ignore next */
    throw invalid('unreachable', 'hours');
  }

  /** Covered time between two instants. */
  between(from: number, to: number): number {
    if (to <= from) return 0;
    if (this.spec.kind === '24x7') return to - from;
    let total = 0;
    for (const [dayStart, intervals] of this.#days(from)) {
      if (dayStart >= to) return total;
      for (const [a, b] of intervals) total += Math.max(0, Math.min(b, to) - Math.max(a, from));
    }
    return total;
  }
}
