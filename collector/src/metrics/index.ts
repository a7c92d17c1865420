/**
 * The metrics concern: owns time-series storage (raw samples, minute and hour roll-ups, retention) and the
 * `metrics.batch` stream sink that feeds detection. It must never decide what is abnormal (detection does) nor read
 * another concern's tables.
 */

export { type MetricsRouteDeps, metricsRoutes } from './routes.js';
export { type AgentSeries, readAgentSeries, type SeriesPoint, type SeriesView, seriesMatches } from './series.js';
export {
  DEFAULT_RETENTION,
  HOUSEKEEPING_INTERVAL_MS,
  type MetricsRetention,
  MetricsService,
  type SampleConsumer,
} from './service.js';
export { HOUR, MetricsStore, MINUTE, metricsMigrations, type RollupRow, type SampleRow } from './store.js';
