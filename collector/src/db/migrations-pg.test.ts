/**
 * Every concern's migrations apply on a fresh PostgreSQL database, translated or as given, and leave the same tables
 * (and the same columns in each) as on SQLite; applying them again applies nothing.
 */
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../app.js';
import { openDatabase } from './database.js';
import { freshPostgres, stopPostgresAfterAll } from './dialects.fixture.js';
import { migrateSql } from './migrate-sql.js';
import { postgresUnavailable } from './pg-cluster.fixture.js';
import { PostgresSql } from './postgres-sql.js';
import { SqliteSql } from './sqlite-sql.js';

stopPostgresAfterAll();

/** table → sorted column names, on SQLite. */
async function sqliteSchema(): Promise<Record<string, string[]>> {
  const db = new SqliteSql(openDatabase(':memory:'));
  await migrateSql(db, MIGRATIONS);
  const tables = await db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  const out: Record<string, string[]> = {};
  for (const { name } of tables)
    out[name] = (await db.all<{ name: string }>(`SELECT name FROM pragma_table_info('${name}')`))
      .map((c) => c.name)
      .sort();
  await db.close();
  return out;
}

describe.skipIf(postgresUnavailable !== undefined)(
  `every migration on PostgreSQL${postgresUnavailable ? ` (skipped: ${postgresUnavailable})` : ''}`,
  () => {
    it('applies every concern migration and yields the tables and columns SQLite has', async () => {
      const db = new PostgresSql(await freshPostgres());
      try {
        const applied = await migrateSql(db, MIGRATIONS);
        expect(applied).toEqual(MIGRATIONS.map((m) => m.id).sort((a, b) => a.localeCompare(b)));
        // A partition (metrics' raw samples on PostgreSQL) is storage of its parent table, not a table of its own.
        const cols = await db.all<{ t: string; c: string }>(
          `SELECT table_name AS t, column_name AS c FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name NOT IN (SELECT relname FROM pg_class WHERE relispartition)
           ORDER BY table_name, column_name`,
        );
        const pgSchema: Record<string, string[]> = {};
        for (const { t, c } of cols) pgSchema[t] = [...(pgSchema[t] ?? []), c];
        for (const list of Object.values(pgSchema)) list.sort();
        expect(pgSchema).toEqual(await sqliteSchema());
        expect(await migrateSql(db, MIGRATIONS)).toEqual([]);
        // The audit log stays append-only on PostgreSQL too (its SQLite trigger, translated).
        await db.run(
          "INSERT INTO audit_log (time, type, code, result, actor_kind) VALUES (1, 't', 'c', 'success', 'system')",
        );
        await expect(db.run('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
        await expect(db.run("UPDATE audit_log SET code = 'x'")).rejects.toThrow(/append-only/);
        // Names stay unique whatever their case (SQLite's COLLATE NOCASE, as an ICU collation).
        await db.run("INSERT INTO clients (id, name, created_at) VALUES ('c1', 'Acme', 1)");
        await expect(db.run("INSERT INTO clients (id, name, created_at) VALUES ('c2', 'ACME', 1)")).rejects.toThrow(
          /unique/,
        );
      } finally {
        await db.close();
      }
    }, 60_000);
  },
);
