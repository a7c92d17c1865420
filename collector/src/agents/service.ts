/** The agents concern's logic: enrollment tokens, enrollment, key authentication, listing, revocation. */
import { randomBytes } from 'node:crypto';
import { type AgentHello, OutpostError, verifyAuthProof } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import { newToken, parseToken, tokenMatches } from '../auth/secrets.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { Tenants } from '../tenants/index.js';
import type { ConnectionRegistry } from './registry.js';
import { type AgentQuery, type AgentRecord, AgentsStore, type EnrollmentTokenRecord } from './store.js';
import { MAX_TAGS_PER_AGENT } from './tags.js';

/** Public view of an enrollment token (never its secret or hash). */
export type PublicEnrollmentToken = Omit<EnrollmentTokenRecord, 'hash'> & {
  status: 'active' | 'expired' | 'exhausted' | 'revoked';
};

const tokenErrors = {
  unknown: 'OUTPOST_E_ENROLL_TOKEN_INVALID',
  expired: 'OUTPOST_E_ENROLL_TOKEN_EXPIRED',
  exhausted: 'OUTPOST_E_ENROLL_TOKEN_EXHAUSTED',
  revoked: 'OUTPOST_E_ENROLL_TOKEN_REVOKED',
} as const;

/** What the agents service is built from. */
export interface AgentsInit {
  db: SqlDb;
  tenants: Tenants;
  /** Live connections (revoking an agent cuts its socket). */
  registry: ConnectionRegistry;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** Agents on other collector nodes (docs/0017-nodes.md); absent: this node's registry is the whole fleet. */
  cluster?: AgentsCluster;
}

/** What the agents concern asks of the node bus: presence on every node, and telling them of a revocation. */
export interface AgentsCluster {
  online(agentId: string): boolean;
  onlineIds(): string[];
  /** The agent was revoked here: every node drops its cached check and cuts its socket if it holds one. */
  revoked(agentId: string): void;
}

/** Enrolled agents and the tokens that enroll them. */
export class Agents {
  readonly store: AgentsStore;
  private readonly tenants: Tenants;
  private readonly registry: ConnectionRegistry;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly cluster: AgentsCluster | undefined;
  constructor(init: AgentsInit) {
    this.cluster = init.cluster;
    this.store = new AgentsStore(init.db);
    this.tenants = init.tenants;
    this.registry = init.registry;
    this.audit = init.audit;
    this.clock = init.clock;
    this.logger = init.logger;
  }

  #publicToken(t: EnrollmentTokenRecord): PublicEnrollmentToken {
    const { hash: _hash, ...rest } = t;
    const status =
      t.revokedAt !== null
        ? 'revoked'
        : t.expiresAt <= this.clock.now()
          ? 'expired'
          : t.uses >= t.maxUses
            ? 'exhausted'
            : 'active';
    return { ...rest, status };
  }

  /** Creates a token for a site; the secret is returned once and stored hashed. */
  async createEnrollmentToken(
    actor: Actor,
    input: { siteId: string; expiresInHours: number; maxUses: number; note: string },
  ): Promise<{ token: string; info: PublicEnrollmentToken }> {
    const site = await this.tenants.site(input.siteId);
    if (!site) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No site ${input.siteId}` });
    const t = newToken('oet');
    const record: EnrollmentTokenRecord = {
      id: t.id,
      clientId: site.clientId,
      siteId: site.id,
      hash: t.hash,
      note: input.note,
      createdBy: actor.id,
      createdAt: this.clock.now(),
      expiresAt: this.clock.now() + input.expiresInHours * 3_600_000,
      maxUses: input.maxUses,
      uses: 0,
      revokedAt: null,
    };
    await this.store.insertToken(record);
    await this.audit.record({
      type: 'enrollment_token.create',
      code: 'OUTPOST_I_ENROLL_TOKEN_CREATED',
      result: 'success',
      actor: actorRef(actor),
      clientId: site.clientId,
      resource: `enrollment_token:${t.id}`,
      details: { siteId: site.id, maxUses: input.maxUses, expiresAt: record.expiresAt },
    });
    return { token: t.token, info: this.#publicToken(record) };
  }

  /** The site a token would enroll into (for authorising on its client before creating it). */
  siteOf(siteId: string) {
    return this.tenants.site(siteId);
  }

  async enrollmentToken(id: string): Promise<PublicEnrollmentToken | undefined> {
    const t = await this.store.token(id);
    return t && this.#publicToken(t);
  }

  async listEnrollmentTokens(
    clientIds: readonly string[] | undefined,
    siteId?: string,
  ): Promise<PublicEnrollmentToken[]> {
    return (await this.store.listTokens(clientIds, siteId)).map((t) => this.#publicToken(t));
  }

  async revokeEnrollmentToken(actor: Actor, id: string, clientId: string): Promise<void> {
    await this.store.revokeToken(id, this.clock.now());
    await this.audit.record({
      type: 'enrollment_token.revoke',
      code: 'OUTPOST_I_ENROLL_TOKEN_REVOKED',
      result: 'success',
      actor: actorRef(actor),
      clientId,
      resource: `enrollment_token:${id}`,
    });
  }

  /** Enrolls a new agent from an `enroll` hello signed over `nonce`. Every refusal is audited. */
  async enroll(hello: AgentHello, nonce: string, ip: string): Promise<AgentRecord> {
    const auth = hello.auth;
    if (auth.method !== 'enroll') throw new TypeError('enroll() needs an enroll hello');
    const parsed = parseToken(auth.token);
    const refuse = async (
      code: (typeof tokenErrors)[keyof typeof tokenErrors] | 'OUTPOST_E_SIGNATURE_INVALID' | 'OUTPOST_E_CONFLICT',
      clientId: string | null,
      message?: string,
    ) => {
      await this.audit.record({
        type: 'agent.enroll',
        code,
        result: 'failure',
        actor: { kind: 'agent', id: null, name: hello.facts.hostname },
        clientId,
        resource: parsed ? `enrollment_token:${parsed.id}` : 'enrollment_token:?',
        remoteIp: ip,
      });
      return new OutpostError(code, message ? { message } : {});
    };
    // Proof of possession first: a token must not be spent by someone who cannot sign with the key they present.
    if (!verifyAuthProof(auth.publicKey, nonce, 'enroll', auth.publicKey, auth.signature))
      throw await refuse('OUTPOST_E_SIGNATURE_INVALID', null);
    if (parsed?.prefix !== 'oet') throw await refuse('OUTPOST_E_ENROLL_TOKEN_INVALID', null);
    if (await this.store.agentByPublicKey(auth.publicKey))
      throw await refuse('OUTPOST_E_CONFLICT', null, 'This public key is already enrolled');
    const now = this.clock.now();
    const result = await this.store.enroll(
      parsed.id,
      now,
      (t) => tokenMatches(auth.token, t.hash),
      (t) => ({
        id: `ag_${randomBytes(12).toString('hex')}`,
        clientId: t.clientId,
        siteId: t.siteId,
        publicKey: auth.publicKey,
        facts: hello.facts,
        agentVersion: hello.agentVersion,
        protocolVersion: hello.protocolVersion,
        enrolledAt: now,
        enrollmentTokenId: t.id,
        lastSeenAt: now,
        lastIp: ip,
        revokedAt: null,
        tags: [],
      }),
    );
    if (!result.ok) throw await refuse(tokenErrors[result.reason], result.token?.clientId ?? null);
    const agent = result.agent!;
    await this.#auditAgent(agent, 'agent.enroll', 'OUTPOST_I_AGENT_ENROLLED', 'success', ip, {
      siteId: agent.siteId,
      enrollmentTokenId: agent.enrollmentTokenId,
    });
    this.logger.info({ agentId: agent.id, hostname: agent.facts.hostname, siteId: agent.siteId }, 'agent enrolled');
    return agent;
  }

  /** An audit row where the agent itself is the actor. */
  #auditAgent(
    agent: AgentRecord,
    type: string,
    code: string,
    result: 'success' | 'failure',
    ip: string,
    details?: Record<string, unknown>,
  ) {
    return this.audit.record({
      type,
      code,
      result,
      actor: { kind: 'agent', id: agent.id, name: agent.facts.hostname },
      clientId: agent.clientId,
      agentId: agent.id,
      resource: `agent:${agent.id}`,
      remoteIp: ip,
      ...(details ? { details } : {}),
    });
  }

  /** Authenticates a `key` hello signed over `nonce`; refreshes the agent's facts. */
  async authenticate(hello: AgentHello, nonce: string, ip: string): Promise<AgentRecord> {
    const auth = hello.auth;
    if (auth.method !== 'key') throw new TypeError('authenticate() needs a key hello');
    const agent = await this.store.agent(auth.agentId);
    if (!agent) throw new OutpostError('OUTPOST_E_AGENT_UNKNOWN', { details: { agentId: auth.agentId } });
    if (agent.revokedAt !== null) throw new OutpostError('OUTPOST_E_AGENT_REVOKED', { details: { agentId: agent.id } });
    if (!verifyAuthProof(agent.publicKey, nonce, 'key', agent.id, auth.signature)) {
      await this.#auditAgent(agent, 'agent.connect', 'OUTPOST_E_SIGNATURE_INVALID', 'failure', ip);
      throw new OutpostError('OUTPOST_E_SIGNATURE_INVALID', { details: { agentId: agent.id } });
    }
    // Write only what changed: after a collector restart thousands of agents reconnect at once, and a durable
    // write per handshake would make reconnection storms disk-bound. Last-seen goes through presence's batches.
    const changed =
      JSON.stringify(agent.facts) !== JSON.stringify(hello.facts) ||
      agent.agentVersion !== hello.agentVersion ||
      agent.protocolVersion !== hello.protocolVersion ||
      agent.lastIp !== ip;
    if (changed)
      await this.store.updateFacts(
        agent.id,
        hello.facts,
        hello.agentVersion,
        hello.protocolVersion,
        this.clock.now(),
        ip,
      );
    return { ...agent, facts: hello.facts, agentVersion: hello.agentVersion };
  }

  get(id: string): Promise<AgentRecord | undefined> {
    return this.store.agent(id);
  }

  list(q: AgentQuery): Promise<AgentRecord[]> {
    return this.store.listAgents({ ...q, onlineIds: q.onlineIds ?? this.onlineIds() });
  }

  /** How many agents a query matches (for paging). */
  count(q: AgentQuery): Promise<number> {
    return this.store.countAgents({ ...q, onlineIds: q.onlineIds ?? this.onlineIds() });
  }

  /** Ids of the agents with a live socket on any node (this one only when no cluster is configured). */
  onlineIds(): string[] {
    if (this.cluster) return this.cluster.onlineIds();
    const ids: string[] = [];
    for (const c of this.registry.values()) if (c.open) ids.push(c.agentId);
    return ids;
  }

  /**
   * How people should name the machine in titles and reports: its hostname, and when another machine of the same
   * client has that hostname too, its short id beside it (`ws-01 (ag_3f9a2c1b)`) so the two can be told apart.
   */
  async label(id: string): Promise<string | undefined> {
    const a = await this.store.agent(id);
    if (!a) return undefined;
    const duplicated = (await this.store.countHostname(a.clientId, a.facts.hostname)) > 1;
    return duplicated ? `${a.facts.hostname} (${shortAgentId(a.id)})` : a.facts.hostname;
  }

  /** True when the agent has a live connection on any node (this one only when no cluster is configured). */
  isOnline(id: string): boolean {
    if (this.cluster) return this.cluster.online(id);
    return this.registry.get(id)?.open === true;
  }

  /** Revokes an agent: refused from now on, and its live socket is closed at once. */
  async revoke(actor: Actor, agent: AgentRecord): Promise<void> {
    if (!(await this.store.revoke(agent.id, this.clock.now(), actor.id))) {
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `Agent ${agent.id} is already revoked` });
    }
    this.registry.get(agent.id)?.closeWith(new OutpostError('OUTPOST_E_AGENT_REVOKED'));
    this.cluster?.revoked(agent.id);
    await this.audit.record({
      type: 'agent.revoke',
      code: 'OUTPOST_I_AGENT_REVOKED',
      result: 'success',
      actor: actorRef(actor),
      clientId: agent.clientId,
      agentId: agent.id,
      resource: `agent:${agent.id}`,
    });
    this.logger.info({ agentId: agent.id, by: actor.id }, 'agent revoked');
  }

  /**
   * Adds and removes tags of an agent (the caller has authorised `agent.tag` on its client). Audited with what really
   * changed; more than MAX_TAGS_PER_AGENT tags is refused and nothing is written.
   */
  async changeTags(
    actor: Actor,
    agent: AgentRecord,
    change: { add: readonly string[]; remove: readonly string[] },
  ): Promise<AgentRecord> {
    const r = await this.store.changeTags(agent.id, change, MAX_TAGS_PER_AGENT, this.clock.now(), actor.id);
    if (!r.ok)
      throw new OutpostError('OUTPOST_E_AGENT_TAGS_LIMIT', {
        details: { agentId: agent.id, tags: r.tags.length, adding: change.add.length, max: MAX_TAGS_PER_AGENT },
      });
    if (r.added.length || r.removed.length) {
      await this.audit.record({
        type: 'agent.tag',
        code: 'OUTPOST_I_AGENT_TAGGED',
        result: 'success',
        actor: actorRef(actor),
        clientId: agent.clientId,
        agentId: agent.id,
        resource: `agent:${agent.id}`,
        details: { added: r.added, removed: r.removed },
      });
      this.logger.info({ agentId: agent.id, by: actor.id, added: r.added, removed: r.removed }, 'agent tags changed');
    }
    return { ...agent, tags: r.tags };
  }

  /** Flushes last-seen times collected by presence. */
  touchMany(seen: ReadonlyMap<string, number>): Promise<void> {
    return this.store.touchMany(seen);
  }
}

/** The first 8 hex digits of an agent id (`ag_3f9a2c1b`): enough to tell apart machines that share a hostname. */
export function shortAgentId(id: string): string {
  return id.slice(0, 11);
}
