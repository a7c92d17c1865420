/**
 * Parsers for the CLI's numeric flags. Each refuses, naming the expectation, what a person could not have meant:
 * NaN, Infinity, `1e999`, negative counts, fractions where a count is due, and sizes beyond any sensible bound
 * (so `--within 1e300` is a typo caught here rather than an instant past the year 275760 sent to the collector).
 */
import { InvalidArgumentError } from 'commander';

/** Longest span a day or year count may cover: a century. */
export const MAX_DAYS = 36_500;
export const MAX_YEARS = 100;

const numberOf = (v: string): number => (/^\s*$/.test(v) ? Number.NaN : Number(v));

/** An integer in [min, max]. */
export function intIn(min: number, max: number, what = 'an integer') {
  return (v: string): number => {
    const n = numberOf(v);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${what} ${min}-${max}`);
    return n;
  };
}

/** A finite number in [min, max] (`exclusiveMin`: strictly above min). */
export function numberIn(min: number, max: number, opts: { exclusiveMin?: boolean; what?: string } = {}) {
  return (v: string): number => {
    const n = numberOf(v);
    const low = opts.exclusiveMin ? n > min : n >= min;
    if (!Number.isFinite(n) || !low || n > max)
      throw new InvalidArgumentError(
        `expected ${opts.what ?? 'a number'} ${opts.exclusiveMin ? 'above' : 'from'} ${min} ${opts.exclusiveMin ? 'and up to' : 'to'} ${max}`,
      );
    return n;
  };
}

/** A count of items for `--limit`, `--max-uses`… (the collector caps each further; this refuses nonsense). */
export const count = intIn(1, 1_000_000, 'a whole number');
/** A number of days, fractions allowed. */
export const days = numberIn(0, MAX_DAYS, { what: 'a number of days' });
/** A number of years, fractions allowed. */
export const years = numberIn(0, MAX_YEARS, { what: 'a number of years' });
/** A tier or an ITIL impact/urgency level. */
export const level = intIn(1, 3, 'a level');
