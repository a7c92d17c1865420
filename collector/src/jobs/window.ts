/**
 * Maintenance windows of jobs, evaluated in the site's time zone (docs/0009-jobs.md): "Tuesdays and Thursdays from
 * 22:00 for 180 minutes" means 22:00 on the site's wall clock, whatever the collector's zone and across DST changes.
 */
import { type Static, Type } from '@sinclair/typebox';
import { wallClock } from '../time/zones.js';

/** A recurring window: on these weekdays (0 = Sunday) of the site's calendar, from `start` for `minutes`. */
export const JobWindow = Type.Object(
  {
    days: Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), { minItems: 1, maxItems: 7, uniqueItems: true }),
    start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
    minutes: Type.Integer({ minimum: 1, maximum: 1440 }),
  },
  { additionalProperties: false },
);
export type JobWindow = Static<typeof JobWindow>;

/**
 * True when `at` falls in the window on the wall clock of `tz`. A window that started yesterday evening and runs
 * past midnight counts on the day it started. Local minutes are compared, so a window is as long on a DST night as
 * the wall clock says (an hour more or less of real time), which is what a site's staff mean by "22:00 to 01:00".
 */
export function windowOpen(w: JobWindow, tz: string, at: number): boolean {
  const now = wallClock(tz, at);
  const minuteOfDay = now.h * 60 + now.mi;
  const weekday = new Date(Date.UTC(now.y, now.m - 1, now.d)).getUTCDay();
  const [h, m] = w.start.split(':').map(Number) as [number, number];
  const start = h * 60 + m;
  // Started today and still running.
  if (w.days.includes(weekday) && minuteOfDay >= start && minuteOfDay < start + w.minutes) return true;
  // Started yesterday and runs past midnight.
  const yesterday = (weekday + 6) % 7;
  return w.days.includes(yesterday) && start + w.minutes > 1440 && minuteOfDay < start + w.minutes - 1440;
}
