/**
 * The composition root: opens the store, runs migrations, wires every concern (`wireCore`, shared with the test
 * harnesses), puts HTTP on top (`http/server.ts`, `routes.ts`) and starts what each concern brought. It registers
 * no metric, arms no timer and holds no adapter of its own: concerns contribute those.
 * It never listens (server.ts does), so tests build it on a temp directory and use `inject()` or a free port.
 */
import { agentsMigrations } from './agents/index.js';
import { auditMigrations } from './audit/index.js';
import { authMigrations, createAuthenticate, createGuard } from './auth/index.js';
import type { CollectorConfig } from './config.js';
import { contractsMigrations } from './contracts/index.js';
import { type Core, loadPolicies, wireCore } from './core.js';
import { openStorage, refuseUnportedStorage, type SqlDb } from './db/index.js';
import { deploymentMigrations, loadSharedState } from './deployment/index.js';
import { detectionMigrations, type RecentChanges } from './detection/index.js';
import { eventsMigrations } from './events/index.js';
import { createListeners, type RegisteredRoute } from './http/server.js';
import type { App } from './http/types.js';
import { type IncidentSink, incidentsMigrations } from './incidents/index.js';
import { inventoryMigrations } from './inventory/index.js';
import { jobsMigrations } from './jobs/index.js';
import { leasesMigrations } from './leases/index.js';
import { startAll, stopAll } from './lifecycle.js';
import { metricsMigrations } from './metrics/index.js';
import { notificationsMigrations } from './notifications/index.js';
import { MetricsRegistry } from './observability/index.js';
import { requestsMigrations, selfServiceMigrations } from './requests/index.js';
import { rolloutsMigrations } from './rollouts/index.js';
import { registerRoutes } from './routes.js';
import { sessionsMigrations } from './sessions/index.js';
import { streamMigrations } from './stream/index.js';
import { tenantsMigrations } from './tenants/index.js';
import { updatesMigrations } from './updates/index.js';

export type { RegisteredRoute } from './http/server.js';

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
  ...requestsMigrations,
  ...selfServiceMigrations,
  ...leasesMigrations,
  ...deploymentMigrations,
];

/** The built collector: fastify instances (not listening), every wired concern, and a way to stop everything. */
export type Collector = Omit<Core, 'components' | 'metricFamilies' | 'ports' | 'checkpoint'> & {
  /** Technicians' API and console (and the agent endpoint when they share a listener). */
  api: App;
  /** The instance serving `/v1/agent`: `api` itself unless the agents listen separately. */
  agentEndpoint: App;
  /** The store every concern runs on: SQLite or PostgreSQL (tests read tables through it). */
  sql: SqlDb;
  /** Where the store is, for logs (a PostgreSQL URL without its password). */
  storage: string;
  /** The TLS identity served (the database's with PostgreSQL, else the one `startServer` loaded); undefined: off. */
  tls: (NonNullable<CollectorConfig['tlsMaterial']> & { generated?: boolean }) | undefined;
  /** What /metrics renders: every concern's families. */
  metrics: MetricsRegistry;
  /** Every route as registered, for the security suites. */
  routes: RegisteredRoute[];
  /** Credentials of the admin created on this first start, to print once. */
  initialAdmin: { email: string; password: string } | undefined;
  close(): Promise<void>;
};

/** Replacements tests may inject for what detection otherwise gets from the incidents and inventory concerns. */
export interface DetectionDeps {
  incidentSink?: IncidentSink;
  recentChanges?: RecentChanges;
}

/** Builds the collector from a checked configuration. */
export async function buildApp(input: CollectorConfig, deps: DetectionDeps = {}): Promise<Collector> {
  let config = input;
  // Before anything opens: a malformed policy file stops the start with the file and field named.
  const policies = loadPolicies(config);
  refuseUnportedStorage(config.storage, MIGRATIONS);
  const storage = await openStorage(config, MIGRATIONS, config.logger);
  let core: Awaited<ReturnType<typeof wireCore>>;
  try {
    // With PostgreSQL, the TLS identity and ticket key every node shares come from the database (docs/0017-nodes.md).
    const shared = await loadSharedState(config, storage.sql);
    if (shared?.tls) config = { ...config, tlsMaterial: shared.tls };
    core = await wireCore({ sql: storage.sql, config, policies, shared, ...deps });
  } catch (err) {
    await storage.close();
    throw err;
  }
  const { components, metricFamilies, ports: _ports, checkpoint: _checkpoint, ...services } = core;
  const metrics = new MetricsRegistry();
  for (const family of metricFamilies) metrics.add(family);

  const initialAdmin = await core.auth.ensureInitialAdmin();
  const routes: RegisteredRoute[] = [];
  const authenticate = createAuthenticate(core.auth, {
    audit: core.audit,
    allowedOrigins: config.sessions.allowedOrigins,
  });
  const { api, agentEndpoint, separate } = await createListeners(config, routes, authenticate);
  await registerRoutes(api, agentEndpoint, { core, config, guard: createGuard(core.audit), metrics });
  await api.ready();
  if (separate) await agentEndpoint.ready();
  startAll(components);

  let closed = false;
  return {
    ...services,
    sql: storage.sql,
    storage: storage.where,
    tls: config.tls.enabled ? config.tlsMaterial : undefined,
    api,
    agentEndpoint,
    metrics,
    routes,
    initialAdmin,
    async close() {
      if (closed) return;
      closed = true;
      const failures = await stopAll(components, (name, err) =>
        config.logger.error({ err, component: name }, 'stop failed'),
      );
      if (separate) await agentEndpoint.close();
      await api.close();
      metrics.close();
      await storage.close();
      if (failures.length) throw failures[0];
    },
  };
}
