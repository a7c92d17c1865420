/**
 * The database concern owns the connection, its pragmas and the migration runner — never a concern's tables.
 * `SqlDb` is the dialect-neutral handle (SQLite or PostgreSQL) stores move to; `Db` is the raw SQLite handle of the
 * stores not yet ported (docs/0016-postgres.md).
 */

export { type CopiedTable, type CopyReport, copyToPostgres, tablesInDependencyOrder } from './copy-to-postgres.js';
export { type Db, type Migration, migrate, openDatabase, prepared } from './database.js';
export { migrateSql, postgresDdl } from './migrate-sql.js';
export {
  DEFAULT_POOL,
  openStorage,
  redactUrl,
  type Storage,
  type StorageSettings,
  sqliteFileOf,
} from './open-storage.js';
export { PostgresSql } from './postgres-sql.js';
export type { Dialect, RunResult, SqlDb, SqlParam } from './sql.js';
export { markServing, servingMarkerOf, servingProcess } from './sqlite-lock.js';
export { SqliteSql, sqlOf } from './sqlite-sql.js';
export { PORTED_CONCERNS, refuseUnportedStorage, unportedConcerns } from './storage.js';
