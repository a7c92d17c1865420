/** All SQL of the events concern: things that happened on agents, stored once per (agent, seq). SQLite or PostgreSQL. */
import type { StreamEvent } from '@outpost/shared';
import type { Migration, SqlDb } from '../db/index.js';

/** The events concern's schema. */
export const eventsMigrations: Migration[] = [
  {
    id: '0006_events',
    concern: 'events',
    sql: `
      CREATE TABLE agent_events (
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, seq)
      ) WITHOUT ROWID;
    `,
  },
];

/** A stored event. */
export interface StoredEvent {
  agentId: string;
  seq: number;
  time: number;
  kind: string;
  data: Record<string, unknown>;
  receivedAt: number;
}

// ON CONFLICT DO NOTHING makes ingestion idempotent by (agent, seq): a resent message is never stored twice.
const INSERT =
  'INSERT INTO agent_events (agent_id, seq, time, kind, data, received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING';

/** Store functions of the events concern. */
export class EventsStore {
  constructor(private readonly db: SqlDb) {}

  /** Stores a batch in one transaction (joining the caller's, if open); returns how many were new. */
  async insertBatch(items: readonly { agentId: string; msg: StreamEvent }[], receivedAt: number): Promise<number> {
    const rows = items.map(({ agentId, msg }) => [
      agentId,
      msg.seq,
      msg.time,
      msg.kind,
      JSON.stringify(msg.data),
      receivedAt,
    ]);
    return (await this.db.atomic(() => this.db.runMany(INSERT, rows))).changes;
  }

  async list(agentId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.db.all<{ seq: number; time: number; kind: string; data: string; received_at: number }>(
      'SELECT seq, time, kind, data, received_at FROM agent_events WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      [agentId, afterSeq, limit],
    );
    return rows.map((r) => ({
      agentId,
      seq: r.seq,
      time: r.time,
      kind: r.kind,
      data: JSON.parse(r.data) as Record<string, unknown>,
      receivedAt: r.received_at,
    }));
  }

  async count(agentId: string): Promise<{ total: number; distinctSeq: number }> {
    const r = await this.db.get<{ total: number; d: number }>(
      'SELECT count(*) AS total, count(DISTINCT seq) AS d FROM agent_events WHERE agent_id = ?',
      [agentId],
    );
    return { total: r?.total ?? 0, distinctSeq: r?.d ?? 0 };
  }
}
