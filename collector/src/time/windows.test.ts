import { describe, expect, it } from 'vitest';
import { inWeeklyWindow } from './windows.js';

const at = (iso: string) => Date.parse(iso);

describe("weekly windows on a zone's wall clock", () => {
  // Tuesdays from 22:00 for 3 hours, as a Paris site's staff mean it.
  const tuesdayNight = { days: [2], start: '22:00', minutes: 180 };

  it('opens at 22:00 local time in winter and in summer (UTC+1, UTC+2)', () => {
    expect(inWeeklyWindow(tuesdayNight, 'Europe/Paris', at('2026-01-13T21:00:00Z'))).toBe(true); // 22:00 CET
    expect(inWeeklyWindow(tuesdayNight, 'Europe/Paris', at('2026-01-13T20:59:00Z'))).toBe(false);
    expect(inWeeklyWindow(tuesdayNight, 'Europe/Paris', at('2026-07-14T20:00:00Z'))).toBe(true); // 22:00 CEST
    expect(inWeeklyWindow(tuesdayNight, 'Europe/Paris', at('2026-07-14T21:00:00Z'))).toBe(true);
    // The same instants read in UTC (the old rule) are outside or inside by an hour's difference.
    expect(inWeeklyWindow(tuesdayNight, 'UTC', at('2026-07-14T20:00:00Z'))).toBe(false);
  });

  it('runs past midnight into the next day, and ends on time', () => {
    expect(inWeeklyWindow(tuesdayNight, 'Europe/Paris', at('2026-01-13T23:59:00Z'))).toBe(true); // Wed 00:59
    expect(inWeeklyWindow(tuesdayNight, 'Europe/Paris', at('2026-01-14T00:00:00Z'))).toBe(false); // Wed 01:00
  });

  it('wraps from Saturday night into Sunday, and holds windows of several days', () => {
    const weekend = { days: [6], start: '20:00', minutes: 2 * 1440 };
    expect(inWeeklyWindow(weekend, 'America/New_York', at('2026-03-01T05:00:00Z'))).toBe(true); // Sun 00:00 EST
    expect(inWeeklyWindow(weekend, 'America/New_York', at('2026-03-02T23:00:00Z'))).toBe(true); // Mon 18:00
    expect(inWeeklyWindow(weekend, 'America/New_York', at('2026-03-03T02:00:00Z'))).toBe(false); // Mon 21:00
    expect(inWeeklyWindow({ days: [0], start: '00:00', minutes: 7 * 1440 }, 'UTC', Date.now())).toBe(true);
  });
});
