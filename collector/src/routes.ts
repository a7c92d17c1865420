/**
 * Which concern's routes serve on which listener, and what each plugin is handed from the wired core. The list is
 * data for the composition root: a new concern adds its plugin here (routes) and nowhere else.
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AGENT_WS_PATH } from '@outpost/shared';
import { agentsRoutes } from './agents/index.js';
import { auditRoutes } from './audit/index.js';
import { authRoutes, type Guard } from './auth/index.js';
import { clusterStatusRoutes } from './cluster/status-routes.js';
import type { CollectorConfig } from './config.js';
import { contractsRoutes } from './contracts/index.js';
import type { Core } from './core.js';
import { policyRoutes } from './detection/policy-routes.js';
import { detectionRoutes } from './detection/routes.js';
import { installAgentWebsocket, installTechnicianWebsocket } from './http/server.js';
import type { App } from './http/types.js';
import { incidentsRoutes } from './incidents/index.js';
import { DownloadThrottle, installerDirectory, installerLinesRoutes, installersRoutes } from './installers/index.js';
import { inventoryRoutes } from './inventory/index.js';
import { jobsRoutes } from './jobs/index.js';
import { liveRoutes } from './live/index.js';
import { metricsRoutes } from './metrics/index.js';
import { notificationsRoutes } from './notifications/index.js';
import { type MetricsRegistry, observabilityRoutes } from './observability/index.js';
import { perimeterRoutes } from './reports/perimeter/index.js';
import { qualityRoutes } from './reports/quality/index.js';
import { chatRoutes, requestsRoutes, selfServiceRoutes } from './requests/index.js';
import { rolloutsRoutes } from './rollouts/index.js';
import { sessionsRoutes } from './sessions/index.js';
import { tenantsRoutes } from './tenants/index.js';
import { updatesAgentRoutes, updatesRoutes } from './updates/index.js';
import { COLLECTOR_VERSION } from './version.js';

/** What the route plugins share beyond the core. */
export interface RouteContext {
  core: Core;
  config: CollectorConfig;
  guard: Guard;
  metrics: MetricsRegistry;
}

/** Registers every route: the agent endpoint on `agentEndpoint`, the rest on `api` (the same instance unless split). */
export async function registerRoutes(api: App, agentEndpoint: App, ctx: RouteContext): Promise<void> {
  const separate = api !== agentEndpoint;
  await installAgentWebsocket(agentEndpoint, ctx.config);
  await agentEndpoint.register(async (scope) => {
    scope.get(AGENT_WS_PATH, { websocket: true, config: { public: true } }, (socket, req) =>
      ctx.core.gateway.handle(socket, req.ip),
    );
  });
  const observability = observabilityRoutes({
    metrics: ctx.metrics,
    guard: ctx.guard,
    version: COLLECTOR_VERSION,
    agentsConnected: () => ctx.core.registry.size,
  });
  await api.register(observability);
  if (separate) await agentEndpoint.register(observability);
  for (const plugin of [...fleetPlugins(ctx), ...workPlugins(ctx)]) await api.register(plugin);
  // Slack and Teams post here, signed; raw-body parsers of their own (docs/0014-requests.md).
  await api.register(
    chatRoutes({
      requests: ctx.core.requests,
      settings: ctx.config.requests,
      now: () => ctx.config.clock.now(),
      logger: ctx.config.logger.child({ concern: 'requests' }),
    }),
  );
  // The users' self-service page under /help/, with its own sessions (docs/0014-requests.md).
  if (ctx.core.selfService && ctx.config.requests.selfService)
    await api.register(
      selfServiceRoutes({
        self: ctx.core.selfService,
        origin: new URL(ctx.config.requests.selfService.url).origin,
      }),
    );
  if (separate) await installTechnicianWebsocket(api);
  await agentEndpoint.register(updatesAgentRoutes({ updates: ctx.core.updates }));
  for (const plugin of livePlugins(ctx)) await api.register(plugin);
}

/** Accounts, tenants, agents, audit, inventory and its reports, detection and metrics. */
function fleetPlugins({ core, config, guard }: RouteContext): FastifyPluginAsyncTypebox[] {
  const { auth, audit, tenants, agents, inventory, clock } = { ...core, clock: config.clock };
  const clientOfSite = async (id: string) => (await tenants.site(id))?.clientId;
  const installerDir = installerDirectory(config.installers.dir);
  return [
    installersRoutes({
      directory: installerDir,
      throttle: new DownloadThrottle(config.installers.downloadsPerMinute, () => clock.now()),
    }),
    // The console's "add machines": a token and the same one-liners `outpost installers create` prints.
    installerLinesRoutes({
      directory: installerDir,
      guard,
      certificate: config.tls.enabled ? config.tlsMaterial?.cert : undefined,
      siteClient: clientOfSite,
      createToken: (actor, body) => agents.createEnrollmentToken(actor, body),
      releaseRootSha256: () => core.updates.state().rootSha256,
    }),
    authRoutes({ auth, guard }),
    tenantsRoutes({ tenants, guard }),
    agentsRoutes({ agents, events: core.events, guard }),
    auditRoutes({ audit, guard }),
    liveRoutes({ hub: core.live, guard, audit, allowedOrigins: config.sessions.allowedOrigins }),
    inventoryRoutes({
      inventory,
      queries: core.fleet,
      guard,
      audit,
      clock,
      clientOfAgent: core.ports.agentClient,
      clientOfSite,
    }),
    perimeterRoutes({
      inventory,
      guard,
      clock,
      clientOfSite,
      clientName: async (id) => (await tenants.client(id))?.name,
      siteName: async (id) => (await tenants.site(id))?.name,
    }),
    detectionRoutes({ policies: core.policies, guard, audit }),
    policyRoutes({ admin: core.policyAdmin, guard, audit }),
    metricsRoutes({ store: core.metricsStore, guard, clock, agentClient: core.ports.agentClient }),
  ];
}

/** Tickets, contracts, jobs, notifications and the service-quality report. */
function workPlugins({ core, config, guard }: RouteContext): FastifyPluginAsyncTypebox[] {
  const { incidents, contracts, agents, tenants, audit } = core;
  return [
    incidentsRoutes({ incidents, guard, userName: async (id) => (await core.auth.getUser(id))?.name }),
    requestsRoutes({
      requests: core.requests,
      guard,
      incidentClient: async (id) => (await incidents.get(id))?.clientId,
    }),
    contractsRoutes({ contracts, guard }),
    jobsRoutes({ jobs: core.jobs, guard }),
    notificationsRoutes({ notifications: core.notifications, guard }),
    qualityRoutes({
      sources: {
        forPeriod: (clientId, from, to) => incidents.forPeriod(clientId, from, to),
        penalties: async (clientId) => (await contracts.contract(clientId))?.penalties ?? null,
        hostname: (agentId) => agents.label(agentId),
      },
      client: (id) => tenants.client(id),
      guard,
      audit,
      now: () => config.clock.now(),
    }),
  ];
}

/** Releases and remote sessions (after the technicians' WebSocket support is in place). */
function livePlugins({ core, config, guard }: RouteContext): FastifyPluginAsyncTypebox[] {
  return [
    updatesRoutes({ updates: core.updates, guard, agentClient: core.ports.agentClient }),
    rolloutsRoutes({ rollouts: core.rollouts, guard }),
    clusterStatusRoutes({
      guard,
      node: core.node.bus.nodeId,
      deployment: config.cluster?.deployment ?? 'local',
      clustered: core.node.clustered,
      storage: config.storage.url ? 'postgres' : 'sqlite',
      presence: core.node.bus.presence,
      localAgents: () => core.registry.size,
      leases: () => core.leases.list(),
      now: () => Date.now(),
    }),
    sessionsRoutes({
      sessions: core.sessions,
      agents: core.agents,
      audit: core.audit,
      guard,
      allowedOrigins: config.sessions.allowedOrigins,
    }),
  ];
}
