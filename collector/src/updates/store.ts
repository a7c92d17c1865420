/** All SQL of the updates concern: which version each agent was assigned, and what each agent reported. */
import type { UpdateStatus } from '@outpost/shared';
import { type Db, type Migration, prepared } from '../db/index.js';

/** The updates concern's schema. */
export const updatesMigrations: Migration[] = [
  {
    id: '0560_updates',
    concern: 'updates',
    sql: `
      CREATE TABLE update_assignments (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        version TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        created_by TEXT
      );
      CREATE INDEX update_assignments_agent ON update_assignments (agent_id, created_at);
      CREATE TABLE agent_update_status (
        agent_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time INTEGER NOT NULL,
        assignment_id TEXT,
        phase TEXT NOT NULL,
        from_version TEXT NOT NULL,
        to_version TEXT NOT NULL,
        code TEXT,
        reason TEXT,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, seq)
      ) WITHOUT ROWID;
    `,
  },
];

/** An assignment. */
export interface Assignment {
  id: string;
  agentId: string;
  version: string;
  createdAt: number;
  expiresAt: number;
}

/** One status an agent reported. */
export interface StoredUpdateStatus {
  agentId: string;
  seq: number;
  time: number;
  assignmentId: string | null;
  phase: UpdateStatus['phase'];
  from: string;
  to: string;
  code: string | null;
  reason: string | null;
}

interface StatusRow {
  agent_id: string;
  seq: number;
  time: number;
  assignment_id: string | null;
  phase: UpdateStatus['phase'];
  from_version: string;
  to_version: string;
  code: string | null;
  reason: string | null;
}

/** Store functions of the updates concern. */
export class UpdatesStore {
  constructor(private readonly db: Db) {}

  /** Stores an assignment; false when one with this id is already stored (nothing changes). */
  async insertAssignment(a: Assignment, createdBy: string | null): Promise<boolean> {
    return (
      prepared(
        this.db,
        'INSERT OR IGNORE INTO update_assignments (id, agent_id, version, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(a.id, a.agentId, a.version, a.createdAt, a.expiresAt, createdBy).changes === 1
    );
  }

  /** The latest unexpired assignment of an agent. */
  async latestAssignment(agentId: string, now: number): Promise<Assignment | undefined> {
    const row = prepared<
      unknown[],
      { id: string; agent_id: string; version: string; created_at: number; expires_at: number }
    >(
      this.db,
      'SELECT * FROM update_assignments WHERE agent_id = ? AND expires_at > ? ORDER BY created_at DESC LIMIT 1',
    ).get(agentId, now);
    return (
      row && {
        id: row.id,
        agentId: row.agent_id,
        version: row.version,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    );
  }

  /** Stores reported statuses in one transaction, idempotent by (agent, seq); returns the new ones. */
  async insertStatuses(
    items: readonly { agentId: string; msg: UpdateStatus }[],
    receivedAt: number,
  ): Promise<StoredUpdateStatus[]> {
    const stmt = prepared(
      this.db,
      `INSERT OR IGNORE INTO agent_update_status (agent_id, seq, time, assignment_id, phase, from_version, to_version, code, reason, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const fresh: StoredUpdateStatus[] = [];
    this.db.transaction(() => {
      for (const { agentId, msg } of items) {
        const r = stmt.run(
          agentId,
          msg.seq,
          msg.time,
          msg.assignmentId ?? null,
          msg.phase,
          msg.from,
          msg.to,
          msg.code ?? null,
          msg.reason ?? null,
          receivedAt,
        );
        if (r.changes)
          fresh.push({
            agentId,
            seq: msg.seq,
            time: msg.time,
            assignmentId: msg.assignmentId ?? null,
            phase: msg.phase,
            from: msg.from,
            to: msg.to,
            code: msg.code ?? null,
            reason: msg.reason ?? null,
          });
      }
    })();
    return fresh;
  }

  /** An agent's reported statuses, newest first. */
  async statuses(agentId: string, limit: number): Promise<StoredUpdateStatus[]> {
    return prepared<unknown[], StatusRow>(
      this.db,
      'SELECT * FROM agent_update_status WHERE agent_id = ? ORDER BY seq DESC LIMIT ?',
    )
      .all(agentId, limit)
      .map((r) => ({
        agentId: r.agent_id,
        seq: r.seq,
        time: r.time,
        assignmentId: r.assignment_id,
        phase: r.phase,
        from: r.from_version,
        to: r.to_version,
        code: r.code,
        reason: r.reason,
      }));
  }
}
