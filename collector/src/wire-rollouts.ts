/**
 * Rollouts (docs/0010-jobs.md) wired to the concerns they drive: the fleet's agents as targets, the updates concern's
 * assignment seam wave by wave, its statuses read back, incidents for a halted wave.
 */
import type { Agents } from './agents/index.js';
import type { AuditLog } from './audit/index.js';
import type { CoreInput } from './core.js';
import type { IncidentService } from './incidents/index.js';
import { Rollouts, releasePlatformOf } from './rollouts/index.js';
import type { Updates } from './updates/index.js';

/** A rollout's target resolves in one query; a bound well above the fleet one collector serves. */
const ROLLOUT_SELECTOR_LIMIT = 1_000_000;

/** Rollouts drive the updates concern's assignment seam wave by wave and read back what agents reported. */
export function wireRollouts(
  { sql, config }: CoreInput,
  {
    agents,
    audit,
    updates,
    incidents,
  }: { agents: Agents; audit: AuditLog; updates: Updates; incidents: IncidentService },
) {
  const fleetAgent = (a: NonNullable<Awaited<ReturnType<typeof agents.get>>>) => ({
    agentId: a.id,
    clientId: a.clientId,
    siteId: a.siteId,
    platform: releasePlatformOf(a.facts.os),
    version: a.agentVersion,
    online: agents.isOnline(a.id),
    revoked: a.revokedAt !== null,
    tags: a.tags,
  });
  return new Rollouts({
    db: sql,
    audit,
    clock: config.clock,
    logger: config.logger.child({ concern: 'rollouts' }),
    deps: {
      resolve: async (t) => {
        const all = await agents.list({
          ...(t.clientId !== undefined ? { clientIds: [t.clientId] } : {}),
          siteId: t.siteId,
          tag: t.tag,
          limit: ROLLOUT_SELECTOR_LIMIT,
          offset: 0,
        });
        const named = t.agentIds ? new Set(t.agentIds) : undefined;
        return all.filter((a) => !named || named.has(a.id)).map(fleetAgent);
      },
      agent: async (id) => {
        const a = await agents.get(id);
        return a && fleetAgent(a);
      },
      assign: async ({ agentId, clientId, version, id, rolloutId }) =>
        (
          await updates.assign(
            agentId,
            clientId,
            version,
            { kind: 'system', id: 'system' },
            { id, context: { rolloutId } },
          )
        ).sent,
      outcome: async (agentId, assignmentId) => {
        const s = (await updates.statuses(agentId, 20)).find((x) => x.assignmentId === assignmentId);
        return s && { phase: s.phase, code: s.code, reason: s.reason, time: s.time };
      },
      releases: () => updates.state().releases,
      incidents,
    },
  });
}
