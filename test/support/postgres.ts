/**
 * The throwaway PostgreSQL cluster for cross-package tests (the collector's store tests use the same fixture).
 * `postgresUnavailable` says why a test must skip; `startPgCluster()` starts one, stopped by `await using`.
 */
export {
  type PgCluster,
  postgresUnavailable,
  startPgCluster,
} from '../../collector/src/db/pg-cluster.fixture.js';
