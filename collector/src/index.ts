/** @outpost/collector — the central server: build it (`buildApp`), start it (`startServer`), or run the CLI. */
export { buildApp, type Collector, MIGRATIONS, type RegisteredRoute } from './app.js';
export { AuditLog } from './audit/index.js';
export { type ApiTarget, apiCall } from './cli/client.js';
export { parseRemote } from './cli/cp.js';
export { downloadFile, sha256OfFile, type TransferResult, uploadFile } from './cli/file-client.js';
export { playCast } from './cli/shell.js';
export { ShellClient, type ShellClientOptions, type ShellEnd } from './cli/shell-client.js';
export * as cluster from './cluster/index.js';
export {
  type Clock,
  type CollectorConfig,
  type CollectorSettings,
  checkSettings,
  mergeSettings,
  readSettingsFile,
  systemClock,
} from './config.js';
export { Contracts } from './contracts/index.js';
export { type Core, type CoreInput, loadPolicies, wireCore } from './core.js';
export { migrate, openDatabase, prepared, sqlOf } from './db/index.js';
export * as detection from './detection/index.js';
export { IncidentService } from './incidents/index.js';
export * as inventory from './inventory/index.js';
export { MetricsService, MetricsStore, metricsMigrations } from './metrics/index.js';
export * as perimeter from './reports/perimeter/index.js';
export { type RunningCollector, startServer } from './server.js';
export { NO_ECHO_MARKER } from './sessions/index.js';
export { COLLECTOR_VERSION } from './version.js';
