/** All SQL of the notifications concern: channels (with their health), routing rules and the durable outbox. */
import { type Db, type Migration, prepared } from '../db/index.js';

/** The notifications concern's schema. */
export const notificationsMigrations: Migration[] = [
  {
    id: '0320_notifications',
    concern: 'notifications',
    sql: `
      CREATE TABLE notification_channels (
        id TEXT PRIMARY KEY, client_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL, config TEXT NOT NULL,
        secret TEXT, created_at INTEGER NOT NULL, consecutive_failures INTEGER NOT NULL DEFAULT 0, last_error TEXT,
        last_failure_at INTEGER, last_success_at INTEGER, incident_raised INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE notification_routes (
        id TEXT PRIMARY KEY, channel_id TEXT NOT NULL REFERENCES notification_channels (id), client_id TEXT,
        min_criticality TEXT NOT NULL, tiers TEXT NOT NULL, events TEXT NOT NULL, on_call INTEGER NOT NULL,
        outside_coverage_only INTEGER NOT NULL, created_at INTEGER NOT NULL
      );
      CREATE TABLE notification_outbox (
        id TEXT PRIMARY KEY, channel_id TEXT NOT NULL REFERENCES notification_channels (id), incident_id TEXT,
        client_id TEXT NOT NULL, event TEXT NOT NULL, message TEXT NOT NULL, created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT, delivered_at INTEGER
      );
      CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at) WHERE delivered_at IS NULL;
      CREATE INDEX notification_outbox_channel ON notification_outbox (channel_id, delivered_at);
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
  incidentId: string | null;
  clientId: string;
  event: string;
  message: Record<string, unknown>;
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
const ob = (r: ObRow): OutboxRecord => ({ ...r, message: JSON.parse(r.message) as Record<string, unknown> });

/** Store functions of the notifications concern. */
export class NotificationsStore {
  constructor(private readonly db: Db) {}

  async insertChannel(c: ChannelRecord): Promise<void> {
    prepared(
      this.db,
      'INSERT INTO notification_channels (id, client_id, name, kind, config, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(c.id, c.clientId, c.name, c.kind, JSON.stringify(c.config), c.secret, c.createdAt);
  }

  async channel(id: string): Promise<ChannelRecord | undefined> {
    const r = prepared<[string], ChRow>(this.db, `${CH} WHERE id = ?`).get(id);
    return r && ch(r);
  }

  async listChannels(): Promise<ChannelRecord[]> {
    return prepared<[], ChRow>(this.db, `${CH} ORDER BY name`).all().map(ch);
  }

  /** Records a delivery outcome on the channel; returns the consecutive failure count. */
  async channelOutcome(id: string, at: number, error: string | null): Promise<number> {
    if (error === null) {
      prepared(
        this.db,
        'UPDATE notification_channels SET consecutive_failures = 0, last_success_at = ? WHERE id = ?',
      ).run(at, id);
      return 0;
    }
    return prepared<[number, string, string], { n: number }>(
      this.db,
      `UPDATE notification_channels SET consecutive_failures = consecutive_failures + 1, last_failure_at = ?,
       last_error = ? WHERE id = ? RETURNING consecutive_failures AS n`,
    ).get(at, error.slice(0, 1000), id)!.n;
  }

  async setIncidentRaised(id: string, raised: boolean): Promise<void> {
    prepared(this.db, 'UPDATE notification_channels SET incident_raised = ? WHERE id = ?').run(raised ? 1 : 0, id);
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

  /** Queues messages in one transaction (all or none). */
  async enqueue(items: OutboxRecord[]): Promise<void> {
    const ins = prepared(
      this.db,
      `INSERT INTO notification_outbox (id, channel_id, incident_id, client_id, event, message, created_at, attempts,
        next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)`,
    );
    this.db.transaction(() => {
      for (const i of items)
        ins.run(
          i.id,
          i.channelId,
          i.incidentId,
          i.clientId,
          i.event,
          JSON.stringify(i.message),
          i.createdAt,
          i.nextAttemptAt,
        );
    })();
  }

  async due(now: number, limit: number): Promise<OutboxRecord[]> {
    return prepared<[number, number], ObRow>(
      this.db,
      `${OB} WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?`,
    )
      .all(now, limit)
      .map(ob);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    prepared(
      this.db,
      'UPDATE notification_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?',
    ).run(at, id);
  }

  async markFailed(id: string, error: string, nextAttemptAt: number): Promise<void> {
    prepared(
      this.db,
      'UPDATE notification_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?',
    ).run(error.slice(0, 1000), nextAttemptAt, id);
  }

  async listOutbox(q: {
    channelIds?: readonly string[] | undefined;
    pending?: boolean | undefined;
    limit: number;
  }): Promise<OutboxRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.channelIds) {
      where.push(`channel_id IN (${q.channelIds.map(() => '?').join(',') || 'NULL'})`);
      params.push(...q.channelIds);
    }
    if (q.pending !== undefined) where.push(q.pending ? 'delivered_at IS NULL' : 'delivered_at IS NOT NULL');
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return (
      prepared(this.db, `${OB} ${w} ORDER BY created_at DESC, id LIMIT ?`).all(...params, q.limit) as ObRow[]
    ).map(ob);
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
