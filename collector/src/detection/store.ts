/**
 * Detection's schema and its checkpoint store. `detection_state` holds the engine's checkpoint (per-series baseline
 * and incident state, open keys: state-codec.ts), replaced whole at each checkpoint; `detection_policies` is the
 * policies stored through the API (policy-store.ts holds its SQL). SQLite or PostgreSQL (`DetectionStateStore`).
 */
import type { Migration, SqlDb } from '../db/index.js';
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

// The upsert (not a plain insert): a checkpoint must never fail at shutdown, whatever keys the engine holds.
const UPSERT =
  'INSERT INTO detection_state (key, state) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state';

/** The engine's checkpoint: one row per state key, replaced whole in one transaction. */
export class DetectionStore implements DetectionStateStore {
  constructor(private readonly db: SqlDb) {}

  /** Loads the checkpoint (empty on a new database). */
  async load(): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const r of await this.db.all<{ key: string; state: Buffer }>('SELECT key, state FROM detection_state'))
      out.set(r.key, new Uint8Array(r.state));
    return out;
  }

  /** Replaces the checkpoint in one transaction (joining the caller's, if open). */
  async save(entries: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const rows = [...entries].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]);
    await this.db.atomic(async () => {
      await this.db.run('DELETE FROM detection_state');
      if (rows.length) await this.db.runMany(UPSERT, rows);
    });
  }
}
