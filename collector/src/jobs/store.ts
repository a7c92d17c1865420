/** All SQL of the jobs concern: the script library (versions), jobs, and each job's per-agent targets. */
import type { Migration, SqlDb } from '../db/index.js';
import { inJsonList, jsonList } from '../db/json-list.js';

/** The jobs concern's schema (ids 05xx). */
export const jobsMigrations: Migration[] = [
  {
    id: '0500_jobs',
    concern: 'jobs',
    sql: `
      CREATE TABLE job_scripts (
        id TEXT NOT NULL, client_id TEXT, name TEXT NOT NULL, version INTEGER NOT NULL, shell TEXT NOT NULL, description TEXT NOT NULL,
        body TEXT NOT NULL, sha256 TEXT NOT NULL, signature TEXT, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (id, version)
      );
      CREATE INDEX job_scripts_name ON job_scripts (client_id, name);
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, spec TEXT NOT NULL, target TEXT NOT NULL, reboot TEXT NOT NULL,
        timeout_sec INTEGER NOT NULL, not_before INTEGER NOT NULL, expires_at INTEGER NOT NULL, window TEXT,
        status TEXT NOT NULL, retry_of TEXT, created_by TEXT NOT NULL, created_at INTEGER NOT NULL
      );
      CREATE INDEX jobs_created ON jobs (created_at);
      CREATE TABLE job_targets (
        job_id TEXT NOT NULL REFERENCES jobs (id), agent_id TEXT NOT NULL, client_id TEXT NOT NULL,
        site_id TEXT NOT NULL, state TEXT NOT NULL, sent_at INTEGER, started_at INTEGER, finished_at INTEGER,
        exit_code INTEGER, signal TEXT, duration_ms INTEGER, output_head TEXT NOT NULL DEFAULT '',
        output_tail TEXT NOT NULL DEFAULT '', truncated_bytes INTEGER NOT NULL DEFAULT 0,
        reboot_required INTEGER NOT NULL DEFAULT 0, reboot_scheduled TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (job_id, agent_id)
      );
      CREATE INDEX job_targets_agent ON job_targets (agent_id, state);
      CREATE INDEX job_targets_client ON job_targets (client_id, job_id);
    `,
  },
];

/** One stored script version. */
export interface ScriptRecord {
  /** `sc_…`, shared by every version. */
  id: string;
  /** The client whose machines it may run on; null: the organisation's shared library. */
  clientId: string | null;
  name: string;
  version: number;
  shell: 'shell' | 'powershell';
  description: string;
  body: string;
  sha256: string;
  signature: string | null;
  createdBy: string;
  createdAt: number;
}

/** One stored job. `spec`, `target`, `reboot` and `window` are JSON the service wrote. */
export interface JobRecord {
  id: string;
  kind: 'script' | 'patch' | 'software';
  spec: string;
  target: string;
  reboot: string;
  timeoutSec: number;
  notBefore: number;
  expiresAt: number;
  window: string | null;
  status: 'active' | 'cancelled';
  retryOf: string | null;
  createdBy: string;
  createdAt: number;
}

/** Where a job stands on one agent (the collector's states `queued`, `sent`, `cancelled`, plus the agent's). */
export type TargetState =
  | 'queued'
  | 'sent'
  | 'cancelled'
  | 'started'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'interrupted'
  | 'refused'
  | 'expired';

/** One job's target agent and its result. */
export interface TargetRecord {
  jobId: string;
  agentId: string;
  clientId: string;
  siteId: string;
  state: TargetState;
  sentAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  durationMs: number | null;
  outputHead: string;
  outputTail: string;
  truncatedBytes: number;
  rebootRequired: boolean;
  rebootScheduled: string;
  reason: string;
}

// Aliases are quoted (PostgreSQL folds unquoted names to lower case); `window` is a reserved word there.
const SCRIPT_COLS =
  'id, client_id AS "clientId", name, version, shell, description, body, sha256, signature, created_by AS "createdBy", created_at AS "createdAt"';
const JOB_COLS =
  'id, kind, spec, target, reboot, timeout_sec AS "timeoutSec", not_before AS "notBefore", expires_at AS "expiresAt", "window", status, retry_of AS "retryOf", created_by AS "createdBy", created_at AS "createdAt"';
const TARGET_COLS =
  'job_id AS "jobId", agent_id AS "agentId", client_id AS "clientId", site_id AS "siteId", state, sent_at AS "sentAt", started_at AS "startedAt", finished_at AS "finishedAt", exit_code AS "exitCode", signal, duration_ms AS "durationMs", output_head AS "outputHead", output_tail AS "outputTail", truncated_bytes AS "truncatedBytes", reboot_required AS "rebootRequired", reboot_scheduled AS "rebootScheduled", reason';
/** TARGET_COLS read from `job_targets t` beside `jobs j`. */
const T_TARGET_COLS = TARGET_COLS.replace(/\b(job_id|agent_id|client_id|site_id|state)\b/g, 't.$1');
type TargetRow = Omit<TargetRecord, 'rebootRequired'> & { rebootRequired: number };
const targetOf = (r: TargetRow): TargetRecord => ({ ...r, rebootRequired: r.rebootRequired === 1 });

const MARK_SENT = `UPDATE job_targets SET state = 'sent', sent_at = ? WHERE job_id = ? AND agent_id = ? AND state IN ('queued', 'sent')`;

/** States a target leaves only through an agent's report (never through the collector again). */
export const OPEN_STATES: readonly TargetState[] = ['queued', 'sent', 'started'];

/** The jobs store, on SQLite or PostgreSQL. */
export class JobsStore {
  constructor(private readonly db: SqlDb) {}

  async addScript(s: ScriptRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO job_scripts (id, client_id, name, version, shell, description, body, sha256, signature, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        s.id,
        s.clientId,
        s.name,
        s.version,
        s.shell,
        s.description,
        s.body,
        s.sha256,
        s.signature,
        s.createdBy,
        s.createdAt,
      ],
    );
  }

  /** The latest version of the script of this name in this scope (null: the shared library). */
  async scriptByName(clientId: string | null, name: string): Promise<ScriptRecord | undefined> {
    return this.db.get<ScriptRecord>(
      `SELECT ${SCRIPT_COLS} FROM job_scripts WHERE client_id IS NOT DISTINCT FROM ? AND name = ? ORDER BY version DESC LIMIT 1`,
      [clientId, name],
    );
  }

  async script(id: string, version?: number): Promise<ScriptRecord | undefined> {
    return version === undefined
      ? this.db.get<ScriptRecord>(`SELECT ${SCRIPT_COLS} FROM job_scripts WHERE id = ? ORDER BY version DESC LIMIT 1`, [
          id,
        ])
      : this.db.get<ScriptRecord>(`SELECT ${SCRIPT_COLS} FROM job_scripts WHERE id = ? AND version = ?`, [id, version]);
  }

  async scriptVersions(id: string): Promise<number[]> {
    const rows = await this.db.all<{ version: number }>(
      'SELECT version FROM job_scripts WHERE id = ? ORDER BY version DESC',
      [id],
    );
    return rows.map((r) => r.version);
  }

  /**
   * The latest version of every script of the shared library and of the clients (undefined: all). The shared
   * library's script sorts before a client's of the same name on both engines (PostgreSQL puts NULL last unless told).
   */
  async scripts(clientIds: readonly string[] | undefined): Promise<ScriptRecord[]> {
    const latest = `SELECT ${SCRIPT_COLS} FROM job_scripts s WHERE version = (SELECT MAX(version) FROM job_scripts WHERE id = s.id)`;
    const order = 'ORDER BY name, client_id NULLS FIRST';
    if (!clientIds) return this.db.all<ScriptRecord>(`${latest} ${order}`);
    return this.db.all<ScriptRecord>(
      `${latest} AND (client_id IS NULL OR ${inJsonList(this.db.dialect, 'client_id')}) ${order}`,
      [jsonList(clientIds)],
    );
  }

  /** Inserts a job and its targets in one transaction (joining the caller's, if open). */
  async createJob(job: JobRecord, targets: Pick<TargetRecord, 'agentId' | 'clientId' | 'siteId'>[]): Promise<void> {
    await this.db.atomic(async () => {
      await this.db.run(
        `INSERT INTO jobs (id, kind, spec, target, reboot, timeout_sec, not_before, expires_at, "window", status, retry_of, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          job.id,
          job.kind,
          job.spec,
          job.target,
          job.reboot,
          job.timeoutSec,
          job.notBefore,
          job.expiresAt,
          job.window,
          job.status,
          job.retryOf,
          job.createdBy,
          job.createdAt,
        ],
      );
      await this.db.runMany(
        "INSERT INTO job_targets (job_id, agent_id, client_id, site_id, state) VALUES (?, ?, ?, ?, 'queued')",
        targets.map((t) => [job.id, t.agentId, t.clientId, t.siteId]),
      );
    });
  }

  async job(id: string): Promise<JobRecord | undefined> {
    return this.db.get<JobRecord>(`SELECT ${JOB_COLS} FROM jobs WHERE id = ?`, [id]);
  }

  /** Jobs with at least one target in the clients (undefined: all), newest first. */
  async jobs(clientIds: readonly string[] | undefined, limit: number, agentId?: string): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (clientIds) {
      where.push(`id IN (SELECT job_id FROM job_targets WHERE ${inJsonList(this.db.dialect, 'client_id')})`);
      params.push(jsonList(clientIds));
    }
    // One machine's jobs (its page): those with a target row for it, newest first.
    if (agentId !== undefined) {
      where.push('id IN (SELECT job_id FROM job_targets WHERE agent_id = ?)');
      params.push(agentId);
    }
    return this.db.all<JobRecord>(
      `SELECT ${JOB_COLS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ?`,
      [...params, limit],
    );
  }

  async targets(jobId: string): Promise<TargetRecord[]> {
    const rows = await this.db.all<TargetRow>(
      `SELECT ${TARGET_COLS} FROM job_targets WHERE job_id = ? ORDER BY agent_id`,
      [jobId],
    );
    return rows.map(targetOf);
  }

  async target(jobId: string, agentId: string): Promise<TargetRecord | undefined> {
    const r = await this.db.get<TargetRow>(`SELECT ${TARGET_COLS} FROM job_targets WHERE job_id = ? AND agent_id = ?`, [
      jobId,
      agentId,
    ]);
    return r && targetOf(r);
  }

  /** An agent's targets that may still be sent (queued, or sent without an answer) on active jobs. */
  async pendingFor(agentId: string): Promise<(TargetRecord & { job: JobRecord })[]> {
    const rows = await this.db.all<TargetRow>(
      `SELECT ${T_TARGET_COLS}
       FROM job_targets t JOIN jobs j ON j.id = t.job_id
       WHERE t.agent_id = ? AND t.state IN ('queued', 'sent') AND j.status = 'active' ORDER BY j.created_at`,
      [agentId],
    );
    const out: (TargetRecord & { job: JobRecord })[] = [];
    for (const r of rows) {
      const job = await this.job(r.jobId);
      if (job) out.push({ ...targetOf(r), job });
    }
    return out;
  }

  /** Agents with queued targets on active jobs (the tick's work list). */
  async agentsWithQueued(): Promise<string[]> {
    const rows = await this.db.all<{ agentId: string }>(
      `SELECT DISTINCT t.agent_id AS "agentId" FROM job_targets t JOIN jobs j ON j.id = t.job_id WHERE t.state = 'queued' AND j.status = 'active'`,
    );
    return rows.map((r) => r.agentId);
  }

  async markSent(jobId: string, agentId: string, at: number): Promise<void> {
    await this.db.run(MARK_SENT, [at, jobId, agentId]);
  }

  /**
   * Marks many machines of one job sent, in one statement: with `synchronous = FULL` every commit is an fsync, and
   * one per machine made a job to 5,000 agents take half a minute to send (docs/0010-jobs.md, "Fan-out"); on
   * PostgreSQL one statement is also one round trip.
   */
  async markSentMany(jobId: string, agentIds: readonly string[], at: number): Promise<void> {
    if (agentIds.length === 0) return;
    await this.db.run(
      `UPDATE job_targets SET state = 'sent', sent_at = ? WHERE job_id = ? AND ${inJsonList(this.db.dialect, 'agent_id')} AND state IN ('queued', 'sent')`,
      [at, jobId, jsonList(agentIds)],
    );
  }

  /**
   * Marks the queued and sent targets of jobs past their expiry as expired, in one statement (two nodes expiring
   * at once never both report a target); returns the targets it expired.
   */
  async expire(now: number): Promise<{ jobId: string; agentId: string; clientId: string }[]> {
    return this.db.all<{ jobId: string; agentId: string; clientId: string }>(
      `UPDATE job_targets SET state = 'expired', finished_at = ?, reason = 'expired before the agent ran it'
       WHERE state IN ('queued', 'sent') AND job_id IN (SELECT id FROM jobs WHERE expires_at <= ?)
       RETURNING job_id AS "jobId", agent_id AS "agentId", client_id AS "clientId"`,
      [now, now],
    );
  }

  /** Agents a cancel must reach: the job was sent to them (it may be queued or running there) or started. */
  async stoppable(jobId: string): Promise<string[]> {
    const rows = await this.db.all<{ agentId: string }>(
      `SELECT agent_id AS "agentId" FROM job_targets WHERE job_id = ? AND state IN ('sent', 'started') ORDER BY agent_id`,
      [jobId],
    );
    return rows.map((r) => r.agentId);
  }

  /** Cancelled jobs still running on this agent as far as the collector knows: told again when it reconnects. */
  async cancelledRunningOn(agentId: string): Promise<string[]> {
    const rows = await this.db.all<{ jobId: string }>(
      `SELECT t.job_id AS "jobId" FROM job_targets t JOIN jobs j ON j.id = t.job_id WHERE t.agent_id = ? AND t.state = 'started' AND j.status = 'cancelled'`,
      [agentId],
    );
    return rows.map((r) => r.jobId);
  }

  /** Cancels a job: its queued and sent targets become cancelled (an agent that started it reports its own end). */
  async cancel(jobId: string, now: number): Promise<number> {
    return this.db.atomic(async () => {
      await this.db.run("UPDATE jobs SET status = 'cancelled' WHERE id = ?", [jobId]);
      const r = await this.db.run(
        `UPDATE job_targets SET state = 'cancelled', finished_at = ?, reason = CASE state WHEN 'queued'
           THEN 'cancelled before it was sent' ELSE 'cancelled; the agent was told not to start it or to stop it' END
         WHERE job_id = ? AND state IN ('queued', 'sent')`,
        [now, jobId],
      );
      return r.changes;
    });
  }

  /** Stores what an agent reported (the service decided it may overwrite what is there). */
  async saveResult(t: TargetRecord): Promise<void> {
    await this.db.run(
      `UPDATE job_targets SET state = ?, started_at = ?, finished_at = ?, exit_code = ?, signal = ?, duration_ms = ?,
       output_head = ?, output_tail = ?, truncated_bytes = ?, reboot_required = ?, reboot_scheduled = ?, reason = ?
       WHERE job_id = ? AND agent_id = ?`,
      [
        t.state,
        t.startedAt,
        t.finishedAt,
        t.exitCode,
        t.signal,
        t.durationMs,
        t.outputHead,
        t.outputTail,
        t.truncatedBytes,
        t.rebootRequired ? 1 : 0,
        t.rebootScheduled,
        t.reason,
        t.jobId,
        t.agentId,
      ],
    );
  }

  /** Jobs that ended on an agent between two instants (incidents' "what changed"). */
  async finishedOn(
    agentId: string,
    from: number,
    to: number,
  ): Promise<(TargetRecord & { kind: string; spec: string })[]> {
    const rows = await this.db.all<TargetRow & { kind: string; spec: string }>(
      `SELECT ${T_TARGET_COLS}, j.kind, j.spec
       FROM job_targets t JOIN jobs j ON j.id = t.job_id
       WHERE t.agent_id = ? AND t.finished_at BETWEEN ? AND ? AND t.state IN ('succeeded', 'failed', 'timed_out', 'interrupted')
       ORDER BY t.finished_at`,
      [agentId, from, to],
    );
    return rows.map((r) => ({ ...targetOf(r), kind: r.kind, spec: r.spec }));
  }
}
