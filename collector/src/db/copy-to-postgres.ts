/**
 * `outpost migrate --to postgres://…`: copies a stopped collector's SQLite database into an empty PostgreSQL
 * database, in one transaction — the migrations first, then every table in dependency order (parents before the rows
 * that reference them) in batches, identity sequences set past the copied ids, row counts compared per table. Any
 * failure rolls the whole of it back: the target is left as it was, empty. A target that already holds data is
 * refused before anything is written. The URL's password is never printed (`redactUrl`).
 */
import { existsSync } from 'node:fs';
import { OutpostError } from '@outpost/shared';
import Database from 'better-sqlite3';
import { type Db, type Migration, migrate, prepared } from './database.js';
import { migrateSql } from './migrate-sql.js';
import { redactUrl } from './open-storage.js';
import { PostgresSql } from './postgres-sql.js';
import type { SqlParam } from './sql.js';
import { servingMarkerOf, servingProcess } from './sqlite-lock.js';

/** Rows read from SQLite and sent per `runMany` call (PostgreSQL splits them further by its parameter limit). */
const BATCH_ROWS = 1_000;

/** One table's outcome. */
export interface CopiedTable {
  table: string;
  sqliteRows: number;
  postgresRows: number;
}

/** What a copy did. */
export interface CopyReport {
  source: string;
  target: string;
  tables: CopiedTable[];
  rows: number;
  ms: number;
}

/** Quotes an identifier for both engines (a column may be named by a reserved word: `window`). */
const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The migration bookkeeping is the target's own (its runner writes it); every other table is data. */
const OWN_TABLES = new Set(['schema_migrations']);

/**
 * Opens the source for the copy: refused while a collector serves it, migrated to this build's schema (what
 * `outpost serve` would do at its next start), then held under `BEGIN EXCLUSIVE` so that nothing writes it while
 * it is read.
 */
function openSource(file: string, migrations: readonly Migration[]): Db {
  if (!existsSync(file))
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `No collector database at ${file}`,
      details: { file },
    });
  const holder = servingProcess(file);
  if (holder)
    throw new OutpostError('OUTPOST_E_STORAGE_IN_USE', {
      message: `The collector database ${file} is served by process ${holder.pid} on ${holder.host}: stop it first`,
      details: { file, pid: holder.pid, host: holder.host, marker: servingMarkerOf(file) },
    });
  const db = new Database(file, { fileMustExist: true });
  db.exec('PRAGMA busy_timeout = 0; PRAGMA foreign_keys = ON');
  const isCollectors = prepared<[], { name: string }>(
    db,
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
  ).get();
  if (!isCollectors) {
    db.close();
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `${file} is not a collector database (it has no schema_migrations table)`,
      details: { file },
    });
  }
  const known = new Set(migrations.map((m) => m.id));
  const applied = prepared<[], { id: string }>(db, 'SELECT id FROM schema_migrations')
    .all()
    .map((r) => r.id);
  const unknown = applied.filter((id) => !known.has(id));
  if (unknown.length) {
    db.close();
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      message: `${file} was written by a newer collector (migrations ${unknown.join(', ')}): run that version's outpost migrate`,
      details: { file, unknown },
    });
  }
  try {
    migrate(db, migrations);
    db.exec('BEGIN EXCLUSIVE');
  } catch (cause) {
    db.close();
    if ((cause as { code?: string }).code?.startsWith('SQLITE_BUSY'))
      throw new OutpostError('OUTPOST_E_STORAGE_IN_USE', { cause, details: { file } });
    throw cause;
  }
  return db;
}

/** The data tables of the source, parents first (SQLite's own foreign keys give the order). */
export function tablesInDependencyOrder(db: Db): string[] {
  const tables = prepared<[], { name: string }>(
    db,
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  )
    .all()
    .map((t) => t.name)
    .filter((t) => !OWN_TABLES.has(t));
  const parents = new Map<string, Set<string>>();
  for (const t of tables) {
    const refs = prepared<[string], { table: string }>(db, 'SELECT "table" FROM pragma_foreign_key_list(?)').all(t);
    parents.set(t, new Set(refs.map((r) => r.table).filter((p) => p !== t)));
  }
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: string, path: string[]) => {
    if (state.get(t) === 'done') return;
    if (state.get(t) === 'visiting')
      throw new OutpostError('OUTPOST_E_INTERNAL', {
        message: `The tables reference each other in a cycle: ${[...path, t].join(' → ')}`,
      });
    state.set(t, 'visiting');
    for (const p of parents.get(t) ?? []) if (parents.has(p)) visit(p, [...path, t]);
    state.set(t, 'done');
    ordered.push(t);
  };
  for (const t of tables) visit(t, []);
  return ordered;
}

/** Tables of the target that hold at least one row (bookkeeping aside). */
async function tablesWithRows(pg: PostgresSql): Promise<string[]> {
  const tables = await pg.all<{ name: string }>(
    'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename',
  );
  const full: string[] = [];
  for (const { name } of tables) {
    if (OWN_TABLES.has(name)) continue;
    if (await pg.get(`SELECT 1 AS one FROM ${q(name)} LIMIT 1`)) full.push(name);
  }
  return full;
}

/** Copies one table in batches; returns the rows read. */
async function copyTable(db: Db, pg: PostgresSql, table: string): Promise<number> {
  const targetColumns = new Set(
    (
      await pg.all<{ name: string }>(
        'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?',
        [table],
      )
    ).map((c) => c.name),
  );
  if (targetColumns.size === 0)
    throw new OutpostError('OUTPOST_E_INTERNAL', { message: `Table ${table} has no counterpart on PostgreSQL` });
  const columns = prepared<[string], { name: string }>(db, 'SELECT name FROM pragma_table_info(?) ORDER BY cid')
    .all(table)
    .map((c) => c.name);
  const missing = columns.filter((c) => !targetColumns.has(c));
  if (missing.length)
    throw new OutpostError('OUTPOST_E_INTERNAL', {
      message: `Columns of ${table} missing on PostgreSQL: ${missing.join(', ')}`,
    });
  const insert = `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  // Read page by page in key order (no iterator: better-sqlite3 wrappers must never become garbage, database.ts):
  // the rowid where there is one — insertion order, so a row referencing an earlier row of its own table comes after
  // it — else the primary key.
  const keys = keyColumnsOf(db, table);
  const keyList = keys.map((k, i) => `${k === 'rowid' ? 'rowid' : q(k)} AS "__k${i}"`).join(', ');
  const order = keys.map((k) => (k === 'rowid' ? 'rowid' : q(k))).join(', ');
  const head = `SELECT ${columns.map(q).join(', ')}, ${keyList} FROM ${q(table)}`;
  const first = prepared<[number], Record<string, SqlParam>>(db, `${head} ORDER BY ${order} LIMIT ?`);
  const next = prepared<SqlParam[], Record<string, SqlParam>>(
    db,
    `${head} WHERE (${order}) > (${keys.map(() => '?').join(', ')}) ORDER BY ${order} LIMIT ?`,
  );
  // Integers as bigint: never rounded past 2^53 on the way (PostgreSQL refuses what BIGINT cannot hold).
  first.safeIntegers(true);
  next.safeIntegers(true);
  let rows = 0;
  let page = first.all(BATCH_ROWS);
  while (page.length) {
    await pg.runMany(
      insert,
      page.map((row) => columns.map((c) => row[c] ?? null)),
    );
    rows += page.length;
    if (page.length < BATCH_ROWS) break;
    const last = page[page.length - 1]!;
    page = next.all(...keys.map((_, i) => last[`__k${i}`] ?? null), BATCH_ROWS);
  }
  return rows;
}

/** The columns that order a table's rows uniquely: `rowid`, or the primary key of a WITHOUT ROWID table. */
function keyColumnsOf(db: Db, table: string): string[] {
  const ddl = prepared<[string], { sql: string }>(
    db,
    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
  ).get(table)?.sql;
  if (!ddl || !/WITHOUT\s+ROWID/i.test(ddl)) return ['rowid'];
  return prepared<[string], { name: string }>(db, 'SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk')
    .all(table)
    .map((c) => c.name);
}

/** Moves every identity sequence of the target past the largest id copied into its column. */
async function advanceIdentities(pg: PostgresSql): Promise<void> {
  const identities = await pg.all<{ table: string; column: string }>(
    'SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = \'YES\'',
  );
  for (const { table, column } of identities)
    await pg.get(
      `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX(${q(column)}), 0) + 1, false) AS next FROM ${q(table)}`,
      [q(table), column],
    );
}

/** Copies the SQLite database `file` into the empty PostgreSQL database `url`; throws, leaving it empty, on failure. */
export async function copyToPostgres(file: string, url: string, migrations: readonly Migration[]): Promise<CopyReport> {
  const started = performance.now();
  const target = redactUrl(url);
  const db = openSource(file, migrations);
  const pg = new PostgresSql(url, { max: 1 });
  try {
    try {
      await pg.get('SELECT 1 AS one');
    } catch (cause) {
      throw new OutpostError('OUTPOST_E_STORAGE_UNAVAILABLE', {
        message: `Cannot connect to PostgreSQL at ${target}: ${(cause as Error).message.split(url).join(target)}`,
        details: { storage: target },
      });
    }
    // Checked before the transaction too, so that a refusal writes nothing at all (not even the migrations).
    const before = await tablesWithRows(pg);
    if (before.length) throw notEmpty(target, before);
    const order = tablesInDependencyOrder(db);
    const tables = await pg.transaction(async () => {
      await migrateSql(pg, migrations);
      const full = await tablesWithRows(pg);
      if (full.length) throw notEmpty(target, full);
      const copied: CopiedTable[] = [];
      for (const table of order) {
        let sqliteRows: number;
        try {
          sqliteRows = await copyTable(db, pg, table);
        } catch (cause) {
          if (cause instanceof OutpostError) throw cause;
          throw new OutpostError('OUTPOST_E_INTERNAL', {
            cause,
            message: `Copying table ${table} failed: ${(cause as Error).message}; nothing was written to ${target}`,
            details: { table },
          });
        }
        const counted = await pg.get<{ n: number }>(`SELECT count(*) AS n FROM ${q(table)}`);
        const postgresRows = counted?.n ?? 0;
        const expected = prepared<[], { n: number }>(db, `SELECT count(*) AS n FROM ${q(table)}`).get()?.n ?? 0;
        if (postgresRows !== sqliteRows || postgresRows !== expected)
          throw new OutpostError('OUTPOST_E_INTERNAL', {
            message: `Table ${table}: ${expected} rows in SQLite, ${postgresRows} on PostgreSQL after the copy; nothing was written`,
            details: { table, sqliteRows: expected, postgresRows },
          });
        copied.push({ table, sqliteRows: expected, postgresRows });
      }
      await advanceIdentities(pg);
      return copied;
    });
    return {
      source: file,
      target,
      tables,
      rows: tables.reduce((n, t) => n + t.postgresRows, 0),
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await pg.close().catch(() => {});
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

function notEmpty(target: string, tables: string[]): OutpostError {
  return new OutpostError('OUTPOST_E_STORAGE_NOT_EMPTY', {
    message: `${target} already holds data (${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}): copy into an empty database`,
    details: { target, tables },
  });
}
