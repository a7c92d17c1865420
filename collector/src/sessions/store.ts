/**
 * All SQL of the sessions concern: one row per shell session or file transfer, with its recording metadata. SQLite or
 * PostgreSQL.
 */
import type { Migration, SqlDb, SqlParam } from '../db/index.js';
import type { SessionOutcome } from './outcome.js';

export type { SessionOutcome } from './outcome.js';

/** The sessions concern's schema (ids 0400–0499). */
export const sessionsMigrations: Migration[] = [
  {
    id: '0400_sessions',
    concern: 'sessions',
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('shell', 'download', 'upload')),
        agent_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        user_email TEXT NOT NULL,
        elevated INTEGER NOT NULL DEFAULT 0,
        path TEXT,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        exit_code INTEGER,
        close_reason TEXT,
        cols INTEGER,
        rows INTEGER,
        recording_file TEXT,
        recording_bytes INTEGER,
        recording_status TEXT NOT NULL DEFAULT 'none' CHECK (recording_status IN ('none', 'recording', 'ok', 'failed')),
        bytes_out INTEGER NOT NULL DEFAULT 0,
        bytes_in INTEGER NOT NULL DEFAULT 0,
        sha256 TEXT
      );
      CREATE INDEX sessions_client_started ON sessions (client_id, started_at);
      CREATE INDEX sessions_agent_started ON sessions (agent_id, started_at);
    `,
  },
  {
    // Issue 17: how each session ended (`outcome`, `outcome_code`), and recordings cut short by a collector that
    // died mid-session (`truncated`: salvaged up to the last complete event). SQLite cannot change a CHECK
    // constraint in place, so the table is rebuilt.
    id: '0401_sessions_outcome',
    concern: 'sessions',
    sql: `
      CREATE TABLE sessions_0401 (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('shell', 'download', 'upload')),
        agent_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        site_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        user_email TEXT NOT NULL,
        elevated INTEGER NOT NULL DEFAULT 0,
        path TEXT,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        exit_code INTEGER,
        close_reason TEXT,
        cols INTEGER,
        rows INTEGER,
        recording_file TEXT,
        recording_bytes INTEGER,
        recording_status TEXT NOT NULL DEFAULT 'none'
          CHECK (recording_status IN ('none', 'recording', 'ok', 'truncated', 'failed')),
        bytes_out INTEGER NOT NULL DEFAULT 0,
        bytes_in INTEGER NOT NULL DEFAULT 0,
        sha256 TEXT,
        outcome TEXT CHECK (outcome IN ('ok', 'refused', 'failed', 'ended')),
        outcome_code TEXT
      );
      INSERT INTO sessions_0401
        SELECT id, kind, agent_id, client_id, site_id, user_id, user_email, elevated, path, started_at, ended_at,
          exit_code, close_reason, cols, rows, recording_file, recording_bytes,
          CASE WHEN ended_at IS NOT NULL AND close_reason LIKE 'refused:%' AND recording_status = 'recording'
            THEN 'none' ELSE recording_status END,
          bytes_out, bytes_in, sha256,
          CASE
            WHEN ended_at IS NULL THEN NULL
            WHEN close_reason LIKE 'refused:%' THEN 'refused'
            WHEN exit_code IS NOT NULL OR close_reason = 'done' THEN 'ok'
            ELSE NULL
          END,
          NULL
        FROM sessions;
      DROP TABLE sessions;
      ALTER TABLE sessions_0401 RENAME TO sessions;
      CREATE INDEX sessions_client_started ON sessions (client_id, started_at);
      CREATE INDEX sessions_agent_started ON sessions (agent_id, started_at);
      CREATE INDEX sessions_unfinished ON sessions (ended_at) WHERE ended_at IS NULL;
    `,
  },
  {
    // Issue 20: the collector node that holds the session (the technician's socket, the recording). A node that
    // starts ends only its own orphans and those of nodes that are gone, never a live node's (docs/0017-nodes.md).
    // Rows from before have none: they were written by a single node.
    id: '0402_sessions_node',
    concern: 'sessions',
    sql: `ALTER TABLE sessions ADD COLUMN node TEXT;`,
  },
];

/** The four kinds of session as far as seeing them goes: each needs the permission that opening it needed. */
export type SessionKindKey = 'shell' | 'elevated' | 'download' | 'upload';
/** Per kind, the clients whose sessions the caller may see (undefined: all; a kind left out: none). */
export type SessionScopes = Partial<Record<SessionKindKey, readonly string[] | undefined>>;

/** One session as stored. */
export interface SessionRecord {
  id: string;
  kind: 'shell' | 'download' | 'upload';
  agentId: string;
  clientId: string;
  siteId: string;
  userId: string;
  userEmail: string;
  elevated: boolean;
  path: string | null;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  closeReason: string | null;
  cols: number | null;
  rows: number | null;
  recordingFile: string | null;
  recordingBytes: number | null;
  recordingStatus: 'none' | 'recording' | 'ok' | 'truncated' | 'failed';
  bytesOut: number;
  bytesIn: number;
  sha256: string | null;
  outcome: SessionOutcome | null;
  /** The coded reason of a refusal, failure or end by the collector (`OUTPOST_E_…`); null when ok. */
  outcomeCode: string | null;
  /** The collector node holding the session (null: written before nodes were recorded). */
  node: string | null;
}

/** What opening a session stores (how it ends, and the node, are the store's to write). */
export type OpenedSession = Omit<SessionRecord, 'outcome' | 'outcomeCode' | 'node'>;

interface Row {
  id: string;
  kind: SessionRecord['kind'];
  agent_id: string;
  client_id: string;
  site_id: string;
  user_id: string;
  user_email: string;
  elevated: number;
  path: string | null;
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  close_reason: string | null;
  cols: number | null;
  rows: number | null;
  recording_file: string | null;
  recording_bytes: number | null;
  recording_status: SessionRecord['recordingStatus'];
  bytes_out: number;
  bytes_in: number;
  sha256: string | null;
  outcome: SessionOutcome | null;
  outcome_code: string | null;
  node: string | null;
}

const toRecord = (r: Row): SessionRecord => ({
  id: r.id,
  kind: r.kind,
  agentId: r.agent_id,
  clientId: r.client_id,
  siteId: r.site_id,
  userId: r.user_id,
  userEmail: r.user_email,
  elevated: r.elevated === 1,
  path: r.path,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  exitCode: r.exit_code,
  closeReason: r.close_reason,
  cols: r.cols,
  rows: r.rows,
  recordingFile: r.recording_file,
  recordingBytes: r.recording_bytes,
  recordingStatus: r.recording_status,
  bytesOut: r.bytes_out,
  bytesIn: r.bytes_in,
  sha256: r.sha256,
  outcome: r.outcome,
  outcomeCode: r.outcome_code,
  node: r.node,
});

/** Session rows, written by one collector node (`node`, recorded on each row it opens). */
export class SessionsStore {
  constructor(
    private readonly db: SqlDb,
    readonly node = 'local',
  ) {}

  async insert(s: OpenedSession): Promise<void> {
    await this.db.run(
      `INSERT INTO sessions (id, kind, agent_id, client_id, site_id, user_id, user_email, elevated, path, started_at,
         cols, rows, recording_file, recording_status, node)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        s.id,
        s.kind,
        s.agentId,
        s.clientId,
        s.siteId,
        s.userId,
        s.userEmail,
        s.elevated ? 1 : 0,
        s.path,
        s.startedAt,
        s.cols,
        s.rows,
        s.recordingFile,
        s.recordingStatus,
        this.node,
      ],
    );
  }

  /** Records how a session ended; a session already ended keeps its first end (false: it had one). */
  async finish(
    id: string,
    f: {
      endedAt: number;
      exitCode: number | null;
      closeReason: string;
      outcome: SessionOutcome;
      outcomeCode: string | null;
      recordingStatus: SessionRecord['recordingStatus'];
      recordingBytes: number | null;
      bytesOut: number;
      bytesIn: number;
      sha256?: string | null;
    },
  ): Promise<boolean> {
    const { changes } = await this.db.run(
      `UPDATE sessions SET ended_at = ?, exit_code = ?, close_reason = ?, outcome = ?, outcome_code = ?,
         recording_status = ?, recording_bytes = ?, bytes_out = ?, bytes_in = ?, sha256 = ?
       WHERE id = ? AND ended_at IS NULL`,
      [
        f.endedAt,
        f.exitCode,
        f.closeReason,
        f.outcome,
        f.outcomeCode,
        f.recordingStatus,
        f.recordingBytes,
        f.bytesOut,
        f.bytesIn,
        f.sha256 ?? null,
        id,
      ],
    );
    return changes > 0;
  }

  /**
   * Sessions without an end: live ones, or orphans of a collector that died (read at start, before any opens). With
   * `nodes`, only those of these nodes (`null` in it: rows written before nodes were recorded).
   */
  async unfinished(nodes?: readonly (string | null)[]): Promise<SessionRecord[]> {
    if (!nodes) {
      const rows = await this.db.all<Row>('SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY started_at, id');
      return rows.map(toRecord);
    }
    const named = nodes.filter((n): n is string => n !== null);
    const or = [
      ...(named.length > 0 ? [`node IN (${named.map(() => '?').join(',')})`] : []),
      ...(nodes.includes(null) ? ['node IS NULL'] : []),
    ];
    if (or.length === 0) return [];
    const sql = `SELECT * FROM sessions WHERE ended_at IS NULL AND (${or.join(' OR ')}) ORDER BY started_at, id`;
    return (await this.db.all<Row>(sql, named)).map(toRecord);
  }

  /** The nodes that hold unfinished sessions (null: rows written before nodes were recorded). */
  async unfinishedNodes(): Promise<(string | null)[]> {
    const rows = await this.db.all<{ node: string | null }>(
      'SELECT DISTINCT node FROM sessions WHERE ended_at IS NULL ORDER BY node',
    );
    return rows.map((r) => r.node);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM sessions WHERE id = ?', [id]);
    return r && toRecord(r);
  }

  /**
   * The newest sessions, of the kinds and clients the caller may see: `scopes` gives, per kind of session, the
   * clients whose sessions of that kind are visible (undefined: every client; absent kind: none).
   */
  async list(q: { scopes: SessionScopes; agentId?: string | undefined; limit: number }): Promise<SessionRecord[]> {
    const kinds: string[] = [];
    const params: SqlParam[] = [];
    const kindSql: Record<SessionKindKey, string> = {
      shell: "(kind = 'shell' AND elevated = 0)",
      elevated: "(kind = 'shell' AND elevated = 1)",
      download: "kind = 'download'",
      upload: "kind = 'upload'",
    };
    for (const k of Object.keys(kindSql) as SessionKindKey[]) {
      if (!(k in q.scopes)) continue;
      const clients = q.scopes[k];
      if (clients === undefined) kinds.push(`(${kindSql[k]})`);
      else if (clients.length > 0) {
        kinds.push(`(${kindSql[k]} AND client_id IN (${clients.map(() => '?').join(',')}))`);
        params.push(...clients);
      }
    }
    if (kinds.length === 0) return [];
    const where = [`(${kinds.join(' OR ')})`];
    if (q.agentId) {
      where.push('agent_id = ?');
      params.push(q.agentId);
    }
    const sql = `SELECT * FROM sessions WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id LIMIT ?`;
    return (await this.db.all<Row>(sql, [...params, q.limit])).map(toRecord);
  }
}
