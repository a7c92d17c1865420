/** All SQL of the agents concern: enrolled agents (public keys only) and enrollment tokens (hashes only). */
import type { AgentFacts } from '@outpost/shared';
import { type Db, prepared } from '../db/index.js';

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

/** Every agent column plus its tags as one JSON array, sorted, so a listed agent carries them without a second query. */
const AGENT_SELECT =
  'SELECT *, (SELECT json_group_array(tag) FROM (SELECT tag FROM agent_tags t WHERE t.agent_id = agents.id ORDER BY tag)) AS tags FROM agents';

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
  'id, client_id AS clientId, site_id AS siteId, hash, note, created_by AS createdBy, created_at AS createdAt, expires_at AS expiresAt, max_uses AS maxUses, uses, revoked_at AS revokedAt';

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

const SORT_SQL: Record<AgentSort, string> = {
  hostname: 'hostname COLLATE NOCASE',
  status: 'revoked_at IS NOT NULL, id IN (SELECT value FROM json_each(@online)) DESC',
  os: 'os_platform, os_distro, os_release',
  lastSeenAt: 'last_seen_at',
  agentVersion: 'agent_version',
  enrolledAt: 'enrolled_at',
};

/** The WHERE clause and parameters of a fleet query (shared by the page and its count). */
function agentFilter(q: AgentQuery): { where: string; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = { online: JSON.stringify(q.onlineIds ?? []) };
  if (q.clientIds) {
    where.push('client_id IN (SELECT value FROM json_each(@clientIds))');
    params.clientIds = JSON.stringify(q.clientIds);
  }
  if (q.siteId) {
    where.push('site_id = @siteId');
    params.siteId = q.siteId;
  }
  if (q.search) {
    where.push(
      "(hostname LIKE @search ESCAPE '\\' OR os_distro LIKE @search ESCAPE '\\' OR last_ip LIKE @search ESCAPE '\\' OR id LIKE @search ESCAPE '\\')",
    );
    params.search = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  if (q.os) {
    where.push('(os_platform = @os COLLATE NOCASE OR os_distro = @os COLLATE NOCASE)');
    params.os = q.os;
  }
  if (q.tag !== undefined) {
    where.push('id IN (SELECT agent_id FROM agent_tags WHERE tag = @tag)');
    params.tag = q.tag;
  }
  if (q.status === 'revoked') where.push('revoked_at IS NOT NULL');
  else if (q.status || !q.includeRevoked) where.push('revoked_at IS NULL');
  if (q.status === 'online') where.push('id IN (SELECT value FROM json_each(@online))');
  if (q.status === 'offline') where.push('id NOT IN (SELECT value FROM json_each(@online))');
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** Why an enrollment token cannot be used, or the token when it can. */
export type TokenUse =
  | { ok: true; token: EnrollmentTokenRecord }
  | { ok: false; reason: 'unknown' | 'expired' | 'exhausted' | 'revoked'; token?: EnrollmentTokenRecord };

/** Store functions of the agents concern. */
export class AgentsStore {
  constructor(private readonly db: Db) {}

  async insertToken(t: EnrollmentTokenRecord): Promise<void> {
    prepared(
      this.db,
      'INSERT INTO enrollment_tokens (id, client_id, site_id, hash, note, created_by, created_at, expires_at, max_uses, uses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)',
    ).run(t.id, t.clientId, t.siteId, t.hash, t.note, t.createdBy, t.createdAt, t.expiresAt, t.maxUses);
  }

  async token(id: string): Promise<EnrollmentTokenRecord | undefined> {
    return prepared<[string], EnrollmentTokenRecord>(
      this.db,
      `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE id = ?`,
    ).get(id);
  }

  async listTokens(
    clientIds: readonly string[] | undefined,
    siteId: string | undefined,
  ): Promise<EnrollmentTokenRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (clientIds) {
      where.push('client_id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(clientIds));
    }
    if (siteId) {
      where.push('site_id = ?');
      params.push(siteId);
    }
    return prepared<unknown[], EnrollmentTokenRecord>(
      this.db,
      `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC`,
    ).all(...params);
  }

  async revokeToken(id: string, time: number): Promise<boolean> {
    return (
      prepared(this.db, 'UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(time, id)
        .changes === 1
    );
  }

  /**
   * Atomically spends one use of the token (checked by `isValid`, which compares the secret) and inserts the
   * agent, so two machines racing for the last use cannot both enroll.
   */
  async enroll(
    tokenId: string,
    now: number,
    isValid: (t: EnrollmentTokenRecord) => boolean,
    agent: (t: EnrollmentTokenRecord) => AgentRecord,
  ): Promise<TokenUse & { agent?: AgentRecord }> {
    return this.db.transaction((): TokenUse & { agent?: AgentRecord } => {
      const token = prepared<[string], EnrollmentTokenRecord>(
        this.db,
        `SELECT ${TOKEN_COLUMNS} FROM enrollment_tokens WHERE id = ?`,
      ).get(tokenId);
      if (!token || !isValid(token)) return { ok: false, reason: 'unknown' };
      if (token.revokedAt !== null) return { ok: false, reason: 'revoked', token };
      if (token.expiresAt <= now) return { ok: false, reason: 'expired', token };
      if (token.uses >= token.maxUses) return { ok: false, reason: 'exhausted', token };
      prepared(this.db, 'UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?').run(tokenId);
      const a = agent(token);
      prepared(
        this.db,
        `INSERT INTO agents (id, client_id, site_id, public_key, hostname, os_platform, os_distro, os_release, kernel, arch, cpu_model, cpu_cores,
             memory_bytes, agent_version, protocol_version, enrolled_at, enrollment_token_id, last_seen_at, last_ip)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
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
      );
      return { ok: true, token: { ...token, uses: token.uses + 1 }, agent: a };
    })();
  }

  async agent(id: string): Promise<AgentRecord | undefined> {
    const row = prepared<[string], AgentRow>(this.db, `${AGENT_SELECT} WHERE id = ?`).get(id);
    return row && toAgent(row);
  }

  async agentByPublicKey(publicKey: string): Promise<AgentRecord | undefined> {
    const row = prepared<[string], AgentRow>(this.db, `${AGENT_SELECT} WHERE public_key = ?`).get(publicKey);
    return row && toAgent(row);
  }

  async listAgents(q: AgentQuery): Promise<AgentRecord[]> {
    const { where, params } = agentFilter(q);
    const dir = q.order === 'desc' ? 'DESC' : 'ASC';
    const order = SORT_SQL[q.sort ?? 'hostname']
      .split(', ')
      .map((c) => (c.endsWith(' DESC') ? (dir === 'DESC' ? c.slice(0, -5) : c) : `${c} ${dir}`))
      .join(', ');
    return prepared<Record<string, unknown>, AgentRow>(
      this.db,
      `${AGENT_SELECT} ${where} ORDER BY ${order}, id ${dir} LIMIT @limit OFFSET @offset`,
    )
      .all({ ...params, limit: q.limit, offset: q.offset })
      .map(toAgent);
  }

  /** How many agents the query matches, whatever the page. */
  async countAgents(q: AgentQuery): Promise<number> {
    const { where, params } = agentFilter(q);
    return prepared<Record<string, unknown>, { n: number }>(this.db, `SELECT COUNT(*) AS n FROM agents ${where}`).get(
      params,
    )!.n;
  }

  /** How many enrolled, non-revoked agents of the client report this hostname (any case). */
  async countHostname(clientId: string, hostname: string): Promise<number> {
    return prepared<[string, string], { n: number }>(
      this.db,
      'SELECT COUNT(*) AS n FROM agents WHERE client_id = ? AND hostname = ? COLLATE NOCASE AND revoked_at IS NULL',
    ).get(clientId, hostname)!.n;
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
    prepared(
      this.db,
      `UPDATE agents SET hostname = ?, os_platform = ?, os_distro = ?, os_release = ?, kernel = ?, arch = ?, cpu_model = ?, cpu_cores = ?,
           memory_bytes = ?, agent_version = ?, protocol_version = ?, last_seen_at = ?, last_ip = ? WHERE id = ?`,
    ).run(
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
    );
  }

  /** Writes many last-seen times in one transaction (presence flushes them in batches). */
  async touchMany(seen: ReadonlyMap<string, number>): Promise<void> {
    const stmt = prepared(this.db, 'UPDATE agents SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE id = ?');
    this.db.transaction(() => {
      for (const [id, time] of seen) stmt.run(time, id);
    })();
  }

  /**
   * Adds and removes tags of one agent in one transaction and returns its tags after. Refuses (returns the would-be
   * count, nothing written) when the agent would end with more than `max` tags.
   */
  async changeTags(
    id: string,
    change: { add: readonly string[]; remove: readonly string[] },
    max: number,
    time: number,
    by: string,
  ): Promise<{ ok: boolean; tags: string[]; added: string[]; removed: string[] }> {
    const list = prepared<[string], { tag: string }>(
      this.db,
      'SELECT tag FROM agent_tags WHERE agent_id = ? ORDER BY tag',
    );
    return this.db.transaction(() => {
      const before = list.all(id).map((r) => r.tag);
      const removed = change.remove.filter((t) => before.includes(t));
      const added = [...new Set(change.add)].filter((t) => !before.includes(t) || removed.includes(t));
      const after = new Set(before.filter((t) => !removed.includes(t)));
      for (const t of added) after.add(t);
      if (after.size > max && after.size > before.length) return { ok: false, tags: before, added: [], removed: [] };
      const del = prepared(this.db, 'DELETE FROM agent_tags WHERE agent_id = ? AND tag = ?');
      const ins = prepared(
        this.db,
        'INSERT OR IGNORE INTO agent_tags (agent_id, tag, added_at, added_by) VALUES (?, ?, ?, ?)',
      );
      for (const t of removed) del.run(id, t);
      for (const t of added) ins.run(id, t, time, by);
      const tags = list.all(id).map((r) => r.tag);
      // Only what really changed is reported (and audited): re-adding a tag it has is not a change.
      return {
        ok: true,
        tags,
        added: added.filter((t) => !before.includes(t)).sort(),
        removed: removed.filter((t) => !tags.includes(t)).sort(),
      };
    })();
  }

  async revoke(id: string, time: number, by: string): Promise<boolean> {
    return (
      prepared(this.db, 'UPDATE agents SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL').run(
        time,
        by,
        id,
      ).changes === 1
    );
  }
}
