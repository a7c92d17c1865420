/**
 * All SQL of the audit concern, on SQLite or PostgreSQL. The table is append-only: triggers refuse UPDATE and DELETE
 * (on PostgreSQL too: the migration's RAISE(ABORT) triggers are translated, docs/0016-postgres.md).
 */
import { OutpostError } from '@outpost/shared';
import type { Dialect, Migration, SqlDb, SqlParam } from '../db/index.js';

/** The audit concern's schema. */
export const auditMigrations: Migration[] = [
  {
    id: '0001_audit',
    concern: 'audit',
    sql: `
      CREATE TABLE audit_log (
        idx INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        type TEXT NOT NULL,
        code TEXT NOT NULL,
        result TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
        actor_kind TEXT NOT NULL,
        actor_id TEXT,
        actor_name TEXT,
        client_id TEXT,
        agent_id TEXT,
        session_id TEXT,
        resource TEXT,
        remote_ip TEXT,
        details TEXT
      );
      CREATE INDEX audit_log_client_time ON audit_log (client_id, time);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
];

/** One audit event; the shape session recordings will share (index, type, code, time, actor, agentId, sessionId). */
export interface AuditEvent {
  index: number;
  time: number;
  type: string;
  code: string;
  result: 'success' | 'failure' | 'denied';
  actor: { kind: string; id: string | null; name: string | null };
  clientId: string | null;
  agentId: string | null;
  sessionId: string | null;
  resource: string | null;
  remoteIp: string | null;
  details: Record<string, unknown> | null;
}

/** What a caller records (index and time are assigned). */
export type AuditInput = Omit<
  AuditEvent,
  'index' | 'time' | 'clientId' | 'agentId' | 'sessionId' | 'resource' | 'remoteIp' | 'details'
> &
  Partial<Pick<AuditEvent, 'clientId' | 'agentId' | 'sessionId' | 'resource' | 'remoteIp' | 'details'>>;

/** Filters for listing; `clientIds` undefined means every client (including global events). */
export interface AuditQuery {
  clientIds?: readonly string[] | undefined;
  agentId?: string | undefined;
  type?: string | undefined;
  since?: number | undefined;
  beforeIndex?: number | undefined;
  limit: number;
}

interface Row {
  idx: number;
  time: number;
  type: string;
  code: string;
  result: AuditEvent['result'];
  actor_kind: string;
  actor_id: string | null;
  actor_name: string | null;
  client_id: string | null;
  agent_id: string | null;
  session_id: string | null;
  resource: string | null;
  remote_ip: string | null;
  details: string | null;
}

// The client filter binds one JSON array whatever its length, so the statement text (and its cache entry) stays one.
const IN_CLIENTS: Record<Dialect, string> = {
  sqlite: 'client_id IN (SELECT value FROM json_each(?))',
  postgres: 'client_id IN (SELECT json_array_elements_text(CAST(? AS json)))',
};

const INSERT = `INSERT INTO audit_log (time, type, code, result, actor_kind, actor_id, actor_name, client_id, agent_id,
  session_id, resource, remote_ip, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING idx`;

/** The audit store: append and query, on SQLite or PostgreSQL. */
export class AuditStore {
  constructor(private readonly db: SqlDb) {}

  async append(time: number, e: AuditInput): Promise<number> {
    const row = await this.db.get<{ idx: number }>(INSERT, [
      time,
      e.type,
      e.code,
      e.result,
      e.actor.kind,
      e.actor.id,
      e.actor.name,
      e.clientId ?? null,
      e.agentId ?? null,
      e.sessionId ?? null,
      e.resource ?? null,
      e.remoteIp ?? null,
      e.details ? JSON.stringify(e.details) : null,
    ]);
    // RETURNING always yields the inserted row; a missing one would be a driver fault, not a state to carry on with.
    if (!row) throw new OutpostError('OUTPOST_E_INTERNAL', { message: 'audit_log insert returned no index' });
    return row.idx;
  }

  async list(q: AuditQuery): Promise<AuditEvent[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (q.clientIds) {
      if (q.clientIds.length === 0) return [];
      where.push(IN_CLIENTS[this.db.dialect]);
      params.push(JSON.stringify(q.clientIds));
    }
    if (q.agentId) {
      where.push('agent_id = ?');
      params.push(q.agentId);
    }
    if (q.type) {
      where.push('type = ?');
      params.push(q.type);
    }
    if (q.since !== undefined) {
      where.push('time >= ?');
      params.push(q.since);
    }
    if (q.beforeIndex !== undefined) {
      where.push('idx < ?');
      params.push(q.beforeIndex);
    }
    params.push(q.limit);
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY idx DESC LIMIT ?`;
    const rows = await this.db.all<Row>(sql, params);
    return rows.map((r) => ({
      index: r.idx,
      time: r.time,
      type: r.type,
      code: r.code,
      result: r.result,
      actor: { kind: r.actor_kind, id: r.actor_id, name: r.actor_name },
      clientId: r.client_id,
      agentId: r.agent_id,
      sessionId: r.session_id,
      resource: r.resource,
      remoteIp: r.remote_ip,
      details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
    }));
  }
}
