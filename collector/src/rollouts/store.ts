/**
 * All SQL of the rollouts concern (ids 06xx): one row per rollout (its plan options, state and current wave) and
 * one row per targeted agent (its wave, its place in the order, where it stands). The driver reads everything it
 * needs from here on every tick, so a collector killed at any point resumes from these rows. SQLite or PostgreSQL.
 */
import type { Migration, SqlDb, SqlParam } from '../db/index.js';
import type { AgentState } from './halt.js';

/** The rollouts concern's schema. */
export const rolloutsMigrations: Migration[] = [
  {
    id: '0600_rollouts',
    concern: 'rollouts',
    sql: `
      CREATE TABLE rollouts (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, version TEXT NOT NULL, rollback_of TEXT,
        target TEXT NOT NULL, options TEXT NOT NULL, waves TEXT NOT NULL,
        state TEXT NOT NULL, wave INTEGER NOT NULL, wave_started_at INTEGER, wave_done_at INTEGER,
        forgiven INTEGER NOT NULL DEFAULT 0, halt_reason TEXT,
        created_by TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finished_at INTEGER
      );
      CREATE INDEX rollouts_state ON rollouts (state);
      CREATE TABLE rollout_agents (
        rollout_id TEXT NOT NULL REFERENCES rollouts (id), agent_id TEXT NOT NULL, client_id TEXT NOT NULL,
        site_id TEXT NOT NULL, platform TEXT NOT NULL, wave INTEGER NOT NULL, position INTEGER NOT NULL,
        from_version TEXT NOT NULL, state TEXT NOT NULL, assignment_id TEXT, not_before INTEGER,
        assigned_at INTEGER, deadline_at INTEGER, finished_at INTEGER, code TEXT, reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (rollout_id, agent_id)
      ) WITHOUT ROWID;
      CREATE INDEX rollout_agents_wave ON rollout_agents (rollout_id, wave, position);
    `,
  },
];

/** Where a rollout stands. */
export type RolloutState = 'running' | 'paused' | 'halted' | 'aborted' | 'completed' | 'rolled_back';
/** States in which nothing happens any more. */
export const TERMINAL: ReadonlySet<RolloutState> = new Set(['aborted', 'completed', 'rolled_back']);

/** The tunables of one rollout, fixed at start. */
export interface RolloutOptions {
  bakeMs: number;
  deadlineMs: number;
  maxConcurrent: number;
  jitterMs: number;
  haltCount: number | null;
  haltPercent: number | null;
}

/** One stored rollout. */
export interface RolloutRecord {
  id: string;
  kind: 'rollout' | 'rollback';
  version: string;
  rollbackOf: string | null;
  /** The target as requested (JSON). */
  target: string;
  options: RolloutOptions;
  /** Wave names in order (`ring`, `canary`, `25%`…). */
  waves: string[];
  state: RolloutState;
  /** The wave being rolled out (index into `waves`); `waves.length` once all are done. */
  wave: number;
  waveStartedAt: number | null;
  /** When the current wave's last agent reached a final state (the bake runs from there). */
  waveDoneAt: number | null;
  forgiven: number;
  haltReason: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** One targeted agent. */
export interface RolloutAgent {
  rolloutId: string;
  agentId: string;
  clientId: string;
  siteId: string;
  platform: string;
  wave: number;
  position: number;
  fromVersion: string;
  state: AgentState;
  assignmentId: string | null;
  notBefore: number | null;
  assignedAt: number | null;
  deadlineAt: number | null;
  finishedAt: number | null;
  code: string | null;
  reason: string | null;
  /** Assignments made so far (a transient refusal is retried under a new id). */
  attempts: number;
}

type RolloutRow = Omit<RolloutRecord, 'options' | 'waves'> & { options: string; waves: string };
const ROLLOUT_COLS =
  'id, kind, version, rollback_of AS "rollbackOf", target, options, waves, state, wave, wave_started_at AS "waveStartedAt", wave_done_at AS "waveDoneAt", forgiven, halt_reason AS "haltReason", created_by AS "createdBy", created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"';
const AGENT_COLS =
  'rollout_id AS "rolloutId", agent_id AS "agentId", client_id AS "clientId", site_id AS "siteId", platform, wave, position, from_version AS "fromVersion", state, assignment_id AS "assignmentId", not_before AS "notBefore", assigned_at AS "assignedAt", deadline_at AS "deadlineAt", finished_at AS "finishedAt", code, reason, attempts';
const rolloutOf = (r: RolloutRow): RolloutRecord => ({
  ...r,
  options: JSON.parse(r.options) as RolloutOptions,
  waves: JSON.parse(r.waves) as string[],
});

const INSERT_ROLLOUT = `INSERT INTO rollouts (id, kind, version, rollback_of, target, options, waves, state, wave,
    wave_started_at, wave_done_at, forgiven, halt_reason, created_by, created_at, updated_at, finished_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const INSERT_AGENT = `INSERT INTO rollout_agents (rollout_id, agent_id, client_id, site_id, platform, wave, position,
    from_version, state, assignment_id, not_before, assigned_at, deadline_at, finished_at, code, reason, attempts)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const SAVE_AGENT = `UPDATE rollout_agents SET state = ?, assignment_id = ?, not_before = ?, assigned_at = ?, deadline_at = ?,
    finished_at = ?, code = ?, reason = ?, attempts = ?
  WHERE rollout_id = ? AND agent_id = ?`;

const agentParams = (a: RolloutAgent): SqlParam[] => [
  a.state,
  a.assignmentId,
  a.notBefore,
  a.assignedAt,
  a.deadlineAt,
  a.finishedAt,
  a.code,
  a.reason,
  a.attempts,
  a.rolloutId,
  a.agentId,
];

/** The rollouts store (SQLite or PostgreSQL). */
export class RolloutsStore {
  constructor(private readonly db: SqlDb) {}

  /** Writes a new rollout and its planned agents in one transaction (joining the caller's, if open). */
  async create(r: RolloutRecord, agents: readonly RolloutAgent[]): Promise<void> {
    await this.db.atomic(async () => {
      await this.db.run(INSERT_ROLLOUT, [
        r.id,
        r.kind,
        r.version,
        r.rollbackOf,
        r.target,
        JSON.stringify(r.options),
        JSON.stringify(r.waves),
        r.state,
        r.wave,
        r.waveStartedAt,
        r.waveDoneAt,
        r.forgiven,
        r.haltReason,
        r.createdBy,
        r.createdAt,
        r.updatedAt,
        r.finishedAt,
      ]);
      await this.db.runMany(
        INSERT_AGENT,
        agents.map((a) => [
          a.rolloutId,
          a.agentId,
          a.clientId,
          a.siteId,
          a.platform,
          a.wave,
          a.position,
          a.fromVersion,
          a.state,
          a.assignmentId,
          a.notBefore,
          a.assignedAt,
          a.deadlineAt,
          a.finishedAt,
          a.code,
          a.reason,
          a.attempts,
        ]),
      );
    });
  }

  async rollout(id: string): Promise<RolloutRecord | undefined> {
    const r = await this.db.get<RolloutRow>(`SELECT ${ROLLOUT_COLS} FROM rollouts WHERE id = ?`, [id]);
    return r && rolloutOf(r);
  }

  /** Newest first. */
  async list(limit: number): Promise<RolloutRecord[]> {
    const rows = await this.db.all<RolloutRow>(
      `SELECT ${ROLLOUT_COLS} FROM rollouts ORDER BY created_at DESC, id LIMIT ?`,
      [limit],
    );
    return rows.map(rolloutOf);
  }

  /** Rollouts the driver still has work in: not terminal, or with agents still in flight. */
  async active(): Promise<RolloutRecord[]> {
    const rows = await this.db.all<RolloutRow>(
      `SELECT ${ROLLOUT_COLS} FROM rollouts r WHERE state NOT IN ('aborted', 'completed', 'rolled_back')
         OR EXISTS (SELECT 1 FROM rollout_agents a WHERE a.rollout_id = r.id AND a.state IN ('assigned', 'updating'))
       ORDER BY created_at, id`,
    );
    return rows.map(rolloutOf);
  }

  /** Saves the rollout's mutable fields. */
  async save(r: RolloutRecord): Promise<void> {
    await this.db.run(
      `UPDATE rollouts SET state = ?, wave = ?, wave_started_at = ?, wave_done_at = ?, forgiven = ?, halt_reason = ?,
         updated_at = ?, finished_at = ? WHERE id = ?`,
      [r.state, r.wave, r.waveStartedAt, r.waveDoneAt, r.forgiven, r.haltReason, r.updatedAt, r.finishedAt, r.id],
    );
  }

  /** Every agent of a rollout, by wave then position. */
  async agents(rolloutId: string): Promise<RolloutAgent[]> {
    return this.db.all<RolloutAgent>(
      `SELECT ${AGENT_COLS} FROM rollout_agents WHERE rollout_id = ? ORDER BY wave, position`,
      [rolloutId],
    );
  }

  /** The agents of one wave, in order. */
  async wave(rolloutId: string, wave: number): Promise<RolloutAgent[]> {
    return this.db.all<RolloutAgent>(
      `SELECT ${AGENT_COLS} FROM rollout_agents WHERE rollout_id = ? AND wave = ? ORDER BY position`,
      [rolloutId, wave],
    );
  }

  /** Agents in flight in any wave (an aborted or paused rollout still hears their outcome). */
  async inFlight(rolloutId: string): Promise<RolloutAgent[]> {
    return this.db.all<RolloutAgent>(
      `SELECT ${AGENT_COLS} FROM rollout_agents WHERE rollout_id = ? AND state IN ('assigned', 'updating')
       ORDER BY wave, position`,
      [rolloutId],
    );
  }

  /** Saves one agent's mutable fields. */
  async saveAgent(a: RolloutAgent): Promise<void> {
    await this.db.run(SAVE_AGENT, agentParams(a));
  }

  /**
   * Saves many agents in one transaction (one fsync under `synchronous = FULL`, not one per agent; joining the
   * caller's, if open). One UPDATE per agent: on PostgreSQL one round trip each.
   */
  async saveAgents(list: readonly RolloutAgent[]): Promise<void> {
    if (!list.length) return;
    await this.db.atomic(async () => {
      for (const a of list) await this.db.run(SAVE_AGENT, agentParams(a));
    });
  }

  /** Per wave and state, how many agents. */
  async counts(rolloutId: string): Promise<{ wave: number; state: AgentState; n: number }[]> {
    return this.db.all<{ wave: number; state: AgentState; n: number }>(
      'SELECT wave, state, COUNT(*) AS n FROM rollout_agents WHERE rollout_id = ? GROUP BY wave, state ORDER BY wave, state',
      [rolloutId],
    );
  }
}
