/**
 * Detection's schema and its checkpoint store. `detection_state` holds the engine's checkpoint (per-series baseline
 * and incident state, open keys: state-codec.ts), replaced whole at each checkpoint; `detection_policies` is the
 * policies stored through the API (policy-store.ts holds its SQL). Synchronous SQLite inside, async at the surface so
 * a PostgreSQL store can implement the same port (`DetectionStateStore`).
 */
import { type Db, type Migration, prepared } from '../db/index.js';
import type { DetectionStateStore } from './ports.js';

/**
 * Detection's schema (ids 0250–0299). `detection_state` was created by `0200_metrics` until metrics and detection got
 * separate stores: a database migrated then already has it (recorded under 0200), so `0251` creates it only where it
 * is missing, with the very same definition, and an existing checkpoint is kept as it is.
 */
export const detectionMigrations: Migration[] = [
  {
    id: '0250_detection_policies',
    concern: 'detection',
    sql: `
      CREATE TABLE detection_policies (
        id TEXT PRIMARY KEY,
        scope TEXT NOT NULL UNIQUE,
        client_id TEXT,
        site_id TEXT,
        document TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      );
    `,
  },
  {
    id: '0251_detection_state',
    concern: 'detection',
    sql: 'CREATE TABLE IF NOT EXISTS detection_state (key TEXT PRIMARY KEY, state BLOB NOT NULL) WITHOUT ROWID;',
  },
];

/** The engine's checkpoint in SQLite: one row per state key, replaced whole in one transaction. */
export class DetectionStore implements DetectionStateStore {
  constructor(private readonly db: Db) {}

  /** Loads the checkpoint (empty on a new database). */
  async load(): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const r of prepared<[], { key: string; state: Buffer }>(
      this.db,
      'SELECT key, state FROM detection_state',
    ).all())
      out.set(r.key, new Uint8Array(r.state));
    return out;
  }

  /** Replaces the checkpoint in one transaction. */
  async save(entries: ReadonlyMap<string, Uint8Array>): Promise<void> {
    this.db.transaction(() => {
      prepared(this.db, 'DELETE FROM detection_state').run();
      // OR REPLACE: a checkpoint must never fail at shutdown, whatever keys the engine holds.
      const ins = prepared(this.db, 'INSERT OR REPLACE INTO detection_state (key, state) VALUES (?, ?)');
      for (const [k, v] of entries) ins.run(k, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    })();
  }
}
