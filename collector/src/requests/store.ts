/** All SQL of the requests concern: the requester directory, the triage rules and what each request brought in. */
import type { Dialect, Migration, SqlDb } from '../db/index.js';
import type { Channel, Criticality, Tier } from '../incidents/index.js';

/** The requests concern's schema (docs/0014-requests.md). */
export const requestsMigrations: Migration[] = [
  {
    id: '0700_requests',
    concern: 'requests',
    sql: `
      CREATE TABLE requesters (
        id TEXT PRIMARY KEY, client_id TEXT NOT NULL, name TEXT NOT NULL, email TEXT, vip INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX requesters_email ON requesters (client_id, email) WHERE email IS NOT NULL;
      CREATE TABLE requester_handles (
        client_id TEXT NOT NULL, handle TEXT NOT NULL, requester_id TEXT NOT NULL REFERENCES requesters (id),
        PRIMARY KEY (client_id, handle)
      );
      CREATE TABLE triage_rules (
        id TEXT PRIMARY KEY, client_id TEXT NOT NULL, position INTEGER NOT NULL, keywords TEXT NOT NULL,
        type TEXT NOT NULL, criticality TEXT CHECK (criticality IN ('P1','P2','P3','P4')),
        tier INTEGER CHECK (tier BETWEEN 1 AND 3), created_at INTEGER NOT NULL
      );
      CREATE INDEX triage_rules_client ON triage_rules (client_id, position);
      CREATE TABLE requests (
        incident_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, channel TEXT NOT NULL, origin TEXT UNIQUE,
        requester_id TEXT, requester_name TEXT NOT NULL, requester_contact TEXT, vip INTEGER NOT NULL,
        agent_id TEXT, os_user TEXT, text TEXT NOT NULL, snapshot TEXT, related TEXT NOT NULL, triage TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX requests_requester ON requests (requester_id, created_at);
      CREATE INDEX requests_agent ON requests (agent_id, created_at);
    `,
  },
];

/** One person of a client's directory who may ask for help. */
export interface Requester {
  id: string;
  clientId: string;
  name: string;
  email: string | null;
  vip: boolean;
  /** Chat handles and logins that name them: `slack:U123`, `teams:29:1abc`, `login:alice`. */
  handles: string[];
  createdAt: number;
}

/** One triage rule: any keyword in the text → this type (and criticality / tier when given). */
export interface TriageRule {
  id: string;
  clientId: string;
  position: number;
  keywords: string[];
  type: string;
  criticality: Criticality | null;
  tier: Tier | null;
  createdAt: number;
}

/** What a request brought in, beside its ticket. */
export interface RequestRecord {
  incidentId: string;
  clientId: string;
  channel: Channel;
  /** Where it came from, unique per channel (`agent:<id>:<ref>`, `slack:<team>:<trigger>`): a resend is one ticket. */
  origin: string | null;
  requesterId: string | null;
  requesterName: string;
  requesterContact: string | null;
  vip: boolean;
  agentId: string | null;
  osUser: string | null;
  text: string;
  snapshot: Record<string, unknown> | null;
  /** Detection incidents on the same machine shortly before the request. */
  related: string[];
  /** What triage decided and why. */
  triage: Record<string, unknown>;
  createdAt: number;
}

interface RequesterRow {
  id: string;
  client_id: string;
  name: string;
  email: string | null;
  vip: number;
  created_at: number;
  handles: string | null;
}

// A requester's handles as one JSON array, sorted (a set: the order they were given in is not kept). PostgreSQL's
// json_agg is cast to text so both engines hand back the same string (and NULL, not [], when there are none).
const HANDLES: Record<Dialect, string> = {
  sqlite: 'json_group_array(handle ORDER BY handle)',
  postgres: 'json_agg(handle ORDER BY handle)::text',
};
const requesterSelect = (d: Dialect) =>
  `SELECT r.*, (SELECT ${HANDLES[d]} FROM requester_handles h WHERE h.requester_id = r.id) AS handles FROM requesters r`;

const requesterOf = (r: RequesterRow): Requester => ({
  id: r.id,
  clientId: r.client_id,
  name: r.name,
  email: r.email,
  vip: r.vip === 1,
  handles: r.handles ? (JSON.parse(r.handles) as string[]) : [],
  createdAt: r.created_at,
});

interface RuleRow {
  id: string;
  client_id: string;
  position: number;
  keywords: string;
  type: string;
  criticality: string | null;
  tier: number | null;
  created_at: number;
}

interface RequestRow {
  incident_id: string;
  client_id: string;
  channel: string;
  origin: string | null;
  requester_id: string | null;
  requester_name: string;
  requester_contact: string | null;
  vip: number;
  agent_id: string | null;
  os_user: string | null;
  text: string;
  snapshot: string | null;
  related: string;
  triage: string;
  created_at: number;
}

const requestOf = (r: RequestRow): RequestRecord => ({
  incidentId: r.incident_id,
  clientId: r.client_id,
  channel: r.channel as Channel,
  origin: r.origin,
  requesterId: r.requester_id,
  requesterName: r.requester_name,
  requesterContact: r.requester_contact,
  vip: r.vip === 1,
  agentId: r.agent_id,
  osUser: r.os_user,
  text: r.text,
  snapshot: r.snapshot ? (JSON.parse(r.snapshot) as Record<string, unknown>) : null,
  related: JSON.parse(r.related) as string[],
  triage: JSON.parse(r.triage) as Record<string, unknown>,
  createdAt: r.created_at,
});

/** Thrown inside addRequester's transaction to undo the requester when one of its handles is taken. */
class HandleTaken extends Error {}

/** Store functions of the requests concern (SQLite or PostgreSQL). */
export class RequestsStore {
  readonly #requester: string;
  constructor(private readonly db: SqlDb) {
    this.#requester = requesterSelect(db.dialect);
  }

  /**
   * Stores a requester and their handles together; false, storing nothing, when the client already has a requester
   * with this e-mail or one of these handles. The unique indexes decide, so two nodes adding the same person at once
   * store one. A savepoint when the caller has a transaction open: a refusal undoes only this.
   */
  async addRequester(r: Requester): Promise<boolean> {
    try {
      return await this.db.transaction(async () => {
        const added = await this.db.run(
          `INSERT INTO requesters (id, client_id, name, email, vip, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
          [r.id, r.clientId, r.name, r.email, r.vip ? 1 : 0, r.createdAt],
        );
        if (added.changes !== 1) return false;
        const handles = await this.db.runMany(
          'INSERT INTO requester_handles (client_id, handle, requester_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          r.handles.map((h) => [r.clientId, h, r.id]),
        );
        if (handles.changes !== r.handles.length) throw new HandleTaken();
        return true;
      });
    } catch (err) {
      if (err instanceof HandleTaken) return false;
      throw err;
    }
  }

  async removeRequester(id: string): Promise<void> {
    await this.db.atomic(async () => {
      await this.db.run('DELETE FROM requester_handles WHERE requester_id = ?', [id]);
      await this.db.run('DELETE FROM requesters WHERE id = ?', [id]);
    });
  }

  async requester(id: string): Promise<Requester | undefined> {
    const r = await this.db.get<RequesterRow>(`${this.#requester} WHERE r.id = ?`, [id]);
    return r && requesterOf(r);
  }

  async requesters(clientIds: readonly string[]): Promise<Requester[]> {
    if (clientIds.length === 0) return [];
    const rows = await this.db.all<RequesterRow>(
      `${this.#requester} WHERE r.client_id IN (${clientIds.map(() => '?').join(',')}) ORDER BY r.client_id, r.name, r.id`,
      clientIds,
    );
    return rows.map(requesterOf);
  }

  /** The requester of a client with this e-mail (case-insensitive; stored lower-cased). */
  async byEmail(clientId: string, email: string): Promise<Requester | undefined> {
    const r = await this.db.get<RequesterRow>(`${this.#requester} WHERE r.client_id = ? AND r.email = ?`, [
      clientId,
      email.toLowerCase(),
    ]);
    return r && requesterOf(r);
  }

  /** The requester of a client known by this handle. */
  async byHandle(clientId: string, handle: string): Promise<Requester | undefined> {
    const r = await this.db.get<RequesterRow>(
      `${this.#requester} WHERE r.id = (SELECT requester_id FROM requester_handles WHERE client_id = ? AND handle = ?)`,
      [clientId, handle],
    );
    return r && requesterOf(r);
  }

  async addRule(r: TriageRule): Promise<void> {
    await this.db.run(
      `INSERT INTO triage_rules (id, client_id, position, keywords, type, criticality, tier, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [r.id, r.clientId, r.position, JSON.stringify(r.keywords), r.type, r.criticality, r.tier, r.createdAt],
    );
  }

  async removeRule(id: string): Promise<void> {
    await this.db.run('DELETE FROM triage_rules WHERE id = ?', [id]);
  }

  async rule(id: string): Promise<TriageRule | undefined> {
    const r = await this.db.get<RuleRow>('SELECT * FROM triage_rules WHERE id = ?', [id]);
    return r && ruleOf(r);
  }

  /** A client's rules in the order they are tried. */
  async rules(clientId: string): Promise<TriageRule[]> {
    const rows = await this.db.all<RuleRow>(
      'SELECT * FROM triage_rules WHERE client_id = ? ORDER BY position, created_at, id',
      [clientId],
    );
    return rows.map(ruleOf);
  }

  async addRequest(r: RequestRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO requests (incident_id, client_id, channel, origin, requester_id, requester_name, requester_contact,
         vip, agent_id, os_user, text, snapshot, related, triage, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.incidentId,
        r.clientId,
        r.channel,
        r.origin,
        r.requesterId,
        r.requesterName,
        r.requesterContact,
        r.vip ? 1 : 0,
        r.agentId,
        r.osUser,
        r.text,
        r.snapshot ? JSON.stringify(r.snapshot) : null,
        JSON.stringify(r.related),
        JSON.stringify(r.triage),
        r.createdAt,
      ],
    );
  }

  async request(incidentId: string): Promise<RequestRecord | undefined> {
    const r = await this.db.get<RequestRow>('SELECT * FROM requests WHERE incident_id = ?', [incidentId]);
    return r && requestOf(r);
  }

  async byOrigin(origin: string): Promise<RequestRecord | undefined> {
    const r = await this.db.get<RequestRow>('SELECT * FROM requests WHERE origin = ?', [origin]);
    return r && requestOf(r);
  }

  /** The machine a requester last asked from (their machines are learned from the agents' logged-in users). */
  async lastMachineOf(requesterId: string): Promise<string | undefined> {
    const r = await this.db.get<{ agent_id: string }>(
      `SELECT agent_id FROM requests WHERE requester_id = ? AND agent_id IS NOT NULL
       ORDER BY created_at DESC LIMIT 1`,
      [requesterId],
    );
    return r?.agent_id;
  }
}

const ruleOf = (r: RuleRow): TriageRule => ({
  id: r.id,
  clientId: r.client_id,
  position: r.position,
  keywords: JSON.parse(r.keywords) as string[],
  type: r.type,
  criticality: r.criticality as Criticality | null,
  tier: r.tier as Tier | null,
  createdAt: r.created_at,
});
