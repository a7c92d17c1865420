/**
 * The agent's metrics concern: samples the machine on a jittered interval (default 30–60 s; `OUTPOST_METRICS_INTERVAL_MS`
 * overrides it, e.g. 200 for tests) and reports each round as a sequenced `metrics.batch`. One sampler per platform
 * (linux.ts, darwin.ts, win32.ts: pure parsers plus a thin part that runs the tools), the same metric names on all.
 * It must never decide what is abnormal (the collector does) nor block the event loop for long.
 */
export { MetricsComponent, type MetricsOptions, samplerFor } from './component.js';
export { cpuPercents, PortableCpu } from './cpu.js';
export { DarwinSampler } from './darwin.js';
export { LinuxSampler } from './linux.js';
export type { Round, Sampler } from './sampler.js';
export { WindowsSampler } from './win32.js';
