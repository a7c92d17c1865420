/**
 * Requests logic: a user's request from any channel becomes an incident in the same queue (docs/0014-requests.md),
 * with its requester (from the client's directory), the machine when known, triage, the machine's recent changes
 * and the detection incidents related to it. No fastify here; the routes and the agent sink call these functions.
 */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { Channel, Criticality, Incident, IncidentService, Tier } from '../incidents/index.js';
import { type Requester, type RequestRecord, RequestsStore, type TriageRule } from './store.js';
import { CRITICAL_MACHINE_TAG, triage } from './triage.js';

/** Channels a user's request may arrive on (a technician's own ticket and detection are not requests). */
export type RequestChannel = Exclude<Channel, 'detection' | 'technician'>;

/** Detection incidents on the machine this long before a request are linked to it. */
export const RELATED_WINDOW_MS = 24 * 3_600_000;
/** Recent inventory changes attached to a request from a machine. */
const CHANGES_WINDOW_MS = 7 * 24 * 3_600_000;
const MAX_CHANGES = 50;
/** Longest request text kept (the ticket's explanation has the same bound). */
export const MAX_TEXT = 10_000;
const MAX_TITLE = 200;

/** What requests need from the other concerns (wired in core.ts). */
export interface RequestsDeps {
  incidents: Pick<IncidentService, 'open' | 'get' | 'list'>;
  clientExists(clientId: string): Promise<boolean>;
  /** Where the machine sits and its tags (a `critical` tag weighs in triage). */
  agentPlace(agentId: string): Promise<{ clientId: string; siteId: string; tags: readonly string[] } | undefined>;
  /** The site a request without a machine is filed on (the client's first site). */
  defaultSite(clientId: string): Promise<string | undefined>;
  /** The machine's inventory changes in [from, to). */
  recentChanges(agentId: string, from: number, to: number): Promise<{ time: number; summary: string }[]>;
}

/** A request as a channel hands it in. */
export interface NewRequest {
  clientId: string;
  channel: RequestChannel;
  /** Unique per channel message (a resend of the same message is the same ticket). */
  origin?: string | undefined;
  text: string;
  requester: { name: string; email?: string | undefined; handle?: string | undefined };
  agentId?: string | undefined;
  osUser?: string | undefined;
  snapshot?: Record<string, unknown> | undefined;
  /** Who files it: the system for users' channels, the technician for a phone call. */
  actor?: Actor | undefined;
  /** For a phone call, what the technician judged (else triage decides). */
  criticality?: Criticality | undefined;
  type?: string | undefined;
}

const bad = (message: string, field: string) =>
  new OutpostError('OUTPOST_E_BAD_REQUEST', { message, details: { field } });
const newId = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;
const SYSTEM: Actor = { kind: 'system', id: 'system' };
const LABEL: Record<RequestChannel, string> = {
  agent: 'Workstation',
  email: 'E-mail',
  slack: 'Slack',
  teams: 'Teams',
  phone: 'Phone',
};

/** The ticket's title: the channel, who asked, and the first line of what they wrote. */
function titleOf(channel: RequestChannel, name: string, text: string): string {
  const first = text.split(/\r?\n/).find((l) => l.trim()) ?? '';
  const t = `${LABEL[channel]} request from ${name}: ${first.trim()}`;
  return t.length > MAX_TITLE ? `${t.slice(0, MAX_TITLE - 1)}…` : t;
}

/** What Requests is built from (one options object, not positional arguments). */
export interface RequestsInit {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  deps: RequestsDeps;
}

/** The requests concern's service. */
export class Requests {
  readonly store: RequestsStore;
  readonly #db: SqlDb;
  /** One filing at a time, so a resent message (same origin) never opens two tickets. */
  #serial: Promise<unknown> = Promise.resolve();

  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deps: RequestsDeps;
  constructor(init: RequestsInit) {
    const { db, audit, clock, logger, deps } = init;
    this.audit = audit;
    this.clock = clock;
    this.logger = logger;
    this.deps = deps;
    this.#db = db;
    this.store = new RequestsStore(db);
  }

  /**
   * Files a request: the incident it opened (or the one an earlier copy of the same message opened). The ticket and
   * the request row commit together. The database transaction is taken BEFORE the one-at-a-time turn, as incidents'
   * write lock does: a stream batch filing a workstation's request joins its own transaction and waits here only for
   * filings of that transaction; taken the other way round, a phone filing holding the turn and waiting for the
   * connection, and a batch holding the connection and waiting for the turn, would wait for each other forever
   * (docs/0016-postgres.md, "Reactions after the commit"; agent-desk.test.ts).
   */
  file(r: NewRequest): Promise<{ incident: Incident; request: RequestRecord; created: boolean }> {
    return this.#db.atomic(() => {
      const run = this.#serial.then(() => this.#file(r));
      this.#serial = run.catch(() => undefined);
      return run;
    });
  }

  /**
   * What an earlier copy of the same message filed. An origin is unique across clients (an e-mail Message-ID is the
   * sender's to choose): another client's request of that origin is never handed back — its ticket would be
   * acknowledged to this sender — and is refused without telling anything of it.
   */
  async #earlier(origin: string, clientId: string) {
    const earlier = await this.store.byOrigin(origin);
    if (earlier && earlier.clientId !== clientId)
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message: 'A request of this origin was already filed',
        details: { field: 'origin' },
      });
    const inc = earlier && (await this.deps.incidents.get(earlier.incidentId));
    return earlier && inc ? { incident: inc, request: earlier, created: false } : undefined;
  }

  async #file(r: NewRequest): Promise<{ incident: Incident; request: RequestRecord; created: boolean }> {
    const text = r.text.trim();
    if (!text) throw bad('The request is empty', 'text');
    if (text.length > MAX_TEXT) throw bad(`The request is longer than ${MAX_TEXT} characters`, 'text');
    const copy = r.origin ? await this.#earlier(r.origin, r.clientId) : undefined;
    if (copy) return copy;
    if (!(await this.deps.clientExists(r.clientId)))
      throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No client ${r.clientId}` });
    const requester = await this.#requester(r);
    const agentId = r.agentId ?? (requester ? await this.store.lastMachineOf(requester.id) : undefined);
    const place = agentId ? await this.deps.agentPlace(agentId) : undefined;
    if (agentId && place?.clientId !== r.clientId)
      throw bad(`Agent ${agentId} is not a machine of the client`, 'agentId');
    const siteId = place?.siteId ?? (await this.deps.defaultSite(r.clientId));
    if (!siteId) throw bad(`Client ${r.clientId} has no site to file the request on`, 'clientId');
    const vip = requester?.vip ?? false;
    const machineCritical = place?.tags.includes(CRITICAL_MACHINE_TAG) ?? false;
    const t = triage(text, await this.store.rules(r.clientId), vip, machineCritical);
    const criticality = r.criticality ?? t.criticality;
    const type = r.type ?? t.type;
    const now = this.clock.now();
    const related = agentId
      ? (
          await this.deps.incidents.list({
            agentId,
            channel: 'detection',
            from: now - RELATED_WINDOW_MS,
            to: now + 1,
            limit: 10,
          })
        ).incidents.map((i) => i.id)
      : [];
    const snapshot = agentId ? { ...(r.snapshot ?? {}), recentChanges: await this.#changes(agentId, now) } : null;
    const name = requester?.name ?? r.requester.name;
    const incident = await this.deps.incidents.open(r.actor ?? SYSTEM, {
      clientId: r.clientId,
      siteId,
      agentIds: agentId ? [agentId] : [],
      title: titleOf(r.channel, name, text),
      explanation: text,
      type,
      criticality,
      tier: t.tier as Tier,
      channel: r.channel,
    });
    const request: RequestRecord = {
      incidentId: incident.id,
      clientId: r.clientId,
      channel: r.channel,
      origin: r.origin ?? null,
      requesterId: requester?.id ?? null,
      requesterName: name,
      requesterContact: requester?.email ?? r.requester.email ?? r.requester.handle ?? null,
      vip,
      agentId: agentId ?? null,
      osUser: r.osUser ?? null,
      text,
      snapshot,
      related,
      triage: {
        rule: t.rule,
        vipRaised: t.vipRaised,
        machineRaised: t.machineRaised,
        chosen: { type, criticality, tier: t.tier },
        ...(r.criticality || r.type ? { byTechnician: true } : {}),
      },
      createdAt: now,
    };
    await this.store.addRequest(request);
    this.logger.info(
      { incidentId: incident.id, clientId: r.clientId, channel: r.channel, agentId, criticality, type },
      'request filed',
    );
    return { incident, request, created: true };
  }

  /** The directory entry that names the sender: by e-mail, then by handle. */
  async #requester(r: NewRequest): Promise<Requester | undefined> {
    if (r.requester.email) {
      const hit = await this.store.byEmail(r.clientId, r.requester.email);
      if (hit) return hit;
    }
    return r.requester.handle ? this.store.byHandle(r.clientId, r.requester.handle) : undefined;
  }

  async #changes(agentId: string, now: number): Promise<{ time: number; summary: string }[]> {
    try {
      const all = await this.deps.recentChanges(agentId, now - CHANGES_WINDOW_MS, now + 1);
      return all.slice(-MAX_CHANGES).map((c) => ({ time: c.time, summary: c.summary }));
    } catch (err) {
      // The ticket matters more than its context: file it without the changes.
      this.logger.error({ err, agentId }, 'recent changes unavailable for a request');
      return [];
    }
  }

  /** The request behind a ticket (undefined: the ticket is not a user's request). */
  request(incidentId: string): Promise<RequestRecord | undefined> {
    return this.store.request(incidentId);
  }

  /** A request filed from this machine under `ref` (the agent's own reference), for its status. */
  async fromAgent(agentId: string, ref: string): Promise<RequestRecord | undefined> {
    return this.store.byOrigin(agentOrigin(agentId, ref));
  }

  async addRequester(
    actor: Actor,
    clientId: string,
    r: { name: string; email?: string | undefined; vip?: boolean | undefined; handles?: string[] | undefined },
  ): Promise<Requester> {
    const email = r.email?.toLowerCase() ?? null;
    if (email && (await this.store.byEmail(clientId, email)))
      throw new OutpostError('OUTPOST_E_CONFLICT', { message: `A requester of this client already has ${email}` });
    const handles = [...new Set(r.handles ?? [])];
    for (const h of handles)
      if (await this.store.byHandle(clientId, h))
        throw new OutpostError('OUTPOST_E_CONFLICT', { message: `A requester of this client already has ${h}` });
    const requester: Requester = {
      id: newId('rq'),
      clientId,
      name: r.name,
      email,
      vip: r.vip ?? false,
      handles,
      createdAt: this.clock.now(),
    };
    if (!(await this.store.addRequester(requester)))
      throw new OutpostError('OUTPOST_E_CONFLICT', {
        message: 'A requester of this client already has this e-mail or one of these handles',
      });
    await this.#audit(actor, 'requester.add', clientId, { requesterId: requester.id, vip: requester.vip });
    return requester;
  }

  async removeRequester(actor: Actor, id: string): Promise<void> {
    const r = await this.store.requester(id);
    if (!r) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No requester ${id}` });
    await this.store.removeRequester(id);
    await this.#audit(actor, 'requester.remove', r.clientId, { requesterId: id });
  }

  async addRule(
    actor: Actor,
    clientId: string,
    r: {
      keywords: string[];
      type: string;
      criticality?: Criticality | undefined;
      tier?: Tier | undefined;
      position?: number | undefined;
    },
  ): Promise<TriageRule> {
    const keywords = [...new Set(r.keywords.map((k) => k.trim()).filter(Boolean))];
    if (keywords.length === 0) throw bad('Give at least one keyword', 'keywords');
    const existing = await this.store.rules(clientId);
    const rule: TriageRule = {
      id: newId('tr'),
      clientId,
      position: r.position ?? (existing.at(-1)?.position ?? 0) + 10,
      keywords,
      type: r.type,
      criticality: r.criticality ?? null,
      tier: r.tier ?? null,
      createdAt: this.clock.now(),
    };
    await this.store.addRule(rule);
    await this.#audit(actor, 'triage_rule.add', clientId, { ruleId: rule.id });
    return rule;
  }

  async removeRule(actor: Actor, id: string): Promise<void> {
    const r = await this.store.rule(id);
    if (!r) throw new OutpostError('OUTPOST_E_NOT_FOUND', { message: `No triage rule ${id}` });
    await this.store.removeRule(id);
    await this.#audit(actor, 'triage_rule.remove', r.clientId, { ruleId: id });
  }

  async #audit(actor: Actor, type: string, clientId: string, details: Record<string, unknown>): Promise<void> {
    await this.audit.record({
      type,
      code: 'OUTPOST_I_REQUESTS_CHANGED',
      result: 'success',
      actor: actorRef(actor),
      clientId,
      details,
    });
  }
}

/** The origin of a request filed from a machine under the agent's reference. */
export const agentOrigin = (agentId: string, ref: string) => `agent:${agentId}:${ref}`;
