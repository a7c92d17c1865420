/**
 * The SLA engine: one pass re-evaluates due times on the injected clock. Near breach and breach escalate to the next
 * tier and notify; conditions clear for the hold time auto-resolve; resolved tickets past the reopen window close.
 * A timer calls `tick()`; tests call it after moving a fake clock (no sleeps).
 */
import type { Actor } from '../auth/index.js';
import { type Fence, fencedBy } from '../leases/index.js';
import type { Change, IncidentCore } from './core.js';
import type { Incident } from './model.js';
import { takeDue } from './sla.js';
import { escalateTicket, resolveTicket } from './transitions.js';

const SYSTEM: Actor = { kind: 'system', id: 'system' };

/** What one pass did, for logs and tests. */
export interface TickResult {
  warnings: number;
  breaches: number;
  autoResolved: number;
  closed: number;
}

const PAGE = 500;

/**
 * Every candidate of a query whose rows leave it once handled (so each page re-queries from the start). A page that
 * brings nothing new ends the walk, so a row that stays due (e.g. a write that failed) cannot loop the pass.
 */
async function* pages(query: (limit: number) => Promise<Incident[]>): AsyncGenerator<Incident> {
  const seen = new Set<string>();
  for (;;) {
    const page = await query(PAGE);
    let fresh = 0;
    for (const inc of page) {
      if (seen.has(inc.id)) continue;
      seen.add(inc.id);
      fresh++;
      yield inc;
    }
    if (page.length < PAGE || fresh === 0) return;
  }
}

/** Thrown out of a pass whose lease was lost: what is left is the new holder's. */
class LeaseLost extends Error {}

/**
 * One ticket's write, fenced: the fence's transaction first, then `serial`'s write lock inside it (database first,
 * then the service's own lock: docs/0016-postgres.md).
 */
async function write(core: IncidentCore, fence: Fence | undefined, fn: () => Promise<void>): Promise<void> {
  if (!(await fencedBy(fence, () => core.serial(fn)))) throw new LeaseLost();
}

/**
 * Runs one pass at the clock's current time. Under the `incidents` lease, each ticket's write commits only if the
 * database still says this node holds it under its epoch (docs/0017-nodes.md, "Fencing"); else the pass stops.
 */
export async function tick(core: IncidentCore, fence?: Fence): Promise<TickResult> {
  const now = core.clock.now();
  const result: TickResult = { warnings: 0, breaches: 0, autoResolved: 0, closed: 0 };
  try {
    await slaPass(core, fence, now, result);
    await autoResolvePass(core, fence, now, result);
    await closePass(core, fence, now, result);
  } catch (err) {
    if (!(err instanceof LeaseLost)) throw err;
    core.logger.warn({ ...result }, 'incident engine pass stopped: the incidents lease is no longer held');
    return result;
  }
  if (result.breaches || result.warnings || result.autoResolved || result.closed)
    core.logger.info({ ...result }, 'incident engine pass');
  return result;
}

/** Warnings and breaches due: one escalation per ticket and pass. */
async function slaPass(core: IncidentCore, fence: Fence | undefined, now: number, result: TickResult): Promise<void> {
  for await (const candidate of pages((limit) => core.store.slaDue(now, limit))) {
    await write(core, fence, async () => {
      const inc = await core.store.getForUpdate(candidate.id);
      if (!inc?.sla || inc.paused || inc.nextSlaAt === null || inc.nextSlaAt > now) return;
      const due = takeDue(inc, inc.sla, now);
      if (!due.length) {
        await core.write(SYSTEM, { incident: inc, events: [] });
        return;
      }
      const events: Change['events'] = [];
      const notify: NonNullable<Change['notify']> = [];
      for (const e of due) {
        events.push({
          kind: e.kind === 'breach' ? 'sla_breach' : 'sla_warning',
          at: e.at,
          data: { clock: e.clock, escalated: true },
        });
        notify.push({
          event: e.kind === 'breach' ? 'sla_breach' : 'sla_warning',
          detail: { clock: e.clock, at: e.at },
        });
        if (e.kind === 'breach') result.breaches++;
        else result.warnings++;
      }
      // Several thresholds crossed in one pass (the collector was down, or response and resolution coincide) move
      // the ticket one tier, not one tier each: escalation says "someone more senior must look", once.
      const reason = due.map((e) => `SLA ${e.clock} ${e.kind === 'breach' ? 'target breached' : 'target approaching'}`);
      events.push(...escalateTicket(inc, reason.join('; '), true));
      await core.write(SYSTEM, {
        incident: inc,
        events,
        audit: { type: 'incident.sla', code: 'OUTPOST_I_INCIDENT_SLA', details: { due } },
        notify,
      });
    });
  }
}

/** Tickets whose condition stayed clear for the hold time resolve themselves. */
async function autoResolvePass(
  core: IncidentCore,
  fence: Fence | undefined,
  now: number,
  result: TickResult,
): Promise<void> {
  for await (const candidate of pages((limit) =>
    core.store.clearedBefore(now - core.options.autoResolveHoldMs, limit),
  )) {
    await write(core, fence, async () => {
      const inc = await core.store.getForUpdate(candidate.id);
      if (!inc || inc.clearSince === null || inc.clearSince > now - core.options.autoResolveHoldMs) return;
      if (inc.status !== 'open' && inc.status !== 'acknowledged') return;
      const note = `Condition clear since ${new Date(inc.clearSince).toISOString()}`;
      const events = await resolveTicket(core, inc, now, note, 'auto-cleared', false);
      await core.write(SYSTEM, {
        incident: inc,
        events,
        audit: { type: 'incident.resolve', code: 'OUTPOST_I_INCIDENT_RESOLVED', details: { auto: true } },
        notify: [{ event: 'resolved', detail: { auto: true } }],
      });
      result.autoResolved++;
    });
  }
}

/** Resolved tickets past the reopen window close. */
async function closePass(core: IncidentCore, fence: Fence | undefined, now: number, result: TickResult): Promise<void> {
  for await (const candidate of pages((limit) => core.store.resolvedBefore(now - core.options.reopenWindowMs, limit))) {
    await write(core, fence, async () => {
      const inc = await core.store.getForUpdate(candidate.id);
      if (inc?.status !== 'resolved') return;
      inc.status = 'closed';
      inc.closedAt = now;
      await core.write(SYSTEM, {
        incident: inc,
        events: [{ kind: 'closed', data: { auto: true } }],
        audit: { type: 'incident.close', code: 'OUTPOST_I_INCIDENT_CLOSED', details: { auto: true } },
      });
      result.closed++;
    });
  }
}
