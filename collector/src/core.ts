/**
 * The one wiring of the collector's concerns: from a migrated database, the checked configuration and its clock, it
 * builds every store and service and connects them through the ports each concern declares (functions, never
 * tables). `buildApp` adds HTTP on top; the test harnesses call the same function, so what a test exercises is
 * what production runs (a harness that copied this wiring once accepted disabled users production refused).
 * It starts nothing: each long-running part is a `Component` the caller starts and stops.
 */

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestState } from '@outpost/shared';
import { AgentGateway, Agents, agentsMetrics, ConnectionRegistry, Presence } from './agents/index.js';
import { AuditLog } from './audit/index.js';
import { AuthService } from './auth/index.js';
import { AgentReach, type NodeBusHandle, openNodeBus } from './cluster/index.js';
import type { CollectorConfig } from './config.js';
import { Contracts } from './contracts/index.js';
import type { SqlDb } from './db/index.js';
import { SharedRecordings, type SharedState } from './deployment/index.js';
import {
  ChecksPush,
  DETECTION_RELEASE_MS,
  DetectionEngine,
  DetectionPolicies,
  DetectionStore,
  DetectionSweeps,
  PolicyAdmin,
  PolicyStore,
  type RecentChanges,
} from './detection/index.js';
import { EventsStore } from './events/index.js';
import { IncidentService, type IncidentSink } from './incidents/index.js';
import { FleetQueries, Inventory } from './inventory/index.js';
import { Jobs } from './jobs/index.js';
import { LeaseStore, type LeaseTiming } from './leases/index.js';
import { LiveHub } from './live/index.js';
import { MetricsService, MetricsStore } from './metrics/index.js';
import { Notifications, notificationsMetrics } from './notifications/index.js';
import type { MetricFamily } from './observability/index.js';
import { agentRequestDesk, agentRequestSink, Requests } from './requests/index.js';
import { loadOrCreateTicketKey, Sessions } from './sessions/index.js';
import { StreamIngest, StreamStore, streamMetrics } from './stream/index.js';
import { Tenants } from './tenants/index.js';
import { Updates } from './updates/index.js';
import { agentsCluster, connectNodes, sessionsCluster } from './wire-cluster.js';
import { componentsOf } from './wire-components.js';
import { wireHelpdesk } from './wire-helpdesk.js';
import { wireRollouts } from './wire-rollouts.js';
import { detectionPlaceOf, inventoryFactsOf, lastSeenOf, placementOf, snapshotRequester } from './wiring.js';

/** A job's selector resolves in one query; a bound well above the fleet one collector serves. */
const JOB_SELECTOR_LIMIT = 100_000;
/** What an agent that is refused at the connection limit is told to wait before it retries. */
const AGENT_RETRY_AFTER_SEC = 15;

/** What `wireCore` needs: a migrated database and the checked configuration (with its clock and logger). */
export interface CoreInput {
  /** The migrated store, SQLite or PostgreSQL, that every concern's store takes. */
  sql: SqlDb;
  config: CollectorConfig;
  /** The detection policies, loaded before the database opens so a bad file stops the start (default: loaded here). */
  policies?: DetectionPolicies;
  /** Where detection raises incidents (default: the incident service). */
  incidentSink?: IncidentSink;
  /** What changed on a machine before a fault (default: inventory history and ended jobs). */
  recentChanges?: RecentChanges;
  /** This node's bus (default: from `config.cluster`; in process when absent). */
  node?: NodeBusHandle;
  /** This node's name in lease rows: unique per live node on a shared database (default: `defaultNodeId`). */
  nodeId?: string;
  /** Lease TTL and renewal period of the once-only work (default: by dialect, `leasedBy`). */
  leaseTiming?: LeaseTiming;
  /** What every node shares through PostgreSQL (ticket key, releases, recordings); absent: the data directory. */
  shared?: SharedState | undefined;
}

/** Every concern's service, wired, plus what the root starts, stops and scrapes. */
export type Core = Awaited<ReturnType<typeof wireCore>>;

/** Loads the detection policy file of the configuration (throws, naming file and field, on a malformed one). */
export function loadPolicies(config: CollectorConfig): DetectionPolicies {
  return new DetectionPolicies(config.detection.policyFile, () => config.clock.now(), config.logger);
}

/** Builds and connects every concern; starts nothing. */
export async function wireCore(input: CoreInput) {
  const node = input.node ?? (await openNodeBus(input.config));
  const spine = wireSpine(input, node);
  const work = wireWork(input, spine);
  const watch = await wireDetection(input, spine, work);
  const live = wireLive(input, spine, work);
  connect(input, { ...spine, ...work, ...watch, ...live });
  connectNodes(input.config, { ...spine, ...watch, ...live });
  const hub = wireLiveStream(input, spine, work);
  const { agents, audit } = spine;
  const rollouts = wireRollouts(input, { agents, audit, updates: live.updates, incidents: work.incidents });
  const { replies, selfService, email } = wireHelpdesk(input, spine, work);
  const components = componentsOf(input, { ...spine, ...work, ...watch, ...live, hub, rollouts, email, replies });
  const metricFamilies: MetricFamily[] = [
    ...agentsMetrics({ registry: spine.registry, gateway: live.gateway, presence: spine.presence }),
    ...streamMetrics(spine.ingest),
    ...notificationsMetrics(work.notifications),
  ];
  // The lease rows as operators read them (`GET /api/v1/cluster`); the leased work itself holds them (wire-components).
  const leases = new LeaseStore(input.sql);
  return {
    ...spine,
    ...work,
    ...watch,
    ...live,
    live: hub,
    rollouts,
    email,
    selfService,
    components,
    metricFamilies,
    leases,
  };
}

/** The console's live stream: agents coming and going, and every ticket change, pushed to the browsers watching. */
function wireLiveStream({ config }: CoreInput, spine: Spine, work: Work): LiveHub {
  const { clock, logger } = config;
  const hub = new LiveHub(logger.child({ concern: 'live' }), { perUser: 8, total: 1000 });
  spine.registry.onPresence((conn, online) =>
    hub.publish({
      type: 'agent.presence',
      agentId: conn.agentId,
      clientId: conn.clientId,
      status: online ? 'online' : 'offline',
      at: clock.now(),
    }),
  );
  work.incidents.onChange((i) =>
    hub.publish({
      type: 'incident.changed',
      incidentId: i.id,
      clientId: i.clientId,
      status: i.status,
      at: clock.now(),
    }),
  );
  return hub;
}

/** Audit, users, tenants, agents and their live connections, the stream ingest: what every other concern uses. */
function wireSpine({ sql, config }: CoreInput, node: NodeBusHandle) {
  const { clock, logger } = config;
  const audit = new AuditLog(sql, clock, logger);
  const auth = new AuthService({
    db: sql,
    audit,
    clock,
    logger,
    options: {
      sessionTtlMs: config.auth.sessionTtlHours * 3_600_000,
      initialAdminEmail: config.auth.initialAdminEmail,
    },
  });
  const tenants = new Tenants({ db: sql, audit, clock });
  const registry = new ConnectionRegistry();
  const reach = new AgentReach(node.bus, registry, logger.child({ concern: 'cluster' }));
  const agents = new Agents({ db: sql, tenants, registry, audit, clock, logger, ...agentsCluster(node, reach) });
  const events = new EventsStore(sql);
  const ingest = new StreamIngest({ store: new StreamStore(sql), clock, logger });
  const presence = new Presence({ registry, sink: agents, clock, logger, options: config.presence });
  /** Shorthands the ports below ask for, from the tenants' and users' public functions. */
  const ports = {
    clientExists: async (id: string) => (await tenants.client(id)) !== undefined,
    siteClient: async (id: string) => (await tenants.site(id))?.clientId,
    member: (id: string, clientId: string | null) => auth.memberOf(id, clientId),
    agentClient: async (id: string) => (await agents.get(id))?.clientId,
  };
  return { audit, auth, tenants, registry, agents, events, ingest, presence, ports, node, reach };
}
export type Spine = ReturnType<typeof wireSpine>;

/** Inventory, jobs, contracts, incidents and notifications: the concerns that keep the fleet's records. */
function wireWork({ sql, config, incidentSink }: CoreInput, spine: Spine) {
  const { clock, logger } = config;
  const { audit, tenants, agents, reach, ports } = spine;
  const inventory = new Inventory({
    db: sql,
    deps: { placement: placementOf(agents), requestSnapshot: snapshotRequester((id, m) => reach.send(id, m), clock) },
    clock,
    logger,
  });
  const fleet = new FleetQueries(inventory, clock);
  const jobs = new Jobs({
    db: sql,
    audit,
    clock,
    logger: logger.child({ concern: 'jobs' }),
    deps: {
      agent: (id) => agents.get(id),
      agentsIn: (q) => agents.list({ ...q, limit: JOB_SELECTOR_LIMIT, offset: 0 }),
      securityPatchesOlderThan: async (q, days) => (await fleet.patches(q, days, true)).map((r) => r.agentId),
      siteClient: ports.siteClient,
      siteTimezone: async (id) => (await tenants.site(id))?.timezone,
      hostname: (id) => agents.label(id),
      send: (agentId, msg) => reach.send(agentId, msg, true),
      online: (agentId) => reach.online(agentId),
    },
  });
  const contracts = new Contracts({ db: sql, audit, clock, deps: ports });
  const incidents = new IncidentService({
    db: sql,
    audit,
    clock,
    logger: logger.child({ concern: 'incidents' }),
    sla: contracts,
    deps: { siteClient: ports.siteClient, agentPlace: placementOf(agents), member: ports.member },
    options: { autoResolveHoldMs: config.incidents.autoResolveHoldMs, reopenWindowMs: config.incidents.reopenWindowMs },
  });
  // Notifications: incidents tell it every ticket change; a failing channel raises its own incident back.
  const notifications = new Notifications({
    db: sql,
    audit,
    clock,
    logger: logger.child({ concern: 'notifications' }),
    deps: {
      clientExists: ports.clientExists,
      inCoverage: (clientId, siteId, at) => contracts.inCoverage(clientId, siteId, at),
      onCall: (clientId, tier, at) => contracts.onCall(clientId, tier, at),
      incidents,
      noteSent: (incidentId, data) => incidents.note(incidentId, 'notification', data),
    },
    options: config.notifications,
  });
  incidents.setNotifier(notifications);
  // Users' requests (docs/0014-requests.md) become incidents; the machine's recent changes come from the inventory.
  const requests = new Requests({
    db: sql,
    audit,
    clock,
    logger: logger.child({ concern: 'requests' }),
    deps: {
      incidents,
      clientExists: ports.clientExists,
      agentPlace: placementOf(agents),
      defaultSite: async (clientId) => (await tenants.listSites(clientId))[0]?.id,
      recentChanges: (agentId, from, to) => inventory.recentChanges(agentId, from, to),
    },
  });
  return {
    inventory,
    fleet,
    jobs,
    contracts,
    incidents,
    incidentSink: incidentSink ?? incidents,
    notifications,
    requests,
  };
}
export type Work = ReturnType<typeof wireWork>;

/** Detection policies, the engine with its checkpoint and sweeps, time-series storage. */
async function wireDetection(input: CoreInput, spine: Spine, work: Work) {
  const { sql, config } = input;
  const { clock, logger } = config;
  const { agents, tenants, ports } = spine;
  const { inventory, jobs } = work;
  const policies = input.policies ?? loadPolicies(config);
  // The policies stored through the API join the file's (they win per scope) before detection sees any sample.
  const policyAdmin = new PolicyAdmin({
    store: new PolicyStore(sql),
    policies,
    tenants: { clientExists: ports.clientExists, siteClient: ports.siteClient },
    now: () => clock.now(),
    logger: logger.child({ concern: 'detection' }),
    onChange: () => spine.node.bus.invalidate('policy', '*'),
  });
  await policyAdmin.load();
  const detectionStore = new DetectionStore(sql);
  // A single node on SQLite holds every agent from the start (one query); nodes on a shared database each load an
  // agent's state when its socket is ready here and let it go a while after it closed (docs/0017-nodes.md).
  const singleNode = sql.dialect === 'sqlite';
  const detection = new DetectionEngine({
    checkpoint: { store: detectionStore, releaseAfterMs: singleNode ? undefined : DETECTION_RELEASE_MS },
    sink: work.incidentSink,
    presence: { place: detectionPlaceOf(agents, tenants), lastSeen: lastSeenOf(agents) },
    policies: policies.set,
    clock,
    logger,
    options: {
      heartbeatIntervalMs: config.presence.heartbeatIntervalMs,
      // What changed on the machine in the 24 h before a fault, from the inventory history, explains the incident;
      // and the jobs that ended on it then (a patch, a script): "what changed" names the job.
      recentChanges:
        input.recentChanges ??
        (async (a, f, t) =>
          [...(await inventory.recentChanges(a, f, t)), ...(await jobs.recentChanges(a, f, t))].sort(
            (x, y) => x.time - y.time,
          )),
      inventoryFacts: async (agentId) => {
        const facts = await inventoryFactsOf(inventory, agentId);
        // Titles name the machine as people tell it apart: its hostname, with its short id when another has it too.
        return facts && { ...facts, hostname: (await agents.label(agentId)) ?? facts.hostname };
      },
    },
  });
  const metricsStore = new MetricsStore(sql);
  const checkpoints = detection.checkpoints!;
  if (singleNode) await checkpoints.loadAll();
  const metricsService = new MetricsService({ store: metricsStore, consumer: detection, clock, logger });
  const checkpoint = () => checkpoints.checkpoint();
  const sweeps = new DetectionSweeps(
    detection,
    { absenceEveryMs: config.presence.heartbeatIntervalMs, fleet: checkpoints },
    logger,
  );
  const checksPush = new ChecksPush(policies.set, () => clock.now());
  return { policies, policyAdmin, detection, metricsStore, metricsService, checkpoint, sweeps, checksPush };
}
export type Watch = Awaited<ReturnType<typeof wireDetection>>;
/** What talks to connected agents. */
export type Live = ReturnType<typeof wireLive>;

/** The agent endpoint, remote sessions and releases: what talks to connected agents. */
function wireLive({ sql, config, shared }: CoreInput, spine: Spine, work: Work) {
  const { clock, logger } = config;
  const { agents, registry, ingest, presence, audit, ports, node, reach } = spine;
  const gateway = new AgentGateway({
    agents,
    registry,
    ingest,
    presence,
    clock,
    logger,
    limits: {
      helloTimeoutMs: config.limits.helloTimeoutMs,
      maxAgents: config.limits.maxAgents,
      messagesPerSecond: config.limits.agentMessagesPerSecond,
      messageBurst: config.limits.agentMessageBurst,
      framesPerSecond: config.limits.agentFramesPerSecond,
      heartbeatIntervalMs: config.presence.heartbeatIntervalMs,
      retryAfterSec: AGENT_RETRY_AFTER_SEC,
    },
  });
  const sessions = new Sessions({
    db: sql,
    registry,
    audit,
    key: shared?.ticketKey ?? loadOrCreateTicketKey(config.dataDir),
    recordings: shared && new SharedRecordings(shared.store, config.dataDir),
    clock,
    logger,
    options: { dataDir: config.dataDir, ...config.sessions },
    // Remote sessions opened on a machine show on the timeline of its open incidents.
    onOpened: (agentId, session) => work.incidents.noteSessionOpened(agentId, session),
    ...sessionsCluster(node),
  });
  // Releases: served to agents, published by admins (validated, never signed here), assigned per agent.
  const releasesDir =
    config.dataDir === ':memory:' ? join(tmpdir(), `outpost-releases-memory-${process.pid}`) : config.dataDir;
  const updates = new Updates({
    db: sql,
    dataDir: releasesDir,
    shared: shared?.store,
    audit,
    clock,
    logger: logger.child({ concern: 'updates' }),
    deps: {
      send: (agentId, msg) => reach.send(agentId, msg, false),
      clientOf: ports.agentClient,
    },
  });
  return { gateway, sessions, updates };
}

/** The stream sinks, what happens when an agent is ready, on a policy reload and when a user loses access. */
function connect(input: CoreInput, c: Spine & Work & Watch & ReturnType<typeof wireLive>): void {
  const { logger } = input.config;
  const { ingest, gateway, detection, jobs, updates, checksPush } = c;
  ingest.registerSink('stream.event', async (items, now) => {
    await c.events.insertBatch(items, now);
  });
  ingest.registerSink('inventory.report', async (items, now, reactions) => {
    await c.inventory.ingest(items, now);
    // Once the report is durable: run the inventory rules on the machines it came from.
    reactions.afterCommit(async () => {
      for (const agentId of new Set(items.map((i) => i.agentId))) {
        await detection
          .evaluateInventory(agentId)
          .catch((err: unknown) => logger.error({ err, agentId }, 'inventory rules failed'));
      }
    });
  });
  ingest.registerSink('job.status', (items, now) => jobs.ingest(items, now));
  ingest.registerSink('metrics.batch', (items, _now, reactions) => c.metricsService.commit(items, reactions));
  ingest.registerSink('checks.results', (items, _now, reactions) => c.metricsService.commitChecks(items, reactions));
  ingest.registerSink('update.status', (items, now) => updates.ingest(items, now));
  // Users' requests from the workstation: filed from the stream, the agent told its ticket, status queries answered.
  const desk = {
    requests: c.requests,
    incident: (id: string) => c.incidents.get(id),
    agentClient: c.ports.agentClient,
    send: (agentId: string, msg: RequestState) => void c.reach.send(agentId, msg),
    logger: logger.child({ concern: 'requests' }),
  };
  ingest.registerSink('request.file', agentRequestSink(desk));
  gateway.setRequestDesk(agentRequestDesk(desk));
  gateway.setChannelRouter(c.sessions);
  c.auth.credentials.onAccessEnded((userId, why) => c.sessions.endForUser(userId, why));
  gateway.onReady((conn) => {
    updates
      .onAgentReady(conn.agentId)
      .catch((err: unknown) => logger.error({ err, agentId: conn.agentId }, 'update assignment resend failed'));
  });
  // Every agent gets the checks its policy gives it on each connection, and again after a policy reload. A reload
  // also re-judges every machine's inventory against the new rules at once, not at its next report or hourly sweep.
  gateway.onReady((conn) => checksPush.push(conn));
  // Detection holds the state of the agents connected here: loaded when one is ready, let go after it left.
  gateway.onReady((conn) => {
    detection
      .hold(conn.agentId)
      .catch((err: unknown) => logger.error({ err, agentId: conn.agentId }, 'detection state load failed'));
  });
  c.registry.onPresence((conn, online) => {
    if (!online && !c.registry.get(conn.agentId)) void detection.checkpoints?.release(conn.agentId);
  });
  // A machine that comes back gets the jobs that waited for it (and those it never answered: its journal dedupes).
  gateway.onReady((conn) => {
    jobs
      .dispatch(conn.agentId, true)
      .catch((err: unknown) => logger.error({ err, agentId: conn.agentId }, 'job dispatch failed'));
  });
  c.policies.onReload(() => {
    checksPush.pushAll(c.registry.values());
    detection.reconcileChecks().catch((err: unknown) => logger.error({ err }, 'check reconciliation failed'));
    detection.reconcileThresholds().catch((err: unknown) => logger.error({ err }, 'threshold reconciliation failed'));
    detection.sweepInventory().catch((err: unknown) => logger.error({ err }, 'inventory rules sweep failed'));
  });
}
