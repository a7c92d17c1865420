/**
 * The detection concern: decides, sample by sample, that something is abnormal (adaptive baseline, thresholds,
 * forecasts, absence, correlation, maintenance windows) and says so through the `IncidentSink`. It must never write
 * incident tables, never read another concern's tables (it gets presence, inventory and change history as injected
 * functions), and never import fastify.
 */
export * from './baseline.js';
export { AgentCheckpoints, DETECTION_RELEASE_MS } from './checkpoint.js';
export { ChecksPush, type CheckTarget } from './checks-push.js';
export {
  DetectionEngine,
  type DetectionEngineInit,
  describeCheck,
  type EngineCounters,
  type EngineOptions,
  type Suppressed,
} from './engine.js';
export { describe, formatValue } from './explain.js';
export { MemoryIncidentSink, type SinkEvent } from './memory-sink.js';
export * from './policy.js';
export { PolicyAdmin, type PolicyEntry, type PolicySource, type PolicyTenants } from './policy-admin.js';
export * from './policy-file.js';
export { PolicyStore, type StoredPolicy } from './policy-store.js';
export * from './ports.js';
export { parseTimestamp, type ReplayOptions, type ReplaySummary, replayCsv, replayPath } from './replay.js';
export { DetectionStore, detectionMigrations } from './store.js';
export { DetectionSweeps, INVENTORY_SWEEP_MS } from './sweeps.js';
