/**
 * SLA clock arithmetic on a ticket: the clock runs only inside coverage (the calendar decides), pauses while waiting
 * on the customer, and yields warning (near breach) and breach instants. Pure: the caller persists the result.
 */
import type { Incident, SlaClock } from './model.js';

/** What the clock needs from a calendar. */
export interface CoverageLike {
  add(start: number, ms: number): number;
  between(from: number, to: number): number;
}

/** A fresh clock, running from `at`. */
export function startClock(
  terms: { contractId: string; calendarId: string; responseMs: number; resolutionMs: number; nearBreachRatio: number },
  at: number,
  cov: CoverageLike,
): SlaClock {
  const sla: SlaClock = {
    contractId: terms.contractId,
    calendarId: terms.calendarId,
    responseTargetMs: terms.responseMs,
    resolutionTargetMs: terms.resolutionMs,
    nearBreachRatio: terms.nearBreachRatio,
    consumedMs: 0,
    runningSince: at,
    responseDue: null,
    resolutionDue: null,
    responseWarnAt: null,
    resolutionWarnAt: null,
    responseWarned: false,
    resolutionWarned: false,
    responseBreachedAt: null,
    resolutionBreachedAt: null,
  };
  schedule(sla, cov);
  return sla;
}

/**
 * Recomputes due and warning instants from the running segment (no-op while paused or stopped). A target already
 * breached, or a response already given (`responded`), keeps its due instant: it is history, shown and reported.
 */
export function schedule(sla: SlaClock, cov: CoverageLike, responded = false): void {
  if (sla.runningSince === null) return;
  const from = sla.runningSince;
  const at = (target: number) => cov.add(from, Math.max(0, target - sla.consumedMs));
  if (!responded && sla.responseBreachedAt === null) {
    sla.responseDue = at(sla.responseTargetMs);
    sla.responseWarnAt = at(sla.responseTargetMs * sla.nearBreachRatio);
  }
  if (sla.resolutionBreachedAt === null) {
    sla.resolutionDue = at(sla.resolutionTargetMs);
    sla.resolutionWarnAt = at(sla.resolutionTargetMs * sla.nearBreachRatio);
  }
}

/** Stops the clock at `at` (pause, or resolution), banking the covered time of the segment. */
export function stopClock(sla: SlaClock, cov: CoverageLike, at: number): void {
  if (sla.runningSince === null) return;
  sla.consumedMs += cov.between(sla.runningSince, at);
  sla.runningSince = null;
}

/** Starts the clock again at `at` (resume, or reopen); `responded`: the ticket was acknowledged. */
export function resumeClock(sla: SlaClock, cov: CoverageLike, at: number, responded = false): void {
  if (sla.runningSince !== null) return;
  sla.runningSince = at;
  schedule(sla, cov, responded);
}

/** One SLA event due on a ticket. */
export interface SlaEvent {
  clock: 'response' | 'resolution';
  kind: 'warning' | 'breach';
  /** The instant the threshold was crossed. */
  at: number;
}

/** The SLA events due at `now` that have not fired yet, marking them fired on `sla`. */
export function takeDue(inc: Pick<Incident, 'acknowledgedAt' | 'resolvedAt'>, sla: SlaClock, now: number): SlaEvent[] {
  if (sla.runningSince === null) return [];
  const out: SlaEvent[] = [];
  if (inc.acknowledgedAt === null) {
    if (!sla.responseWarned && sla.responseWarnAt !== null && now >= sla.responseWarnAt) {
      sla.responseWarned = true;
      if (sla.responseDue === null || now < sla.responseDue)
        out.push({ clock: 'response', kind: 'warning', at: sla.responseWarnAt });
    }
    if (sla.responseBreachedAt === null && sla.responseDue !== null && now >= sla.responseDue) {
      sla.responseBreachedAt = sla.responseDue;
      sla.responseWarned = true;
      out.push({ clock: 'response', kind: 'breach', at: sla.responseDue });
    }
  }
  if (inc.resolvedAt === null) {
    if (!sla.resolutionWarned && sla.resolutionWarnAt !== null && now >= sla.resolutionWarnAt) {
      sla.resolutionWarned = true;
      if (sla.resolutionDue === null || now < sla.resolutionDue)
        out.push({ clock: 'resolution', kind: 'warning', at: sla.resolutionWarnAt });
    }
    if (sla.resolutionBreachedAt === null && sla.resolutionDue !== null && now >= sla.resolutionDue) {
      sla.resolutionBreachedAt = sla.resolutionDue;
      sla.resolutionWarned = true;
      out.push({ clock: 'resolution', kind: 'breach', at: sla.resolutionDue });
    }
  }
  return out;
}

/** The next instant the engine must look at this ticket (null: nothing pending or clock not running). */
export function nextSlaAt(
  inc: Pick<Incident, 'acknowledgedAt' | 'resolvedAt' | 'status'>,
  sla: SlaClock | null,
): number | null {
  if (!sla || sla.runningSince === null || inc.status === 'resolved' || inc.status === 'closed') return null;
  const pending: number[] = [];
  if (inc.acknowledgedAt === null) {
    if (!sla.responseWarned && sla.responseWarnAt !== null) pending.push(sla.responseWarnAt);
    if (sla.responseBreachedAt === null && sla.responseDue !== null) pending.push(sla.responseDue);
  }
  if (inc.resolvedAt === null) {
    if (!sla.resolutionWarned && sla.resolutionWarnAt !== null) pending.push(sla.resolutionWarnAt);
    if (sla.resolutionBreachedAt === null && sla.resolutionDue !== null) pending.push(sla.resolutionDue);
  }
  return pending.length ? Math.min(...pending) : null;
}
