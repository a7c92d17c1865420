import { OutpostError } from '@outpost/shared';
import { describe, expect, it } from 'vitest';
import { paris } from '../incidents/harness.fixture.js';
import { localToInstant } from '../time/zones.js';
import { Coverage, checkCalendar } from './calendar.js';

const H = 3_600_000;
const office = new Coverage(
  checkCalendar({
    timezone: 'Europe/Paris',
    kind: 'hours',
    hours: {
      mon: [['09:00', '18:00']],
      tue: [['09:00', '18:00']],
      wed: [['09:00', '18:00']],
      thu: [['09:00', '18:00']],
      fri: [['09:00', '18:00']],
    },
    holidays: ['2026-05-01', '2026-05-08'],
  }),
);
// A site run around the clock in three shifts: every local minute of every day is covered.
const threeShifts = new Coverage(
  checkCalendar({
    timezone: 'Europe/Paris',
    kind: 'hours',
    hours: Object.fromEntries(
      ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'].map((d) => [
        d,
        [
          ['00:00', '06:00'],
          ['06:00', '14:00'],
          ['14:00', '22:00'],
          ['22:00', '24:00'],
        ],
      ]),
    ) as Record<string, [string, string][]>,
  }),
);

describe('business hours in Europe/Paris', () => {
  it('stops in the evening and resumes the next morning', () => {
    // Tuesday 17:00 + 2 h of business time = Wednesday 10:00.
    expect(office.add(paris('2026-01-13T17:00', 1), 2 * H)).toBe(paris('2026-01-14T10:00', 1));
    expect(office.between(paris('2026-01-13T17:00', 1), paris('2026-01-14T10:00', 1))).toBe(2 * H);
    expect(office.covers(paris('2026-01-13T20:00', 1))).toBe(false);
    expect(office.covers(paris('2026-01-13T09:00', 1))).toBe(true);
    expect(office.covers(paris('2026-01-13T18:00', 1))).toBe(false);
  });

  it('skips the weekend', () => {
    expect(office.add(paris('2026-01-16T17:00', 1), 2 * H)).toBe(paris('2026-01-19T10:00', 1));
    expect(office.between(paris('2026-01-16T12:00', 1), paris('2026-01-19T12:00', 1))).toBe(9 * H);
    expect(office.covers(paris('2026-01-17T11:00', 1))).toBe(false);
  });

  it('skips public holidays (1 May 2026 is a Friday)', () => {
    expect(office.covers(paris('2026-05-01T11:00', 2))).toBe(false);
    expect(office.add(paris('2026-04-30T17:00', 2), 4 * H)).toBe(paris('2026-05-04T12:00', 2));
    // Two holiday Fridays in a row: 30 April 09:00 to 11 May 09:00 holds 5 working days, not 7.
    expect(office.between(paris('2026-04-30T09:00', 2), paris('2026-05-11T09:00', 2))).toBe(5 * 9 * H);
  });

  it('counts the spring-forward weekend correctly (29 March 2026)', () => {
    // Friday 17:00 CET + 2 h → Monday 10:00 CEST, i.e. 08:00 UTC (a fixed offset would say 09:00 UTC).
    const due = office.add(paris('2026-03-27T17:00', 1), 2 * H);
    expect(due).toBe(paris('2026-03-30T10:00', 2));
    expect(new Date(due).toISOString()).toBe('2026-03-30T08:00:00.000Z');
  });

  it('counts the fall-back weekend correctly (25 October 2026)', () => {
    const due = office.add(paris('2026-10-23T17:00', 2), 2 * H);
    expect(due).toBe(paris('2026-10-26T10:00', 1));
    expect(new Date(due).toISOString()).toBe('2026-10-26T09:00:00.000Z');
  });
});

describe('around the clock across DST', () => {
  it('a local day has 23 hours in spring and 25 in autumn', () => {
    expect(threeShifts.between(paris('2026-03-29T00:00', 1), paris('2026-03-30T00:00', 2))).toBe(23 * H);
    expect(threeShifts.between(paris('2026-10-25T00:00', 2), paris('2026-10-26T00:00', 1))).toBe(25 * H);
    expect(threeShifts.between(paris('2026-01-13T00:00', 1), paris('2026-01-14T00:00', 1))).toBe(24 * H);
  });

  it('adds real elapsed time through the gap and the repeated hour', () => {
    // 01:30 CET + 1 h = 03:30 CEST (02:xx does not exist that night).
    expect(threeShifts.add(paris('2026-03-29T01:30', 1), H)).toBe(paris('2026-03-29T03:30', 2));
    // 01:30 CEST + 2 h = 02:30 CET (the second 02:30 of the night).
    expect(threeShifts.add(paris('2026-10-25T01:30', 2), 2 * H)).toBe(paris('2026-10-25T02:30', 1));
    const t24 = new Coverage(checkCalendar({ timezone: 'Europe/Paris', kind: '24x7' }));
    expect(t24.between(paris('2026-03-28T00:00', 1), paris('2026-03-30T00:00', 2))).toBe(47 * H);
  });

  it('maps a wall time that does not exist to just after the gap', () => {
    expect(localToInstant('Europe/Paris', 2026, 3, 29, 150)).toBe(paris('2026-03-29T03:30', 2));
    expect(localToInstant('America/New_York', 2026, 1, 13, 9 * 60)).toBe(Date.parse('2026-01-13T14:00:00Z'));
  });
});

describe('impossible calendars are refused with a coded error naming the field', () => {
  const cases: [string, Parameters<typeof checkCalendar>[0], string][] = [
    ['unknown time zone', { timezone: 'Europe/Atlantis', kind: '24x7' }, 'timezone'],
    [
      'end before start',
      { timezone: 'Europe/Paris', kind: 'hours', hours: { mon: [['18:00', '09:00']] } },
      'hours.mon',
    ],
    [
      'overlap',
      {
        timezone: 'Europe/Paris',
        kind: 'hours',
        hours: {
          mon: [
            ['09:00', '13:00'],
            ['12:00', '18:00'],
          ],
        },
      },
      'hours.mon',
    ],
    ['not a wall time', { timezone: 'Europe/Paris', kind: 'hours', hours: { mon: [['9h', '18:00']] } }, 'hours.mon'],
    ['unknown weekday', { timezone: 'Europe/Paris', kind: 'hours', hours: { mdi: [['09:00', '18:00']] } }, 'hours.mdi'],
    ['no hours', { timezone: 'Europe/Paris', kind: 'hours', hours: {} }, 'hours'],
    ['24x7 with hours', { timezone: 'UTC', kind: '24x7', hours: { mon: [['09:00', '18:00']] } }, 'hours'],
    [
      'Feb 30 holiday',
      { timezone: 'Europe/Paris', kind: 'hours', hours: { mon: [['09:00', '18:00']] }, holidays: ['2026-02-30'] },
      'holidays',
    ],
  ];
  for (const [name, input, field] of cases)
    it(name, () => {
      const err = (() => {
        try {
          checkCalendar(input);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(OutpostError);
      expect((err as OutpostError).code).toBe('OUTPOST_E_CALENDAR_INVALID');
      expect((err as OutpostError).details).toEqual({ field });
    });
});
