import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from './deb-version.js';

// Pairs where naive orderings go wrong: tildes, epochs, revisions, leading zeros, letters against other characters,
// and numbers past 2^53 (a Number()-based compare called these equal).
const PAIRS: [string, string][] = [
  ['1.0~rc1', '1.0'],
  ['1.0', '1.0+b1'],
  ['1:0.9', '2.0'],
  ['2.0-1', '2.0-1ubuntu1'],
  ['1.01', '1.1'],
  ['1.0a', '1.0+'],
  ['1.0~~', '1.0~'],
  ['7.88.1-10+deb12u5', '7.88.1-10+deb12u12'],
  ['20230101', '20230101.1'],
  ['1.99999999999999999998', '1.99999999999999999999'],
  ['3.0.11-1~deb12u2', '3.0.11-1'],
  ['0:1.2', '1.2'],
  ['10.0.19045.3570', '10.0.19045.4046'],
];

const dpkg = spawnSync('dpkg', ['--version']).status === 0;

describe('compareDebianVersions', () => {
  it('orders versions as dpkg --compare-versions does', (ctx) => {
    if (!dpkg) ctx.skip(); // dpkg is the reference: on a machine without it there is nothing to compare against
    for (const [a, b] of [...PAIRS, ...PAIRS.map(([x, y]) => [y, x] as [string, string])]) {
      const lt = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
      const eq = spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0;
      const ours = Math.sign(compareDebianVersions(a, b));
      expect(ours, `${a} vs ${b}`).toBe(lt ? -1 : eq ? 0 : 1);
    }
  });

  it('tells apart versions whose numbers exceed 2^53', () => {
    expect(compareDebianVersions('1.99999999999999999998', '1.99999999999999999999')).toBeLessThan(0);
  });
});
