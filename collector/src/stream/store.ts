/** All SQL of the stream concern: per-agent committed cursors and the gaps agents reported. */
import { type Db, type Migration, prepared } from '../db/index.js';

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

/** Store functions of the stream concern. */
export class StreamStore {
  constructor(private readonly db: Db) {}

  async cursor(agentId: string): Promise<number> {
    return (
      prepared<[string], { last_seq: number }>(this.db, 'SELECT last_seq FROM stream_cursors WHERE agent_id = ?').get(
        agentId,
      )?.last_seq ?? 0
    );
  }

  /** Advances cursors (never backwards) and records gaps, in one transaction. */
  async commit(cursors: ReadonlyMap<string, number>, gaps: readonly Gap[], time: number): Promise<void> {
    const up = prepared(
      this.db,
      `INSERT INTO stream_cursors (agent_id, last_seq, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), updated_at = excluded.updated_at`,
    );
    const gap = prepared(
      this.db,
      'INSERT OR IGNORE INTO stream_gaps (agent_id, from_seq, count, reason, time) VALUES (?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const g of gaps) gap.run(g.agentId, g.fromSeq, g.count, g.reason, time);
      for (const [agentId, seq] of cursors) up.run(agentId, seq, time);
    })();
  }

  async gaps(agentId: string): Promise<Gap[]> {
    return prepared<[string], Gap>(
      this.db,
      'SELECT agent_id AS agentId, from_seq AS fromSeq, count, reason FROM stream_gaps WHERE agent_id = ? ORDER BY from_seq',
    ).all(agentId);
  }
}
