import { describe, expect, it } from 'vitest';
import { parseSince, SPARK_WIDTH, sparkline } from './metrics.js';

const pt = (t: number, avg: number) => ({ t, avg, min: avg, max: avg, n: 1 });

describe('metrics show helpers', () => {
  it('draws a rising series from the lowest to the highest block, one slice of time per character, gaps blank', () => {
    const points = Array.from({ length: 40 }, (_, i) => pt(i * 1000, i));
    const s = sparkline(points, 0, 40_000);
    expect([...s]).toHaveLength(SPARK_WIDTH);
    expect(s.startsWith('▁')).toBe(true);
    expect(s.endsWith('█')).toBe(true);
    expect(sparkline([pt(0, 5), pt(39_000, 5)], 0, 40_000)).toBe(`▄${' '.repeat(38)}▄`);
    expect(sparkline([], 0, 1000)).toBe(' '.repeat(SPARK_WIDTH));
  });

  it('parses windows from a minute to 400 days and refuses the rest clearly', () => {
    expect(parseSince('90s')).toBe(90);
    expect(parseSince('1h')).toBe(3600);
    expect(parseSince('7d')).toBe(7 * 86_400);
    expect(() => parseSince('30s')).toThrow(/from 1m to 400d/);
    expect(() => parseSince('401d')).toThrow(/from 1m to 400d/);
    expect(() => parseSince('an hour')).toThrow(/such as 30m/);
  });
});
