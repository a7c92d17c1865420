/** State changes shared by technicians' actions, the detection sink and the SLA engine. They mutate the ticket given. */
import type { Change, IncidentCore } from './core.js';
import type { Incident } from './model.js';
import { resumeClock, type SlaEvent, startClock, stopClock, takeDue } from './sla.js';

type Events = Change['events'];

/** Records SLA events that came due before a stop (ack, resolve) without escalating: the ticket is being handled. */
function settle(due: SlaEvent[]): Events {
  return due
    .filter((e) => e.kind === 'breach')
    .map((e) => ({ kind: 'sla_breach', at: e.at, data: { clock: e.clock, escalated: false } }));
}

/** Acknowledges: stops the response clock (a breach already past is recorded). */
export function acknowledgeTicket(inc: Incident, now: number): Events {
  const events: Events = [];
  if (inc.sla) events.push(...settle(takeDue({ acknowledgedAt: null, resolvedAt: now }, inc.sla, now)));
  inc.status = 'acknowledged';
  inc.acknowledgedAt = now;
  events.push({ kind: 'acknowledged' });
  return events;
}

/** Moves the ticket one tier up (or only raises the escalation level at tier 3). */
export function escalateTicket(inc: Incident, reason: string, keepAssignee: boolean): Events {
  const from = inc.tier;
  if (inc.tier < 3) inc.tier = (inc.tier + 1) as Incident['tier'];
  inc.escalationLevel += 1;
  if (!keepAssignee) inc.assignee = null;
  return [{ kind: 'escalated', data: { fromTier: from, toTier: inc.tier, level: inc.escalationLevel, reason } }];
}

/** Resolves: stops both clocks, records breaches already past, computes the resolution time. */
export async function resolveTicket(
  core: IncidentCore,
  inc: Incident,
  now: number,
  note: string,
  category: string,
  byPerson: boolean,
): Promise<Events> {
  const events: Events = [];
  if (inc.sla) {
    events.push(...settle(takeDue(inc, inc.sla, now)));
    stopClock(inc.sla, await core.sla.coverage(inc.sla.calendarId), now);
  }
  if (byPerson && inc.acknowledgedAt === null) inc.acknowledgedAt = now;
  inc.status = 'resolved';
  inc.resolvedAt = now;
  inc.resolutionMs = Math.max(0, now - inc.failureTime);
  inc.resolutionNote = note;
  inc.resolutionCategory = category;
  inc.clearSince = null;
  inc.paused = false;
  events.push({ kind: 'resolved', data: { note, category, resolutionMs: inc.resolutionMs } });
  return events;
}

/** Reopens a resolved or closed ticket: the resolution clock runs again from now. */
export async function reopenTicket(core: IncidentCore, inc: Incident, now: number, reason: string): Promise<Events> {
  const was = inc.status;
  inc.status = inc.acknowledgedAt === null ? 'open' : 'acknowledged';
  inc.resolvedAt = null;
  inc.closedAt = null;
  inc.resolutionMs = null;
  inc.resolutionNote = null;
  inc.resolutionCategory = null;
  inc.clearSince = null;
  inc.reopenCount += 1;
  if (inc.sla) resumeClock(inc.sla, await core.sla.coverage(inc.sla.calendarId), now, inc.acknowledgedAt !== null);
  return [{ kind: 'reopened', data: { from: was, reason, reopenCount: inc.reopenCount } }];
}

/** True when a resolved or closed ticket may still be reopened at `now`. */
export function withinReopenWindow(core: IncidentCore, inc: Incident, now: number): boolean {
  return inc.resolvedAt !== null && now - inc.resolvedAt <= core.options.reopenWindowMs;
}

/**
 * Applies the contract's targets for the ticket's (new) criticality: covered time already consumed is kept, the due
 * instants are recomputed. A ticket that had no target for its old criticality starts its clock now.
 */
export async function retarget(core: IncidentCore, inc: Incident, now: number): Promise<void> {
  const terms = await core.sla.slaFor(inc.clientId, inc.siteId, inc.criticality);
  if (!terms) return;
  const cov = await core.sla.coverage(terms.calendarId);
  if (!inc.sla) {
    inc.sla = startClock(terms, now, cov);
    if (inc.paused) stopClock(inc.sla, cov, now);
    return;
  }
  const running = inc.sla.runningSince !== null;
  if (running) stopClock(inc.sla, await core.sla.coverage(inc.sla.calendarId), now);
  inc.sla.contractId = terms.contractId;
  inc.sla.calendarId = terms.calendarId;
  inc.sla.responseTargetMs = terms.responseMs;
  inc.sla.resolutionTargetMs = terms.resolutionMs;
  inc.sla.nearBreachRatio = terms.nearBreachRatio;
  if (running) resumeClock(inc.sla, cov, now, inc.acknowledgedAt !== null);
}
