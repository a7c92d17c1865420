/** Maintenance windows are read on the site's wall clock, across midnight and across DST changes. */
import { describe, expect, it } from 'vitest';
import { windowOpen } from './window.js';

const at = (iso: string) => Date.parse(iso);

describe('job windows in a site time zone', () => {
  const tueThu22 = { days: [2, 4], start: '22:00', minutes: 180 };

  it('opens at 22:00 Paris time, not 22:00 UTC, and runs past midnight into the next day', () => {
    // Tuesday 2026-01-13, Paris is UTC+1.
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-01-13T20:59:00Z'))).toBe(false); // 21:59 local
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-01-13T21:00:00Z'))).toBe(true); // 22:00 local
    expect(windowOpen(tueThu22, 'UTC', at('2026-01-13T21:00:00Z'))).toBe(false); // 21:00 in UTC
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-01-13T23:59:00Z'))).toBe(true); // Wed 00:59 local
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-01-14T00:00:00Z'))).toBe(false); // Wed 01:00: closed
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-01-14T21:30:00Z'))).toBe(false); // Wednesday evening
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-01-15T21:30:00Z'))).toBe(true); // Thursday evening
  });

  it('follows daylight saving time: 22:00 Paris is 20:00 UTC in summer', () => {
    // Tuesday 2026-07-14, Paris is UTC+2.
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-07-14T19:59:00Z'))).toBe(false);
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-07-14T20:00:00Z'))).toBe(true);
    expect(windowOpen(tueThu22, 'Europe/Paris', at('2026-07-14T21:00:00Z'))).toBe(true);
  });

  it('a site on the other side of the date line has its own weekday', () => {
    // Monday 2026-01-12 20:30 UTC is Tuesday 09:30 in Auckland (UTC+13).
    const tueMorning = { days: [2], start: '09:00', minutes: 60 };
    expect(windowOpen(tueMorning, 'Pacific/Auckland', at('2026-01-12T20:30:00Z'))).toBe(true);
    expect(windowOpen(tueMorning, 'America/New_York', at('2026-01-12T20:30:00Z'))).toBe(false);
  });
});
