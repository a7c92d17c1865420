/**
 * All SQL of the notifications concern: channels (with their health), routing rules and the durable outbox.
 * An outbox row is claimed (`claim`, `claimed_until`) before it is sent, so two workers never send it at once; a claim
 * left by a killed process lapses at `claimed_until` and the row is sent again (docs/0005-notifications.md).
 */
import { type Db, type Migration, prepared } from '../db/index.js';
import type { Message } from './channels.js';

/** The notifications concern's schema. */
export const notificationsMigrations: Migration[] = [
  {
    id: '0320_notifications',
    concern: 'notifications',
    sql: `
      CREATE TABLE notification_channels (
        id TEXT PRIMARY KEY, client_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL, config TEXT NOT NULL,
        secret TEXT, created_at INTEGER NOT NULL, consecutive_failures INTEGER NOT NULL DEFAULT 0, last_error TEXT,
        last_failure_at INTEGER, last_success_at INTEGER, incident_raised INTEGER NOT NULL DEFAULT 0,
        failing_since INTEGER, removed_at INTEGER
      );
      CREATE TABLE notification_routes (
        id TEXT PRIMARY KEY, channel_id TEXT NOT NULL REFERENCES notification_channels (id), client_id TEXT,
        min_criticality TEXT NOT NULL, tiers TEXT NOT NULL, events TEXT NOT NULL, on_call INTEGER NOT NULL,
        outside_coverage_only INTEGER NOT NULL, created_at INTEGER NOT NULL
      );
      CREATE TABLE notification_outbox (
        id TEXT PRIMARY KEY, channel_id TEXT NOT NULL REFERENCES notification_channels (id), incident_id TEXT,
        client_id TEXT NOT NULL, event TEXT NOT NULL, message TEXT NOT NULL, created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT, delivered_at INTEGER,
        claim TEXT, claimed_until INTEGER
      );
      CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at) WHERE delivered_at IS NULL;
      CREATE INDEX notification_outbox_channel ON notification_outbox (channel_id, delivered_at);
    `,
  },
  {
    // Incidents may hand the same notice twice (a crash before it recorded the handoff): one row per notice and channel.
    id: '0351_notification_outbox_notice',
    concern: 'notifications',
    sql: `
      ALTER TABLE notification_outbox ADD COLUMN notice_id TEXT;
      CREATE UNIQUE INDEX notification_outbox_notice ON notification_outbox (notice_id, channel_id)
        WHERE notice_id IS NOT NULL;
    `,
  },
];

/** A channel as stored (config holds no secret; the secret column holds the HMAC key or SMTP password). */
export interface ChannelRecord {
  id: string;
  clientId: string | null;
  name: string;
  kind: 'webhook' | 'slack' | 'teams' | 'email';
  config: Record<string, unknown>;
  secret: string | null;
  createdAt: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastFailureAt: number | null;
  lastSuccessAt: number | null;
  incidentRaised: boolean;
}

/** A routing rule. */
export interface RouteRecord {
  id: string;
  channelId: string;
  clientId: string | null;
  minCriticality: 'P1' | 'P2' | 'P3' | 'P4';
  tiers: number[];
  events: string[];
  onCall: boolean;
  outsideCoverageOnly: boolean;
  createdAt: number;
}

/** One queued message. */
export interface OutboxRecord {
  id: string;
  channelId: string;
  /** The incident notice it came from (null for test messages). */
  noticeId?: string | null;
  incidentId: string | null;
  clientId: string;
  event: string;
  message: Message;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  deliveredAt: number | null;
}

const CH = `SELECT id, client_id AS clientId, name, kind, config, secret, created_at AS createdAt,
  consecutive_failures AS consecutiveFailures, last_error AS lastError, last_failure_at AS lastFailureAt,
  last_success_at AS lastSuccessAt, incident_raised AS incidentRaised FROM notification_channels`;
type ChRow = Omit<ChannelRecord, 'config' | 'incidentRaised'> & { config: string; incidentRaised: number };
const ch = (r: ChRow): ChannelRecord => ({
  ...r,
  config: JSON.parse(r.config) as Record<string, unknown>,
  incidentRaised: r.incidentRaised === 1,
});

const RT = `SELECT id, channel_id AS channelId, client_id AS clientId, min_criticality AS minCriticality, tiers, events,
  on_call AS onCall, outside_coverage_only AS outsideCoverageOnly, created_at AS createdAt FROM notification_routes`;
type RtRow = Omit<RouteRecord, 'tiers' | 'events' | 'onCall' | 'outsideCoverageOnly'> & {
  tiers: string;
  events: string;
  onCall: number;
  outsideCoverageOnly: number;
};
const rt = (r: RtRow): RouteRecord => ({
  ...r,
  tiers: JSON.parse(r.tiers) as number[],
  events: JSON.parse(r.events) as string[],
  onCall: r.onCall === 1,
  outsideCoverageOnly: r.outsideCoverageOnly === 1,
});

const OB = `SELECT id, channel_id AS channelId, incident_id AS incidentId, client_id AS clientId, event, message,
  created_at AS createdAt, attempts, next_attempt_at AS nextAttemptAt, last_error AS lastError,
  delivered_at AS deliveredAt FROM notification_outbox`;
type ObRow = Omit<OutboxRecord, 'message'> & { message: string };
// The message column is written only by `enqueue` from a typed Message: reading it back needs no validation.
const ob = (r: ObRow): OutboxRecord => ({ ...r, message: JSON.parse(r.message) as Message });

/** Store functions of the notifications concern. */
export class NotificationsStore {
  constructor(private readonly db: Db) {}

  async insertChannel(c: ChannelRecord): Promise<void> {
    prepared(
      this.db,
      'INSERT INTO notification_channels (id, client_id, name, kind, config, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(c.id, c.clientId, c.name, c.kind, JSON.stringify(c.config), c.secret, c.createdAt);
  }

  /** A channel that has not been removed. */
  async channel(id: string): Promise<ChannelRecord | undefined> {
    const r = prepared<[string], ChRow>(this.db, `${CH} WHERE id = ? AND removed_at IS NULL`).get(id);
    return r && ch(r);
  }

  async listChannels(): Promise<ChannelRecord[]> {
    return prepared<[], ChRow>(this.db, `${CH} WHERE removed_at IS NULL ORDER BY name, id`).all().map(ch);
  }

  /**
   * Removes a channel: its routes and its undelivered messages go, delivered ones stay as history. Returns the number
   * of undelivered messages dropped.
   */
  async removeChannel(id: string, at: number): Promise<number> {
    return this.db.transaction(() => {
      prepared(this.db, 'DELETE FROM notification_routes WHERE channel_id = ?').run(id);
      const dropped = prepared(
        this.db,
        'DELETE FROM notification_outbox WHERE channel_id = ? AND delivered_at IS NULL',
      ).run(id).changes;
      prepared(this.db, 'UPDATE notification_channels SET removed_at = ? WHERE id = ?').run(at, id);
      return dropped;
    })();
  }

  /**
   * Records a delivery outcome on the channel; returns the consecutive failure count and since when the channel has
   * been failing (the first failure after its last success).
   */
  async channelOutcome(
    id: string,
    at: number,
    error: string | null,
  ): Promise<{ consecutiveFailures: number; failingSince: number | null }> {
    if (error === null) {
      prepared(
        this.db,
        'UPDATE notification_channels SET consecutive_failures = 0, failing_since = NULL, last_success_at = ? WHERE id = ?',
      ).run(at, id);
      return { consecutiveFailures: 0, failingSince: null };
    }
    return (
      prepared<[number, number, string, string], { consecutiveFailures: number; failingSince: number | null }>(
        this.db,
        `UPDATE notification_channels SET consecutive_failures = consecutive_failures + 1, last_failure_at = ?,
         failing_since = COALESCE(failing_since, ?), last_error = ? WHERE id = ?
         RETURNING consecutive_failures AS consecutiveFailures, failing_since AS failingSince`,
      ).get(at, at, error.slice(0, 1000), id) ?? { consecutiveFailures: 0, failingSince: null }
    );
  }

  /** Flips the channel's "own incident raised" flag; false when it already had that value (so it is raised once). */
  async setIncidentRaised(id: string, raised: boolean): Promise<boolean> {
    return (
      prepared(
        this.db,
        'UPDATE notification_channels SET incident_raised = ? WHERE id = ? AND incident_raised = ?',
      ).run(raised ? 1 : 0, id, raised ? 0 : 1).changes === 1
    );
  }

  async insertRoute(r: RouteRecord): Promise<void> {
    prepared(
      this.db,
      `INSERT INTO notification_routes (id, channel_id, client_id, min_criticality, tiers, events, on_call,
        outside_coverage_only, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      r.id,
      r.channelId,
      r.clientId,
      r.minCriticality,
      JSON.stringify(r.tiers),
      JSON.stringify(r.events),
      r.onCall ? 1 : 0,
      r.outsideCoverageOnly ? 1 : 0,
      r.createdAt,
    );
  }

  async deleteRoute(id: string): Promise<boolean> {
    return prepared(this.db, 'DELETE FROM notification_routes WHERE id = ?').run(id).changes > 0;
  }

  async route(id: string): Promise<RouteRecord | undefined> {
    const r = prepared<[string], RtRow>(this.db, `${RT} WHERE id = ?`).get(id);
    return r && rt(r);
  }

  async listRoutes(): Promise<RouteRecord[]> {
    return prepared<[], RtRow>(this.db, `${RT} ORDER BY created_at, id`).all().map(rt);
  }

  /**
   * Queues messages in one transaction (all or none); SQLite runs with synchronous = FULL, so a commit is on disk.
   * A message for a (notice, channel) already queued is skipped; returns how many were added.
   */
  async enqueue(items: OutboxRecord[]): Promise<number> {
    const ins = prepared(
      this.db,
      `INSERT INTO notification_outbox (id, channel_id, notice_id, incident_id, client_id, event, message, created_at,
        attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
       ON CONFLICT (notice_id, channel_id) WHERE notice_id IS NOT NULL DO NOTHING`,
    );
    return this.db.transaction(() => {
      let added = 0;
      for (const i of items)
        added += ins.run(
          i.id,
          i.channelId,
          i.noticeId ?? null,
          i.incidentId,
          i.clientId,
          i.event,
          JSON.stringify(i.message),
          i.createdAt,
          i.nextAttemptAt,
        ).changes;
      return added;
    })();
  }

  /** Undelivered messages due at `now` and not claimed by a live worker, oldest first. */
  async due(now: number, limit: number): Promise<OutboxRecord[]> {
    return prepared<[number, number, number], ObRow>(
      this.db,
      `${OB} WHERE delivered_at IS NULL AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
       ORDER BY next_attempt_at, created_at, id LIMIT ?`,
    )
      .all(now, now, limit)
      .map(ob);
  }

  /**
   * Claims a message for one send until `until`. False when it is delivered, gone, or claimed by another worker
   * whose claim has not lapsed: only the claimant sends.
   */
  async claim(id: string, token: string, now: number, until: number): Promise<boolean> {
    return (
      prepared(
        this.db,
        `UPDATE notification_outbox SET claim = ?, claimed_until = ? WHERE id = ? AND delivered_at IS NULL
         AND (claimed_until IS NULL OR claimed_until <= ?)`,
      ).run(token, until, id, now).changes === 1
    );
  }

  /** Marks a claimed message delivered; false when the claim was lost meanwhile (then someone else owns it). */
  async markDelivered(id: string, token: string, at: number): Promise<boolean> {
    return (
      prepared(
        this.db,
        `UPDATE notification_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL, claim = NULL,
         claimed_until = NULL WHERE id = ? AND claim = ? AND delivered_at IS NULL`,
      ).run(at, id, token).changes === 1
    );
  }

  /** Records a failed attempt and releases the claim until `nextAttemptAt`. */
  async markFailed(id: string, token: string, error: string, nextAttemptAt: number): Promise<boolean> {
    return (
      prepared(
        this.db,
        `UPDATE notification_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claim = NULL,
         claimed_until = NULL WHERE id = ? AND claim = ? AND delivered_at IS NULL`,
      ).run(error.slice(0, 1000), nextAttemptAt, id, token).changes === 1
    );
  }

  async outboxItem(id: string): Promise<OutboxRecord | undefined> {
    const r = prepared<[string], ObRow>(this.db, `${OB} WHERE id = ?`).get(id);
    return r && ob(r);
  }

  /** Messages, newest first; `channelIds` limits them (a JSON array keeps the statement count bounded). */
  async listOutbox(q: {
    channelIds?: readonly string[] | undefined;
    pending?: boolean | undefined;
    limit: number;
  }): Promise<OutboxRecord[]> {
    const pending = q.pending === undefined ? -1 : q.pending ? 1 : 0;
    return prepared<{ channels: string | null; pending: number; limit: number }, ObRow>(
      this.db,
      `${OB} WHERE (@channels IS NULL OR channel_id IN (SELECT value FROM json_each(@channels)))
       AND (@pending = -1 OR (delivered_at IS NULL) = @pending) ORDER BY created_at DESC, id LIMIT @limit`,
    )
      .all({ channels: q.channelIds ? JSON.stringify(q.channelIds) : null, pending, limit: q.limit })
      .map(ob);
  }

  /** Undelivered messages per channel. */
  async pendingCounts(): Promise<Map<string, number>> {
    const rows = prepared<[], { channelId: string; n: number }>(
      this.db,
      'SELECT channel_id AS channelId, count(*) AS n FROM notification_outbox WHERE delivered_at IS NULL GROUP BY channel_id',
    ).all();
    return new Map(rows.map((r) => [r.channelId, r.n]));
  }
}
