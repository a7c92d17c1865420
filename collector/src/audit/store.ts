/** All SQL of the audit concern. The table is append-only: triggers refuse UPDATE and DELETE. */
import { type Db, type Migration, prepared } from '../db/index.js';

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

/** The audit store: append and query. */
export class AuditStore {
  readonly #insert;
  constructor(private readonly db: Db) {
    this.#insert = prepared(
      db,
      `INSERT INTO audit_log (time, type, code, result, actor_kind, actor_id, actor_name, client_id, agent_id, session_id, resource, remote_ip, details)
       VALUES (@time, @type, @code, @result, @actorKind, @actorId, @actorName, @clientId, @agentId, @sessionId, @resource, @remoteIp, @details)`,
    );
  }

  async append(time: number, e: AuditInput): Promise<number> {
    const info = this.#insert.run({
      time,
      type: e.type,
      code: e.code,
      result: e.result,
      actorKind: e.actor.kind,
      actorId: e.actor.id,
      actorName: e.actor.name,
      clientId: e.clientId ?? null,
      agentId: e.agentId ?? null,
      sessionId: e.sessionId ?? null,
      resource: e.resource ?? null,
      remoteIp: e.remoteIp ?? null,
      details: e.details ? JSON.stringify(e.details) : null,
    });
    return Number(info.lastInsertRowid);
  }

  async list(q: AuditQuery): Promise<AuditEvent[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit };
    if (q.clientIds) {
      if (q.clientIds.length === 0) return [];
      where.push(`client_id IN (SELECT value FROM json_each(@clientIds))`);
      params.clientIds = JSON.stringify(q.clientIds);
    }
    if (q.agentId) {
      where.push('agent_id = @agentId');
      params.agentId = q.agentId;
    }
    if (q.type) {
      where.push('type = @type');
      params.type = q.type;
    }
    if (q.since !== undefined) {
      where.push('time >= @since');
      params.since = q.since;
    }
    if (q.beforeIndex !== undefined) {
      where.push('idx < @beforeIndex');
      params.beforeIndex = q.beforeIndex;
    }
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY idx DESC LIMIT @limit`;
    return prepared<Record<string, unknown>, Row>(this.db, sql)
      .all(params)
      .map((r) => ({
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
