/**
 * Recurring weekly windows ("Tuesdays and Thursdays from 22:00 for 180 minutes") evaluated on the wall clock of a
 * time zone: the one rule for every window in Outpost — job windows and detection's maintenance windows follow the
 * site's zone, as SLA calendars do.
 */
import { wallClock } from './zones.js';

/** A window: on these weekdays (0 = Sunday) of the zone's calendar, from `start` (HH:MM) for `minutes`. */
export interface WeeklyWindow {
  days: readonly number[];
  start: string;
  minutes: number;
}

const WEEK_MINUTES = 7 * 1440;

/**
 * True when `at` falls in the window on the wall clock of `tz`. Minutes of the local week are compared, so a window
 * that runs past midnight (or for days, up to a week) counts from the day it started, and a window is as long on a
 * DST night as the wall clock says, which is what a site's staff mean by "22:00 to 01:00".
 */
export function inWeeklyWindow(w: WeeklyWindow, tz: string, at: number): boolean {
  const now = wallClock(tz, at);
  const weekday = new Date(Date.UTC(now.y, now.m - 1, now.d)).getUTCDay();
  const minuteOfWeek = weekday * 1440 + now.h * 60 + now.mi;
  const [h, m] = w.start.split(':').map(Number) as [number, number];
  for (const day of w.days) {
    const since = (((minuteOfWeek - (day * 1440 + h * 60 + m)) % WEEK_MINUTES) + WEEK_MINUTES) % WEEK_MINUTES;
    if (since < w.minutes) return true;
  }
  return false;
}
