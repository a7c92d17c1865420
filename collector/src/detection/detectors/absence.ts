/**
 * Absence: an agent silent for `graceIntervals` heartbeats opens an `absence` incident; its next message clears it.
 * Silence is counted from the later of its last-seen time and the engine's start, so a collector restart gives every
 * agent the full grace to reconnect.
 */
import type { PresenceView } from '../ports.js';
import type { DetectorContext } from './context.js';

/** Absence settings of one engine. */
export interface AbsenceClock {
  /** When this engine started (epoch ms). */
  startedAt: number;
  heartbeatMs: number;
}

/** An agent was heard from: its absence incident, if any, clears. */
export async function heard(ctx: DetectorContext, agentId: string): Promise<void> {
  if (!ctx.state.absent.has(agentId)) return;
  ctx.state.absent.delete(agentId);
  await ctx.emit.clear(`absence:${agentId}`, ctx.clock.now(), 'agent reporting again');
}

/** One sweep over every enrolled agent. */
export async function sweepAbsence(ctx: DetectorContext, presence: PresenceView, a: AbsenceClock): Promise<void> {
  const now = ctx.clock.now();
  for (const { agentId, lastSeenAt, online } of await presence.lastSeen()) {
    const wasAbsent = ctx.state.absent.has(agentId);
    if (online && !wasAbsent) continue;
    const place = await ctx.placeOf(agentId);
    if (!place) continue;
    const policy = ctx.policyOf(place);
    if (!policy.absence.enabled) continue;
    const grace = policy.absence.graceIntervals * a.heartbeatMs;
    if (wasAbsent) {
      // Heard by another node (docs/0017-nodes.md): that node cleared it; this one forgets it, so it can be raised again.
      if (online || (lastSeenAt !== null && now - lastSeenAt < grace)) {
        ctx.state.absent.delete(agentId);
        await ctx.emit.clear(`absence:${agentId}`, now, 'agent reporting again');
      }
      continue;
    }
    const since = Math.max(lastSeenAt ?? 0, a.startedAt);
    if (now - since < grace) continue;
    ctx.state.absent.add(agentId);
    await ctx.emit.raise(place, agentId, policy, {
      key: `absence:${agentId}`,
      source: 'absence',
      rule: 'agent.silent',
      type: 'availability',
      criticality: 'P2',
      failureTime: lastSeenAt ?? since,
      title: `${place.hostname ?? agentId} is silent`,
      what: `the agent has not been heard from since ${new Date(lastSeenAt ?? since).toISOString()} (grace ${Math.round(grace / 1000)} s)`,
      context: { lastSeenAt },
    });
  }
}
