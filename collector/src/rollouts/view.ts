/** A stored rollout as the API shows it: totals, each wave's counts and status, and its agents when asked. */

import type { WaveCounts } from './ports.js';
import type { RolloutSummary, RolloutView } from './schemas.js';
import type { Rollouts } from './service.js';
import type { RolloutRecord } from './store.js';

const sum = (all: WaveCounts[]): WaveCounts =>
  all.reduce(
    (t, c) => ({
      pending: t.pending + c.pending,
      updating: t.updating + c.updating,
      healthy: t.healthy + c.healthy,
      failed: t.failed + c.failed,
      rolledBack: t.rolledBack + c.rolledBack,
      skipped: t.skipped + c.skipped,
    }),
    { pending: 0, updating: 0, healthy: 0, failed: 0, rolledBack: 0, skipped: 0 },
  );

/** What a wave is doing, in one word. */
function waveStatus(r: RolloutRecord, index: number): string {
  if (index < r.wave) return 'done';
  if (index > r.wave) return r.state === 'running' || r.state === 'paused' ? 'waiting' : 'never';
  if (r.state === 'running') return r.waveDoneAt !== null ? 'baking' : 'rolling';
  return r.state;
}

/** The summary and the full view of one rollout. */
export async function rolloutView(rollouts: Rollouts, r: RolloutRecord, withAgents: boolean): Promise<RolloutView> {
  const { waves, agents } = await rollouts.progress(r);
  const summary: RolloutSummary = {
    id: r.id,
    kind: r.kind,
    version: r.version,
    rollbackOf: r.rollbackOf,
    state: r.state,
    haltReason: r.haltReason,
    wave: Math.min(r.wave + 1, r.waves.length),
    waves: r.waves.length,
    totals: sum(waves),
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
  };
  return {
    ...summary,
    target: JSON.parse(r.target) as unknown,
    options: {
      bakeSec: r.options.bakeMs / 1000,
      deadlineSec: r.options.deadlineMs / 1000,
      maxConcurrent: r.options.maxConcurrent,
      jitterSec: r.options.jitterMs / 1000,
      haltAfter: r.options.haltCount,
      haltPercent: r.options.haltPercent,
    },
    waveList: r.waves.map((name, index) => {
      const c = waves[index]!;
      const total = c.pending + c.updating + c.healthy + c.failed + c.rolledBack + c.skipped;
      return { index: index + 1, name, status: waveStatus(r, index), total, ...c };
    }),
    ...(withAgents
      ? {
          agents: agents.map((a) => ({
            agentId: a.agentId,
            wave: a.wave + 1,
            state: a.state,
            platform: a.platform,
            fromVersion: a.fromVersion,
            assignedAt: a.assignedAt,
            finishedAt: a.finishedAt,
            code: a.code,
            reason: a.reason,
          })),
        }
      : {}),
  };
}
