/**
 * The migration runner for a SqlDb. On SQLite it is the runner `outpost serve` has always used (database.ts), so
 * the embedded default does not change; on PostgreSQL each migration's DDL is its `postgres` text or the
 * translation of its SQLite text, applied under an advisory lock so collector nodes starting together migrate once.
 */
import type { Migration } from './database.js';
import { migrate } from './database.js';
import { POSTGRES_PRELUDE, toPostgresDdl } from './pg-ddl.js';
import type { SqlDb } from './sql.js';
import { SqliteSql } from './sqlite-sql.js';

/** An arbitrary constant: the advisory lock key that serialises migrations across nodes. */
const MIGRATION_LOCK = 7_020_016;

/** The PostgreSQL DDL of one migration. */
export function postgresDdl(m: Migration): string {
  return m.postgres ?? toPostgresDdl(m.sql);
}

/** Applies, in id order, every migration not yet applied; returns the ids applied. */
export async function migrateSql(db: SqlDb, migrations: readonly Migration[]): Promise<string[]> {
  if (db instanceof SqliteSql) return migrate(db.raw, migrations);
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`duplicate migration id ${m.id}`);
    ids.add(m.id);
  }
  return db.transaction(async () => {
    await db.get('SELECT pg_advisory_xact_lock(?) AS locked', [MIGRATION_LOCK]);
    await db.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, concern TEXT NOT NULL, applied_at BIGINT NOT NULL); ${POSTGRES_PRELUDE}`,
    );
    const applied = new Set((await db.all<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id));
    const done: string[] = [];
    for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
      if (applied.has(m.id)) continue;
      try {
        await db.exec(postgresDdl(m));
      } catch (cause) {
        throw new Error(`migration ${m.id} (${m.concern}) failed on PostgreSQL: ${(cause as Error).message}`, {
          cause,
        });
      }
      await db.run('INSERT INTO schema_migrations (id, concern, applied_at) VALUES (?, ?, ?)', [
        m.id,
        m.concern,
        Date.now(),
      ]);
      done.push(m.id);
    }
    return done;
  });
}
