/** @outpost/collector — the central server: build it (`buildApp`), start it (`startServer`), or run the CLI. */
export { buildApp, type Collector, MIGRATIONS, type RegisteredRoute } from './app.js';
export { type ApiTarget, apiCall } from './cli/client.js';
export {
  type Clock,
  type CollectorConfig,
  type CollectorSettings,
  checkSettings,
  mergeSettings,
  readSettingsFile,
  systemClock,
} from './config.js';
export { type RunningCollector, startServer } from './server.js';
export { COLLECTOR_VERSION } from './version.js';
