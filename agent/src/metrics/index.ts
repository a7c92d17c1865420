/**
 * The agent's metrics concern: samples the machine on a jittered interval (default 30–60 s; `OUTPOST_METRICS_INTERVAL_MS`
 * overrides it, e.g. 200 for tests) and reports each round as a sequenced `metrics.batch`. It must never decide what is
 * abnormal (the collector does) nor block the event loop for long.
 */
export { MetricsComponent, type MetricsOptions } from './component.js';
export { LinuxSampler } from './linux.js';
