/**
 * The observability concern owns the collector's own health signals (/healthz, /metrics). It reads other concerns'
 * counters through functions handed to it; it must never read their tables.
 */
export { type MetricFamily, MetricsRegistry } from './metrics.js';
export { observabilityRoutes } from './routes.js';
