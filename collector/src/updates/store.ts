/**
 * All SQL of the updates concern: which version each agent was assigned, and what each agent reported. SQLite or
 * PostgreSQL.
 */
import type { UpdateStatus } from '@outpost/shared';
import type { Migration, SqlDb } from '../db/index.js';

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

// ON CONFLICT DO NOTHING makes a resent status harmless: stored once per (agent, seq).
const INSERT_STATUS = `INSERT INTO agent_update_status (agent_id, seq, time, assignment_id, phase, from_version, to_version,
    code, reason, received_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;

/** Store functions of the updates concern. */
export class UpdatesStore {
  constructor(private readonly db: SqlDb) {}

  /** Stores an assignment; false when one with this id is already stored (nothing changes). */
  async insertAssignment(a: Assignment, createdBy: string | null): Promise<boolean> {
    const r = await this.db.run(
      `INSERT INTO update_assignments (id, agent_id, version, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
      [a.id, a.agentId, a.version, a.createdAt, a.expiresAt, createdBy],
    );
    return r.changes === 1;
  }

  /** The latest unexpired assignment of an agent. */
  async latestAssignment(agentId: string, now: number): Promise<Assignment | undefined> {
    return this.db.get<Assignment>(
      `SELECT id, agent_id AS "agentId", version, created_at AS "createdAt", expires_at AS "expiresAt"
       FROM update_assignments WHERE agent_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 1`,
      [agentId, now],
    );
  }

  /**
   * Stores reported statuses in one transaction (joining the caller's, if open), idempotent by (agent, seq); returns
   * the new ones. One statement per status, to know which were new: an agent reports a handful per update.
   */
  async insertStatuses(
    items: readonly { agentId: string; msg: UpdateStatus }[],
    receivedAt: number,
  ): Promise<StoredUpdateStatus[]> {
    return this.db.atomic(async () => {
      const fresh: StoredUpdateStatus[] = [];
      for (const { agentId, msg } of items) {
        const status: StoredUpdateStatus = {
          agentId,
          seq: msg.seq,
          time: msg.time,
          assignmentId: msg.assignmentId ?? null,
          phase: msg.phase,
          from: msg.from,
          to: msg.to,
          code: msg.code ?? null,
          reason: msg.reason ?? null,
        };
        const r = await this.db.run(INSERT_STATUS, [
          agentId,
          status.seq,
          status.time,
          status.assignmentId,
          status.phase,
          status.from,
          status.to,
          status.code,
          status.reason,
          receivedAt,
        ]);
        if (r.changes) fresh.push(status);
      }
      return fresh;
    });
  }

  /** An agent's reported statuses, newest first. */
  async statuses(agentId: string, limit: number): Promise<StoredUpdateStatus[]> {
    const rows = await this.db.all<StatusRow>(
      'SELECT * FROM agent_update_status WHERE agent_id = ? ORDER BY seq DESC LIMIT ?',
      [agentId, limit],
    );
    return rows.map((r) => ({
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
