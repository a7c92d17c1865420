/**
 * Detection's schema and its checkpoint store. `detection_state` holds the engine's checkpoint (per-series baseline
 * and incident state, open keys: state-codec.ts), one row per key with the agent it belongs to (NULL: fleet-wide,
 * the absence keys), so each node writes only the agents it holds (checkpoint.ts); `detection_policies` is the
 * policies stored through the API (policy-store.ts holds its SQL). SQLite or PostgreSQL (`DetectionStateStore`).
 */
import type { Migration, SqlDb } from '../db/index.js';
import type { CheckpointChanges, DetectionStateStore } from './ports.js';

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
  {
    // Each key knows its agent (state-keys.ts says where it sits in each kind of key); absence keys are fleet-wide.
    id: '0252_detection_state_agent',
    concern: 'detection',
    sql: `
      ALTER TABLE detection_state ADD COLUMN agent_id TEXT;
      UPDATE detection_state SET agent_id = CASE
        WHEN key LIKE 'absent|%' THEN NULL
        WHEN key LIKE 'rule|%' THEN substr(key, 6, instr(substr(key, 6), '|') - 1)
        WHEN key LIKE 'check|%' THEN substr(key, 7, instr(substr(key, 7), '|') - 1)
        WHEN key LIKE 'inv|inventory:%' THEN substr(key, 15, instr(substr(key, 15), ':') - 1)
        ELSE substr(key, 1, instr(key, '|') - 1)
      END;
      CREATE INDEX detection_state_agent ON detection_state (agent_id);
    `,
    postgres: `
      ALTER TABLE detection_state ADD COLUMN agent_id TEXT;
      UPDATE detection_state SET agent_id = CASE
        WHEN key LIKE 'absent|%' THEN NULL
        WHEN key LIKE 'rule|%' OR key LIKE 'check|%' THEN split_part(key, '|', 2)
        WHEN key LIKE 'inv|inventory:%' THEN split_part(substr(key, 15), ':', 1)
        ELSE split_part(key, '|', 1)
      END;
      CREATE INDEX detection_state_agent ON detection_state (agent_id);
    `,
  },
];

// The upsert (not a plain insert): a key another node wrote meanwhile is taken over, never an error.
const UPSERT =
  'INSERT INTO detection_state (key, agent_id, state) VALUES (?, ?, ?) ' +
  'ON CONFLICT (key) DO UPDATE SET agent_id = excluded.agent_id, state = excluded.state';

/** Keys per DELETE: far under either engine's limit on parameters. */
const DELETE_CHUNK = 500;

type Row = { key: string; state: Buffer };

function entriesOf(rows: readonly Row[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const r of rows) out.set(r.key, new Uint8Array(r.state));
  return out;
}

/**
 * The engine's checkpoint: one row per state key. Writes touch only the keys named (upserted or deleted), never the
 * table whole, so nodes sharing a database each write the agents they hold.
 */
export class DetectionStore implements DetectionStateStore {
  constructor(private readonly db: SqlDb) {}

  /** Every key (a single node's start: one query for the whole checkpoint). */
  async load(): Promise<Map<string, Uint8Array>> {
    return entriesOf(await this.db.all<Row>('SELECT key, state FROM detection_state'));
  }

  /** One agent's keys, its absence key included (it clears where the agent is heard). */
  async loadAgent(agentId: string): Promise<Map<string, Uint8Array>> {
    const rows = await this.db.all<Row>('SELECT key, state FROM detection_state WHERE agent_id = ? OR key = ?', [
      agentId,
      `absent|${agentId}`,
    ]);
    return entriesOf(rows);
  }

  /** The fleet-wide keys (absence), for the node taking the fleet sweeps. */
  async loadFleet(): Promise<Map<string, Uint8Array>> {
    return entriesOf(await this.db.all<Row>('SELECT key, state FROM detection_state WHERE agent_id IS NULL'));
  }

  /** Upserts and deletes the keys named, in one transaction (joining the caller's, if open). */
  async write(changes: CheckpointChanges): Promise<void> {
    if (!changes.upserts.length && !changes.deletes.length) return;
    const rows = changes.upserts.map((u) => [
      u.key,
      u.agentId,
      Buffer.from(u.state.buffer, u.state.byteOffset, u.state.byteLength),
    ]);
    await this.db.atomic(async () => {
      for (let i = 0; i < changes.deletes.length; i += DELETE_CHUNK) {
        const keys = changes.deletes.slice(i, i + DELETE_CHUNK);
        await this.db.run(`DELETE FROM detection_state WHERE key IN (${keys.map(() => '?').join(', ')})`, keys);
      }
      if (rows.length) await this.db.runMany(UPSERT, rows);
    });
  }
}
