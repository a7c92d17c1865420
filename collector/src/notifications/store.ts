/**
 * All SQL of the notifications concern: channels (with their health), routing rules and the durable outbox.
 * An outbox row is claimed (`claim`, `claimed_until`) before it is sent, so two workers never send it at once; a claim
 * left by a killed process lapses at `claimed_until` and the row is sent again (docs/0005-notifications.md).
 */
import type { Dialect, Migration, SqlDb, SqlParam } from '../db/index.js';
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

const CH = `SELECT id, client_id AS "clientId", name, kind, config, secret, created_at AS "createdAt",
  consecutive_failures AS "consecutiveFailures", last_error AS "lastError", last_failure_at AS "lastFailureAt",
  last_success_at AS "lastSuccessAt", incident_raised AS "incidentRaised" FROM notification_channels`;
type ChRow = Omit<ChannelRecord, 'config' | 'incidentRaised'> & { config: string; incidentRaised: number };
const ch = (r: ChRow): ChannelRecord => ({
  ...r,
  config: JSON.parse(r.config) as Record<string, unknown>,
  incidentRaised: r.incidentRaised === 1,
});

const RT = `SELECT id, channel_id AS "channelId", client_id AS "clientId", min_criticality AS "minCriticality", tiers,
  events, on_call AS "onCall", outside_coverage_only AS "outsideCoverageOnly", created_at AS "createdAt"
  FROM notification_routes`;
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

const OB = `SELECT id, channel_id AS "channelId", incident_id AS "incidentId", client_id AS "clientId", event, message,
  created_at AS "createdAt", attempts, next_attempt_at AS "nextAttemptAt", last_error AS "lastError",
  delivered_at AS "deliveredAt" FROM notification_outbox`;
type ObRow = Omit<OutboxRecord, 'message'> & { message: string };
// The message column is written only by `enqueue` from a typed Message: reading it back needs no validation.
const ob = (r: ObRow): OutboxRecord => ({ ...r, message: JSON.parse(r.message) as Message });

// A channel filter binds one JSON array whatever its length, so the statement texts stay few (and cached).
const IN_CHANNELS: Record<Dialect, string> = {
  sqlite: 'channel_id IN (SELECT value FROM json_each(?))',
  postgres: 'channel_id IN (SELECT json_array_elements_text(CAST(? AS json)))',
};

const ENQUEUE = `INSERT INTO notification_outbox (id, channel_id, notice_id, incident_id, client_id, event, message,
  created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
  ON CONFLICT (notice_id, channel_id) WHERE notice_id IS NOT NULL DO NOTHING`;

/** Store functions of the notifications concern, on SQLite or PostgreSQL. */
export class NotificationsStore {
  constructor(private readonly db: SqlDb) {}

  async insertChannel(c: ChannelRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO notification_channels (id, client_id, name, kind, config, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [c.id, c.clientId, c.name, c.kind, JSON.stringify(c.config), c.secret, c.createdAt],
    );
  }

  /** A channel that has not been removed. */
  async channel(id: string): Promise<ChannelRecord | undefined> {
    const r = await this.db.get<ChRow>(`${CH} WHERE id = ? AND removed_at IS NULL`, [id]);
    return r && ch(r);
  }

  async listChannels(): Promise<ChannelRecord[]> {
    return (await this.db.all<ChRow>(`${CH} WHERE removed_at IS NULL ORDER BY name, id`)).map(ch);
  }

  /**
   * Removes a channel: its routes and its undelivered messages go, delivered ones stay as history. Returns the number
   * of undelivered messages dropped.
   */
  removeChannel(id: string, at: number): Promise<number> {
    return this.db.atomic(async () => {
      await this.db.run('DELETE FROM notification_routes WHERE channel_id = ?', [id]);
      const dropped = await this.db.run(
        'DELETE FROM notification_outbox WHERE channel_id = ? AND delivered_at IS NULL',
        [id],
      );
      await this.db.run('UPDATE notification_channels SET removed_at = ? WHERE id = ?', [at, id]);
      return dropped.changes;
    });
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
      await this.db.run(
        'UPDATE notification_channels SET consecutive_failures = 0, failing_since = NULL, last_success_at = ? WHERE id = ?',
        [at, id],
      );
      return { consecutiveFailures: 0, failingSince: null };
    }
    return (
      (await this.db.get<{ consecutiveFailures: number; failingSince: number | null }>(
        `UPDATE notification_channels SET consecutive_failures = consecutive_failures + 1, last_failure_at = ?,
         failing_since = COALESCE(failing_since, ?), last_error = ? WHERE id = ?
         RETURNING consecutive_failures AS "consecutiveFailures", failing_since AS "failingSince"`,
        [at, at, error.slice(0, 1000), id],
      )) ?? { consecutiveFailures: 0, failingSince: null }
    );
  }

  /** Flips the channel's "own incident raised" flag; false when it already had that value (so it is raised once). */
  async setIncidentRaised(id: string, raised: boolean): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE notification_channels SET incident_raised = ? WHERE id = ? AND incident_raised = ?',
      [raised ? 1 : 0, id, raised ? 0 : 1],
    );
    return r.changes === 1;
  }

  async insertRoute(r: RouteRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO notification_routes (id, channel_id, client_id, min_criticality, tiers, events, on_call,
        outside_coverage_only, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.id,
        r.channelId,
        r.clientId,
        r.minCriticality,
        JSON.stringify(r.tiers),
        JSON.stringify(r.events),
        r.onCall ? 1 : 0,
        r.outsideCoverageOnly ? 1 : 0,
        r.createdAt,
      ],
    );
  }

  async deleteRoute(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM notification_routes WHERE id = ?', [id])).changes > 0;
  }

  async route(id: string): Promise<RouteRecord | undefined> {
    const r = await this.db.get<RtRow>(`${RT} WHERE id = ?`, [id]);
    return r && rt(r);
  }

  async listRoutes(): Promise<RouteRecord[]> {
    return (await this.db.all<RtRow>(`${RT} ORDER BY created_at, id`)).map(rt);
  }

  /**
   * Queues messages in one transaction (all or none, joining the caller's if open); SQLite runs with
   * synchronous = FULL, so a commit is on disk. A message for a (notice, channel) already queued is skipped — also
   * when another node queued it meanwhile; returns how many were added.
   */
  async enqueue(items: OutboxRecord[]): Promise<number> {
    if (items.length === 0) return 0;
    const rows = items.map((i) => [
      i.id,
      i.channelId,
      i.noticeId ?? null,
      i.incidentId,
      i.clientId,
      i.event,
      JSON.stringify(i.message),
      i.createdAt,
      i.nextAttemptAt,
    ]);
    return (await this.db.atomic(() => this.db.runMany(ENQUEUE, rows))).changes;
  }

  /** Undelivered messages due at `now` and not claimed by a live worker, oldest first. */
  async due(now: number, limit: number): Promise<OutboxRecord[]> {
    const rows = await this.db.all<ObRow>(
      `${OB} WHERE delivered_at IS NULL AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
       ORDER BY next_attempt_at, created_at, id LIMIT ?`,
      [now, now, limit],
    );
    return rows.map(ob);
  }

  /**
   * Claims a message for one send until `until`. False when it is delivered, gone, or claimed by another worker
   * whose claim has not lapsed: only the claimant sends (one UPDATE: of two nodes claiming at once, one wins).
   */
  async claim(id: string, token: string, now: number, until: number): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE notification_outbox SET claim = ?, claimed_until = ? WHERE id = ? AND delivered_at IS NULL
       AND (claimed_until IS NULL OR claimed_until <= ?)`,
      [token, until, id, now],
    );
    return r.changes === 1;
  }

  /** Marks a claimed message delivered; false when the claim was lost meanwhile (then someone else owns it). */
  async markDelivered(id: string, token: string, at: number): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE notification_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL, claim = NULL,
       claimed_until = NULL WHERE id = ? AND claim = ? AND delivered_at IS NULL`,
      [at, id, token],
    );
    return r.changes === 1;
  }

  /** Records a failed attempt and releases the claim until `nextAttemptAt`. */
  async markFailed(id: string, token: string, error: string, nextAttemptAt: number): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE notification_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claim = NULL,
       claimed_until = NULL WHERE id = ? AND claim = ? AND delivered_at IS NULL`,
      [error.slice(0, 1000), nextAttemptAt, id, token],
    );
    return r.changes === 1;
  }

  async outboxItem(id: string): Promise<OutboxRecord | undefined> {
    const r = await this.db.get<ObRow>(`${OB} WHERE id = ?`, [id]);
    return r && ob(r);
  }

  /** Messages, newest first; `channelIds` limits them (one JSON array parameter, whatever its length). */
  async listOutbox(q: {
    channelIds?: readonly string[] | undefined;
    pending?: boolean | undefined;
    limit: number;
  }): Promise<OutboxRecord[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (q.channelIds) {
      where.push(IN_CHANNELS[this.db.dialect]);
      params.push(JSON.stringify(q.channelIds));
    }
    if (q.pending !== undefined) where.push(q.pending ? 'delivered_at IS NULL' : 'delivered_at IS NOT NULL');
    params.push(q.limit);
    const rows = await this.db.all<ObRow>(
      `${OB} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`,
      params,
    );
    return rows.map(ob);
  }

  /** Undelivered messages per channel. */
  async pendingCounts(): Promise<Map<string, number>> {
    const rows = await this.db.all<{ channelId: string; n: number }>(
      'SELECT channel_id AS "channelId", count(*) AS n FROM notification_outbox WHERE delivered_at IS NULL GROUP BY channel_id',
    );
    return new Map(rows.map((r) => [r.channelId, r.n]));
  }
}
