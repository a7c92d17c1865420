/**
 * One set of store tests, run on both engines: `describeStores(name, migrations, (db) => { it(…) })` runs its body
 * once on SQLite (a fresh in-memory database per test) and once on PostgreSQL (one database per suite, every table
 * emptied before each test). The PostgreSQL half skips, saying why, where the server binaries are missing. Call it
 * at the top level of a test file: the file's cluster is stopped after its last test, failed or not.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { type Migration, openDatabase } from './database.js';
import { migrateSql } from './migrate-sql.js';
import {
  createDatabaseAt,
  type PgCluster,
  postgresUnavailable,
  sharedClusterUrl,
  startPgCluster,
} from './pg-cluster.fixture.js';
import { PostgresSql } from './postgres-sql.js';
import type { SqlDb } from './sql.js';
import { type SqliteSql, sqlOf } from './sqlite-sql.js';

let cluster: Promise<PgCluster> | undefined;
let databases = 0;
/** Files running side by side have their own pids; a file's databases are numbered. */
const prefix = `outpost_test_${process.pid}_${Date.now().toString(36)}`;

/**
 * A fresh, empty PostgreSQL database: on the run's shared cluster (OUTPOST_TEST_PG_URL) when there is one, else on
 * this file's own cluster (started on first use, about 7 s here). Call inside a hook or test.
 */
export async function freshPostgres(): Promise<string> {
  const name = `${prefix}_${++databases}`;
  const shared = sharedClusterUrl();
  if (shared) return createDatabaseAt(shared, name);
  cluster ??= startPgCluster();
  return (await cluster).createDatabase(name);
}

/** Registers, at the file's top level, the hook that stops the file's own cluster (if it started one) after its last test. */
export function stopPostgresAfterAll(): void {
  afterAll(async () => {
    const c = cluster;
    cluster = undefined;
    if (c) await (await c).stop();
  }, 60_000);
}

/** Empties every table of a PostgreSQL test database but the migration record. */
async function truncateAll(db: SqlDb): Promise<void> {
  const tables = await db.all<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'",
  );
  if (tables.length) await db.exec(`TRUNCATE ${tables.map((t) => `"${t.name}"`).join(', ')} RESTART IDENTITY CASCADE`);
}

/** Runs `body` on SQLite and on PostgreSQL; `db()` is the current test's handle. */
export function describeStores(name: string, migrations: readonly Migration[], body: (db: () => SqlDb) => void): void {
  stopPostgresAfterAll();
  describe(`${name} on SQLite`, () => {
    let db: SqliteSql;
    beforeEach(async () => {
      db = sqlOf(openDatabase(':memory:'));
      await migrateSql(db, migrations);
    });
    afterEach(() => db.close());
    body(() => db);
  });
  describe(`${name} on PostgreSQL`, () => {
    if (postgresUnavailable) {
      it.skip(`skipped: ${postgresUnavailable}`, () => {});
      return;
    }
    let db: PostgresSql;
    beforeAll(async () => {
      db = new PostgresSql(await freshPostgres());
      await migrateSql(db, migrations);
    }, 60_000);
    beforeEach(() => truncateAll(db));
    afterAll(() => db?.close());
    body(() => db);
  });
}
