/**
 * The throwaway PostgreSQL cluster for cross-package tests (the collector's store tests use the same fixture).
 * `postgresUnavailable` says why a test must skip; `freshPostgres()` gives an empty database on the run's shared
 * cluster (or this file's own, stopped by `stopPostgresAfterAll()` at the file's top level); `startPgCluster()` starts
 * a private one, stopped by `await using`.
 */
export { freshPostgres, stopPostgresAfterAll } from '../../collector/src/db/dialects.fixture.js';
export {
  type PgCluster,
  postgresUnavailable,
  sharedClusterUrl,
  startPgCluster,
} from '../../collector/src/db/pg-cluster.fixture.js';
