/** All SQL of the stream concern: per-agent committed cursors and the gaps agents reported. SQLite or PostgreSQL. */
import type { Migration, SqlDb } from '../db/index.js';

/** The stream concern's schema. */
export const streamMigrations: Migration[] = [
  {
    id: '0005_stream',
    concern: 'stream',
    sql: `
      CREATE TABLE stream_cursors (agent_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE stream_gaps (
        agent_id TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        count INTEGER NOT NULL,
        reason TEXT NOT NULL,
        time INTEGER NOT NULL,
        PRIMARY KEY (agent_id, from_seq)
      ) WITHOUT ROWID;
    `,
  },
];

/** A range of sequence numbers an agent lost. */
export interface Gap {
  agentId: string;
  fromSeq: number;
  count: number;
  reason: string;
}

// A cursor never moves backwards: CASE rather than SQLite's two-argument MAX (PostgreSQL's is GREATEST).
const ADVANCE = `INSERT INTO stream_cursors (agent_id, last_seq, updated_at) VALUES (?, ?, ?)
  ON CONFLICT (agent_id) DO UPDATE SET
    last_seq = CASE WHEN excluded.last_seq > stream_cursors.last_seq THEN excluded.last_seq ELSE stream_cursors.last_seq END,
    updated_at = excluded.updated_at`;
const GAP =
  'INSERT INTO stream_gaps (agent_id, from_seq, count, reason, time) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING';

/** Store functions of the stream concern. */
export class StreamStore {
  constructor(private readonly db: SqlDb) {}

  async cursor(agentId: string): Promise<number> {
    return (
      (await this.db.get<{ last_seq: number }>('SELECT last_seq FROM stream_cursors WHERE agent_id = ?', [agentId]))
        ?.last_seq ?? 0
    );
  }

  /**
   * Runs `fn` (the concerns storing a batch) and what it commits here in ONE transaction: the rows and the cursors
   * that acknowledge them are durable together or not at all (issue 20: exactly-once across nodes).
   */
  async atomically<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /** Advances cursors (never backwards) and records gaps, in one transaction (joining the caller's, if open). */
  async commit(cursors: ReadonlyMap<string, number>, gaps: readonly Gap[], time: number): Promise<void> {
    await this.db.atomic(async () => {
      if (gaps.length)
        await this.db.runMany(
          GAP,
          gaps.map((g) => [g.agentId, g.fromSeq, g.count, g.reason, time]),
        );
      if (cursors.size)
        await this.db.runMany(
          ADVANCE,
          [...cursors].map(([agentId, seq]) => [agentId, seq, time]),
        );
    });
  }

  async gaps(agentId: string): Promise<Gap[]> {
    return this.db.all<Gap>(
      'SELECT agent_id AS "agentId", from_seq AS "fromSeq", count, reason FROM stream_gaps WHERE agent_id = ? ORDER BY from_seq',
      [agentId],
    );
  }
}
