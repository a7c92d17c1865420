/** All SQL of the events concern: things that happened on agents, stored once per (agent, seq). */
import type { StreamEvent } from '@outpost/shared';
import { type Db, type Migration, prepared } from '../db/index.js';

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

/** Store functions of the events concern. */
export class EventsStore {
  readonly #insert;
  constructor(private readonly db: Db) {
    // OR IGNORE makes ingestion idempotent by (agent, seq): a resent message is never stored twice.
    this.#insert = prepared(
      db,
      'INSERT OR IGNORE INTO agent_events (agent_id, seq, time, kind, data, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  /** Stores a batch in one transaction; returns how many were new. */
  async insertBatch(items: readonly { agentId: string; msg: StreamEvent }[], receivedAt: number): Promise<number> {
    let inserted = 0;
    this.db.transaction(() => {
      for (const { agentId, msg } of items) {
        inserted += this.#insert.run(
          agentId,
          msg.seq,
          msg.time,
          msg.kind,
          JSON.stringify(msg.data),
          receivedAt,
        ).changes;
      }
    })();
    return inserted;
  }

  async list(agentId: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return prepared<
      [string, number, number],
      { seq: number; time: number; kind: string; data: string; received_at: number }
    >(
      this.db,
      'SELECT seq, time, kind, data, received_at FROM agent_events WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    )
      .all(agentId, afterSeq, limit)
      .map((r) => ({
        agentId,
        seq: r.seq,
        time: r.time,
        kind: r.kind,
        data: JSON.parse(r.data) as Record<string, unknown>,
        receivedAt: r.received_at,
      }));
  }

  async count(agentId: string): Promise<{ total: number; distinctSeq: number }> {
    const r = prepared<[string], { total: number; d: number }>(
      this.db,
      'SELECT count(*) AS total, count(DISTINCT seq) AS d FROM agent_events WHERE agent_id = ?',
    ).get(agentId)!;
    return { total: r.total, distinctSeq: r.d };
  }
}
