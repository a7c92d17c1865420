/**
 * The ticket write path every incident change goes through: serialised per collector (no lost updates between the
 * SLA engine, detection and technicians) and, across nodes, by the ticket's row lock taken when it is loaded; one
 * transaction for the ticket, its timeline and its notices, then the audit row and the handoff of the notices to
 * notifications (notices.ts). Internal to the concern.
 */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { Incident, TimelineEntry } from './model.js';
import { NoticeDrain } from './notices.js';
import type { Criticality } from './signal.js';
import { type CoverageLike, nextSlaAt } from './sla.js';
import type { IncidentsStore } from './store.js';

/** What notifications receive about a ticket change. */
export type NoticeEvent =
  | 'opened'
  | 'reopened'
  | 'acknowledged'
  | 'assigned'
  | 'escalated'
  | 'deescalated'
  | 'sla_warning'
  | 'sla_breach'
  | 'resolved'
  | 'closed';

/** One ticket change for notification routing. */
export interface IncidentNotice {
  /** Stable across handoff retries: the notifier queues each notice once per channel however often it is given. */
  id: string;
  event: NoticeEvent;
  at: number;
  incident: Incident;
  detail: Record<string, unknown>;
}

/**
 * The port notifications implement (bound after construction: notifications also raise incidents). `notify` may be
 * called again with a notice it already took (a crash before the handoff was recorded): it must then change nothing.
 */
export interface IncidentNotifier {
  notify(notice: IncidentNotice): Promise<void>;
}

/** What incidents need from contracts. */
export interface SlaProvider {
  slaFor(
    clientId: string,
    siteId: string,
    criticality: Criticality,
  ): Promise<
    | { contractId: string; calendarId: string; responseMs: number; resolutionMs: number; nearBreachRatio: number }
    | undefined
  >;
  coverage(calendarId: string): Promise<CoverageLike>;
}

/** Timing options of the incidents concern (`incidents.*` in the configuration). */
export interface IncidentOptions {
  /** The condition must stay clear this long before the incident auto-resolves. */
  autoResolveHoldMs: number;
  /** A resolved incident whose fault comes back within this window is reopened; after it, it is closed. */
  reopenWindowMs: number;
}

/** A change to write: the new ticket, its timeline entries, the audit row and the notification. */
export interface Change {
  incident: Incident;
  events: { kind: TimelineEntry['kind']; data?: Record<string, unknown>; at?: number }[];
  audit?: { type: string; code: string; details?: Record<string, unknown> };
  notify?: { event: NoticeEvent; detail?: Record<string, unknown> }[];
}

/** What IncidentCore is built from (one options object, not positional arguments). */
export interface IncidentCoreInit {
  /** The database the store writes to: `serial` takes its transaction before the write lock. */
  db: SqlDb;
  store: IncidentsStore;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  sla: SlaProvider;
  options: IncidentOptions;
}

/** Shared machinery of the incident service, the detection sink and the SLA engine. */
export class IncidentCore {
  #chain: Promise<unknown> = Promise.resolve();
  readonly notices: NoticeDrain;
  /** Called after every committed change (the console's live stream); a throwing listener is logged, not fatal. */
  readonly changeListeners: ((incident: Incident) => void)[] = [];

  readonly db: SqlDb;
  readonly store: IncidentsStore;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sla: SlaProvider;
  readonly options: IncidentOptions;
  constructor(init: IncidentCoreInit) {
    const { db, store, audit, clock, logger, sla, options } = init;
    this.db = db;
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.logger = logger;
    this.sla = sla;
    this.options = options;
    this.notices = new NoticeDrain(store, clock, logger);
  }

  /**
   * Runs `fn` after every earlier write finished (a collector-wide write lock), inside a database transaction taken
   * BEFORE the lock: database first, then this chain, always. A caller already inside a transaction (a stream batch
   * filing a user's request) joins it and so can only wait here for writes of that same transaction; taken the other
   * way round, a tick holding the chain and waiting for the connection, and a batch holding the connection and
   * waiting for the chain, would wait for each other forever (docs/0016-postgres.md, "Reactions after the commit").
   */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.atomic(() => {
      const run = this.#chain.then(fn, fn);
      this.#chain = run.catch(() => undefined);
      return run;
    });
  }

  /** A new incident id. */
  newId(): string {
    return `in_${randomBytes(6).toString('hex')}`;
  }

  /** Loads a ticket to change it (row-locked on PostgreSQL until the transaction ends) or throws 404. */
  async load(id: string): Promise<Incident> {
    const inc = await this.store.getForUpdate(id);
    if (!inc) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No incident ${id}` });
    return inc;
  }

  /**
   * Writes a change: ticket + timeline + notices + audit in the caller's transaction (`serial`'s), then, once it
   * committed, tells the change listeners and hands the notices to notifications (a failed handoff is retried by the
   * drain; it never fails the change). The reactions wait for the commit: a listener must not show a change that may
   * still roll back, and the drain takes its own lock, which must never be awaited with the connection held.
   */
  async write(actor: Actor, change: Change): Promise<Incident> {
    const now = this.clock.now();
    const inc = change.incident;
    inc.updatedAt = now;
    inc.nextSlaAt = inc.paused ? null : nextSlaAt(inc, inc.sla);
    const who = actor.kind === 'user' ? actor.email : 'system';
    const notices = (change.notify ?? []).map((n) => ({
      id: `ino_${randomBytes(9).toString('hex')}`,
      event: n.event,
      at: now,
      detail: n.detail ?? {},
    }));
    await this.store.commit(
      inc,
      change.events.map((e) => ({ at: e.at ?? now, kind: e.kind, actor: who, data: e.data ?? {} })),
      notices,
    );
    if (change.audit) {
      await this.audit.record({
        type: change.audit.type,
        code: change.audit.code,
        result: 'success',
        actor: actorRef(actor),
        clientId: inc.clientId,
        agentId: inc.agentIds[0] ?? null,
        resource: `incident:${inc.id}`,
        details: change.audit.details ?? {},
      });
    }
    await this.db.afterCommit(async () => {
      for (const fn of this.changeListeners) {
        try {
          fn(inc);
        } catch (err) {
          this.logger.error({ err, incidentId: inc.id }, 'incident change listener failed');
        }
      }
      if (notices.length) await this.notices.drain();
    });
    return inc;
  }
}
