/**
 * The embedded SQLite store: one file, WAL, `synchronous=FULL` because the collector acknowledges agent data only
 * after it is durable. Concerns own their tables through migrations they declare; this module only runs them.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { OutpostError } from '@outpost/shared';
import Database from 'better-sqlite3';

/** The database handle concerns' stores receive. */
export type Db = Database.Database;

/** One schema change, owned by one concern. Ids sort in the order they must run. */
export interface Migration {
  id: string;
  concern: string;
  /** The SQLite DDL. */
  sql: string;
  /** PostgreSQL DDL, only where the translation of `sql` (pg-ddl.ts) would be wrong. */
  postgres?: string;
}

/**
 * Every handle ever opened, kept reachable on purpose. better-sqlite3 12 wraps its Database and Statement objects in
 * the raw `node::ObjectWrap`, whose destructor on Node 24 asserts that a Node environment is current; when V8 collects
 * such a wrapper from a GC that runs outside one, the process aborts (WiseLibs/better-sqlite3#1515). better-sqlite3 13
 * fixes it but drops Node 20, so instead no wrapper is ever garbage: handles stay here, statements come from
 * `prepared()` (cached per handle), and pragmas run through `exec()`, which creates no statement.
 */
const handles: Db[] = [];

/** Opens (creating if needed) the database file with the pragmas Outpost relies on. `:memory:` works for tests. */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let db: Db;
  try {
    db = new Database(file);
  } catch (cause) {
    throw new OutpostError('OUTPOST_E_CONFIG_INVALID', {
      cause,
      message: `Cannot open database ${file}`,
      details: { file },
    });
  }
  handles.push(db);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000');
  return db;
}

/** Runs, in id order, every migration not yet applied; each in its own transaction. Returns the ids applied. */
export function migrate(db: Db, migrations: readonly Migration[]): string[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, concern TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = new Set(
    prepared<[], { id: string }>(db, 'SELECT id FROM schema_migrations')
      .all()
      .map((r) => r.id),
  );
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`duplicate migration id ${m.id}`);
    ids.add(m.id);
  }
  const record = prepared(db, 'INSERT INTO schema_migrations (id, concern, applied_at) VALUES (?, ?, ?)');
  const done: string[] = [];
  for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, m.concern, Date.now());
    })();
    done.push(m.id);
  }
  return done;
}

const statements = new Map<Db, Map<string, Database.Statement>>();

/**
 * A prepared statement, compiled once per database and SQL text (preparing costs more than most queries, and a
 * statement must never become garbage: see `handles`). Every statement of every store comes from here; SQL built
 * from optional filters yields one statement per combination, a small bounded set.
 */
export function prepared<P extends unknown[] | Record<string, unknown> = unknown[], R = unknown>(
  db: Db,
  sql: string,
): Database.Statement<P, R> {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    cache.set(sql, stmt);
  }
  return stmt as Database.Statement<P, R>;
}
