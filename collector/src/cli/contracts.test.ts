import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseHours } from './contracts.js';

describe('--hours', () => {
  it('expands day ranges (wrapping over the week end) and repeated flags', () => {
    expect(parseHours(['mon-wed=09:00-12:30,13:30-18:00', 'sat=09:00-12:00'])).toEqual({
      mon: [
        ['09:00', '12:30'],
        ['13:30', '18:00'],
      ],
      tue: [
        ['09:00', '12:30'],
        ['13:30', '18:00'],
      ],
      wed: [
        ['09:00', '12:30'],
        ['13:30', '18:00'],
      ],
      sat: [['09:00', '12:00']],
    });
    expect(Object.keys(parseHours(['fri-mon=22:00-24:00']))).toEqual(['fri', 'sat', 'sun', 'mon']);
  });

  it('refuses what it cannot read', () => {
    expect(() => parseHours(['weekdays=09:00-18:00'])).toThrow(InvalidArgumentError);
    expect(() => parseHours(['mon=0900'])).toThrow(InvalidArgumentError);
  });
});
