/**
 * Notifications logic: channels and routing rules, and the `IncidentNotifier` incidents calls on every ticket change.
 * A notice is routed (client, least criticality, tier, event, coverage) and written to the durable outbox, one row
 * per channel, in one transaction; the delivery worker (delivery.ts) sends it. No fastify here.
 */
import { randomBytes } from 'node:crypto';
import { OutpostError } from '@outpost/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/index.js';
import { type Actor, actorRef } from '../auth/index.js';
import type { Clock } from '../config.js';
import type { SqlDb } from '../db/index.js';
import type { IncidentNotice, IncidentNotifier, Tier } from '../incidents/index.js';
import { type Message, Senders } from './channels.js';
import { channelIncidentKey, type DeliveryDeps, type DeliveryOptions, DeliveryWorker } from './delivery.js';
import { type ChannelInput, type ChannelView, NOTICE_EVENTS, type RouteInput } from './schemas.js';
import { type ChannelRecord, NotificationsStore, type OutboxRecord, type RouteRecord } from './store.js';

/** What notifications needs from tenants, contracts and incidents (wired in app.ts). */
export interface NotificationsDeps extends DeliveryDeps {
  clientExists(id: string): Promise<boolean>;
  /** True when the client's contract covers `at` for the site (staffed hours). */
  inCoverage(clientId: string, siteId: string, at: number): Promise<boolean>;
  /** Who is on duty for the client's tier at `at`. */
  onCall(clientId: string, tier: Tier, at: number): Promise<{ userId: string; email: string } | undefined>;
}

const RANK = { P1: 1, P2: 2, P3: 3, P4: 4 } as const;
const newId = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;
const invalid = (message: string, field: string) =>
  new OutpostError('OUTPOST_E_CONTRACT_INVALID', { message, details: { field } });
const notFound = (message: string) => new OutpostError('OUTPOST_E_NOT_FOUND', { message });

/** Where a channel delivers, without its secret (Slack and Teams URLs are credentials: only the origin is shown). */
export function channelTarget(ch: ChannelRecord): string {
  if (ch.kind === 'email') {
    const c = ch.config as { host: string; port: number; to: string[] };
    return `smtp://${c.host}:${c.port} → ${c.to.join(', ')}`;
  }
  return new URL(String(ch.config.url)).origin;
}

/** What the notifications service is built from. */
export interface NotificationsInit {
  db: SqlDb;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  deps: NotificationsDeps;
  /** Delivery settings (config `notifications`). */
  options: DeliveryOptions;
  /** Jitter source for retry backoff (tests pin it); Math.random by default. */
  random?: (() => number) | undefined;
}

/** Channels, routes, the outbox and its worker. */
export class Notifications implements IncidentNotifier {
  readonly #store: NotificationsStore;
  readonly #senders: Senders;
  readonly worker: DeliveryWorker;
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly deps: NotificationsDeps;

  constructor(init: NotificationsInit) {
    const { clock, logger, deps, options } = init;
    this.audit = init.audit;
    this.clock = clock;
    this.logger = logger;
    this.deps = deps;
    this.#store = new NotificationsStore(init.db);
    this.#senders = new Senders({ timeoutMs: options.timeoutMs, clock });
    this.worker = new DeliveryWorker({
      store: this.#store,
      senders: this.#senders,
      deps,
      clock,
      logger,
      options,
      random: init.random ?? Math.random,
    });
  }

  /** Starts the delivery worker (app lifecycle); under a lease, it sends only while `lease.valid()`. */
  start(lease?: { valid(): boolean }): void {
    this.worker.start(lease);
  }

  /** Stops the worker, waits for its pass and closes SMTP connections. */
  async stop(): Promise<void> {
    await this.worker.stop();
    this.#senders.close();
  }

  /** One delivery pass now (tests drive it with a fake clock). */
  deliverDue(): Promise<{ sent: number; failed: number }> {
    return this.worker.deliverDue();
  }

  async #audit(actor: Actor, type: string, code: string, clientId: string | null, resource: string, details = {}) {
    await this.audit.record({ type, code, result: 'success', actor: actorRef(actor), clientId, resource, details });
  }

  /** Creates a channel; a generated webhook key is returned here once and never again. */
  async createChannel(actor: Actor, input: ChannelInput): Promise<{ channel: ChannelView; secret?: string }> {
    if (input.clientId !== null && !(await this.deps.clientExists(input.clientId)))
      throw new OutpostError('OUTPOST_E_NOT_FOUND', {
        message: `No client ${input.clientId}`,
        details: { field: 'clientId' },
      });
    let config: Record<string, unknown>;
    let secret: string | null = null;
    let generated: string | undefined;
    switch (input.kind) {
      case 'webhook':
        config = { url: input.url };
        if (!input.secret) generated = randomBytes(32).toString('base64url');
        secret = input.secret ?? generated ?? null;
        break;
      case 'slack':
      case 'teams':
        config = { url: input.url };
        break;
      case 'email':
        if ((input.user === undefined) !== (input.password === undefined))
          throw invalid('Give both user and password, or neither', input.user ? 'password' : 'user');
        if (input.secure && input.requireTLS)
          throw invalid('secure (implicit TLS) and requireTLS exclude each other', 'requireTLS');
        config = {
          host: input.host,
          port: input.port,
          secure: input.secure ?? false,
          requireTLS: input.requireTLS ?? false,
          ...(input.user ? { user: input.user } : {}),
          from: input.from,
          to: input.to,
        };
        secret = input.password ?? null;
        break;
    }
    const rec: ChannelRecord = {
      id: newId('ch'),
      clientId: input.clientId,
      name: input.name,
      kind: input.kind,
      config,
      secret,
      createdAt: this.clock.now(),
      consecutiveFailures: 0,
      lastError: null,
      lastFailureAt: null,
      lastSuccessAt: null,
      incidentRaised: false,
    };
    await this.#store.insertChannel(rec);
    await this.#audit(
      actor,
      'notification.channel.create',
      'OUTPOST_I_CHANNEL_CREATED',
      rec.clientId,
      `channel:${rec.id}`,
      {
        kind: rec.kind,
        name: rec.name,
        target: channelTarget(rec),
      },
    );
    return { channel: this.#view(rec, 0), ...(generated ? { secret: generated } : {}) };
  }

  #view(ch: ChannelRecord, pending: number): ChannelView {
    return {
      id: ch.id,
      clientId: ch.clientId,
      name: ch.name,
      kind: ch.kind,
      target: channelTarget(ch),
      createdAt: ch.createdAt,
      state: ch.consecutiveFailures > 0 ? 'failing' : ch.lastSuccessAt !== null ? 'ok' : 'unused',
      consecutiveFailures: ch.consecutiveFailures,
      lastError: ch.lastError,
      lastFailureAt: ch.lastFailureAt,
      lastSuccessAt: ch.lastSuccessAt,
      pending,
      incidentRaised: ch.incidentRaised,
    };
  }

  /** A channel as stored (routes authorise against its client). */
  channelRecord(id: string): Promise<ChannelRecord | undefined> {
    return this.#store.channel(id);
  }

  /** Channels with their health; `clientIds` limits them to those clients' channels (shared ones need all). */
  async listChannels(clientIds?: readonly string[]): Promise<ChannelView[]> {
    const pending = await this.#store.pendingCounts();
    return (await this.#store.listChannels())
      .filter((c) => !clientIds || (c.clientId !== null && clientIds.includes(c.clientId)))
      .map((c) => this.#view(c, pending.get(c.id) ?? 0));
  }

  async channel(id: string): Promise<ChannelView | undefined> {
    const c = await this.#store.channel(id);
    return c && this.#view(c, (await this.#store.pendingCounts()).get(c.id) ?? 0);
  }

  /** Removes a channel, its routes and its undelivered messages. */
  async removeChannel(actor: Actor, id: string): Promise<{ dropped: number }> {
    const ch = await this.#store.channel(id);
    if (!ch) throw notFound(`No channel ${id}`);
    const now = this.clock.now();
    const dropped = await this.#store.removeChannel(id, now);
    // A removed channel will never deliver again: its own incident, if open, clears instead of staying open forever.
    if (ch.incidentRaised) await this.deps.incidents.clear(channelIncidentKey(id), now, `Channel ${ch.name} removed`);
    await this.#audit(actor, 'notification.channel.remove', 'OUTPOST_I_CHANNEL_REMOVED', ch.clientId, `channel:${id}`, {
      dropped,
    });
    return { dropped };
  }

  /** Queues a test message on one channel and sends it at once through the outbox. */
  async testChannel(actor: Actor, id: string): Promise<{ outboxId: string; delivered: boolean; error: string | null }> {
    const ch = await this.#store.channel(id);
    if (!ch) throw notFound(`No channel ${id}`);
    const now = this.clock.now();
    const outboxId = newId('nt');
    const message: Message = {
      id: outboxId,
      event: 'test',
      at: now,
      incident: {
        id: '-',
        clientId: ch.clientId ?? '-',
        siteId: '-',
        agentIds: [],
        title: `Test message for channel ${ch.name}`,
        type: 'test',
        criticality: 'P4',
        tier: 1,
        status: 'open',
        escalationLevel: 0,
        assignee: null,
      },
      detail: { requestedBy: actor.kind === 'user' ? actor.email : 'system' },
      onCall: null,
    };
    const row: OutboxRecord = {
      id: outboxId,
      channelId: ch.id,
      incidentId: null,
      clientId: ch.clientId ?? '',
      event: 'test',
      message,
      createdAt: now,
      attempts: 0,
      nextAttemptAt: now,
      lastError: null,
      deliveredAt: null,
    };
    await this.#store.enqueue([row]);
    const r = await this.worker.deliver(row);
    await this.#audit(actor, 'notification.channel.test', 'OUTPOST_I_CHANNEL_TESTED', ch.clientId, `channel:${id}`, {
      outboxId,
      delivered: r.outcome === 'sent',
    });
    // `skipped`: the poller claimed the row first; it is being sent, its outcome shows on the channel.
    const error = r.outcome === 'skipped' ? 'taken by the delivery worker; see the channel state' : (r.error ?? null);
    return { outboxId, delivered: r.outcome === 'sent', error };
  }

  /** Adds a routing rule; its client must be the channel's when the channel belongs to a client. */
  async createRoute(actor: Actor, input: RouteInput): Promise<RouteRecord> {
    const ch = await this.#store.channel(input.channelId);
    // Another client's channel is answered as an unknown one: the caller may not be able to see that client.
    const foreign = ch && ch.clientId !== null && input.clientId != null && input.clientId !== ch.clientId;
    if (!ch || foreign)
      throw invalid(
        `No channel ${input.channelId}${input.clientId ? ` for client ${input.clientId}` : ''}`,
        'channelId',
      );
    const clientId = input.clientId ?? ch.clientId;
    if (clientId !== null && !(await this.deps.clientExists(clientId)))
      throw new OutpostError('OUTPOST_E_NOT_FOUND', {
        message: `No client ${clientId}`,
        details: { field: 'clientId' },
      });
    const rec: RouteRecord = {
      id: newId('rt'),
      channelId: ch.id,
      clientId,
      minCriticality: input.minCriticality ?? 'P4',
      tiers: [...new Set(input.tiers ?? [1, 2, 3])].sort(),
      events: [...new Set(input.events ?? NOTICE_EVENTS)],
      onCall: input.onCall ?? false,
      outsideCoverageOnly: input.outsideCoverageOnly ?? false,
      createdAt: this.clock.now(),
    };
    await this.#store.insertRoute(rec);
    await this.#audit(actor, 'notification.route.create', 'OUTPOST_I_ROUTE_CREATED', clientId, `route:${rec.id}`, {
      channelId: ch.id,
      minCriticality: rec.minCriticality,
      tiers: rec.tiers,
      events: rec.events,
      onCall: rec.onCall,
      outsideCoverageOnly: rec.outsideCoverageOnly,
    });
    return rec;
  }

  route(id: string): Promise<RouteRecord | undefined> {
    return this.#store.route(id);
  }

  async listRoutes(clientIds?: readonly string[]): Promise<RouteRecord[]> {
    return (await this.#store.listRoutes()).filter(
      (r) => !clientIds || (r.clientId !== null && clientIds.includes(r.clientId)),
    );
  }

  async removeRoute(actor: Actor, id: string): Promise<void> {
    const r = await this.#store.route(id);
    if (!r) throw notFound(`No route ${id}`);
    await this.#store.deleteRoute(id);
    await this.#audit(actor, 'notification.route.remove', 'OUTPOST_I_ROUTE_REMOVED', r.clientId, `route:${id}`);
  }

  /** Queued and delivered messages, newest first. */
  async listOutbox(q: { clientIds?: readonly string[] | undefined; pending?: boolean | undefined; limit: number }) {
    const channelIds = q.clientIds ? (await this.listChannels(q.clientIds)).map((c) => c.id) : undefined;
    return this.#store.listOutbox({ channelIds, pending: q.pending, limit: q.limit });
  }

  /**
   * `IncidentNotifier`: routes the notice and queues one message per channel, all in one transaction. Idempotent per
   * notice id: a notice handed again (incidents crashed before recording the handoff) adds nothing already queued.
   */
  async notify(notice: IncidentNotice): Promise<void> {
    const inc = notice.incident;
    const channels = new Map((await this.#store.listChannels()).map((c) => [c.id, c]));
    let covered: boolean | undefined;
    const isCovered = async () => (covered ??= await this.deps.inCoverage(inc.clientId, inc.siteId, notice.at));
    const picked = new Map<string, { onCall: boolean }>();
    for (const r of await this.#store.listRoutes()) {
      const ch = channels.get(r.channelId);
      if (!ch) continue;
      if ((ch.clientId ?? inc.clientId) !== inc.clientId || (r.clientId ?? inc.clientId) !== inc.clientId) continue;
      if (RANK[inc.criticality] > RANK[r.minCriticality] || !r.tiers.includes(inc.tier)) continue;
      if (!r.events.includes(notice.event)) continue;
      // A channel's own failure is announced through the other channels, not through itself.
      if (inc.key === channelIncidentKey(ch.id)) continue;
      if (r.outsideCoverageOnly && (await isCovered())) continue;
      picked.set(ch.id, { onCall: (picked.get(ch.id)?.onCall ?? false) || r.onCall });
    }
    if (picked.size === 0) return;
    // Outside coverage nobody watches the queue: routes that ask for it address whoever is on duty for the tier.
    const wantsOnCall = [...picked.values()].some((p) => p.onCall);
    const onCall =
      wantsOnCall && !(await isCovered())
        ? ((await this.deps.onCall(inc.clientId, inc.tier, notice.at)) ?? null)
        : null;
    const now = this.clock.now();
    const rows: OutboxRecord[] = [...picked].map(([channelId, p]) => {
      const id = newId('nt');
      return {
        id,
        channelId,
        noticeId: notice.id,
        incidentId: inc.id,
        clientId: inc.clientId,
        event: notice.event,
        message: {
          id,
          event: notice.event,
          at: notice.at,
          incident: {
            id: inc.id,
            clientId: inc.clientId,
            siteId: inc.siteId,
            agentIds: inc.agentIds,
            title: inc.title,
            type: inc.type,
            criticality: inc.criticality,
            tier: inc.tier,
            status: inc.status,
            escalationLevel: inc.escalationLevel,
            assignee: inc.assignee,
          },
          detail: notice.detail,
          onCall: p.onCall && onCall ? { userId: onCall.userId, email: onCall.email } : null,
        },
        createdAt: now,
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
        deliveredAt: null,
      };
    });
    const added = await this.#store.enqueue(rows);
    this.logger.info(
      {
        incidentId: inc.id,
        noticeId: notice.id,
        event: notice.event,
        channels: [...picked.keys()],
        onCall: onCall?.userId ?? null,
        alreadyQueued: rows.length - added,
      },
      'notification queued',
    );
  }
}
