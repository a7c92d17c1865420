/** All SQL of the agents concern: enrolled agents (public keys only) and enrollment tokens (hashes only). */
import type { AgentFacts } from '@outpost/shared';
import type { Dialect, SqlDb, SqlParam } from '../db/index.js';
import { inJsonList, jsonList } from '../db/json-list.js';

export { agentsMigrations } from './migrations.js';

/** An enrolled agent. */
export interface AgentRecord {
  id: string;
  clientId: string;
  siteId: string;
  publicKey: string;
  facts: AgentFacts;
  agentVersion: string;
  protocolVersion: number;
  enrolledAt: number;
  enrollmentTokenId: string;
  lastSeenAt: number | null;
  lastIp: string | null;
  revokedAt: number | null;
  /** Its tags, sorted (agent_tags). */
  tags: readonly string[];
}

/** An enrollment token (its hash only). */
export interface EnrollmentTokenRecord {
  id: string;
  clientId: string;
  siteId: string;
  hash: string;
  note: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number;
  maxUses: number;
  uses: number;
  revokedAt: number | null;
}

interface AgentRow {
  id: string;
  client_id: string;
  site_id: string;
  public_key: string;
  hostname: string;
  os_platform: string;
  os_distro: string;
  os_release: string;
  kernel: string;
  arch: string;
  cpu_model: string;
  cpu_cores: number;
  memory_bytes: number;
  agent_version: string;
  protocol_version: number;
  enrolled_at: number;
  enrollment_token_id: string;
  last_seen_at: number | null;
  last_ip: string | null;
  revoked_at: number | null;
  /** JSON array of the agent's tags (AGENT_SELECT). */
  tags: string;
}

/**
 * Every agent column plus its tags as one JSON array, sorted, so a listed agent carries them without a second query.
 * SQLite aggregates with json_group_array, PostgreSQL with json_agg (as text: the row reads the same on both).
 */
const AGENT_SELECT: Record<Dialect, string> = {
  sqlite:
    'SELECT *, (SELECT json_group_array(tag) FROM (SELECT tag FROM agent_tags t WHERE t.agent_id = agents.id ORDER BY tag)) AS tags FROM agents',
  postgres:
    "SELECT *, (SELECT COALESCE(json_agg(tag ORDER BY tag), '[]')::text FROM agent_tags t WHERE t.agent_id = agents.id) AS tags FROM agents",
};

const toAgent = (r: AgentRow): AgentRecord => ({
  id: r.id,
  clientId: r.client_id,
  siteId: r.site_id,
  publicKey: r.public_key,
  facts: {
    hostname: r.hostname,
    os: { platform: r.os_platform, distro: r.os_distro, release: r.os_release, kernel: r.kernel, arch: r.arch },
    cpu: { model: r.cpu_model, cores: r.cpu_cores },
    memoryBytes: r.memory_bytes,
  },
  agentVersion: r.agent_version,
  protocolVersion: r.protocol_version,
  enrolledAt: r.enrolled_at,
  enrollmentTokenId: r.enrollment_token_id,
  lastSeenAt: r.last_seen_at,
  lastIp: r.last_ip,
  revokedAt: r.revoked_at,
  tags: JSON.parse(r.tags) as string[],
});

const TOKEN_COLUMNS =
  'id, client_id AS "clientId", site_id AS "siteId", hash, note, created_by AS "createdBy", created_at AS "createdAt", expires_at AS "expiresAt", max_uses AS "maxUses", uses, revoked_at AS "revokedAt"';

/** Columns the fleet can be sorted by. */
export const AGENT_SORTS = ['hostname', 'status', 'os', 'lastSeenAt', 'agentVersion', 'enrolledAt'] as const;
export type AgentSort = (typeof AGENT_SORTS)[number];

/** Filters for listing agents. */
export interface AgentQuery {
  clientIds?: readonly string[] | undefined;
  siteId?: string | undefined;
  /** Free text: a part of the hostname, OS distribution, last address or id. */
  search?: string | undefined;
  includeRevoked?: boolean | undefined;
  /** Presence lives in memory (the connection registry), so online/offline are judged against `onlineIds`. */
  status?: 'online' | 'offline' | 'revoked' | undefined;
  onlineIds?: readonly string[] | undefined;
  /** An OS platform (`linux`, `win32`) or distribution (`Debian GNU/Linux`), any case. */
  os?: string | undefined;
  /** Only agents with this tag. */
  tag?: string | undefined;
  sort?: AgentSort | undefined;
  order?: 'asc' | 'desc' | undefined;
  limit: number;
  offset: number;
}

/** ORDER BY terms per sort; `status` binds the presence set (its one `?`). */
function sortSql(sort: AgentSort, dialect: Dialect): string {
  switch (sort) {
    case 'hostname':
      return 'hostname COLLATE NOCASE';
    case 'status':
      return `revoked_at IS NOT NULL, ${inJsonList(dialect, 'id')} DESC`;
    case 'os':
      return 'os_platform, os_distro, os_release';
    case 'lastSeenAt':
      return 'last_seen_at';
    case 'agentVersion':
      return 'agent_version';
    case 'enrolledAt':
      return 'enrolled_at';
  }
}

/**
 * The WHERE clause and its parameters, in order, of a fleet query (shared by the page and its count). Free text
 * matches in any case: SQLite's LIKE ignores ASCII case, PostgreSQL's needs ILIKE.
 */
function agentFilter(q: AgentQuery, dialect: Dialect): { where: string; params: SqlParam[] } {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (q.clientIds) {
    where.push(inJsonList(dialect, 'client_id'));
    params.push(jsonList(q.clientIds));
  }
  if (q.siteId) {
    where.push('site_id = ?');
    params.push(q.siteId);
  }
  if (q.search) {
    const like = dialect === 'postgres' ? 'ILIKE' : 'LIKE';
    where.push(
      `(hostname ${like} ? ESCAPE '\\' OR os_distro ${like} ? ESCAPE '\\' OR last_ip ${like} ? ESCAPE '\\' OR id ${like} ? ESCAPE '\\')`,
    );
    const pattern = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    params.push(pattern, pattern, pattern, pattern);
  }
  if (q.os) {
    where.push('(os_platform = ? COLLATE NOCASE OR os_distro = ? COLLATE NOCASE)');
    params.push(q.os, q.os);
  }
  if (q.tag !== undefined) {
    where.push('id IN (SELECT agent_id FROM agent_tags WHERE tag = ?)');
    params.push(q.tag);
  }
  if (q.status === 'revoked') where.push('revoked_at IS NOT NULL');
  else if (q.status || !q.includeRevoked) where.push('revoked_at IS NULL');
  if (q.status === 'online' || q.status === 'offline') {
    where.push(`${q.status === 'offline' ? 'NOT ' : ''}${inJsonList(dialect, 'id')}`);
    params.push(jsonList(q.onlineIds ?? []));
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** Why an enrollment token cannot be used, or the token when it can. */
export type TokenUse =
  | { ok: true; token: EnrollmentTokenRecord }
  | { ok: false; reason: 'unknown' | 'expired' | 'exhausted' | 'revoked'; token?: EnrollmentTokenRecord };

const INSERT_AGENT = `INSERT INTO agents (id, client_id, site_id, public_key, hostname, os_platform, os_distro, os_release, kernel, arch, cpu_model, cpu_cores,
    memory_bytes, agent_version, protocol_version, enrolled_at, enrollment_token_id, last_seen_at, last_ip)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Last-seen times of a presence flush, in one statement on both engines (one round trip on PostgreSQL, no statement
 * run per agent on SQLite): a JSON array of {id, t}; a time never moves back.
 */
const TOUCH_MANY: Record<Dialect, string> = {
  sqlite: `UPDATE agents SET last_seen_at = MAX(COALESCE(last_seen_at, 0), v.t)
    FROM (SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.t') AS t FROM json_each(?)) AS v
    WHERE agents.id = v.id`,
  postgres: `UPDATE agents a SET last_seen_at = GREATEST(COALESCE(a.last_seen_at, 0), v.t)
    FROM json_to_recordset(?::json) AS v (id text, t bigint) WHERE a.id = v.id`,
};

/** Store functions of the agents concern, on SQLite or PostgreSQL. */
export class AgentsStore {
  readonly #agentSelect: string;
  // The hot lookups' texts built once: enrollment, every connect and every naming run them.
  readonly #byId: string;
  readonly #byKey: string;
  readonly #touchMany: string;
  constructor(private readonly db: SqlDb) {
    this.#agentSelect = AGENT_SELECT[db.dialect];
    this.#byId = `${this.#agentSelect} WHERE id = ?`;
    this.#byKey = `${this.#agentSelect} WHERE public_key = ?`;
    this.#touchMany = TOUCH_MANY[db.dialect];
  }

  async insertToken(t: EnrollmentTokenRecord): Promise<void> {
    await this.db.run(
      'INSERT INTO enrollment_tokens (id, client_id, site_id, hash, note, created_by, created_at, expires_at, max_uses, uses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)',
      [t.id, t.clientId, t.siteId, t.hash, t.note, t.createdBy, t.createdAt, t.expiresAt, t.maxUses],
    );
  }

  async token(id: string): Promise<EnrollmentTokenRecord | undefined> {
    return this.db.get<EnrollmentTokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE id = ?`, [id]);
  }

  async listTokens(
    clientIds: readonly string[] | undefined,
    siteId: string | undefined,
  ): Promise<EnrollmentTokenRecord[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (clientIds) {
      where.push(inJsonList(this.db.dialect, 'client_id'));
      params.push(jsonList(clientIds));
    }
    if (siteId) {
      where.push('site_id = ?');
      params.push(siteId);
    }
    return this.db.all<EnrollmentTokenRecord>(
      `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC`,
      params,
    );
  }

  async revokeToken(id: string, time: number): Promise<boolean> {
    const r = await this.db.run('UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
      time,
      id,
    ]);
    return r.changes === 1;
  }

  /**
   * Atomically spends one use of the token (checked by `isValid`, which compares the secret) and inserts the
   * agent, so two machines racing for the last use cannot both enroll. The use is spent by an UPDATE that checks
   * the count itself: on PostgreSQL two nodes may read the same count, and the second UPDATE re-checks it once the
   * first commits.
   */
  async enroll(
    tokenId: string,
    now: number,
    isValid: (t: EnrollmentTokenRecord) => boolean,
    agent: (t: EnrollmentTokenRecord) => AgentRecord,
  ): Promise<TokenUse & { agent?: AgentRecord }> {
    return this.db.atomic(async (): Promise<TokenUse & { agent?: AgentRecord }> => {
      const token = await this.token(tokenId);
      if (!token || !isValid(token)) return { ok: false, reason: 'unknown' };
      if (token.revokedAt !== null) return { ok: false, reason: 'revoked', token };
      if (token.expiresAt <= now) return { ok: false, reason: 'expired', token };
      if (token.uses >= token.maxUses) return { ok: false, reason: 'exhausted', token };
      const spent = await this.db.run(
        'UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ? AND uses < max_uses AND revoked_at IS NULL',
        [tokenId],
      );
      if (spent.changes !== 1) {
        // Another enrollment (on another node) spent the last use, or the token was revoked, since it was read.
        const after = (await this.token(tokenId)) ?? token;
        return { ok: false, reason: after.revokedAt !== null ? 'revoked' : 'exhausted', token: after };
      }
      const a = agent(token);
      await this.db.run(INSERT_AGENT, [
        a.id,
        a.clientId,
        a.siteId,
        a.publicKey,
        a.facts.hostname,
        a.facts.os.platform,
        a.facts.os.distro,
        a.facts.os.release,
        a.facts.os.kernel,
        a.facts.os.arch,
        a.facts.cpu.model,
        a.facts.cpu.cores,
        a.facts.memoryBytes,
        a.agentVersion,
        a.protocolVersion,
        a.enrolledAt,
        a.enrollmentTokenId,
        a.lastSeenAt,
        a.lastIp,
      ]);
      return { ok: true, token: { ...token, uses: token.uses + 1 }, agent: a };
    });
  }

  agent(id: string): Promise<AgentRecord | undefined> {
    return this.db.get<AgentRow>(this.#byId, [id]).then((row) => row && toAgent(row));
  }

  agentByPublicKey(publicKey: string): Promise<AgentRecord | undefined> {
    return this.db.get<AgentRow>(this.#byKey, [publicKey]).then((row) => row && toAgent(row));
  }

  async listAgents(q: AgentQuery): Promise<AgentRecord[]> {
    const { where, params } = agentFilter(q, this.db.dialect);
    const dir = q.order === 'desc' ? 'DESC' : 'ASC';
    const sort = q.sort ?? 'hostname';
    const order = sortSql(sort, this.db.dialect)
      .split(', ')
      .map((c) => (c.endsWith(' DESC') ? (dir === 'DESC' ? c.slice(0, -5) : c) : `${c} ${dir}`))
      .join(', ');
    if (sort === 'status') params.push(jsonList(q.onlineIds ?? []));
    const rows = await this.db.all<AgentRow>(
      `${this.#agentSelect} ${where} ORDER BY ${order}, id ${dir} LIMIT ? OFFSET ?`,
      [...params, q.limit, q.offset],
    );
    return rows.map(toAgent);
  }

  /** How many agents the query matches, whatever the page. */
  async countAgents(q: AgentQuery): Promise<number> {
    const { where, params } = agentFilter(q, this.db.dialect);
    return (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM agents ${where}`, params))?.n ?? 0;
  }

  /** How many enrolled, non-revoked agents of the client report this hostname (any case). */
  async countHostname(clientId: string, hostname: string): Promise<number> {
    const r = await this.db.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM agents WHERE client_id = ? AND hostname = ? COLLATE NOCASE AND revoked_at IS NULL',
      [clientId, hostname],
    );
    return r?.n ?? 0;
  }

  /** Refreshes what the agent reported in its hello. */
  async updateFacts(
    id: string,
    facts: AgentFacts,
    agentVersion: string,
    protocolVersion: number,
    now: number,
    ip: string,
  ): Promise<void> {
    await this.db.run(
      `UPDATE agents SET hostname = ?, os_platform = ?, os_distro = ?, os_release = ?, kernel = ?, arch = ?, cpu_model = ?, cpu_cores = ?,
           memory_bytes = ?, agent_version = ?, protocol_version = ?, last_seen_at = ?, last_ip = ? WHERE id = ?`,
      [
        facts.hostname,
        facts.os.platform,
        facts.os.distro,
        facts.os.release,
        facts.os.kernel,
        facts.os.arch,
        facts.cpu.model,
        facts.cpu.cores,
        facts.memoryBytes,
        agentVersion,
        protocolVersion,
        now,
        ip,
        id,
      ],
    );
  }

  /** Writes many last-seen times in one transaction (presence flushes them in batches). */
  async touchMany(seen: ReadonlyMap<string, number>): Promise<void> {
    if (seen.size === 0) return;
    await this.db.run(this.#touchMany, [JSON.stringify(Array.from(seen, ([id, t]) => ({ id, t })))]);
  }

  /**
   * Adds and removes tags of one agent in one transaction and returns its tags after. Refuses (returns the would-be
   * count, nothing written) when the agent would end with more than `max` tags. On PostgreSQL the agent's row is
   * locked first, so two nodes changing one agent's tags take turns and the limit holds.
   */
  async changeTags(
    id: string,
    change: { add: readonly string[]; remove: readonly string[] },
    max: number,
    time: number,
    by: string,
  ): Promise<{ ok: boolean; tags: string[]; added: string[]; removed: string[] }> {
    const list = async () =>
      (await this.db.all<{ tag: string }>('SELECT tag FROM agent_tags WHERE agent_id = ? ORDER BY tag', [id])).map(
        (r) => r.tag,
      );
    return this.db.atomic(async () => {
      if (this.db.dialect === 'postgres') await this.db.get('SELECT id FROM agents WHERE id = ? FOR UPDATE', [id]);
      const before = await list();
      const removed = change.remove.filter((t) => before.includes(t));
      const added = [...new Set(change.add)].filter((t) => !before.includes(t) || removed.includes(t));
      const after = new Set(before.filter((t) => !removed.includes(t)));
      for (const t of added) after.add(t);
      if (after.size > max && after.size > before.length) return { ok: false, tags: before, added: [], removed: [] };
      for (const t of removed) await this.db.run('DELETE FROM agent_tags WHERE agent_id = ? AND tag = ?', [id, t]);
      for (const t of added)
        await this.db.run(
          'INSERT INTO agent_tags (agent_id, tag, added_at, added_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
          [id, t, time, by],
        );
      const tags = await list();
      // Only what really changed is reported (and audited): re-adding a tag it has is not a change.
      return {
        ok: true,
        tags,
        added: added.filter((t) => !before.includes(t)).sort(),
        removed: removed.filter((t) => !tags.includes(t)).sort(),
      };
    });
  }

  async revoke(id: string, time: number, by: string): Promise<boolean> {
    const r = await this.db.run(
      'UPDATE agents SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL',
      [time, by, id],
    );
    return r.changes === 1;
  }
}
