/**
 * Rollouts (docs/0011-releases.md, "Rollouts"): a signed agent release rolled out over a target in waves (test ring,
 * canary, growing percentages) with bake times, a concurrency limit and jitter; halted by itself past a failure
 * threshold (an incident opens and notifies); pause, resume, abort and fleet-wide rollback. It owns the `rollouts`
 * and `rollout_agents` tables, assigns versions only through the updates concern's `assign` seam, and must never
 * assign a later wave of a halted rollout, nor read another concern's tables.
 */
export { judgeWave, waveDone } from './halt.js';
export { planWaves } from './plan.js';
export { type FleetAgent, type RolloutsDeps, type RolloutsOptions, releasePlatformOf } from './ports.js';
export { rolloutsRoutes } from './routes.js';
export { Rollouts } from './service.js';
export { rolloutsMigrations } from './store.js';
