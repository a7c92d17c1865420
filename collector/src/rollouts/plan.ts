/**
 * The wave planner (docs/0011-releases.md, "Rollouts"): pure, no I/O. Given the rollout id and the target agents it
 * splits them into waves — an optional test ring, a canary of N machines, then growing cumulative percentages — in
 * an order fixed by a hash of (rollout id, agent id), so a restarted collector, or anyone re-running the plan, picks
 * the very same machines. The per-agent jitter comes from the same hash: stable across restarts too.
 */
import { createHash } from 'node:crypto';

/** What the planner is asked for. */
export interface PlanInput {
  rolloutId: string;
  /** Every agent the rollout targets (order does not matter). */
  agentIds: readonly string[];
  /** The test ring: these agents go first, as wave 0 (those not among the targets are ignored). */
  ring: readonly string[];
  /** Machines in the canary wave (after the ring); 0: none. */
  canary: number;
  /** Cumulative percentages of the whole target after the canary, increasing, the last normally 100. */
  percents: readonly number[];
}

/** One planned wave. */
export interface PlannedWave {
  index: number;
  /** `ring`, `canary`, or `25%`. */
  name: string;
  agentIds: string[];
}

/** The position of an agent in a rollout's order: the first 8 bytes of SHA-256(rolloutId + ':' + agentId). */
export function rank(rolloutId: string, agentId: string): bigint {
  return createHash('sha256').update(`${rolloutId}:${agentId}`).digest().readBigUInt64BE(0);
}

/** A delay in [0, jitterMs) for an agent, derived from the same hash (other bytes), stable across restarts. */
export function jitterOf(rolloutId: string, agentId: string, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const h = createHash('sha256').update(`jitter:${rolloutId}:${agentId}`).digest().readUInt32BE(0);
  return Math.floor((h / 2 ** 32) * jitterMs);
}

/**
 * Splits the targets into waves. Empty waves are dropped (a 5 % wave of 10 machines that the canary already
 * covered), and the last wave takes whatever is left so that every target is planned exactly once.
 */
export function planWaves(i: PlanInput): PlannedWave[] {
  const targets = [...new Set(i.agentIds)];
  const ringSet = new Set(i.ring.filter((a) => targets.includes(a)));
  const ordered = targets
    .filter((a) => !ringSet.has(a))
    .map((a) => ({ a, r: rank(i.rolloutId, a) }))
    .sort((x, y) => (x.r < y.r ? -1 : x.r > y.r ? 1 : x.a < y.a ? -1 : 1))
    .map((x) => x.a);
  const waves: Omit<PlannedWave, 'index'>[] = [];
  if (ringSet.size) waves.push({ name: 'ring', agentIds: [...ringSet].sort() });
  const canary = Math.min(Math.max(0, Math.floor(i.canary)), ordered.length);
  if (canary) waves.push({ name: 'canary', agentIds: ordered.slice(0, canary) });
  let taken = canary;
  const total = targets.length;
  for (const p of i.percents) {
    // Cumulative share of the whole target, ring and canary included (Windows Autopatch, Argo setWeight).
    const upTo = Math.min(ordered.length, Math.max(taken, Math.ceil((p / 100) * total) - ringSet.size));
    if (upTo > taken) waves.push({ name: `${p}%`, agentIds: ordered.slice(taken, upTo) });
    taken = Math.max(taken, upTo);
  }
  if (taken < ordered.length) {
    const last = waves.at(-1);
    const rest = ordered.slice(taken);
    // Percentages that stop short of 100: the remainder joins the last wave rather than never being updated.
    if (last && last.name !== 'ring' && last.name !== 'canary') last.agentIds.push(...rest);
    else waves.push({ name: '100%', agentIds: rest });
  }
  return waves.map((w, index) => ({ index, ...w }));
}
