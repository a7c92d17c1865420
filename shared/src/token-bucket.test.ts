import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(100); // one token every 100 ms at 10/s
    expect(b.take(100)).toBe(0);
    expect(b.take(100)).toBeGreaterThan(0);
    expect(b.take(10_000)).toBe(0); // never more than the burst after a long pause
    expect(b.take(10_000)).toBe(0);
    expect(b.take(10_000)).toBe(0);
    expect(b.take(10_000)).toBeGreaterThan(0);
  });
});
