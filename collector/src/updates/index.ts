/**
 * The updates concern owns signed agent releases on the collector: the repository it serves (validated, never
 * signed here: the collector holds no release key), version assignments to agents, and the statuses agents report.
 * It must never sign, never serve a file the signed targets do not list, and never read another concern's tables.
 */
export { type ReleaseInfo, ReleaseRepository, type RepositoryState } from './repository.js';
export { updatesAgentRoutes, updatesRoutes } from './routes.js';
export { Updates, type UpdatesDeps, type UpdatesInit } from './service.js';
export { updatesMigrations } from './store.js';
