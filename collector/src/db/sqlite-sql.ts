/**
 * The SqlDb handle over the embedded SQLite file. Statements come from `prepared()` (compiled once, and kept
 * reachable: see database.ts), so this adds no work per query beyond a Promise. There is one connection: while a
 * transaction is open and awaits, every caller outside it waits on a mutex, else its statements would join that
 * transaction and share its fate. Stores not yet ported use the same better-sqlite3 handle synchronously; their
 * `db.transaction()` inside an open one becomes a savepoint of it (better-sqlite3 nests), which is what lets a
 * stream batch and its cursors commit together even for sinks still on the old API.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Db, prepared } from './database.js';
import { Mutex } from './mutex.js';
import type { RunResult, SqlDb, SqlParam } from './sql.js';
import { bindable, deferToCommit, inSavepoint, openScope, rootScope, runHooks, type TxScope } from './tx-scope.js';

// Transaction control through cached statements, as better-sqlite3's own transaction() does: compiling BEGIN and
// COMMIT anew each time cost more than a small batch's inserts. (Savepoint names are one per depth: a small set.)
const execOn = (conn: Db, sql: string) => {
  prepared(conn, sql).run();
};

/** SQLite behind the dialect-neutral handle. `raw` is the same better-sqlite3 handle the unported stores use. */
export class SqliteSql implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly #als = new AsyncLocalStorage<TxScope<Db>>();
  readonly #mutex = new Mutex();

  constructor(readonly raw: Db) {}

  /** True while a transaction the caller is not part of holds the connection (then it waits its turn). */
  #mustWait(): boolean {
    return this.#mutex.held && !openScope(this.#als);
  }

  async all<R>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
    if (this.#mustWait()) await this.#mutex.idle();
    return prepared<unknown[], R>(this.raw, sql).all(...bindable(params));
  }

  async get<R>(sql: string, params: readonly SqlParam[] = []): Promise<R | undefined> {
    if (this.#mustWait()) await this.#mutex.idle();
    return prepared<unknown[], R>(this.raw, sql).get(...bindable(params));
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    if (this.#mustWait()) await this.#mutex.idle();
    return { changes: prepared(this.raw, sql).run(...bindable(params)).changes };
  }

  async runMany(sql: string, rows: readonly (readonly SqlParam[])[]): Promise<RunResult> {
    if (this.#mustWait()) await this.#mutex.idle();
    const stmt = prepared(this.raw, sql);
    let changes = 0;
    for (const row of rows) changes += stmt.run(...bindable(row)).changes;
    return { changes };
  }

  async exec(sql: string): Promise<void> {
    if (this.#mustWait()) await this.#mutex.idle();
    this.raw.exec(sql);
  }

  inTransaction(): boolean {
    return openScope(this.#als) !== undefined;
  }

  afterCommit(fn: () => unknown): Promise<void> {
    return deferToCommit(this.#als, fn);
  }

  atomic<T>(fn: () => Promise<T>): Promise<T> {
    return openScope(this.#als) ? fn() : this.transaction(fn);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const scope = openScope(this.#als);
    if (scope) return inSavepoint(this.#als, scope, execOn, fn);
    const release = await this.#mutex.acquire();
    const tx = rootScope(this.raw);
    let out: T;
    try {
      execOn(this.raw, 'BEGIN');
      try {
        out = await this.#als.run(tx, fn);
        tx.root.open = false;
        execOn(this.raw, 'COMMIT');
      } catch (err) {
        tx.root.open = false;
        if (this.raw.inTransaction) execOn(this.raw, 'ROLLBACK');
        throw err;
      }
    } finally {
      release();
    }
    if (tx.hooks.length > 0) await runHooks(tx.hooks);
    return out;
  }

  async close(): Promise<void> {
    await this.#mutex.idle();
    if (this.raw.open) this.raw.close();
  }
}

const handles = new WeakMap<Db, SqliteSql>();

/**
 * The one SqlDb of a SQLite handle. Always this, never `new SqliteSql(db)` twice: the mutex that keeps callers out of
 * an open transaction must be one per connection.
 */
export function sqlOf(db: Db): SqliteSql {
  let sql = handles.get(db);
  if (!sql) {
    sql = new SqliteSql(db);
    handles.set(db, sql);
  }
  return sql;
}
