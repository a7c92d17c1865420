/** Incident logic technicians drive (open by hand, acknowledge, assign, escalate, resolve…) and the detection sink. */
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import type { Actor } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { Fence } from '../leases/index.js';
import { type Change, IncidentCore, type IncidentNotifier, type IncidentOptions, type SlaProvider } from './core.js';
import { type TickResult, tick } from './engine.js';
import { bad, checkManual, type IncidentDeps, type ManualIncident } from './manual.js';
import {
  checkTransition,
  type Incident,
  RESOLUTION_CATEGORIES,
  type TimelineEntry,
  type TimelineKind,
} from './model.js';
import type { Criticality, DetectionSignal, IncidentSink, RaiseResult, Tier } from './signal.js';
import { clearSignal, openTicket, raiseSignal } from './sink.js';
import { resumeClock, stopClock } from './sla.js';

export type { IncidentDeps, ManualIncident } from './manual.js';

import { type IncidentQuery, IncidentsStore } from './store.js';
import {
  acknowledgeTicket,
  escalateTicket,
  reopenTicket,
  resolveTicket,
  retarget,
  withinReopenWindow,
} from './transitions.js';

export { RESOLUTION_CATEGORIES } from './model.js';

/** What the incidents service is built from. */
export interface IncidentServiceOptions {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** The SLA terms and coverage calendars (the contracts concern). */
  sla: SlaProvider;
  deps: IncidentDeps;
  options: IncidentOptions;
}

/** The incidents concern's service; it is the `IncidentSink` detection raises into. */
export class IncidentService implements IncidentSink {
  readonly #core: IncidentCore;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #lease: Fence | undefined;

  private readonly logger: Logger;
  private readonly deps: IncidentDeps;
  constructor(o: IncidentServiceOptions) {
    this.logger = o.logger;
    this.deps = o.deps;
    this.#core = new IncidentCore({
      db: o.db,
      store: new IncidentsStore(o.db),
      audit: o.audit,
      clock: o.clock,
      logger: o.logger,
      sla: o.sla,
      options: o.options,
    });
  }

  /** Calls `fn` after every committed ticket change (opened, acknowledged, commented, resolved…). */
  onChange(fn: (incident: Incident) => void): void {
    this.#core.changeListeners.push(fn);
  }

  /** Binds the notifier (notifications is built after incidents, and raises its own channel incidents here). */
  setNotifier(notifier: IncidentNotifier): void {
    this.#core.notices.notifier = notifier;
  }

  /** Hands every pending notice to the notifier now (tests drive it; the app runs it on a timer and after writes). */
  handOffNotices(): Promise<number> {
    return this.#core.notices.drain();
  }

  raise(signal: DetectionSignal): Promise<RaiseResult> {
    return raiseSignal(this.#core, signal);
  }

  clear(key: string, at: number, note?: string): Promise<void> {
    return clearSignal(this.#core, key, at, note);
  }

  /**
   * One SLA / auto-resolve / auto-close pass at the clock's time; each ticket's write fenced by `lease` (by default
   * the one `start` was given): under a lease another node took over, it writes nothing.
   */
  tick(lease: Fence | undefined = this.#lease): Promise<TickResult> {
    return tick(this.#core, lease);
  }

  /**
   * Starts the timer loop that calls `tick()` (a pass still running when the next is due is not doubled), and the
   * notice handoff: what a previous run left is handed off now, failed handoffs are retried every `noticeRetryMs`.
   * Under the `incidents` lease, its passes' writes are fenced by it.
   */
  start(intervalMs: number, noticeRetryMs = 1_000, lease?: Fence): void {
    this.#lease = lease;
    this.#core.notices.start(noticeRetryMs);
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.tick()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.error({ err }, 'incident engine pass failed'))
        .finally(() => {
          this.#running = undefined;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a pass in progress (the database closes next). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#core.serial(async () => undefined);
    await this.#core.notices.stop();
  }

  get(id: string): Promise<Incident | undefined> {
    return this.#core.store.get(id);
  }

  list(q: IncidentQuery): Promise<{ incidents: Incident[]; total: number }> {
    return this.#core.store.list(q);
  }

  /** Every incident of a client detected in [from, to), oldest first: what the service-quality report reads. */
  forPeriod(clientId: string, from: number, to: number): Promise<Incident[]> {
    return this.#core.store.inPeriod(clientId, from, to);
  }

  timeline(id: string): Promise<TimelineEntry[]> {
    return this.#core.store.timeline(id);
  }

  queues(clientIds?: readonly string[]) {
    return this.#core.store.queues(clientIds);
  }

  /** Adds a timeline entry from another concern (notification sent, remote session opened). */
  async note(
    incidentId: string,
    kind: Extract<TimelineKind, 'notification' | 'session'>,
    data: Record<string, unknown>,
    actor = 'system',
  ): Promise<void> {
    await this.#core.store.appendEvent(incidentId, { at: this.#core.clock.now(), kind, actor, data });
  }

  /**
   * A technician opened a remote session (shell, or file upload/download) on a machine: every open or acknowledged incident of
   * that machine shows it on its timeline. Returns the incidents noted.
   */
  async noteSessionOpened(
    agentId: string,
    session: { sessionId: string; user: string; kind: 'shell' | 'upload' | 'download' },
  ): Promise<string[]> {
    const ids = await this.#core.store.activeForAgent(agentId);
    for (const id of ids)
      await this.note(
        id,
        'session',
        { sessionId: session.sessionId, kind: session.kind, user: session.user, agentId },
        session.user,
      );
    return ids;
  }

  /** Opens an incident by hand. Every reference is checked before anything is written. */
  async open(actor: Actor, m: ManualIncident): Promise<Incident> {
    const criticality = await checkManual(this.deps, m);
    const now = this.#core.clock.now();
    if (m.failureTime !== undefined && m.failureTime > now)
      throw bad('The failure time is in the future', 'failureTime');
    return this.#core.serial(() =>
      openTicket(this.#core, actor, {
        clientId: m.clientId,
        siteId: m.siteId,
        agentIds: [...new Set(m.agentIds ?? [])],
        key: null,
        source: 'manual',
        channel: m.channel ?? 'technician',
        rule: m.channel && m.channel !== 'technician' ? 'request' : 'manual',
        type: m.type,
        title: m.title,
        explanation: m.explanation ?? '',
        context: null,
        criticality,
        impact: m.impact ?? null,
        urgency: m.urgency ?? null,
        tier: m.tier ?? 1,
        failureTime: m.failureTime ?? now,
        detectedAt: now,
        createdBy: actor.kind === 'user' ? actor.id : 'system',
      }),
    );
  }

  /** Loads, applies `fn` (which returns the change), writes — all under the write lock. */
  #act(
    actor: Actor,
    id: string,
    fn: (inc: Incident, now: number) => Promise<Omit<Change, 'incident'>>,
  ): Promise<Incident> {
    return this.#core.serial(async () => {
      const inc = await this.#core.load(id);
      const change = await fn(inc, this.#core.clock.now());
      return this.#core.write(actor, { incident: inc, ...change });
    });
  }

  acknowledge(actor: Actor, id: string): Promise<Incident> {
    return this.#act(actor, id, async (inc, now) => {
      checkTransition(inc, 'acknowledge');
      return {
        events: acknowledgeTicket(inc, now),
        audit: { type: 'incident.ack', code: 'OUTPOST_I_INCIDENT_ACKNOWLEDGED' },
        notify: [{ event: 'acknowledged' }],
      };
    });
  }

  /** Assigns to `userId` (taking: the actor assigns itself, which also acknowledges an open ticket). */
  async assign(actor: Actor, id: string, userId: string, reason?: string): Promise<Incident> {
    return this.#act(actor, id, async (inc, now) => {
      // Another client's user answers like an unknown one and is never handed a ticket they cannot see.
      if (!(await this.deps.member(userId, inc.clientId))) throw bad(`No user ${userId}`, 'userId');
      checkTransition(inc, 'assign');
      const events: Change['events'] = [];
      const taking = actor.kind === 'user' && actor.id === userId;
      if (taking && inc.status === 'open') events.push(...acknowledgeTicket(inc, now));
      const from = inc.assignee;
      inc.assignee = userId;
      events.push({ kind: 'assigned', data: { from, to: userId, reason: reason ?? (taking ? 'taken' : null) } });
      return {
        events,
        audit: {
          type: taking ? 'incident.take' : 'incident.assign',
          code: 'OUTPOST_I_INCIDENT_ASSIGNED',
          details: { from, to: userId, reason },
        },
        notify: [{ event: 'assigned', detail: { to: userId } }],
      };
    });
  }

  /**
   * The technician corrects what triage chose (type, criticality): the SLA targets follow the new criticality, the
   * covered time already consumed is kept (docs/0014-requests.md).
   */
  retriage(
    actor: Actor,
    id: string,
    change: { type?: string | undefined; criticality?: Criticality | undefined; reason: string },
  ): Promise<Incident> {
    if (change.type === undefined && change.criticality === undefined)
      return Promise.reject(bad('Give a type or a criticality', 'type'));
    return this.#act(actor, id, async (inc, now) => {
      checkTransition(inc, 'retriage');
      const from = { type: inc.type, criticality: inc.criticality };
      if (change.type !== undefined) inc.type = change.type;
      if (change.criticality !== undefined && change.criticality !== inc.criticality) {
        inc.criticality = change.criticality;
        await retarget(this.#core, inc, now);
      }
      const to = { type: inc.type, criticality: inc.criticality };
      return {
        events: [{ kind: 'retriaged', data: { from, to, reason: change.reason } }],
        audit: { type: 'incident.retriage', code: 'OUTPOST_I_INCIDENT_RETRIAGED', details: { from, to } },
      };
    });
  }

  /**
   * Adds a comment. A comment is internal (technicians only) unless `to.public`: then the requester sees it on the
   * self-service page (docs/0014-requests.md); `to.requester` names the requester who wrote it there.
   */
  comment(
    actor: Actor,
    id: string,
    text: string,
    to: { public?: boolean | undefined; requester?: string | undefined } = {},
  ): Promise<Incident> {
    return this.#act(actor, id, async (inc) => {
      checkTransition(inc, 'comment');
      const data = {
        text,
        ...(to.public ? { public: true } : {}),
        ...(to.requester ? { requester: to.requester } : {}),
      };
      return {
        events: [{ kind: 'comment', data }],
        audit: { type: 'incident.comment', code: 'OUTPOST_I_INCIDENT_COMMENTED' },
      };
    });
  }

  escalate(actor: Actor, id: string, reason: string): Promise<Incident> {
    return this.#act(actor, id, async (inc) => {
      checkTransition(inc, 'escalate');
      if (inc.tier === 3)
        throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', {
          message: `Incident ${id} is already at tier 3`,
          details: { tier: 3 },
        });
      const events = escalateTicket(inc, reason, false);
      return {
        events,
        audit: { type: 'incident.escalate', code: 'OUTPOST_I_INCIDENT_ESCALATED', details: { reason, tier: inc.tier } },
        notify: [{ event: 'escalated', detail: { reason } }],
      };
    });
  }

  deescalate(actor: Actor, id: string, reason: string): Promise<Incident> {
    return this.#act(actor, id, async (inc) => {
      checkTransition(inc, 'deescalate');
      if (inc.tier === 1)
        throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', {
          message: `Incident ${id} is already at tier 1`,
          details: { tier: 1 },
        });
      const from = inc.tier;
      inc.tier = (inc.tier - 1) as Tier;
      inc.assignee = null;
      return {
        events: [{ kind: 'deescalated', data: { fromTier: from, toTier: inc.tier, reason } }],
        audit: {
          type: 'incident.deescalate',
          code: 'OUTPOST_I_INCIDENT_DEESCALATED',
          details: { reason, tier: inc.tier },
        },
        notify: [{ event: 'deescalated', detail: { reason } }],
      };
    });
  }

  /** Waiting on the customer: the SLA clock stops until `resume`. */
  pause(actor: Actor, id: string, reason: string): Promise<Incident> {
    return this.#act(actor, id, async (inc, now) => {
      checkTransition(inc, 'pause');
      if (inc.paused)
        throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', { message: `Incident ${id} is already paused` });
      if (inc.sla) stopClock(inc.sla, await this.#core.sla.coverage(inc.sla.calendarId), now);
      inc.paused = true;
      return {
        events: [{ kind: 'paused', data: { reason } }],
        audit: { type: 'incident.pause', code: 'OUTPOST_I_INCIDENT_PAUSED', details: { reason } },
      };
    });
  }

  resume(actor: Actor, id: string): Promise<Incident> {
    return this.#act(actor, id, async (inc, now) => {
      checkTransition(inc, 'resume');
      if (!inc.paused)
        throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', { message: `Incident ${id} is not paused` });
      if (inc.sla)
        resumeClock(inc.sla, await this.#core.sla.coverage(inc.sla.calendarId), now, inc.acknowledgedAt !== null);
      inc.paused = false;
      return { events: [{ kind: 'resumed' }], audit: { type: 'incident.resume', code: 'OUTPOST_I_INCIDENT_RESUMED' } };
    });
  }

  resolve(actor: Actor, id: string, note: string, category: string): Promise<Incident> {
    if (!(RESOLUTION_CATEGORIES as readonly string[]).includes(category))
      return Promise.reject(
        bad(`Unknown resolution category ${category}; use one of ${RESOLUTION_CATEGORIES.join(', ')}`, 'category'),
      );
    return this.#act(actor, id, async (inc, now) => {
      checkTransition(inc, 'resolve');
      return {
        events: await resolveTicket(this.#core, inc, now, note, category, true),
        audit: { type: 'incident.resolve', code: 'OUTPOST_I_INCIDENT_RESOLVED', details: { category } },
        notify: [{ event: 'resolved' }],
      };
    });
  }

  close(actor: Actor, id: string): Promise<Incident> {
    return this.#act(actor, id, async (inc, now) => {
      checkTransition(inc, 'close');
      inc.status = 'closed';
      inc.closedAt = now;
      return {
        events: [{ kind: 'closed' }],
        audit: { type: 'incident.close', code: 'OUTPOST_I_INCIDENT_CLOSED' },
        notify: [{ event: 'closed' }],
      };
    });
  }

  reopen(actor: Actor, id: string, reason: string): Promise<Incident> {
    return this.#act(actor, id, async (inc, now) => {
      checkTransition(inc, 'reopen');
      if (!withinReopenWindow(this.#core, inc, now))
        throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', {
          message: `Incident ${id} was resolved more than ${Math.round(this.#core.options.reopenWindowMs / 60_000)} minutes ago; open a new one`,
          details: { resolvedAt: inc.resolvedAt },
        });
      const twin = inc.key === null ? undefined : await this.#core.store.openByKey(inc.key);
      if (twin)
        throw new OutpostError('OUTPOST_E_TRANSITION_INVALID', {
          message: `Incident ${twin.id} is already open for the same fault; work on it instead`,
          details: { openIncident: twin.id },
        });
      return {
        events: await reopenTicket(this.#core, inc, now, reason),
        audit: { type: 'incident.reopen', code: 'OUTPOST_I_INCIDENT_REOPENED', details: { reason } },
        notify: [{ event: 'reopened', detail: { reason } }],
      };
    });
  }
}
