/**
 * The composition root: opens the store, runs migrations, builds every concern and wires them into fastify.
 * It never listens (server.ts does), so tests build it on a temp directory and use `inject()` or a free port.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import { AGENT_WS_PATH } from '@outpost/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { AgentGateway, Agents, agentsMigrations, agentsRoutes, ConnectionRegistry, Presence } from './agents/index.js';
import { AuditLog, auditMigrations, auditRoutes } from './audit/index.js';
import { AuthService, authMigrations, authRoutes, createAuthenticate, createGuard } from './auth/index.js';
import { agentsListenSeparately, type CollectorConfig } from './config.js';
import { Contracts, contractsMigrations, contractsRoutes } from './contracts/index.js';
import { type Db, migrate, openDatabase } from './db/index.js';
import {
  ChecksPush,
  DetectionEngine,
  DetectionPolicies,
  detectionMigrations,
  PolicyAdmin,
  PolicyStore,
  type RecentChanges,
} from './detection/index.js';
import { policyRoutes } from './detection/policy-routes.js';
import { detectionRoutes } from './detection/routes.js';
import { EventsStore, eventsMigrations } from './events/index.js';
import {
  clientErrorHandler,
  errorHandler,
  frameworkErrorHandler,
  notFoundHandler,
  requireHost,
  websocketErrorHandler,
  websocketRequired,
} from './http/errors.js';
import { rejectUnsafeNumbers } from './http/numbers.js';
import type { App } from './http/types.js';
import { IncidentService, type IncidentSink, incidentsMigrations, incidentsRoutes } from './incidents/index.js';
import { DownloadThrottle, installerDirectory, installersRoutes } from './installers/index.js';
import { FleetQueries, Inventory, inventoryMigrations, inventoryRoutes } from './inventory/index.js';
import { Jobs, jobsMigrations, jobsRoutes } from './jobs/index.js';
import { MetricsService, MetricsStore, metricsMigrations, metricsRoutes } from './metrics/index.js';
import { Notifications, notificationsMigrations, notificationsRoutes } from './notifications/index.js';
import { MetricsRegistry, observabilityRoutes } from './observability/index.js';
import { perimeterRoutes } from './reports/perimeter/index.js';
import { qualityRoutes } from './reports/quality/index.js';
import { Rollouts, releasePlatformOf, rolloutsMigrations, rolloutsRoutes } from './rollouts/index.js';
import { loadOrCreateTicketKey, Sessions, sessionsMigrations, sessionsRoutes } from './sessions/index.js';
import { StreamIngest, StreamStore, streamMigrations } from './stream/index.js';
import { Tenants, tenantsMigrations, tenantsRoutes } from './tenants/index.js';
import { Updates, updatesAgentRoutes, updatesMigrations, updatesRoutes } from './updates/index.js';
import { COLLECTOR_VERSION } from './version.js';
import { installWeb } from './web/index.js';
import { inventoryFactsOf } from './wiring.js';

/** Every migration of every concern; the runner applies them in id order. */
export const MIGRATIONS = [
  ...auditMigrations,
  ...authMigrations,
  ...tenantsMigrations,
  ...agentsMigrations,
  ...streamMigrations,
  ...eventsMigrations,
  ...inventoryMigrations,
  ...metricsMigrations,
  ...detectionMigrations,
  ...sessionsMigrations,
  ...contractsMigrations,
  ...incidentsMigrations,
  ...notificationsMigrations,
  ...jobsMigrations,
  ...updatesMigrations,
  ...rolloutsMigrations,
];

/** A route as registered, for the security tests (anonymous refusal, fuzzing from the declared schemas). */
export interface RegisteredRoute {
  method: string;
  url: string;
  public: boolean;
  websocket: boolean;
  /** The request schemas the route declared (TypeBox / JSON Schema), as fastify received them. */
  schema: { body?: unknown; querystring?: unknown; params?: unknown };
}

/** The built collector: fastify instances (not listening), services, and a way to stop everything. */
export interface Collector {
  /** Technicians' API and console (and the agent endpoint when they share a listener). */
  api: App;
  /** The instance serving `/v1/agent`: `api` itself unless the agents listen separately. */
  agentEndpoint: App;
  db: Db;
  audit: AuditLog;
  auth: AuthService;
  tenants: Tenants;
  agents: Agents;
  registry: ConnectionRegistry;
  gateway: AgentGateway;
  ingest: StreamIngest;
  events: EventsStore;
  presence: Presence;
  metrics: MetricsRegistry;
  /** Devices, current inventory, change history (the `inventory.report` sink). */
  inventory: Inventory;
  sessions: Sessions;
  /** Time-series storage and the metrics stream sink. */
  metricsService: MetricsService;
  /** The streaming detection engine. */
  detection: DetectionEngine;
  /** The detection policies in force (the policy file, then the stored ones), reloadable. */
  policies: DetectionPolicies;
  /** The detection policies stored through the API. */
  policyAdmin: PolicyAdmin;
  /** Where detection raises incidents: the incident service unless a test injects another sink. */
  incidentSink: IncidentSink;
  /** Tickets, their SLA clocks and the SLA engine (notifications binds itself with `setNotifier`). */
  incidents: IncidentService;
  /** Calendars, support contracts and on-call rotations (`onCall` answers who is on duty). */
  contracts: Contracts;
  /** Channels, routing and the notification outbox with its delivery worker (incidents' notifier). */
  notifications: Notifications;
  /** Script library, patch/software/script jobs and their delivery. */
  jobs: Jobs;
  routes: RegisteredRoute[];
  /** Signed releases, assignments and agents' update statuses. */
  updates: Updates;
  /** Staged rollouts of a release, driven by a timer from their stored state. */
  rollouts: Rollouts;
  /** Credentials of the admin created on this first start, to print once. */
  initialAdmin: { email: string; password: string } | undefined;
  close(): Promise<void>;
}

function createFastify(config: CollectorConfig, routes: RegisteredRoute[]): App {
  // Node's own Host check answers with an empty 400; `requireHost` below refuses the same requests, coded.
  const server = { requireHostHeader: false };
  const tls =
    config.tls.enabled && config.tlsMaterial
      ? { https: { ...server, cert: config.tlsMaterial.cert, key: config.tlsMaterial.key } }
      : { http: server };
  const app = Fastify({
    loggerInstance: config.logger,
    bodyLimit: config.limits.apiBodyLimitBytes,
    // Unknown fields are refused, not silently dropped: a typo in a request must not pass unnoticed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    forceCloseConnections: true,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    ...tls,
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  typed.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const ws = r as { websocket?: boolean; wsHandler?: unknown; handler: unknown };
    const isWebsocket = ws.websocket === true;
    if (isWebsocket) {
      // @fastify/websocket answers a plain (non-upgrade) request to a `websocket: true` route with an empty 404.
      // As `wsHandler` beside an HTTP `handler` (the plugin's other form, same upgrade path, registered after this
      // hook runs) the plain request gets a coded refusal instead.
      ws.wsHandler = ws.handler;
      ws.handler = websocketRequired;
      ws.websocket = false;
    }
    for (const method of methods) {
      if (method === 'HEAD') continue;
      routes.push({
        method,
        url: r.url,
        public: r.config?.public === true,
        websocket: isWebsocket,
        schema: {
          ...(r.schema?.body !== undefined ? { body: r.schema.body } : {}),
          ...(r.schema?.querystring !== undefined ? { querystring: r.schema.querystring } : {}),
          ...(r.schema?.params !== undefined ? { params: r.schema.params } : {}),
        },
      });
    }
  });
  typed.addHook('onRequest', requireHost);
  typed.addHook('preHandler', rejectUnsafeNumbers);
  typed.setErrorHandler(errorHandler);
  typed.setNotFoundHandler(notFoundHandler);
  typed.decorateRequest('actor', null);
  return typed;
}

/** Replacements tests may inject for what detection otherwise gets from the incidents and inventory concerns. */
export interface DetectionDeps {
  incidentSink?: IncidentSink;
  recentChanges?: RecentChanges;
}

/** Builds the collector from a checked configuration. */
export async function buildApp(config: CollectorConfig, deps: DetectionDeps = {}): Promise<Collector> {
  const { clock, logger } = config;
  // Before anything opens: a malformed policy file stops the start with the file and field named.
  const policies = new DetectionPolicies(config.detection.policyFile, () => clock.now(), logger);
  const db = openDatabase(config.dataDir === ':memory:' ? ':memory:' : join(config.dataDir, 'outpost.db'));
  const applied = migrate(db, MIGRATIONS);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');

  const audit = new AuditLog(db, clock, logger);
  const auth = new AuthService(db, audit, clock, logger, {
    sessionTtlMs: config.auth.sessionTtlHours * 3_600_000,
    initialAdminEmail: config.auth.initialAdminEmail,
  });
  const tenants = new Tenants(db, audit, clock);
  // The policies stored through the API join the file's (they win per scope) before detection sees any sample.
  const policyAdmin = new PolicyAdmin(
    new PolicyStore(db),
    policies,
    {
      clientExists: async (id) => (await tenants.client(id)) !== undefined,
      siteClient: async (id) => (await tenants.site(id))?.clientId,
    },
    () => clock.now(),
    logger.child({ concern: 'detection' }),
  );
  policyAdmin.load();
  const registry = new ConnectionRegistry();
  const agents = new Agents(db, tenants, registry, audit, clock, logger);
  const events = new EventsStore(db);
  const ingest = new StreamIngest(new StreamStore(db), clock, logger);
  ingest.registerSink('stream.event', async (items, now) => {
    await events.insertBatch(items, now);
  });
  const presence = new Presence(registry, agents, clock, logger, config.presence);
  /** Where an agent sits (client and site), for the concerns that file things per client. */
  const placeOf = async (id: string) => {
    const a = await agents.get(id);
    return a && { clientId: a.clientId, siteId: a.siteId };
  };
  const inventory = new Inventory(
    db,
    {
      placement: placeOf,
      requestSnapshot: (agentId, probes) =>
        registry.get(agentId)?.send({
          type: 'inventory.request',
          id: randomBytes(9).toString('base64url'),
          expiresAt: clock.now() + 600_000,
          probes,
        }),
    },
    clock,
    logger,
  );
  ingest.registerSink('inventory.report', async (items, now) => {
    await inventory.ingest(items, now);
    // The report is durable: run the inventory rules on the machines it came from.
    for (const agentId of new Set(items.map((i) => i.agentId))) {
      await detection
        .evaluateInventory(agentId)
        .catch((err: unknown) => logger.error({ err, agentId }, 'inventory rules failed'));
    }
  });
  const fleet = new FleetQueries(inventory, clock);
  const jobs = new Jobs(db, audit, clock, logger.child({ concern: 'jobs' }), {
    agent: (id) => agents.get(id),
    agentsIn: (q) => agents.list({ ...q, limit: 100_000, offset: 0 }),
    securityPatchesOlderThan: async (q, days) => fleet.patches(q, days, true).map((r) => r.agentId),
    siteClient: async (id) => (await tenants.site(id))?.clientId,
    siteTimezone: async (id) => (await tenants.site(id))?.timezone,
    hostname: (id) => agents.label(id),
    send: (agentId, msg) => {
      const conn = registry.get(agentId);
      if (!conn?.open) return false;
      conn.send(msg);
      return true;
    },
    online: (agentId) => registry.get(agentId)?.open === true,
  });
  ingest.registerSink('job.status', (items, now) => jobs.ingest(items, now));
  const contracts = new Contracts(db, audit, clock, {
    clientExists: async (id) => (await tenants.client(id)) !== undefined,
    siteClient: async (id) => (await tenants.site(id))?.clientId,
    member: (id, clientId) => auth.memberOf(id, clientId),
  });
  const incidents = new IncidentService({
    db,
    audit,
    clock,
    logger: logger.child({ concern: 'incidents' }),
    sla: contracts,
    deps: {
      siteClient: async (id) => (await tenants.site(id))?.clientId,
      agentPlace: placeOf,
      member: (id, clientId) => auth.memberOf(id, clientId),
    },
    options: { autoResolveHoldMs: config.incidents.autoResolveHoldMs, reopenWindowMs: config.incidents.reopenWindowMs },
  });
  const incidentSink = deps.incidentSink ?? incidents;
  // Notifications: incidents tell it every ticket change; a failing channel raises its own incident back.
  const notifications = new Notifications(
    db,
    audit,
    clock,
    logger.child({ concern: 'notifications' }),
    {
      clientExists: async (id) => (await tenants.client(id)) !== undefined,
      inCoverage: (clientId, siteId, at) => contracts.inCoverage(clientId, siteId, at),
      onCall: (clientId, tier, at) => contracts.onCall(clientId, tier, at),
      incidents,
      noteSent: (incidentId, data) => incidents.note(incidentId, 'notification', data),
    },
    config.notifications,
  );
  incidents.setNotifier(notifications);
  const detection = new DetectionEngine(
    incidentSink,
    {
      place: async (id) => {
        const a = await agents.get(id);
        if (!a || a.revokedAt) return undefined;
        const hostname = (await agents.label(id)) ?? a.facts.hostname;
        return { clientId: a.clientId, siteId: a.siteId, hostname, timezone: (await tenants.site(a.siteId))?.timezone };
      },
      lastSeen: async () => {
        const out: { agentId: string; lastSeenAt: number | null; online: boolean }[] = [];
        for (let offset = 0; ; offset += 1000) {
          const page = await agents.list({ limit: 1000, offset });
          for (const a of page) out.push({ agentId: a.id, lastSeenAt: a.lastSeenAt, online: agents.isOnline(a.id) });
          if (page.length < 1000) return out;
        }
      },
    },
    policies.set,
    clock,
    logger,
    {
      heartbeatIntervalMs: config.presence.heartbeatIntervalMs,
      // What changed on the machine in the 24 h before a fault, from the inventory history, explains the incident.
      // …and the jobs that ended on it then (a patch, a script): "what changed" names the job.
      recentChanges:
        deps.recentChanges ??
        (async (a, f, t) =>
          [...(await inventory.recentChanges(a, f, t)), ...(await jobs.recentChanges(a, f, t))].sort(
            (x, y) => x.time - y.time,
          )),
      inventoryFacts: async (agentId) => {
        const facts = inventoryFactsOf(inventory, agentId);
        // Titles name the machine as people tell it apart: its hostname, with its short id when another has it too.
        return facts && { ...facts, hostname: (await agents.label(agentId)) ?? facts.hostname };
      },
    },
  );
  const metricsStore = new MetricsStore(db);
  detection.restore(metricsStore.loadState());
  const metricsService = new MetricsService(metricsStore, detection, clock, logger);
  ingest.registerSink('metrics.batch', async (items) => {
    await metricsService.commit(items);
  });
  ingest.registerSink('checks.results', async (items) => {
    await metricsService.commitChecks(items);
  });
  const checkpoint = async () => metricsStore.saveState(detection.snapshot());
  const gateway = new AgentGateway(agents, registry, ingest, presence, clock, logger, {
    helloTimeoutMs: config.limits.helloTimeoutMs,
    maxAgents: config.limits.maxAgents,
    messagesPerSecond: config.limits.agentMessagesPerSecond,
    messageBurst: config.limits.agentMessageBurst,
    framesPerSecond: config.limits.agentFramesPerSecond,
    heartbeatIntervalMs: config.presence.heartbeatIntervalMs,
    retryAfterSec: 15,
  });
  const sessions = new Sessions({
    db,
    registry,
    audit,
    key: loadOrCreateTicketKey(config.dataDir),
    clock,
    logger,
    options: { dataDir: config.dataDir, ...config.sessions },
    // Remote sessions opened on a machine show on the timeline of its open incidents.
    onOpened: (agentId, session) => incidents.noteSessionOpened(agentId, session),
  });
  gateway.setChannelRouter(sessions);
  auth.credentials.onAccessEnded((userId) => sessions.endForUser(userId, 'user disabled'));
  // Releases: served to agents, published by admins (validated, never signed here), assigned per agent.
  const updates = new Updates(
    db,
    config.dataDir === ':memory:' ? join(tmpdir(), `outpost-releases-memory-${process.pid}`) : config.dataDir,
    audit,
    clock,
    logger.child({ concern: 'updates' }),
    {
      send: (agentId, msg) => {
        const conn = registry.get(agentId);
        if (!conn) return false;
        conn.send(msg);
        return true;
      },
      clientOf: async (id) => (await agents.get(id))?.clientId,
    },
  );
  ingest.registerSink('update.status', (items, now) => updates.ingest(items, now));
  gateway.onReady((conn) => {
    updates
      .onAgentReady(conn.agentId)
      .catch((err: unknown) => logger.error({ err, agentId: conn.agentId }, 'update assignment resend failed'));
  });
  // Rollouts drive the updates concern's assignment seam wave by wave and read back what agents reported.
  const fleetAgent = (a: NonNullable<Awaited<ReturnType<typeof agents.get>>>) => ({
    agentId: a.id,
    clientId: a.clientId,
    siteId: a.siteId,
    platform: releasePlatformOf(a.facts.os),
    version: a.agentVersion,
    online: agents.isOnline(a.id),
    revoked: a.revokedAt !== null,
  });
  const rollouts = new Rollouts(db, audit, clock, logger.child({ concern: 'rollouts' }), {
    resolve: async (t) => {
      const all = await agents.list({
        ...(t.clientId !== undefined ? { clientIds: [t.clientId] } : {}),
        siteId: t.siteId,
        limit: 1_000_000,
        offset: 0,
      });
      const named = t.agentIds ? new Set(t.agentIds) : undefined;
      return all.filter((a) => !named || named.has(a.id)).map(fleetAgent);
    },
    agent: async (id) => {
      const a = await agents.get(id);
      return a && fleetAgent(a);
    },
    assign: async ({ agentId, clientId, version, id, rolloutId }) =>
      (
        await updates.assign(
          agentId,
          clientId,
          version,
          { kind: 'system', id: 'system' },
          { id, context: { rolloutId } },
        )
      ).sent,
    outcome: async (agentId, assignmentId) => {
      const s = (await updates.statuses(agentId, 20)).find((x) => x.assignmentId === assignmentId);
      return s && { phase: s.phase, code: s.code, reason: s.reason, time: s.time };
    },
    releases: () => updates.state().releases,
    incidents,
  });
  // Every agent gets the checks its policy gives it on each connection, and again after a policy reload. A reload
  // also re-judges every machine's inventory against the new rules at once, not at its next report or hourly sweep.
  const checksPush = new ChecksPush(policies.set, () => clock.now());
  gateway.onReady((conn) => checksPush.push(conn));
  // A machine that comes back gets the jobs that waited for it (and those it never answered: its journal dedupes).
  gateway.onReady((conn) => {
    jobs
      .dispatch(conn.agentId, true)
      .catch((err: unknown) => logger.error({ err, agentId: conn.agentId }, 'job dispatch failed'));
  });
  policies.onReload(() => {
    checksPush.pushAll(registry.values());
    detection.reconcileChecks().catch((err: unknown) => logger.error({ err }, 'check reconciliation failed'));
    detection.reconcileThresholds().catch((err: unknown) => logger.error({ err }, 'threshold reconciliation failed'));
    detection.sweepInventory().catch((err: unknown) => logger.error({ err }, 'inventory rules sweep failed'));
  });
  const metrics = new MetricsRegistry();
  metrics.add({
    name: 'outpost_agents_connected',
    help: 'Agents with a live, authenticated socket',
    type: 'gauge',
    read: () => registry.size,
  });
  metrics.add({
    name: 'outpost_agent_handshakes_total',
    help: 'Agent handshakes completed',
    type: 'counter',
    read: () => gateway.counters.handshakes,
  });
  metrics.add({
    name: 'outpost_agent_enrollments_total',
    help: 'Agents enrolled',
    type: 'counter',
    read: () => gateway.counters.enrollments,
  });
  metrics.add({
    name: 'outpost_agent_messages_total',
    help: 'Frames received from agents',
    type: 'counter',
    read: () => gateway.counters.messages,
  });
  metrics.add({
    name: 'outpost_agent_socket_closes_total',
    help: 'Agent sockets closed, by close code',
    type: 'counter',
    label: 'code',
    read: () => gateway.counters.closesByCode,
  });
  metrics.add({
    name: 'outpost_agent_pong_timeouts_total',
    help: 'Agent sockets terminated for a missed pong',
    type: 'counter',
    read: () => presence.pongTimeouts,
  });
  metrics.add({
    name: 'outpost_stream_committed_total',
    help: 'Sequenced agent messages committed',
    type: 'counter',
    read: () => ingest.counters.committed,
  });
  metrics.add({
    name: 'outpost_stream_duplicates_total',
    help: 'Resent agent messages ignored',
    type: 'counter',
    read: () => ingest.counters.duplicates,
  });
  metrics.add({
    name: 'outpost_stream_batches_total',
    help: 'Stream commit batches',
    type: 'counter',
    read: () => ingest.counters.batches,
  });

  metrics.add({
    name: 'outpost_notifications_sent_total',
    help: 'Notifications accepted by their channel',
    type: 'counter',
    read: () => notifications.worker.counters.sent,
  });
  metrics.add({
    name: 'outpost_notifications_failed_total',
    help: 'Notification delivery attempts that failed (retried)',
    type: 'counter',
    read: () => notifications.worker.counters.failed,
  });

  const initialAdmin = await auth.ensureInitialAdmin();
  const guard = createGuard(audit);
  const authenticate = createAuthenticate(auth, { audit, allowedOrigins: config.sessions.allowedOrigins });
  const routes: RegisteredRoute[] = [];

  const api = createFastify(config, routes);
  const separate = agentsListenSeparately(config);
  const agentEndpoint = separate ? createFastify(config, routes) : api;

  for (const app of separate ? [api, agentEndpoint] : [api]) {
    app.addHook('onRequest', authenticate);
  }
  // First on the API instance: the OpenAPI generator and the security headers must see every route after it.
  await installWeb(api, { version: COLLECTOR_VERSION });
  await agentEndpoint.register(websocket, {
    errorHandler: websocketErrorHandler,
    options: { maxPayload: config.limits.agentMaxPayloadBytes, perMessageDeflate: false, clientTracking: false },
  });
  await agentEndpoint.register(async (scope) => {
    scope.get(AGENT_WS_PATH, { websocket: true, config: { public: true } }, (socket, req) =>
      gateway.handle(socket, req.ip),
    );
  });
  const observability = observabilityRoutes({
    metrics,
    guard,
    version: COLLECTOR_VERSION,
    agentsConnected: () => registry.size,
  });
  await api.register(observability);
  if (separate) await agentEndpoint.register(observability);
  await api.register(
    installersRoutes({
      directory: installerDirectory(config.installers.dir),
      throttle: new DownloadThrottle(config.installers.downloadsPerMinute, () => clock.now()),
    }),
  );
  await api.register(authRoutes({ auth, guard }));
  await api.register(tenantsRoutes({ tenants, guard }));
  await api.register(agentsRoutes({ agents, events, guard }));
  await api.register(auditRoutes({ audit, guard }));
  await api.register(
    inventoryRoutes({
      inventory,
      queries: fleet,
      guard,
      audit,
      clock,
      clientOfAgent: async (id) => (await agents.get(id))?.clientId,
      clientOfSite: async (id) => (await tenants.site(id))?.clientId,
    }),
  );
  await api.register(
    perimeterRoutes({
      inventory,
      guard,
      clock,
      clientOfSite: async (id) => (await tenants.site(id))?.clientId,
      clientName: async (id) => (await tenants.client(id))?.name,
      siteName: async (id) => (await tenants.site(id))?.name,
    }),
  );
  await api.register(detectionRoutes({ policies, guard, audit }));
  await api.register(policyRoutes({ admin: policyAdmin, guard, audit }));
  await api.register(
    metricsRoutes({
      store: metricsStore,
      guard,
      clock,
      agentClient: async (id) => (await agents.get(id))?.clientId,
    }),
  );
  await api.register(incidentsRoutes({ incidents, guard, userName: async (id) => (await auth.getUser(id))?.name }));
  await api.register(contractsRoutes({ contracts, guard }));
  await api.register(jobsRoutes({ jobs, guard }));
  await api.register(notificationsRoutes({ notifications, guard }));
  await api.register(
    qualityRoutes({
      sources: {
        forPeriod: (clientId, from, to) => incidents.forPeriod(clientId, from, to),
        penalties: async (clientId) => (await contracts.contract(clientId))?.penalties ?? null,
        hostname: (agentId) => agents.label(agentId),
      },
      client: (id) => tenants.client(id),
      guard,
      audit,
      now: () => clock.now(),
    }),
  );
  if (separate)
    await api.register(websocket, {
      errorHandler: websocketErrorHandler,
      options: { maxPayload: 256 * 1024, perMessageDeflate: false },
    });
  await agentEndpoint.register(updatesAgentRoutes({ updates }));
  await api.register(updatesRoutes({ updates, guard, agentClient: async (id) => (await agents.get(id))?.clientId }));
  await api.register(rolloutsRoutes({ rollouts, guard }));
  await api.register(
    sessionsRoutes({ sessions, agents, audit, guard, allowedOrigins: config.sessions.allowedOrigins }),
  );
  await api.ready();
  if (separate) await agentEndpoint.ready();
  presence.start();
  sessions.start();
  metricsService.start(60_000, checkpoint);
  const inventoryRulesTimer = setInterval(() => {
    detection.sweepInventory().catch((err: unknown) => logger.error({ err }, 'inventory rules sweep failed'));
  }, 3_600_000).unref();
  incidents.start(config.incidents.tickMs);
  notifications.start();
  jobs.start();
  rollouts.start();
  const absenceTimer = setInterval(() => {
    detection.sweepAbsence().catch((err: unknown) => logger.error({ err }, 'absence sweep failed'));
  }, config.presence.heartbeatIntervalMs).unref();

  let closed = false;
  return {
    api,
    agentEndpoint,
    db,
    audit,
    auth,
    tenants,
    agents,
    registry,
    gateway,
    ingest,
    events,
    presence,
    metrics,
    inventory,
    sessions,
    metricsService,
    detection,
    policies,
    policyAdmin,
    incidentSink,
    incidents,
    contracts,
    notifications,
    jobs,
    routes,
    updates,
    rollouts,
    initialAdmin,
    async close() {
      if (closed) return;
      closed = true;
      await sessions.stop();
      gateway.stop();
      await ingest.idle();
      await presence.stop();
      clearInterval(absenceTimer);
      clearInterval(inventoryRulesTimer);
      metricsService.stop();
      await incidents.stop();
      await notifications.stop();
      jobs.stop();
      rollouts.stop();
      await checkpoint();
      if (separate) await agentEndpoint.close();
      await api.close();
      metrics.close();
      db.close();
    },
  };
}
