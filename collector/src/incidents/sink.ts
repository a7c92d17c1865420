/**
 * The `IncidentSink` side of detection: raising an open key updates its ticket, a key resolved within the reopen
 * window reopens its ticket (flap protection), anything else opens a new one; clearing starts the auto-resolve hold.
 */
import type { Actor } from '../auth/index.js';
import type { IncidentCore } from './core.js';
import { type Incident, moreSevere } from './model.js';
import type { DetectionSignal, RaiseResult } from './signal.js';
import { startClock } from './sla.js';
import { reopenTicket, retarget } from './transitions.js';

const DETECTION: Actor = { kind: 'system', id: 'system' };

/** Builds and writes a new ticket (detected or manual); the SLA clock starts at `detectedAt`. */
export async function openTicket(
  core: IncidentCore,
  actor: Actor,
  fields: Omit<
    Incident,
    | 'id'
    | 'status'
    | 'acknowledgedAt'
    | 'resolvedAt'
    | 'closedAt'
    | 'resolutionMs'
    | 'assignee'
    | 'escalationLevel'
    | 'paused'
    | 'clearSince'
    | 'reopenCount'
    | 'resolutionNote'
    | 'resolutionCategory'
    | 'updatedAt'
    | 'sla'
    | 'nextSlaAt'
  >,
): Promise<Incident> {
  const terms = await core.sla.slaFor(fields.clientId, fields.siteId, fields.criticality);
  let sla: Incident['sla'] = null;
  let slaError: string | undefined;
  try {
    sla = terms ? startClock(terms, fields.detectedAt, await core.sla.coverage(terms.calendarId)) : null;
  } catch (err) {
    // A calendar that never covers anything must not stop the fault from becoming a ticket: open it without a clock.
    slaError = (err as Error).message;
    core.logger.error({ err, clientId: fields.clientId, calendarId: terms?.calendarId }, 'SLA clock not started');
  }
  const inc: Incident = {
    ...fields,
    id: core.newId(),
    status: 'open',
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    resolutionMs: null,
    assignee: null,
    escalationLevel: 0,
    paused: false,
    clearSince: null,
    reopenCount: 0,
    resolutionNote: null,
    resolutionCategory: null,
    updatedAt: fields.detectedAt,
    sla,
    nextSlaAt: null,
  };
  return core.write(actor, {
    incident: inc,
    events: [
      {
        kind: 'opened',
        at: fields.detectedAt,
        data: {
          source: fields.source,
          channel: fields.channel,
          rule: fields.rule,
          criticality: fields.criticality,
          tier: fields.tier,
          title: fields.title,
          ...(slaError ? { slaError } : {}),
        },
      },
    ],
    audit: {
      type: 'incident.open',
      code: 'OUTPOST_I_INCIDENT_OPENED',
      details: { source: fields.source, rule: fields.rule },
    },
    notify: [{ event: 'opened' }],
  });
}

/** `IncidentSink.raise`. */
export function raiseSignal(core: IncidentCore, s: DetectionSignal): Promise<RaiseResult> {
  return core.serial(async () => {
    const now = core.clock.now();
    const open = await core.store.openByKey(s.key);
    if (open) {
      const changes: Record<string, unknown> = {};
      // A Set: a correlation incident may gather thousands of machines, one batch at a time.
      const known = new Set(open.agentIds);
      for (const a of s.agentIds) if (!known.has(a)) open.agentIds.push(a);
      if (moreSevere(s.criticality, open.criticality)) {
        changes.criticality = { from: open.criticality, to: s.criticality };
        open.criticality = s.criticality;
        await retarget(core, open, now);
      }
      if (s.tier > open.tier) {
        changes.tier = { from: open.tier, to: s.tier };
        open.tier = s.tier;
      }
      if (open.clearSince !== null) changes.clearCancelled = true;
      open.clearSince = null;
      open.title = s.title;
      open.explanation = s.explanation;
      if (s.context) open.context = s.context;
      await core.write(DETECTION, {
        incident: open,
        events: [{ kind: 'detection', data: { title: s.title, agentIds: s.agentIds, ...changes } }],
      });
      return { incidentId: open.id, outcome: 'updated' };
    }
    const recent = await core.store.resolvedByKey(s.key, now - core.options.reopenWindowMs);
    if (recent) {
      const known = new Set(recent.agentIds);
      for (const a of s.agentIds) if (!known.has(a)) recent.agentIds.push(a);
      recent.title = s.title;
      recent.explanation = s.explanation;
      const events = await reopenTicket(core, recent, now, 'the fault came back within the reopen window');
      await core.write(DETECTION, {
        incident: recent,
        events: [...events, { kind: 'detection', data: { title: s.title, agentIds: s.agentIds } }],
        audit: { type: 'incident.reopen', code: 'OUTPOST_I_INCIDENT_REOPENED', details: { key: s.key, auto: true } },
        notify: [{ event: 'reopened', detail: { auto: true } }],
      });
      return { incidentId: recent.id, outcome: 'reopened' };
    }
    const inc = await openTicket(core, DETECTION, {
      clientId: s.clientId,
      siteId: s.siteId,
      agentIds: [...new Set(s.agentIds)],
      key: s.key,
      source: s.source,
      channel: 'detection',
      rule: s.rule,
      type: s.type,
      title: s.title,
      explanation: s.explanation,
      context: s.context ?? null,
      criticality: s.criticality,
      impact: null,
      urgency: null,
      tier: s.tier,
      failureTime: s.failureTime,
      detectedAt: s.detectedAt,
      createdBy: 'detection',
    });
    return { incidentId: inc.id, outcome: 'opened' };
  });
}

/** `IncidentSink.clear`: starts the hold; the engine resolves when it is over (immediately with a zero hold). */
export function clearSignal(core: IncidentCore, key: string, at: number, note?: string): Promise<void> {
  return core.serial(async () => {
    const open = await core.store.openByKey(key);
    if (!open || open.clearSince !== null) return;
    open.clearSince = at;
    await core.write(DETECTION, {
      incident: open,
      events: [{ kind: 'condition_clear', at, data: note ? { note } : {} }],
    });
  });
}
