/**
 * Jobs (docs/0010-jobs.md): the versioned script library, patch/software/script jobs on many machines, their
 * delivery (offline agents included, inside site-time-zone windows, until expiry) and the agents' results. It owns
 * the `job_scripts`, `jobs` and `job_targets` tables and must never read another concern's tables, never send a job
 * past its expiry, and never sign a script (only the organisation's offline key does).
 */
export { jobsRoutes } from './routes.js';
export * from './schemas.js';
export { Jobs, type JobsDeps, type JobsInit, type JobsOptions } from './service.js';
export { jobsMigrations } from './store.js';
export { type JobWindow, windowOpen } from './window.js';
