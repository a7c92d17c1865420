/**
 * Maintenance windows of jobs, evaluated in the site's time zone (docs/0010-jobs.md): "Tuesdays and Thursdays from
 * 22:00 for 180 minutes" means 22:00 on the site's wall clock, whatever the collector's zone and across DST changes.
 */
import { type Static, Type } from '@sinclair/typebox';
import { inWeeklyWindow } from '../time/windows.js';

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

/** True when `at` falls in the window on the wall clock of `tz` (the rule every window follows: time/windows.ts). */
export function windowOpen(w: JobWindow, tz: string, at: number): boolean {
  return inWeeklyWindow(w, tz, at);
}
