/** The wave planner and the halt rule: pure functions, checked on their own. */
import { describe, expect, it } from 'vitest';
import { judgeWave, waveDone } from './halt.js';
import { jitterOf, planWaves } from './plan.js';

const fleet = (n: number) => Array.from({ length: n }, (_, i) => `ag_${String(i).padStart(24, '0')}`);

describe('planWaves', () => {
  it('puts the ring first, then a canary of N, then cumulative percentages of the whole target', () => {
    const agents = fleet(100);
    const waves = planWaves({
      rolloutId: 'ro_1',
      agentIds: agents,
      ring: [agents[7]!, agents[9]!],
      canary: 3,
      percents: [5, 25, 100],
    });
    // 5 % of 100 is 5 machines, already covered by ring + canary: that wave is empty and dropped.
    expect(waves.map((w) => [w.name, w.agentIds.length])).toEqual([
      ['ring', 2],
      ['canary', 3],
      ['25%', 20],
      ['100%', 75],
    ]);
    // Every agent planned exactly once.
    const all = waves.flatMap((w) => w.agentIds);
    expect(all).toHaveLength(100);
    expect(new Set(all).size).toBe(100);
    expect(waves[0]!.agentIds).toEqual([agents[7], agents[9]]);
  });

  it('is deterministic per rollout (a restart picks the same machines) and differs between rollouts', () => {
    const agents = fleet(50);
    const a = planWaves({ rolloutId: 'ro_a', agentIds: agents, ring: [], canary: 5, percents: [10, 100] });
    const again = planWaves({
      rolloutId: 'ro_a',
      agentIds: [...agents].reverse(),
      ring: [],
      canary: 5,
      percents: [10, 100],
    });
    const b = planWaves({ rolloutId: 'ro_b', agentIds: agents, ring: [], canary: 5, percents: [10, 100] });
    expect(again).toEqual(a);
    expect(b[0]!.agentIds).not.toEqual(a[0]!.agentIds);
    expect(a.map((w) => w.agentIds.length)).toEqual([5, 45]);
  });

  it('drops empty waves and copes with a fleet smaller than the canary', () => {
    expect(
      planWaves({ rolloutId: 'r', agentIds: fleet(2), ring: [], canary: 5, percents: [5, 25, 100] }).map((w) => w.name),
    ).toEqual(['canary']);
    expect(
      planWaves({ rolloutId: 'r', agentIds: fleet(20), ring: [], canary: 2, percents: [25, 100] }).map(
        (w) => w.agentIds.length,
      ),
    ).toEqual([2, 3, 15]);
    expect(
      planWaves({ rolloutId: 'r', agentIds: fleet(4), ring: ['not-a-target'], canary: 0, percents: [100] }).map(
        (w) => w.name,
      ),
    ).toEqual(['100%']);
  });

  it('spreads jitter over [0, jitter) stably', () => {
    const j = fleet(200).map((a) => jitterOf('ro_1', a, 60_000));
    expect(Math.min(...j)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...j)).toBeLessThan(60_000);
    expect(Math.max(...j) - Math.min(...j)).toBeGreaterThan(30_000);
    expect(fleet(200).map((a) => jitterOf('ro_1', a, 60_000))).toEqual(j);
    expect(jitterOf('ro_1', 'x', 0)).toBe(0);
  });
});

describe('judgeWave', () => {
  it('halts at the failure count, counting refusals, rollbacks and deadlines alike', () => {
    expect(judgeWave(['healthy', 'assigned'], { count: 1 }).halt).toBe(false);
    expect(judgeWave(['rolled_back', 'assigned'], { count: 1 })).toMatchObject({ halt: true, bad: 1, size: 2 });
    expect(judgeWave(['failed', 'timed_out', 'healthy'], { count: 3 }).halt).toBe(false);
    expect(judgeWave(['failed', 'timed_out', 'rolled_back'], { count: 3 }).halt).toBe(true);
    expect(judgeWave(['skipped', 'skipped'], { count: 1 }).halt).toBe(false);
  });

  it('halts at a share of the wave, and either threshold suffices', () => {
    const wave = [...Array(18).fill('healthy'), 'failed', 'assigned'] as const;
    expect(judgeWave(wave, { percent: 10 }).halt).toBe(false);
    expect(judgeWave(wave, { percent: 5 }).halt).toBe(true);
    expect(judgeWave(wave, { count: 5, percent: 5 }).halt).toBe(true);
    expect(judgeWave(wave, { count: 1, percent: 50 }).halt).toBe(true);
    expect(judgeWave(wave, {}).halt).toBe(false);
  });

  it('does not count failures accepted at a resume', () => {
    expect(judgeWave(['failed', 'healthy', 'assigned'], { count: 1 }, 1).halt).toBe(false);
    expect(judgeWave(['failed', 'failed', 'assigned'], { count: 1 }, 1).halt).toBe(true);
    expect(judgeWave(['failed', 'failed'], { count: 1 }, 1).why).toMatch(/2 of 2 machines failed \(1 accepted/);
  });

  it('knows when a wave is over', () => {
    expect(waveDone(['healthy', 'failed', 'skipped', 'timed_out', 'rolled_back'])).toBe(true);
    expect(waveDone(['healthy', 'updating'])).toBe(false);
    expect(waveDone(['pending'])).toBe(false);
  });
});
