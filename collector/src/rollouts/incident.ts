/**
 * The incident a halted wave opens (through `IncidentSink.raise`, the function detection and notifications use):
 * one per client of the failed machines, keyed by rollout, wave and client, so raising it again (a crash before the
 * halt was stored, a machine failing after the halt) only updates the open one. Notifications follow from incidents.
 */
import type { IncidentSink } from '../incidents/index.js';
import type { RolloutAgent, RolloutRecord } from './store.js';

/** Raises the halt incidents; returns their ids. */
export async function raiseHaltIncidents(
  incidents: IncidentSink,
  r: RolloutRecord,
  bad: RolloutAgent[],
  reason: string,
  now: number,
): Promise<string[]> {
  const name = r.waves[r.wave] ?? String(r.wave);
  const byClient = new Map<string, RolloutAgent[]>();
  for (const a of bad) byClient.set(a.clientId, [...(byClient.get(a.clientId) ?? []), a]);
  const incidentIds: string[] = [];
  for (const [clientId, list] of byClient) {
    const lines = list.map(
      (a) =>
        `${a.agentId}: ${a.state.replace('_', ' ')}${a.code ? ` ${a.code}` : ''}${a.reason ? ` — ${a.reason}` : ''}`,
    );
    const { incidentId } = await incidents.raise({
      key: `rollout:${r.id}:${r.wave}:${clientId}`,
      clientId,
      siteId: list[0]!.siteId,
      agentIds: list.map((a) => a.agentId),
      source: 'rollout',
      rule: `rollout:${r.id}`,
      type: 'update',
      criticality: 'P2',
      tier: 2,
      failureTime: Math.min(...list.map((a) => a.finishedAt ?? now)),
      detectedAt: now,
      title: `Rollout of agent ${r.version} halted in wave ${r.wave + 1} (${name})`,
      explanation:
        `${reason}. Later waves will not be assigned ${r.version}. ` +
        `Resume (outpost rollouts resume ${r.id}), abort, or roll back (outpost rollouts rollback ${r.id}).\n${lines.join('\n')}`,
      context: {
        rolloutId: r.id,
        version: r.version,
        wave: r.wave,
        waveName: name,
        agents: list.map((a) => ({ agentId: a.agentId, state: a.state, code: a.code, reason: a.reason })),
      },
    });
    incidentIds.push(incidentId);
  }
  return incidentIds;
}
