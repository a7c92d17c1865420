/** All SQL of the incidents concern: tickets, the machines they concern, and their timelines. SQLite or PostgreSQL. */
import type { Dialect, SqlDb, SqlParam } from '../db/index.js';
import type { Channel, Incident, IncidentSource, SlaClock, Status, TimelineEntry, TimelineKind } from './model.js';
import type { Criticality, Tier } from './signal.js';

export { incidentsMigrations } from './migrations.js';

export interface NoticeRecord {
  seq: number;
  id: string;
  event: string;
  at: number;
  incident: Incident;
  detail: Record<string, unknown>;
  attempts: number;
  nextAttemptAt: number;
}

/** A notice to write with a ticket change. */
export interface NewNotice {
  id: string;
  event: string;
  at: number;
  detail: Record<string, unknown>;
}

interface Row {
  id: string;
  client_id: string;
  site_id: string;
  dedup_key: string | null;
  source: string;
  channel: string;
  rule: string;
  type: string;
  title: string;
  explanation: string;
  context: string | null;
  criticality: string;
  impact: number | null;
  urgency: number | null;
  tier: number;
  status: string;
  failure_time: number;
  detected_at: number;
  acknowledged_at: number | null;
  resolved_at: number | null;
  closed_at: number | null;
  resolution_ms: number | null;
  assignee: string | null;
  escalation_level: number;
  paused: number;
  clear_since: number | null;
  reopen_count: number;
  resolution_note: string | null;
  resolution_category: string | null;
  created_by: string;
  updated_at: number;
  sla: string | null;
  next_sla_at: number | null;
  agent_ids: string | null;
}

// The ticket with its machines as one JSON array text (sorted: the order the primary key gives SQLite). PostgreSQL's
// json_agg comes back as a parsed value unless cast to text, which is what fromRow parses.
const AGENT_IDS: Record<Dialect, string> = {
  sqlite: 'SELECT json_group_array(agent_id) FROM incident_agents a WHERE a.incident_id = i.id',
  postgres: 'SELECT json_agg(agent_id ORDER BY agent_id)::text FROM incident_agents a WHERE a.incident_id = i.id',
};
const selectFor = (d: Dialect) => `SELECT i.*, (${AGENT_IDS[d]}) AS agent_ids FROM incidents i`;
const SELECT: Record<Dialect, string> = { sqlite: selectFor('sqlite'), postgres: selectFor('postgres') };

const UPSERT = `INSERT INTO incidents (id, client_id, site_id, dedup_key, source, rule, type, title, explanation, context,
   criticality, impact, urgency, tier, status, failure_time, detected_at, acknowledged_at, resolved_at,
   closed_at, resolution_ms, assignee, escalation_level, paused, clear_since, reopen_count, resolution_note,
   resolution_category, created_by, updated_at, sla, next_sla_at, breached, channel)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
 ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, title = excluded.title, type = excluded.type,
   explanation = excluded.explanation, context = excluded.context, criticality = excluded.criticality,
   impact = excluded.impact, urgency = excluded.urgency, tier = excluded.tier, status = excluded.status,
   acknowledged_at = excluded.acknowledged_at, resolved_at = excluded.resolved_at,
   closed_at = excluded.closed_at, resolution_ms = excluded.resolution_ms, assignee = excluded.assignee,
   escalation_level = excluded.escalation_level, paused = excluded.paused, clear_since = excluded.clear_since,
   reopen_count = excluded.reopen_count, resolution_note = excluded.resolution_note,
   resolution_category = excluded.resolution_category, updated_at = excluded.updated_at, sla = excluded.sla,
   next_sla_at = excluded.next_sla_at, breached = excluded.breached`;
const INSERT_AGENT =
  'INSERT INTO incident_agents (incident_id, agent_id) VALUES (?, ?) ON CONFLICT (incident_id, agent_id) DO NOTHING';
const INSERT_EVENT = 'INSERT INTO incident_events (incident_id, at, kind, actor, data) VALUES (?, ?, ?, ?, ?)';
const INSERT_NOTICE = `INSERT INTO incident_notices (id, incident_id, event, at, incident, detail, next_attempt_at)
 VALUES (?, ?, ?, ?, ?, ?, ?)`;

function fromRow(r: Row): Incident {
  return {
    id: r.id,
    clientId: r.client_id,
    siteId: r.site_id,
    agentIds: r.agent_ids ? (JSON.parse(r.agent_ids) as string[]) : [],
    key: r.dedup_key,
    source: r.source as IncidentSource,
    channel: r.channel as Channel,
    rule: r.rule,
    type: r.type,
    title: r.title,
    explanation: r.explanation,
    context: r.context ? (JSON.parse(r.context) as Record<string, unknown>) : null,
    criticality: r.criticality as Criticality,
    impact: r.impact,
    urgency: r.urgency,
    tier: r.tier as Tier,
    status: r.status as Status,
    failureTime: r.failure_time,
    detectedAt: r.detected_at,
    acknowledgedAt: r.acknowledged_at,
    resolvedAt: r.resolved_at,
    closedAt: r.closed_at,
    resolutionMs: r.resolution_ms,
    assignee: r.assignee,
    escalationLevel: r.escalation_level,
    paused: r.paused === 1,
    clearSince: r.clear_since,
    reopenCount: r.reopen_count,
    resolutionNote: r.resolution_note,
    resolutionCategory: r.resolution_category,
    createdBy: r.created_by,
    updatedAt: r.updated_at,
    sla: r.sla ? (JSON.parse(r.sla) as SlaClock) : null,
    nextSlaAt: r.next_sla_at,
  };
}

/** Filters for listing incidents. */
export interface IncidentQuery {
  clientIds?: readonly string[] | undefined;
  status?: Status[] | undefined;
  tier?: number | undefined;
  criticality?: Criticality | undefined;
  clientId?: string | undefined;
  siteId?: string | undefined;
  agentId?: string | undefined;
  channel?: Channel | undefined;
  assignee?: string | undefined;
  unassigned?: boolean | undefined;
  breached?: boolean | undefined;
  /** Detected in [from, to). */
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** Store functions of the incidents concern. */
export class IncidentsStore {
  readonly #select: string;
  constructor(private readonly db: SqlDb) {
    this.#select = SELECT[db.dialect];
  }

  /**
   * Writes the ticket (insert or full update), appends timeline entries and queues its notices (each with a snapshot
   * of the ticket as written), in one transaction (joining the caller's, if open): a crash leaves all of it or none.
   */
  async commit(
    inc: Incident,
    events: Omit<TimelineEntry, 'id' | 'incidentId'>[],
    notices: readonly NewNotice[] = [],
  ): Promise<void> {
    const breached = inc.sla && (inc.sla.responseBreachedAt !== null || inc.sla.resolutionBreachedAt !== null) ? 1 : 0;
    const ticket: SqlParam[] = [
      inc.id,
      inc.clientId,
      inc.siteId,
      inc.key,
      inc.source,
      inc.rule,
      inc.type,
      inc.title,
      inc.explanation,
      inc.context ? JSON.stringify(inc.context) : null,
      inc.criticality,
      inc.impact,
      inc.urgency,
      inc.tier,
      inc.status,
      inc.failureTime,
      inc.detectedAt,
      inc.acknowledgedAt,
      inc.resolvedAt,
      inc.closedAt,
      inc.resolutionMs,
      inc.assignee,
      inc.escalationLevel,
      inc.paused ? 1 : 0,
      inc.clearSince,
      inc.reopenCount,
      inc.resolutionNote,
      inc.resolutionCategory,
      inc.createdBy,
      inc.updatedAt,
      inc.sla ? JSON.stringify(inc.sla) : null,
      inc.nextSlaAt,
      breached,
      inc.channel,
    ];
    const snapshot = notices.length ? JSON.stringify(inc) : '';
    await this.db.atomic(async () => {
      await this.db.run(UPSERT, ticket);
      if (inc.agentIds.length)
        await this.db.runMany(
          INSERT_AGENT,
          inc.agentIds.map((a) => [inc.id, a]),
        );
      if (events.length)
        await this.db.runMany(
          INSERT_EVENT,
          events.map((e) => [inc.id, e.at, e.kind, e.actor, JSON.stringify(e.data)]),
        );
      if (notices.length)
        await this.db.runMany(
          INSERT_NOTICE,
          notices.map((n) => [n.id, inc.id, n.event, n.at, snapshot, JSON.stringify(n.detail), n.at]),
        );
    });
  }

  /** Notices not yet handed off, oldest first (the order they must reach notifications in, per incident). */
  async pendingNotices(afterSeq: number, limit: number): Promise<NoticeRecord[]> {
    const rows = await this.db.all<Omit<NoticeRecord, 'incident' | 'detail'> & { incident: string; detail: string }>(
      `SELECT seq, id, event, at, incident, detail, attempts, next_attempt_at AS "nextAttemptAt" FROM incident_notices
       WHERE handed_off_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`,
      [afterSeq, limit],
    );
    return rows.map((r) => ({
      ...r,
      // Written by `commit` from a typed Incident: reading it back needs no validation.
      incident: JSON.parse(r.incident) as Incident,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }

  async markHandedOff(seq: number, at: number): Promise<void> {
    await this.db.run('UPDATE incident_notices SET handed_off_at = ?, last_error = NULL WHERE seq = ?', [at, seq]);
  }

  /** Records a failed handoff; the notice waits until `nextAttemptAt`. */
  async markNoticeFailed(seq: number, error: string, nextAttemptAt: number): Promise<void> {
    await this.db.run(
      'UPDATE incident_notices SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE seq = ?',
      [error.slice(0, 1000), nextAttemptAt, seq],
    );
  }

  /** Open and acknowledged tickets concerning a machine. */
  async activeForAgent(agentId: string): Promise<string[]> {
    const rows = await this.db.all<{ id: string }>(
      `SELECT i.id FROM incidents i JOIN incident_agents a ON a.incident_id = i.id
       WHERE a.agent_id = ? AND i.status IN ('open','acknowledged') ORDER BY i.detected_at, i.id`,
      [agentId],
    );
    return rows.map((r) => r.id);
  }

  async get(id: string): Promise<Incident | undefined> {
    const r = await this.db.get<Row>(`${this.#select} WHERE i.id = ?`, [id]);
    return r && fromRow(r);
  }

  /**
   * The ticket re-read to be changed and written back whole. On PostgreSQL its row stays locked until the caller's
   * transaction ends, so two nodes changing one ticket (the SLA engine on one, a technician on another) take turns
   * instead of one overwriting the other's change; on SQLite the one connection already serialises writers.
   */
  async getForUpdate(id: string): Promise<Incident | undefined> {
    const lock = this.db.dialect === 'postgres' ? ' FOR UPDATE OF i' : '';
    const r = await this.db.get<Row>(`${this.#select} WHERE i.id = ?${lock}`, [id]);
    return r && fromRow(r);
  }

  /** The open (or acknowledged) incident for a deduplication key. */
  async openByKey(key: string): Promise<Incident | undefined> {
    const r = await this.db.get<Row>(`${this.#select} WHERE i.dedup_key = ? AND i.status IN ('open','acknowledged')`, [
      key,
    ]);
    return r && fromRow(r);
  }

  /**
   * The most recently resolved incident for a key, resolved at or after `since`; a ticket a technician closed early
   * counts too, so a fault that comes back within the window reopens it rather than opening a second ticket.
   */
  async resolvedByKey(key: string, since: number): Promise<Incident | undefined> {
    const r = await this.db.get<Row>(
      `${this.#select} WHERE i.dedup_key = ? AND i.status IN ('resolved','closed') AND i.resolved_at >= ?
       ORDER BY i.resolved_at DESC LIMIT 1`,
      [key, since],
    );
    return r && fromRow(r);
  }

  /** Tickets whose SLA needs a look at `now`. */
  async slaDue(now: number, limit = 500): Promise<Incident[]> {
    const rows = await this.db.all<Row>(
      `${this.#select} WHERE i.next_sla_at IS NOT NULL AND i.next_sla_at <= ? ORDER BY i.next_sla_at LIMIT ?`,
      [now, limit],
    );
    return rows.map(fromRow);
  }

  /** Open tickets whose condition has been clear since at or before `before`. */
  async clearedBefore(before: number, limit = 500): Promise<Incident[]> {
    const rows = await this.db.all<Row>(
      `${this.#select} WHERE i.clear_since IS NOT NULL AND i.clear_since <= ? AND i.status IN ('open','acknowledged')
       ORDER BY i.clear_since, i.id LIMIT ?`,
      [before, limit],
    );
    return rows.map(fromRow);
  }

  /** Resolved tickets resolved at or before `before` (to close once the reopen window is over). */
  async resolvedBefore(before: number, limit = 500): Promise<Incident[]> {
    const rows = await this.db.all<Row>(
      `${this.#select} WHERE i.status = 'resolved' AND i.resolved_at <= ? ORDER BY i.resolved_at, i.id LIMIT ?`,
      [before, limit],
    );
    return rows.map(fromRow);
  }

  /** Every incident of a client detected in [from, to), oldest first (reports read whole periods). */
  async inPeriod(clientId: string, from: number, to: number): Promise<Incident[]> {
    const rows = await this.db.all<Row>(
      `${this.#select} WHERE i.client_id = ? AND i.detected_at >= ? AND i.detected_at < ? ORDER BY i.detected_at, i.id`,
      [clientId, from, to],
    );
    return rows.map(fromRow);
  }

  async list(q: IncidentQuery): Promise<{ incidents: Incident[]; total: number }> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const add = (sql: string, ...p: SqlParam[]) => {
      where.push(sql);
      params.push(...p);
    };
    if (q.clientIds) add(`i.client_id IN (${q.clientIds.map(() => '?').join(',') || 'NULL'})`, ...q.clientIds);
    if (q.status?.length) add(`i.status IN (${q.status.map(() => '?').join(',')})`, ...q.status);
    if (q.tier !== undefined) add('i.tier = ?', q.tier);
    if (q.criticality) add('i.criticality = ?', q.criticality);
    if (q.clientId) add('i.client_id = ?', q.clientId);
    if (q.siteId) add('i.site_id = ?', q.siteId);
    if (q.agentId) add('i.id IN (SELECT incident_id FROM incident_agents WHERE agent_id = ?)', q.agentId);
    if (q.channel) add('i.channel = ?', q.channel);
    if (q.assignee) add('i.assignee = ?', q.assignee);
    if (q.unassigned) add('i.assignee IS NULL');
    if (q.breached !== undefined) add('i.breached = ?', q.breached ? 1 : 0);
    if (q.from !== undefined) add('i.detected_at >= ?', q.from);
    if (q.to !== undefined) add('i.detected_at < ?', q.to);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM incidents i ${w}`, params))?.n ?? 0;
    const rows = await this.db.all<Row>(`${this.#select} ${w} ORDER BY i.detected_at DESC, i.id LIMIT ? OFFSET ?`, [
      ...params,
      q.limit ?? 100,
      q.offset ?? 0,
    ]);
    return { incidents: rows.map(fromRow), total };
  }

  async timeline(incidentId: string): Promise<TimelineEntry[]> {
    const rows = await this.db.all<{
      id: number;
      incidentId: string;
      at: number;
      kind: TimelineKind;
      actor: string;
      data: string;
    }>(
      'SELECT id, incident_id AS "incidentId", at, kind, actor, data FROM incident_events WHERE incident_id = ? ORDER BY id',
      [incidentId],
    );
    return rows.map((e) => ({ ...e, data: JSON.parse(e.data) as Record<string, unknown> }));
  }

  /**
   * Appends one timeline entry without touching the ticket (notifications sent, sessions opened); false when there is
   * no such ticket. One statement: the ticket's existence and the entry are checked and written together.
   */
  async appendEvent(incidentId: string, e: Omit<TimelineEntry, 'id' | 'incidentId'>): Promise<boolean> {
    const r = await this.db.run(
      `INSERT INTO incident_events (incident_id, at, kind, actor, data)
       SELECT id, ?, ?, ?, ? FROM incidents WHERE id = ?`,
      [e.at, e.kind, e.actor, JSON.stringify(e.data), incidentId],
    );
    return r.changes === 1;
  }

  /** Open and acknowledged counts per tier and criticality (the queues). */
  async queues(
    clientIds?: readonly string[],
  ): Promise<{ tier: number; criticality: string; open: number; unassigned: number }[]> {
    const scope = clientIds ? `AND client_id IN (${clientIds.map(() => '?').join(',') || 'NULL'})` : '';
    return this.db.all<{ tier: number; criticality: string; open: number; unassigned: number }>(
      `SELECT tier, criticality, count(*) AS open, sum(CASE WHEN assignee IS NULL THEN 1 ELSE 0 END) AS unassigned
         FROM incidents WHERE status IN ('open','acknowledged') ${scope} GROUP BY tier, criticality
         ORDER BY tier, criticality`,
      clientIds ?? [],
    );
  }
}
