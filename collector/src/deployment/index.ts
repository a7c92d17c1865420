/**
 * The deployment concern owns what every collector node must share when each has its own data directory
 * (docs/0017-nodes.md, "One data directory per node"): `deployment_secrets` (the TLS identity and the session-ticket
 * key) and the shared files (`shared_blobs`, `shared_chunks`, `shared_files`, `shared_generations`: the release
 * repository and finished recordings). Used only with PostgreSQL; a single `outpost serve` on SQLite keeps files.
 */
export { type IdentityInit, sharedCertificate, sharedTicketKey } from './identity.js';
export { ReleaseMirror, SharedRecordings } from './shared-files.js';
export { loadSharedState, type SharedState, type SharedStateConfig } from './shared-state.js';
export { CHUNK_BYTES, DeploymentStore, deploymentMigrations, type SharedFile } from './store.js';
